import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { overwritePages, pagesOf } from '../../test-support/store-damage.js';
import { backupDir, backupsBeyond, listBackups, restoreBackup, takeBackup } from './backups.js';
import { databasePath, newestSchemaVersion, openDatabase } from './database.js';
import { readDirectory, replaceDirectory } from './directory-store.js';
import { StoreDamagedError } from './integrity.js';

const DAY_MS = 86_400_000;
const DEC_3 = Date.parse('2026-12-03T10:00:00Z');

function store(): { dataDir: string; db: Database.Database } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oml-backups-'));
  const db = openDatabase(dataDir);
  replaceDirectory(db, exampleDirectory());
  return { dataDir, db };
}

function mailboxCount(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM mailboxes').pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('backups', () => {
  it('keeps the newest seven', () => {
    const names = Array.from({ length: 9 }, (_, i) => `outgoing-limits-2026-12-0${i + 1}.sqlite`);
    expect(backupsBeyond(names, 7)).toEqual(['outgoing-limits-2026-12-02.sqlite', 'outgoing-limits-2026-12-01.sqlite']);
  });

  it('writes a checked standalone copy of the open store under the day\'s name, in the store\'s file mode', async () => {
    const { dataDir, db } = store();
    const backup = await takeBackup(db, dataDir, { atMs: DEC_3, fileMode: 0o600, group: null });
    expect(backup.name).toBe('outgoing-limits-2026-12-03.sqlite');
    expect(statSync(backup.path).mode & 0o777).toBe(0o600);
    expect(mailboxCount(backup.path)).toBe(readDirectory(db).mailboxes.length);
    // Nothing but the backups themselves: no partial file, no -wal or -shm left by opening one.
    expect(readdirSync(backupDir(dataDir))).toEqual(['outgoing-limits-2026-12-03.sqlite']);
    db.close();
  });

  it('after nine daily backups, lists the last seven, newest first', async () => {
    const { dataDir, db } = store();
    for (let day = 0; day < 9; day++) await takeBackup(db, dataDir, { atMs: DEC_3 + day * DAY_MS, fileMode: 0o600, group: null });
    expect(listBackups(dataDir).map((b) => b.date)).toEqual(['2026-12-11', '2026-12-10', '2026-12-09', '2026-12-08', '2026-12-07', '2026-12-06', '2026-12-05']);
    db.close();
  });

  it('a backup of a damaged store fails its check and is not kept', async () => {
    const { dataDir, db } = store();
    db.close();
    const file = databasePath(dataDir);
    overwritePages(file, pagesOf(file, 'mailboxes'));
    const damaged = new Database(file, { fileMustExist: true });
    await expect(takeBackup(damaged, dataDir, { atMs: DEC_3, fileMode: 0o600, group: null })).rejects.toBeInstanceOf(StoreDamagedError);
    expect(readdirSync(backupDir(dataDir))).toEqual([]);
    damaged.close();
  });

  it('restore swaps the backup in, keeps the damaged store with its -wal aside and removes the stale -shm', async () => {
    const { dataDir, db } = store();
    const backup = await takeBackup(db, dataDir, { atMs: DEC_3, fileMode: 0o600, group: null });
    const file = databasePath(dataDir);
    // What a crash leaves: the store with its -wal and -shm, here with damage in the main file.
    db.pragma('wal_autocheckpoint = 0');
    db.prepare("UPDATE revisions SET value = value + 1 WHERE name = 'directory'").run();
    db.close();
    writeFileSync(`${file}-wal`, 'frames of the damaged store');
    writeFileSync(`${file}-shm`, 'index of those frames');
    overwritePages(file, pagesOf(backup.path, 'mailboxes'));

    const result = restoreBackup(dataDir, backup.path, { atMs: DEC_3 + 3_600_000, fileMode: 0o600, newestSchema: newestSchemaVersion() });
    expect(result.keptAs).toBe(`${file}.damaged-20261203T110000Z`);
    expect(existsSync(`${result.keptAs}-wal`)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(`${file}-shm`)).toBe(false);
    const restored = openDatabase(dataDir, { create: false, check: true });
    expect(readDirectory(restored).mailboxes.length).toBe(mailboxCount(backup.path));
    restored.close();
  });

  it('refuses a damaged backup and changes nothing', async () => {
    const { dataDir, db } = store();
    const backup = await takeBackup(db, dataDir, { atMs: DEC_3, fileMode: 0o600, group: null });
    db.close();
    overwritePages(backup.path, pagesOf(backup.path, 'mailboxes'));
    const before = readdirSync(dataDir).sort();
    expect(() => restoreBackup(dataDir, backup.path, { atMs: DEC_3, fileMode: 0o600, newestSchema: newestSchemaVersion() })).toThrow(/is damaged too; nothing changed/);
    expect(readdirSync(dataDir).sort()).toEqual(before);
  });

  it('refuses a backup of a newer schema than this program knows, and changes nothing', async () => {
    const { dataDir, db } = store();
    const backup = await takeBackup(db, dataDir, { atMs: DEC_3, fileMode: 0o600, group: null });
    db.close();
    const newer = new Database(backup.path);
    newer.pragma(`user_version = ${newestSchemaVersion() + 1}`);
    newer.close();
    const before = readdirSync(dataDir).sort();
    expect(() => restoreBackup(dataDir, backup.path, { atMs: DEC_3, fileMode: 0o600, newestSchema: newestSchemaVersion() })).toThrow(/newer than this program knows/);
    expect(readdirSync(dataDir).sort()).toEqual(before);
  });
});
