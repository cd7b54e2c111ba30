import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE, openDatabase, schemaVersion, type Db } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { CounterJournal } from './journal.js';
import { RollingWindowCounters } from './rolling-window.js';

const WINDOW = 3600;
const NOW = 1_800_000_000;

describe('CounterJournal', () => {
  const dirs: string[] = [];
  const open = (dir = mkdtempSync(path.join(os.tmpdir(), 'oml-journal-'))): { db: Db; dir: string } => {
    dirs.push(dir);
    return { db: openDatabase(dir), dir };
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const restored = (db: Db, now = NOW) => {
    const counters = new RollingWindowCounters(WINDOW);
    new CounterJournal(db).restoreInto(counters, now);
    return counters;
  };

  it('brings back what was flushed, across many flushes, as a restarted daemon needs it', () => {
    const { db, dir } = open();
    const journal = new CounterJournal(db);
    journal.record(4, NOW - 10, 2);
    journal.record(5, NOW - 10, 1);
    journal.flush();
    journal.record(4, NOW - 10, 1); // the same second again, in a later flush
    journal.record(4, NOW - 5, 3);
    journal.flush();
    journal.record(4, NOW, 1); // buffered, never flushed: lost with the process
    db.close();

    const again = open(dir).db;
    const counters = restored(again);
    expect(counters.used(4, NOW)).toBe(6);
    expect(counters.used(5, NOW)).toBe(1);
    // Each step still expires a window after its own second.
    expect(counters.used(4, NOW - 10 + WINDOW)).toBe(3);
    again.close();
  });

  it('restores a refund written after its count, and nothing of a deleted object written before the delete', () => {
    const { db } = open();
    const journal = new CounterJournal(db);
    journal.record(8, NOW - 3, 2);
    journal.flush();
    journal.record(8, NOW - 3, -1); // a held message that did not leave after all
    journal.record(12, NOW - 2, 5);
    journal.discard(new Set([12]));
    journal.flush();
    const counters = restored(db);
    expect(counters.used(8, NOW)).toBe(1);
    expect(counters.used(12, NOW)).toBe(0);
    db.close();
  });

  it('leaves out steps older than the window and rolls them up into hourly rows on prune', () => {
    const { db } = open();
    const journal = new CounterJournal(db);
    journal.record(2, NOW - WINDOW - 100, 4); // subscription tag 2: counts for the server too
    journal.flush();
    journal.record(2, NOW - 100, 1);
    journal.flush();
    expect(restored(db).used(2, NOW)).toBe(1);

    journal.pruneBefore(NOW - WINDOW + 1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM counter_batches').get()).toEqual({ n: 1 });
    const hour = Math.floor((NOW - WINDOW - 100) / 3600);
    expect(db.prepare('SELECT counter_key, hour, amount FROM hourly_sent').all()).toEqual([{ counter_key: 2, hour, amount: 4 }]);
    expect(db.prepare('SELECT hour, amount FROM hourly_server_sent').all()).toEqual([{ hour, amount: 4 }]);
    expect(restored(db).used(2, NOW)).toBe(1);
    db.close();
  });

  it('keeps a failed batch buffered and writes it with the next flush', () => {
    const { db } = open();
    const journal = new CounterJournal(db);
    journal.record(4, NOW - 1, 1);
    db.exec('CREATE TRIGGER refuse BEFORE INSERT ON counter_batches BEGIN SELECT RAISE(ABORT, \'disk full\'); END');
    expect(() => journal.flush()).toThrow('disk full');
    db.exec('DROP TRIGGER refuse');
    journal.record(4, NOW, 1);
    journal.flush();
    expect(restored(db).used(4, NOW)).toBe(2);
    db.close();
  });

  it('moves the counts of a store from before packed batches into one batch when it upgrades', () => {
    const batchStep = MIGRATIONS.find((m) => m.description === 'counter journal as one packed batch per flush');
    if (!batchStep) throw new Error('no packed batch migration');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-journal-'));
    const old = new Database(path.join(dir, DATABASE_FILE));
    for (const step of MIGRATIONS.filter((m) => m.version < batchStep.version)) old.exec(step.sql);
    old.pragma(`user_version = ${batchStep.version - 1}`);
    const insert = old.prepare('INSERT INTO counter_journal (counter_key, second, amount) VALUES (?, ?, ?)');
    insert.run(4, NOW - 30, 2);
    insert.run(5, NOW - 20, 1);
    old.close();

    const { db } = open(dir);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'counter_journal'").get()).toEqual({ n: 0 });
    const counters = restored(db);
    expect(counters.used(4, NOW)).toBe(2);
    expect(counters.used(5, NOW)).toBe(1);
    db.close();
  });
});
