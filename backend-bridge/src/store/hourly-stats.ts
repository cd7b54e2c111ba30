import { counterKey } from '../core/directory.js';
import type { Level } from '../core/limits.js';
import { COUNTER_BATCH_FIELDS, decodeCounterBatch, encodeCounterBatch, forEachCounterStep, secondsSpanned } from './counter-batches.js';
import type { Db } from './database.js';

export const HOUR_MS = 3_600_000;
/**
 * Hourly rows serve the 24-hour and 7-day charts, daily rows the 31-day one. Both are counted back from the
 * journal's oldest second (a day ago), so a day more than the charts show is kept and their oldest bar is whole.
 */
export const KEEP_HOURS = 7 * 24;
export const KEEP_DAYS = 31;
/** Every counted message is charged to its subscription, so the subscriptions' sum is the server's total. */
const SUBSCRIPTION_TAG = counterKey('subscription', 0);

/**
 * The query of one object's rows (`@key`) from hour or day `@first` to `@last`: one primary-key lookup per step,
 * since the tables are ordered by time first and a range over time alone would read every object's rows.
 */
export function objectStepsQuery(table: 'hourly_sent' | 'daily_sent', column: 'hour' | 'day'): string {
  return `WITH RECURSIVE span(t) AS (SELECT @first UNION ALL SELECT t + 1 FROM span WHERE t < @last)
     SELECT ${column}, amount FROM span JOIN ${table} ON ${table}.${column} = span.t AND ${table}.counter_key = @key`;
}

export interface HourBucket {
  /** Start of the clock hour, ISO 8601. */
  start: string;
  /**
   * Amount that left straight away in that hour, in the counting unit (messages or recipients): what was counted,
   * less what releases of held mail counted (those are `released`).
   */
  sent: number;
  /** Messages put on hold in that hour because this object or a level above it was over its limit. */
  held: number;
  /** Held messages released in that hour (by the worker as budget freed, by a person, or seen leaving Postfix). */
  released: number;
  /** Attempts answered "try again later" in that hour (over-limit action "defer"). */
  deferred: number;
}

/**
 * Returns what moves journal steps older than the window into hourly rows, in one transaction, so the journal
 * stays as long as the longest window (a day, for daily limits); each step also goes into its day row. A batch wholly before the window is deleted; one that
 * straddles its start keeps its newer steps, rewritten in place so batches stay in the order they were written.
 */
export function prepareJournalRollUp(db: Db): (oldestKeptSecond: number) => void {
  const addObjectHour = db.prepare(
    'INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?) ON CONFLICT (hour, counter_key) DO UPDATE SET amount = amount + excluded.amount',
  );
  const addServerHour = db.prepare(
    'INSERT INTO hourly_server_sent (hour, amount) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET amount = amount + excluded.amount',
  );
  const oldBatches = db.prepare('SELECT id, rows FROM counter_batches WHERE first_second < ? ORDER BY id').raw();
  const removeBatch = db.prepare('DELETE FROM counter_batches WHERE id = ?');
  const rewriteBatch = db.prepare('UPDATE counter_batches SET first_second = ?, last_second = ?, rows = ? WHERE id = ?');
  const addObjectDay = db.prepare(
    'INSERT INTO daily_sent (counter_key, day, amount) VALUES (?, ?, ?) ON CONFLICT (day, counter_key) DO UPDATE SET amount = amount + excluded.amount',
  );
  const addServerDay = db.prepare(
    'INSERT INTO daily_server_sent (day, amount) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET amount = amount + excluded.amount',
  );
  // Both tables are ordered by time first: the oldest rows are one contiguous range, never a scan of what is kept.
  const removeOldObjectHours = db.prepare('DELETE FROM hourly_sent WHERE hour < ?');
  const removeOldServerHours = db.prepare('DELETE FROM hourly_server_sent WHERE hour < ?');
  const removeOldObjectDays = db.prepare('DELETE FROM daily_sent WHERE day < ?');
  const removeOldServerDays = db.prepare('DELETE FROM daily_server_sent WHERE day < ?');
  let prunedBeforeHour = 0;
  let prunedBeforeDay = 0;
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
    // Every hour also goes into its day at once, so a day row is whole the moment its hours leave the journal.
    for (const [key, hours] of byObjectHour) for (const [day, amount] of sumByDay(hours)) addObjectDay.run(key, day, amount);
    for (const [day, amount] of sumByDay(byServerHour)) addServerDay.run(day, amount);
    // Deletes run once an hour (hours) and once a day (days), not at every prune.
    const journalStartHour = Math.floor(oldestKeptSecond / 3600);
    const oldestKeptHour = journalStartHour - KEEP_HOURS;
    if (oldestKeptHour > prunedBeforeHour) {
      removeOldObjectHours.run(oldestKeptHour);
      removeOldServerHours.run(oldestKeptHour);
      prunedBeforeHour = oldestKeptHour;
    }
    const oldestKeptDay = Math.floor(journalStartHour / 24) - KEEP_DAYS;
    if (oldestKeptDay > prunedBeforeDay) {
      removeOldObjectDays.run(oldestKeptDay);
      removeOldServerDays.run(oldestKeptDay);
      prunedBeforeDay = oldestKeptDay;
    }
  });
}

