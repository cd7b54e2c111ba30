import Database from 'better-sqlite3';
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { integrityProblems, StoreDamagedError } from './integrity.js';

export const BACKUP_DIR = 'backups';
/** Daily backups kept: a week to notice damage and go back past it. */
export const BACKUPS_KEPT = 7;
const BACKUP_NAME = /^outgoing-limits-(\d{4}-\d{2}-\d{2})\.sqlite$/;
const STORE_FILE = 'outgoing-limits.sqlite';

export interface BackupFile {
  name: string;
  path: string;
  /** The UTC day it was taken, YYYY-MM-DD. */
  date: string;
  sizeBytes: number;
}

export function backupDir(dataDir: string): string {
  return path.join(dataDir, BACKUP_DIR);
}

export function backupName(atMs: number): string {
  return `outgoing-limits-${new Date(atMs).toISOString().slice(0, 10)}.sqlite`;
}

/** The backups in the data directory, newest first; none when there is no backup directory. */
export function listBackups(dataDir: string): BackupFile[] {
  const dir = backupDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      const match = BACKUP_NAME.exec(name);
      return match?.[1] ? [{ name, path: path.join(dir, name), date: match[1], sizeBytes: statSync(path.join(dir, name)).size }] : [];
    })
    .sort((a, b) => b.date.localeCompare(a.date));
}

/** Which backups (names) go so that the newest `keep` stay. */
export function backupsBeyond(names: readonly string[], keep: number): string[] {
  return [...names].sort((a, b) => b.localeCompare(a)).slice(keep);
}

export interface BackupOptions {
  atMs: number;
  fileMode: number;
  group: number | null;
}

/**
 * An online backup of the open store (SQLite's backup API: the daemon keeps serving while pages are copied),
 * written under a temporary name, made a standalone file (rollback journal, so opening it leaves no -wal or
 * -shm behind), checked, and only then given its day's name. Older backups beyond the last seven are removed.
 * A copy that fails the check means the store itself is damaged: StoreDamagedError.
 */
export async function takeBackup(db: Database.Database, dataDir: string, options: BackupOptions): Promise<BackupFile> {
  const dir = backupDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = backupName(options.atMs);
  const partial = path.join(dir, `.${name}.partial`);
  rmSync(partial, { force: true });
  try {
    await db.backup(partial);
    chmodSync(partial, options.fileMode);
    if (options.group !== null) chownSync(partial, -1, options.group);
    const problems = checkBackupFile(partial, { standalone: true });
    if (problems.length > 0) throw new StoreDamagedError(path.join(dataDir, STORE_FILE), problems);
    renameSync(partial, path.join(dir, name));
  } finally {
    rmSync(partial, { force: true });
  }
  for (const old of backupsBeyond(listBackups(dataDir).map((b) => b.name), BACKUPS_KEPT)) rmSync(path.join(dir, old), { force: true });
  return listBackups(dataDir).find((b) => b.name === name) as BackupFile;
}

/** SQLite's integrity check of a backup file; `standalone` also switches it to a rollback journal first. */
export function checkBackupFile(file: string, options: { standalone: boolean } = { standalone: false }): string[] {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, readonly: !options.standalone });
  } catch (error) {
    return [`cannot open ${file}: ${(error as Error).message}`];
  }
  try {
    if (options.standalone) db.pragma('journal_mode = DELETE');
    return integrityProblems(db);
  } catch (error) {
    return [(error as Error).message];
  } finally {
    db.close();
  }
}

/** A backup named on the command line: a path, or a name (or day) of a backup in the data directory. */
export function resolveBackup(dataDir: string, given: string): string {
  if (given.includes('/')) return path.resolve(given);
  const byDay = /^\d{4}-\d{2}-\d{2}$/.test(given) ? `outgoing-limits-${given}.sqlite` : given;
  return path.join(backupDir(dataDir), byDay);
}

export interface RestoreResult {
  restoredFrom: string;
  store: string;
  /** Where the store that was replaced is kept, if there was one. */
  keptAs: string | null;
}

/**
 * Puts a backup in place of the store; the daemon must be stopped (the caller makes sure). The backup is
 * checked, copied beside the store and synced, then swapped in with one rename, so the store is at every moment
 * either the old file or the whole backup. The old file stays as `<store>.damaged-<time>`, with its -wal (which
 * belongs to it, and would corrupt the restored file if left); the -shm, an index of that -wal, is removed.
 */
export function restoreBackup(dataDir: string, backupFile: string, options: { atMs: number; fileMode: number; newestSchema: number }): RestoreResult {
  if (!existsSync(backupFile)) throw new Error(`there is no backup ${backupFile}`);
  const problems = checkBackupFile(backupFile);
  if (problems.length > 0) throw new Error([`the backup ${backupFile} is damaged too; nothing changed:`, ...problems.slice(0, 10).map((p) => `  ${p}`)].join('\n'));
  const schema = schemaOf(backupFile);
  if (schema > options.newestSchema) {
    throw new Error(`the backup ${backupFile} holds schema version ${schema}, newer than this program knows (${options.newestSchema}); nothing changed`);
  }
  const store = path.join(dataDir, STORE_FILE);
  const incoming = `${store}.restoring`;
  copyFileSync(backupFile, incoming);
  const existing = existsSync(store) ? statSync(store) : null;
  chmodSync(incoming, existing ? existing.mode & 0o777 : options.fileMode);
  if (existing) chownSync(incoming, existing.uid, existing.gid);
  syncFile(incoming);
  let keptAs: string | null = null;
  if (existing) {
    keptAs = `${store}.damaged-${new Date(options.atMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    linkSync(store, keptAs);
    if (existsSync(`${store}-wal`)) renameSync(`${store}-wal`, `${keptAs}-wal`);
  }
  rmSync(`${store}-shm`, { force: true });
  renameSync(incoming, store);
  syncFile(dataDir);
  return { restoredFrom: backupFile, store, keptAs };
}

function schemaOf(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

function syncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
