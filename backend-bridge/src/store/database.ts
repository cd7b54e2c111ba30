import Database from 'better-sqlite3';
import { accessSync, chmodSync, chownSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync, fchmodSync } from 'node:fs';
import path from 'node:path';
import { StoreDamagedError, integrityProblems, isDamageError } from './integrity.js';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export const DATABASE_FILE = 'outgoing-limits.sqlite';
/** What SQLite keeps beside the store in WAL mode; they hold the same data, so they get the same mode. */
export const COMPANION_SUFFIXES = ['-wal', '-shm'] as const;

/** Mode of every store file: only the daemon's user, or also the API group (`--api-group`) read-only. */
export const PRIVATE_FILE_MODE = 0o600;
export const GROUP_FILE_MODE = 0o640;

export interface OpenOptions {
  /**
   * Create the store when there is none. Read-only commands pass false: pointed at the wrong directory, they
   * must say so rather than answer from a new empty store (and leave one behind).
   */
  create?: boolean;
  /** Run `PRAGMA integrity_check` before anything else touches the store (see integrity.ts). */
  check?: boolean;
  /**
   * Bring existing store files to the mode (and group) below too: the daemon does, so an older install or a
   * copy made with a loose umask is tightened. New files always get the mode, whatever the umask.
   */
  enforceMode?: boolean;
  fileMode?: number;
  group?: number | null;
}

/** No store where one was expected: says where it looked and how to point elsewhere. */
export class StoreMissingError extends Error {
  constructor(readonly dataDir: string) {
    super(
      `there is no store in ${dataDir} (no ${DATABASE_FILE}); point at the daemon's data directory with --data-dir DIR or OUTGOING_LIMITS_DATA_DIR=DIR`,
    );
  }
}

export function databasePath(dataDir: string): string {
  return path.join(dataDir, DATABASE_FILE);
}

/**
 * Opens (and creates or upgrades) the store in `dataDir`. WAL lets the command read and write while the
 * daemon runs; synchronous=NORMAL keeps commits durable across a crash of the process (kill -9), which is
 * what the counters promise, without an fsync per message.
 */
export function openDatabase(dataDir: string, options: OpenOptions = {}): Db {
  const file = databasePath(dataDir);
  const mode = options.fileMode ?? PRIVATE_FILE_MODE;
  const group = options.group ?? null;
  if (!existsSync(file)) {
    if (options.create === false) throw new StoreMissingError(dataDir);
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o750 });
      // Made here rather than by SQLite: SQLite gives the -wal and -shm files the mode of the main file, so
      // this one mode, set past the umask, covers all three.
      const fd = openSync(file, 'wx', mode);
      try {
        fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
      if (group !== null) chownSync(file, -1, group);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotOpen(file, error);
    }
  }
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (error) {
    throw cannotOpen(file, error);
  }
  try {
    if (options.check) {
      const problems = integrityProblems(db);
      if (problems.length > 0) throw new StoreDamagedError(file, problems);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    if (options.enforceMode) {
      closeDataDirToOthers(dataDir);
      restrictStoreFiles(file, mode, group);
    }
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StoreDamagedError) throw error;
    if (isDamageError(error)) throw new StoreDamagedError(file, [(error as Error).message]);
    if (isOpenError(error)) throw cannotOpen(file, error);
    throw error;
  }
}

/**
 * A data directory others may write to would let any local user swap the store, its -wal or the API socket:
 * their write bits go. A shared sticky directory such as /tmp is left alone (others cannot replace our files
 * there, and its mode is not ours to change).
 */
export function closeDataDirToOthers(dataDir: string): void {
  const mode = statSync(dataDir).mode;
  if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) chmodSync(dataDir, mode & 0o755);
}

/** The store file and its companions get `mode` (and `group`), whatever they had. */
export function restrictStoreFiles(file: string, mode: number, group: number | null): void {
  for (const each of [file, ...COMPANION_SUFFIXES.map((suffix) => file + suffix)]) {
    if (!existsSync(each)) continue;
    chmodSync(each, mode);
    if (group !== null) chownSync(each, -1, group);
  }
}

function isOpenError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) || code === 'EROFS' || code === 'EACCES';
}

const PLAIN_CAUSE: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable (permission denied)',
  EPERM: 'is not writable (operation not permitted)',
  ENOENT: 'does not exist',
  ENOTDIR: 'is not a directory',
};

/** What keeps `subject` from being used as `check` needs, in words; null when nothing does. */
function obstacle(subject: string, check: () => void): string | null {
  try {
    check();
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return `${subject} ${PLAIN_CAUSE[code] ?? `cannot be used: ${(error as Error).message}`} (${code})`;
  }
}

/**
 * SQLite says only "unable to open database file": name the file and find out why, by trying what SQLite
 * needs (the directory, writing in it for the -wal and -shm files, reading and writing the file).
 */
function cannotOpen(file: string, error: unknown): Error {
  const dir = path.dirname(file);
  const cause =
    obstacle(`the directory ${dir}`, () => {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    }) ??
    obstacle(`the directory ${dir}`, () => accessSync(dir, constants.W_OK)) ??
    (existsSync(file) && statSync(file).isDirectory() ? `${file} is a directory, not a file` : null) ??
    (existsSync(file) ? obstacle(file, () => accessSync(file, constants.R_OK | constants.W_OK)) : null) ??
    (error as Error).message;
  return new Error(`cannot open the store ${file}: ${cause}`, { cause: error });
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function newestSchemaVersion(): number {
  return MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
}

function migrate(db: Db): void {
  const current = schemaVersion(db);
  const newest = newestSchemaVersion();
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
