import { counterKey } from '../core/directory.js';
import type { Level } from '../core/limits.js';
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
 * Returns what moves counter journal rows older than the window into hourly rows and deletes them, in one
 * transaction, so the journal stays an hour long while the charts keep a day. Used by the daemon's journal
 * writer (thread or main) when it prunes.
 */
export function prepareJournalRollUp(db: Db): (oldestKeptSecond: number) => void {
  const perObject = db.prepare(
    `INSERT INTO hourly_sent (counter_key, hour, amount)
       SELECT counter_key, second / 3600, SUM(amount) FROM counter_journal WHERE second < ? GROUP BY counter_key, second / 3600
     ON CONFLICT (counter_key, hour) DO UPDATE SET amount = amount + excluded.amount`,
  );
  const server = db.prepare(
    `INSERT INTO hourly_server_sent (hour, amount)
       SELECT second / 3600, SUM(amount) FROM counter_journal WHERE second < ? AND counter_key % 4 = ${SUBSCRIPTION_TAG} GROUP BY second / 3600
     ON CONFLICT (hour) DO UPDATE SET amount = amount + excluded.amount`,
  );
  const removeJournal = db.prepare('DELETE FROM counter_journal WHERE second < ?');
  const removeOldObjectHours = db.prepare('DELETE FROM hourly_sent WHERE hour < ?');
  const removeOldServerHours = db.prepare('DELETE FROM hourly_server_sent WHERE hour < ?');
  let prunedBeforeHour = 0;
  return db.transaction((oldestKeptSecond: number) => {
    perObject.run(oldestKeptSecond);
    server.run(oldestKeptSecond);
    removeJournal.run(oldestKeptSecond);
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

  if (target) {
    const key = counterKey(target.level, target.id);
    add(sent, db.prepare('SELECT hour, amount FROM hourly_sent WHERE counter_key = ? AND hour >= ?').raw().all(key, firstHour) as Array<[number, number]>);
    add(
      sent,
      db
        .prepare('SELECT second / 3600, SUM(amount) FROM counter_journal WHERE counter_key = ? AND second >= ? GROUP BY second / 3600')
        .raw()
        .all(key, firstHour * 3600) as Array<[number, number]>,
    );
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
      sent,
      db
        .prepare(`SELECT second / 3600, SUM(amount) FROM counter_journal WHERE second >= ? AND counter_key % 4 = ${SUBSCRIPTION_TAG} GROUP BY second / 3600`)
        .raw()
        .all(firstHour * 3600) as Array<[number, number]>,
    );
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
