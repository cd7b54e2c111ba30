import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'outgoing-limits.sqlite';

/**
 * Opens (and creates or upgrades) the store in `dataDir`. WAL lets the command read and write while the
 * daemon runs; synchronous=NORMAL keeps commits durable across a crash of the process (kill -9), which is
 * what the counters promise, without an fsync per message.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  const db = new Database(path.join(dataDir, DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  const newest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (current > newest) {
    throw new Error(`The data directory holds schema version ${current}, newer than this program knows (${newest}); upgrade the program.`);
  }
  for (const step of MIGRATIONS) {
    if (step.version <= current) continue;
    // IMMEDIATE: two processes starting at once must not both apply the same step.
    db.transaction(() => {
      if (schemaVersion(db) >= step.version) return;
      db.exec(step.sql);
      step.moveData?.(db);
      db.pragma(`user_version = ${step.version}`);
    }).immediate();
  }
}

export function bumpRevision(db: Db, name: 'settings' | 'directory'): void {
  db.prepare('UPDATE revisions SET value = value + 1 WHERE name = ?').run(name);
}

export function readRevisions(db: Db): { settings: number; directory: number } {
  const rows = db.prepare('SELECT name, value FROM revisions').all() as Array<{ name: string; value: number }>;
  const byName = new Map(rows.map((r) => [r.name, r.value]));
  return { settings: byName.get('settings') ?? 0, directory: byName.get('directory') ?? 0 };
}
