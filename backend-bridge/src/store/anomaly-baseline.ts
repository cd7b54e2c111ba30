import { BASELINE_HOURS } from '../core/anomalies.js';
import type { Db } from './database.js';

/**
 * The hourly amounts of one counter over the BASELINE_HOURS clock hours before `hour`, as the store keeps them
 * (hourly_sent: hours rolled up from the journal; the last day is still in the counters and is added by the
 * caller). Read-only: how long hourly_sent is kept is the statistics' business, not this query's.
 */
export function storedHourlyAmounts(db: Db, counterKey: number, hour: number): Map<number, number> {
  const rows = db
    .prepare('SELECT hour, amount FROM hourly_sent WHERE counter_key = ? AND hour >= ? AND hour < ?')
    .raw()
    .all(counterKey, hour - BASELINE_HOURS, hour) as Array<[number, number]>;
  return new Map(rows);
}
