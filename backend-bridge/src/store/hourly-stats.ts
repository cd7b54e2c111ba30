import { counterKey } from '../core/directory.js';
import type { Level } from '../core/limits.js';
import { COUNTER_BATCH_FIELDS, decodeCounterBatch, encodeCounterBatch, forEachCounterStep, secondsSpanned } from './counter-batches.js';
import type { Db } from './database.js';

export const HOUR_MS = 3_600_000;
/** The charts show a day; a second day is kept so "the last 24 hours" is always whole. */
const KEEP_HOURS = 48;
/** Every counted message is charged to its subscription, so the subscriptions' sum is the server's total. */
const SUBSCRIPTION_TAG = counterKey('subscription', 0);

export interface HourBucket {
  /** Start of the clock hour, ISO 8601. */
  start: string;
  /** Counted amount accepted in that hour, in the counting unit (messages or recipients). */
  sent: number;
  /** Messages refused or held because this object or a level above it was over its limit. */
  blocked: number;
}

/**
 * Returns what moves journal steps older than the window into hourly rows, in one transaction, so the journal
 * stays an hour long while the charts keep a day. A batch wholly before the window is deleted; one that
 * straddles its start keeps its newer steps, rewritten in place so batches stay in the order they were written.
 */
export function prepareJournalRollUp(db: Db): (oldestKeptSecond: number) => void {
  const addObjectHour = db.prepare(
    'INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?) ON CONFLICT (counter_key, hour) DO UPDATE SET amount = amount + excluded.amount',
  );
  const addServerHour = db.prepare(
    'INSERT INTO hourly_server_sent (hour, amount) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET amount = amount + excluded.amount',
  );
  const oldBatches = db.prepare('SELECT id, rows FROM counter_batches WHERE first_second < ? ORDER BY id').raw();
  const removeBatch = db.prepare('DELETE FROM counter_batches WHERE id = ?');
  const rewriteBatch = db.prepare('UPDATE counter_batches SET first_second = ?, last_second = ?, rows = ? WHERE id = ?');
  const removeOldObjectHours = db.prepare('DELETE FROM hourly_sent WHERE hour < ?');
  const removeOldServerHours = db.prepare('DELETE FROM hourly_server_sent WHERE hour < ?');
  let prunedBeforeHour = 0;
  return db.transaction((oldestKeptSecond: number) => {
    const byObjectHour = new Map<number, Map<number, number>>();
    const byServerHour = new Map<number, number>();
    for (const [id, blob] of oldBatches.all(oldestKeptSecond) as Array<[number, Buffer]>) {
      const rows = decodeCounterBatch(blob);
      const kept: number[] = [];
      for (let i = 0; i + 2 < rows.length; i += COUNTER_BATCH_FIELDS) {
        const key = rows[i]!;
        const second = rows[i + 1]!;
        const amount = rows[i + 2]!;
        if (second >= oldestKeptSecond) {
          kept.push(key, second, amount);
          continue;
        }
        const hour = Math.floor(second / 3600);
        let hours = byObjectHour.get(key);
        if (!hours) byObjectHour.set(key, (hours = new Map()));
        hours.set(hour, (hours.get(hour) ?? 0) + amount);
        if (key % 4 === SUBSCRIPTION_TAG) byServerHour.set(hour, (byServerHour.get(hour) ?? 0) + amount);
      }
      if (kept.length === 0) {
        removeBatch.run(id);
      } else {
        const keptRows = Float64Array.from(kept);
        const { first, last } = secondsSpanned(keptRows);
        rewriteBatch.run(first, last, encodeCounterBatch(keptRows), id);
      }
    }
    for (const [key, hours] of byObjectHour) for (const [hour, amount] of hours) addObjectHour.run(key, hour, amount);
    for (const [hour, amount] of byServerHour) addServerHour.run(hour, amount);
    // hourly_sent has no index by hour alone: its scan runs once an hour, not at every prune.
    const oldestKeptHour = Math.floor(oldestKeptSecond / 3600) - KEEP_HOURS;
    if (oldestKeptHour > prunedBeforeHour) {
      removeOldObjectHours.run(oldestKeptHour);
      removeOldServerHours.run(oldestKeptHour);
      prunedBeforeHour = oldestKeptHour;
    }
  });
}

/** One bucket per clock hour, oldest first, the current hour last; `target` null means the whole server. */
export function hourlyStats(db: Db, target: { level: Level; id: number } | null, nowMs: number, hours: number): HourBucket[] {
  const currentHour = Math.floor(nowMs / HOUR_MS);
  const firstHour = currentHour - hours + 1;
  const sent = new Map<number, number>();
  const blocked = new Map<number, number>();
  const add = (into: Map<number, number>, rows: Array<[number, number]>): void => {
    for (const [hour, amount] of rows) into.set(hour, (into.get(hour) ?? 0) + amount);
  };

  // The journal holds the last hour or so, not yet rolled up: its steps are summed here.
  const key = target ? counterKey(target.level, target.id) : null;
  forEachCounterStep(db, { fromSecond: firstHour * 3600 }, (stepKey, second, amount) => {
    if (key === null ? stepKey % 4 === SUBSCRIPTION_TAG : stepKey === key) {
      const hour = Math.floor(second / 3600);
      sent.set(hour, (sent.get(hour) ?? 0) + amount);
    }
  });
  if (target) {
    add(sent, db.prepare('SELECT hour, amount FROM hourly_sent WHERE counter_key = ? AND hour >= ?').raw().all(key, firstHour) as Array<[number, number]>);
    add(
      blocked,
      db
        .prepare(`SELECT at_ms / ${HOUR_MS}, COUNT(*) FROM over_limit_events WHERE ${target.level}_id = ? AND at_ms >= ? GROUP BY at_ms / ${HOUR_MS}`)
        .raw()
        .all(target.id, firstHour * HOUR_MS) as Array<[number, number]>,
    );
  } else {
    add(sent, db.prepare('SELECT hour, amount FROM hourly_server_sent WHERE hour >= ?').raw().all(firstHour) as Array<[number, number]>);
    add(
      blocked,
      db
        .prepare(`SELECT at_ms / ${HOUR_MS}, COUNT(*) FROM over_limit_events WHERE at_ms >= ? GROUP BY at_ms / ${HOUR_MS}`)
        .raw()
        .all(firstHour * HOUR_MS) as Array<[number, number]>,
    );
  }

  const buckets: HourBucket[] = [];
  for (let hour = firstHour; hour <= currentHour; hour++) {
    buckets.push({ start: new Date(hour * HOUR_MS).toISOString(), sent: sent.get(hour) ?? 0, blocked: blocked.get(hour) ?? 0 });
  }
  return buckets;
}
