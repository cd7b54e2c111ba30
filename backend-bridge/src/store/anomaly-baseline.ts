import { BASELINE_HOURS } from '../core/anomalies.js';
import type { Db } from './database.js';
import { objectStepsQuery } from './hourly-stats.js';

/**
 * The hourly amounts of one counter over the BASELINE_HOURS clock hours before `hour`, as the store keeps them
 * (hourly_sent: hours rolled up from the journal; the last day is still in the counters and is added by the
 * caller). Read-only: how long hourly_sent is kept is the statistics' business, not this query's.
 */
export function storedHourlyAmounts(db: Db, counterKey: number, hour: number): Map<number, number> {
  const rows = db
    .prepare(objectStepsQuery('hourly_sent', 'hour'))
    .raw()
    .all({ first: hour - BASELINE_HOURS, last: hour - 1, key: counterKey }) as Array<[number, number]>;
  return new Map(rows);
}
