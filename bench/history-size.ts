// What 31 days of statistics cost on disk: `node dist/bench/history-size.js [mailboxes]` fills a throwaway store
// as if every mailbox (with a domain and a subscription per 5 mailboxes) had sent in every hour of 31 days,
// once with 31 days of hourly rows and once as kept (a week of hourly rows, 31 daily rows), and prints both
// sizes and their extrapolation to 100,000 mailboxes (a B-tree grows linearly with its rows); then how long the
// hourly prune (one hour's rows of every object) takes in the time-first table and in an object-first one.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDatabase, type Db } from '../backend-bridge/src/store/database.js';

const TARGET_MAILBOXES = 100_000;
const MAILBOXES_PER_DOMAIN = 5;

function storeBytes(mailboxes: number, fill: (db: Db, keys: number[]) => void): number {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-history-size-'));
  try {
    const db = openDatabase(dir);
    const domains = Math.ceil(mailboxes / MAILBOXES_PER_DOMAIN);
    // Counter keys as core/directory.ts makes them: id * 4 + a level tag (any distinct integers would do).
    const keys = [...Array(mailboxes).keys()].map((id) => id * 4 + 1);
    for (let id = 0; id < domains; id++) keys.push(id * 4 + 2, id * 4);
    db.transaction(() => fill(db, keys))();
    db.exec('VACUUM');
    const bytes = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    db.close();
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hourlyRows(db: Db, keys: number[], hours: number): void {
  const insert = db.prepare('INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?)');
  const firstHour = 500_000;
  for (const key of keys) for (let hour = firstHour; hour < firstHour + hours; hour++) insert.run(key, hour, 3);
}

function dailyRows(db: Db, keys: number[], days: number): void {
  const insert = db.prepare('INSERT INTO daily_sent (counter_key, day, amount) VALUES (?, ?, ?)');
  const firstDay = 20_000;
  for (const key of keys) for (let day = firstDay; day < firstDay + days; day++) insert.run(key, day, 72);
}

const mailboxes = Number(process.argv[2] ?? 5_000);
const empty = storeBytes(mailboxes, () => {});
const allHourly = storeBytes(mailboxes, (db, keys) => hourlyRows(db, keys, 31 * 24)) - empty;
const kept = storeBytes(mailboxes, (db, keys) => {
  hourlyRows(db, keys, 7 * 24);
  dailyRows(db, keys, 31);
}) - empty;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const scale = TARGET_MAILBOXES / mailboxes;
console.log(`measured with ${mailboxes} mailboxes, extrapolated to ${TARGET_MAILBOXES}:`);
console.log(`  31 days of hourly rows:                 ${mb(allHourly)} -> ${mb(allHourly * scale)}`);
console.log(`  a week of hourly rows + 31 daily rows:  ${mb(kept)} -> ${mb(kept * scale)}`);

/**
 * Milliseconds of the hourly prune over a week of hourly rows: in the store's time-first table, and in the
 * object-first table hourly rows had before (primary key (counter_key, hour), pruned by a scan).
 */
function pruneMs(mailboxes: number): { timeFirst: number; objectFirst: number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-history-prune-'));
  try {
    const db = openDatabase(dir);
    db.exec('CREATE TABLE object_first (counter_key INTEGER NOT NULL, hour INTEGER NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (counter_key, hour)) WITHOUT ROWID');
    const keys = [...Array(mailboxes).keys()].map((id) => id * 4 + 1);
    db.transaction(() => hourlyRows(db, keys, 7 * 24))();
    db.exec('INSERT INTO object_first (counter_key, hour, amount) SELECT counter_key, hour, amount FROM hourly_sent');
    const timed = (table: string, hour: number) => {
      const started = performance.now();
      db.prepare(`DELETE FROM ${table} WHERE hour < ?`).run(hour);
      return performance.now() - started;
    };
    // Each measured on its second run, so neither pays for a cold cache or a WAL checkpoint the other did not.
    timed('hourly_sent', 500_001);
    const timeFirst = timed('hourly_sent', 500_002);
    timed('object_first', 500_001);
    const objectFirst = timed('object_first', 500_002);
    db.close();
    return { timeFirst, objectFirst };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const prune = pruneMs(mailboxes);
console.log(
  `hourly prune of the oldest hour of ${mailboxes} objects among a week of rows: ${prune.timeFirst.toFixed(1)} ms time-first, ${prune.objectFirst.toFixed(1)} ms object-first (before)`,
);