function sumByDay(hours: ReadonlyMap<number, number>): Map<number, number> {
  const days = new Map<number, number>();
  for (const [hour, amount] of hours) {
    const day = Math.floor(hour / 24);
    days.set(day, (days.get(day) ?? 0) + amount);
  }
  return days;
}

/**
 * Held mail released in the buckets from `firstHour`, per bucket of `bucketHours`: message count and the amount
 * its releases counted. Held records name the innermost object they are charged to; the directory tables say
 * which domain and subscription that object belongs to.
 */
function releasedPerBucket(
  db: Db,
  target: { level: Level; id: number } | null,
  firstHour: number,
  bucketHours: number,
): Array<[number, number, number]> {
  const chargedTo: Record<Level, string> = {
    mailbox: `charged_level = 'mailbox' AND charged_name = (SELECT address FROM mailboxes WHERE id = @id)`,
    domain: `(charged_level = 'domain' AND charged_name = (SELECT name FROM domains WHERE id = @id))
      OR (charged_level = 'mailbox' AND charged_name IN (SELECT address FROM mailboxes WHERE domain_id = @id))`,
    subscription: `(charged_level = 'subscription' AND charged_name = (SELECT name FROM subscriptions WHERE id = @id))
      OR (charged_level = 'domain' AND charged_name IN (SELECT name FROM domains WHERE subscription_id = @id))
      OR (charged_level = 'mailbox' AND charged_name IN
        (SELECT m.address FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.subscription_id = @id))`,
  };
  const bucketMs = bucketHours * HOUR_MS;
  return db
    .prepare(
      // A node of a cluster adds the releases of the other nodes (store/cluster-stats-store.ts); none elsewhere.
      `SELECT resolved_at_ms / ${bucketMs}, COUNT(*), SUM(weight) FROM (
         SELECT resolved_at_ms, weight, charged_level, charged_name FROM held_messages WHERE status = 'released' AND resolved_at_ms >= @from
         UNION ALL
         SELECT resolved_at_ms, weight, charged_level, charged_name FROM cluster_releases WHERE resolved_at_ms >= @from)
       ${target ? `WHERE (${chargedTo[target.level]})` : ''}
       GROUP BY resolved_at_ms / ${bucketMs}`,
    )
    .raw()
    .all(target ? { from: firstHour * HOUR_MS, id: target.id } : { from: firstHour * HOUR_MS }) as Array<[number, number, number]>;
}

/** The chart periods: how many bars, each of how many clock hours (UTC-aligned: 6-hour bars start at 0, 6, 12, 18). */
export const STATS_PERIODS = {
  '24h': { bucketHours: 1, buckets: 24 },
  '7d': { bucketHours: 6, buckets: 28 },
  '31d': { bucketHours: 24, buckets: 31 },
} as const;
export type StatsPeriod = keyof typeof STATS_PERIODS;

/**
 * One bucket per clock hour, oldest first, the current hour last; `target` null means the whole server.
 * Held mail shows as held in the hour it was held and as released in the hour it left, never as refused.
 */
