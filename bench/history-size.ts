// What 31 days of statistics cost on disk: `node dist/bench/history-size.js [mailboxes]` fills a throwaway store
// as if every mailbox (with a domain and a subscription per 5 mailboxes) had sent in every hour of 31 days,
// once with 31 days of hourly rows and once as kept (a week of hourly rows, 31 daily rows), and prints both
// sizes and their extrapolation to 100,000 mailboxes (a B-tree grows linearly with its rows).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
