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
 * stays as long as the longest window (a day, for daily limits) while the charts keep two. A batch wholly before the window is deleted; one that
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

/**
 * Held mail released in the hours from `firstHour`, per hour: message count and the amount its releases counted.
 * Held records name the innermost object they are charged to; the directory tables say which domain and
 * subscription that object belongs to.
 */
function releasedPerHour(db: Db, target: { level: Level; id: number } | null, firstHour: number): Array<[number, number, number]> {
  const chargedTo: Record<Level, string> = {
    mailbox: `charged_level = 'mailbox' AND charged_name = (SELECT address FROM mailboxes WHERE id = @id)`,
    domain: `(charged_level = 'domain' AND charged_name = (SELECT name FROM domains WHERE id = @id))
      OR (charged_level = 'mailbox' AND charged_name IN (SELECT address FROM mailboxes WHERE domain_id = @id))`,
    subscription: `(charged_level = 'subscription' AND charged_name = (SELECT name FROM subscriptions WHERE id = @id))
      OR (charged_level = 'domain' AND charged_name IN (SELECT name FROM domains WHERE subscription_id = @id))
      OR (charged_level = 'mailbox' AND charged_name IN
        (SELECT m.address FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.subscription_id = @id))`,
  };
  return db
    .prepare(
      `SELECT resolved_at_ms / ${HOUR_MS}, COUNT(*), SUM(weight) FROM held_messages
       WHERE status = 'released' AND resolved_at_ms >= @from ${target ? `AND (${chargedTo[target.level]})` : ''}
       GROUP BY resolved_at_ms / ${HOUR_MS}`,
    )
    .raw()
    .all(target ? { from: firstHour * HOUR_MS, id: target.id } : { from: firstHour * HOUR_MS }) as Array<[number, number, number]>;
}

/**
 * One bucket per clock hour, oldest first, the current hour last; `target` null means the whole server.
 * Held mail shows as held in the hour it was held and as released in the hour it left, never as refused.
 */
export function hourlyStats(db: Db, target: { level: Level; id: number } | null, nowMs: number, hours: number): HourBucket[] {
  const currentHour = Math.floor(nowMs / HOUR_MS);
  const firstHour = currentHour - hours + 1;
  const counted = new Map<number, number>();
  const held = new Map<number, number>();
  const deferred = new Map<number, number>();
  const released = new Map<number, number>();
  const releasedAmount = new Map<number, number>();
  const add = (into: Map<number, number>, rows: Array<[number, number]>): void => {
    for (const [hour, amount] of rows) into.set(hour, (into.get(hour) ?? 0) + amount);
  };

  // The journal holds the last day or so (the daily window), not yet rolled up: its steps are summed here.
  const key = target ? counterKey(target.level, target.id) : null;
  forEachCounterStep(db, { fromSecond: firstHour * 3600 }, (stepKey, second, amount) => {
    if (key === null ? stepKey % 4 === SUBSCRIPTION_TAG : stepKey === key) {
      const hour = Math.floor(second / 3600);
      counted.set(hour, (counted.get(hour) ?? 0) + amount);
    }
  });
  if (target) {
    add(counted, db.prepare('SELECT hour, amount FROM hourly_sent WHERE counter_key = ? AND hour >= ?').raw().all(key, firstHour) as Array<[number, number]>);
  } else {
    add(counted, db.prepare('SELECT hour, amount FROM hourly_server_sent WHERE hour >= ?').raw().all(firstHour) as Array<[number, number]>);
  }
  const events = db
    .prepare(
      `SELECT at_ms / ${HOUR_MS}, action, COUNT(*) FROM over_limit_events
       WHERE ${target ? `${target.level}_id = ? AND ` : ''}at_ms >= ? GROUP BY at_ms / ${HOUR_MS}, action`,
    )
    .raw()
    .all(...(target ? [target.id] : []), firstHour * HOUR_MS) as Array<[number, string, number]>;
  for (const [hour, action, count] of events) {
    if (action === 'defer') add(deferred, [[hour, count]]);
    else if (action === 'hold') add(held, [[hour, count]]);
  }
  for (const [hour, count, amount] of releasedPerHour(db, target, firstHour)) {
    add(released, [[hour, count]]);
    add(releasedAmount, [[hour, amount]]);
  }

  const buckets: HourBucket[] = [];
  for (let hour = firstHour; hour <= currentHour; hour++) {
    buckets.push({
      start: new Date(hour * HOUR_MS).toISOString(),
      // A release is counted like a new message when it leaves; it is shown as released, not twice.
      sent: Math.max(0, (counted.get(hour) ?? 0) - (releasedAmount.get(hour) ?? 0)),
      held: held.get(hour) ?? 0,
      released: released.get(hour) ?? 0,
      deferred: deferred.get(hour) ?? 0,
    });
  }
  return buckets;
}