export function hourlyStats(db: Db, target: { level: Level; id: number } | null, nowMs: number, hours: number): HourBucket[] {
  return bucketedStats(db, target, nowMs, { bucketHours: 1, buckets: hours });
}

/**
 * `buckets` bars of `bucketHours` (1, 6 or 24) each, oldest first, the one holding now last. Hourly and 6-hour bars
 * read hourly rows (kept a week), daily bars read daily rows (kept 31 days); both add what the journal still holds.
 */
export function bucketedStats(
  db: Db,
  target: { level: Level; id: number } | null,
  nowMs: number,
  shape: { bucketHours: number; buckets: number },
): HourBucket[] {
  const { bucketHours } = shape;
  const currentBucket = Math.floor(nowMs / (bucketHours * HOUR_MS));
  const firstBucket = currentBucket - shape.buckets + 1;
  const firstHour = firstBucket * bucketHours;
  const bucketOfHour = (hour: number) => Math.floor(hour / bucketHours);
  const counted = new Map<number, number>();
  const held = new Map<number, number>();
  const deferred = new Map<number, number>();
  const released = new Map<number, number>();
  const releasedAmount = new Map<number, number>();
  const add = (into: Map<number, number>, bucket: number, amount: number): void => {
    into.set(bucket, (into.get(bucket) ?? 0) + amount);
  };

  // The journal holds the last day or so (the daily window), not yet rolled up: its steps are summed here.
  const key = target ? counterKey(target.level, target.id) : null;
  forEachCounterStep(db, { fromSecond: firstHour * 3600 }, (stepKey, second, amount) => {
    if (key === null ? stepKey % 4 === SUBSCRIPTION_TAG : stepKey === key) add(counted, bucketOfHour(Math.floor(second / 3600)), amount);
  });
  const eachStep = objectStepsQuery;
  let rolledUp: Array<[number, number]>;
  if (bucketHours === 24) {
    rolledUp = target
      ? (db.prepare(eachStep('daily_sent', 'day')).raw().all({ first: firstBucket, last: currentBucket, key }) as Array<[number, number]>)
      : (db.prepare('SELECT day, amount FROM daily_server_sent WHERE day >= ?').raw().all(firstBucket) as Array<[number, number]>);
  } else {
    const hours = target
      ? (db.prepare(eachStep('hourly_sent', 'hour')).raw().all({ first: firstHour, last: currentBucket * bucketHours + bucketHours - 1, key }) as Array<[number, number]>)
      : (db.prepare('SELECT hour, amount FROM hourly_server_sent WHERE hour >= ?').raw().all(firstHour) as Array<[number, number]>);
    rolledUp = hours.map(([hour, amount]) => [bucketOfHour(hour), amount]);
  }
  for (const [bucket, amount] of rolledUp) add(counted, bucket, amount);
  const bucketMs = bucketHours * HOUR_MS;
  const events = db
    .prepare(
      `SELECT at_ms / ${bucketMs}, action, COUNT(*) FROM over_limit_events
       WHERE ${target ? `${target.level}_id = ? AND ` : ''}at_ms >= ? GROUP BY at_ms / ${bucketMs}, action`,
    )
    .raw()
    .all(...(target ? [target.id] : []), firstHour * HOUR_MS) as Array<[number, string, number]>;
  for (const [bucket, action, count] of events) {
    if (action === 'defer') add(deferred, bucket, count);
    else if (action === 'hold') add(held, bucket, count);
  }
  for (const [bucket, count, amount] of releasedPerBucket(db, target, firstHour, bucketHours)) {
    add(released, bucket, count);
    add(releasedAmount, bucket, amount);
  }

  const result: HourBucket[] = [];
  for (let bucket = firstBucket; bucket <= currentBucket; bucket++) {
    result.push({
      start: new Date(bucket * bucketMs).toISOString(),
      // A release is counted like a new message when it leaves; it is shown as released, not twice.
      sent: Math.max(0, (counted.get(bucket) ?? 0) - (releasedAmount.get(bucket) ?? 0)),
      held: held.get(bucket) ?? 0,
      released: released.get(bucket) ?? 0,
      deferred: deferred.get(bucket) ?? 0,
    });
  }
  return result;
}
