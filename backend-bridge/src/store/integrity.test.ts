import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { overwritePages, pagesOf } from '../../test-support/store-damage.js';
import { backupDir } from './backups.js';
import { databasePath, openDatabase, StoreMissingError } from './database.js';
import { replaceDirectory } from './directory-store.js';
import { integrityProblems, StoreDamagedError } from './integrity.js';

function storeWithDirectory(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-integrity-'));
  const db = openDatabase(dir);
  replaceDirectory(db, exampleDirectory());
  db.close(); // the last connection checkpoints: every page is in the main file
  return dir;
}

describe('the store check', () => {
  it('finds a sound store sound', () => {
    const db = openDatabase(storeWithDirectory(), { check: true });
    expect(integrityProblems(db)).toEqual([]);
    db.close();
  });

  it('refuses a store with a damaged table page, naming the file, the damage and the newest backup to restore', () => {
    const dir = storeWithDirectory();
    const file = databasePath(dir);
    mkdirSync(backupDir(dir));
    writeFileSync(path.join(backupDir(dir), 'outgoing-limits-2026-11-30.sqlite'), '');
    writeFileSync(path.join(backupDir(dir), 'outgoing-limits-2026-12-01.sqlite'), '');
    overwritePages(file, pagesOf(file, 'mailboxes'));
    let thrown: unknown;
    try {
      openDatabase(dir, { check: true });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StoreDamagedError);
    const message = (thrown as Error).message;
    expect(message).toContain(`the store ${file} is damaged`);
    expect((thrown as StoreDamagedError).problems.length).toBeGreaterThan(0);
    expect(message).toContain((thrown as StoreDamagedError).problems[0]);
    expect(message).toContain(`outgoing-limits store restore outgoing-limits-2026-12-01.sqlite --data-dir ${dir}`);
  });

  it('refuses a store whose first pages are random bytes, and says there is no backup', () => {
    const dir = storeWithDirectory();
    overwritePages(databasePath(dir), [2, 3, 4, 5]);
    expect(() => openDatabase(dir, { check: true })).toThrow(/is damaged; limits cannot be enforced from it[\s\S]*There is no backup in/);
  });

  it('a read where there is no store says so and creates nothing', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'oml-integrity-')), 'absent');
    expect(() => openDatabase(dir, { create: false })).toThrow(StoreMissingError);
    expect(() => openDatabase(dir, { create: false })).toThrow(`there is no store in ${dir}`);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('store file modes', () => {
  const umask = process.umask();
  afterEach(() => {
    process.umask(umask);
  });

  it('are 0600 in a directory that already existed with mode 0777, under umask 0', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-modes-'));
    process.umask(0);
    mkdirSync(path.join(dir, 'data'), { mode: 0o777 });
    const dataDir = path.join(dir, 'data');
    expect(statSync(dataDir).mode & 0o777).toBe(0o777);
    const db = openDatabase(dataDir);
    replaceDirectory(db, exampleDirectory()); // a write makes the -wal and -shm files
    const file = databasePath(dataDir);
    for (const each of [file, `${file}-wal`, `${file}-shm`]) expect({ each, mode: statSync(each).mode & 0o777 }).toEqual({ each, mode: 0o600 });
    db.close();
  });

  it('are brought to the mode asked for (0640 for an API group) when the daemon opens an older store', () => {
    const dataDir = storeWithDirectory();
    process.umask(0);
    const file = databasePath(dataDir);
    const db = openDatabase(dataDir, { enforceMode: true, fileMode: 0o640, group: 0 });
    replaceDirectory(db, exampleDirectory());
    for (const each of [file, `${file}-wal`, `${file}-shm`]) expect({ each, mode: statSync(each).mode & 0o777 }).toEqual({ each, mode: 0o640 });
    db.close();
  });
});
