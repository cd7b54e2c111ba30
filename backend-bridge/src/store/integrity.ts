import type Database from 'better-sqlite3';
import path from 'node:path';
import { listBackups } from './backups.js';

/** How many lines of SQLite's report a message shows: enough to see what is damaged, not a page of it. */
const SHOWN_PROBLEMS = 10;
/** SQLite stops its report after this many problems; one is enough to refuse the store. */
const CHECKED_PROBLEMS = 100;

/**
 * What `PRAGMA integrity_check` finds wrong with the store; empty when it is sound. integrity_check rather than
 * quick_check: it also proves every index agrees with its table (a damaged UNIQUE index on names would find
 * the wrong mailbox or none), and on a 100,000-mailbox store with an hour of counts (24 MB) it takes 0.2-0.5 s,
 * once per start.
 * A store too damaged to be read at all (a broken header) is reported the same way.
 */
export function integrityProblems(db: Database.Database, kind: 'integrity_check' | 'quick_check' = 'integrity_check'): string[] {
  try {
    const rows = db.pragma(`${kind}(${CHECKED_PROBLEMS})`) as Array<Record<string, unknown>>;
    const lines = rows.map((row) => String(Object.values(row)[0]));
    return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
  } catch (error) {
    if (isDamageError(error)) return [(error as Error).message];
    throw error;
  }
}

/** SQLite's ways of saying the file's contents are not a sound database (as opposed to cannot be opened). */
export function isDamageError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT_INDEX' || code === 'SQLITE_CORRUPT_SEQUENCE' || code === 'SQLITE_CORRUPT_VTAB';
}

/**
 * The store is damaged: the daemon must not enforce from it (an unreadable directory would let every message
 * through). The message names the file, shows the damage and says how to get back to a sound store.
 */
export class StoreDamagedError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(damageMessage(file, problems));
  }
}

function damageMessage(file: string, problems: string[]): string {
  const dataDir = path.dirname(file);
  const shown = problems.slice(0, SHOWN_PROBLEMS).map((line) => `  ${line}`);
  if (problems.length > SHOWN_PROBLEMS) shown.push(`  ... and ${problems.length - SHOWN_PROBLEMS} more`);
  const newest = listBackups(dataDir)[0];
  const recovery = newest
    ? [
        `To recover, with the daemon stopped: outgoing-limits store restore ${newest.name} --data-dir ${dataDir}`,
        `(the newest backup, of ${newest.date}; "outgoing-limits store backups --data-dir ${dataDir}" lists them all). The damaged file is kept aside.`,
      ]
    : [
        `There is no backup in ${path.join(dataDir, 'backups')}. Move the damaged file aside to start with an empty store`,
        '(limits, directory and counts are then lost until they are set and imported again), or try sqlite3\'s ".recover" on a copy.',
      ];
  return [`the store ${file} is damaged; limits cannot be enforced from it. SQLite's check says:`, ...shown, ...recovery].join('\n');
}
