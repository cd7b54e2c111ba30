import { COUNTER_BATCH_FIELDS, forEachCounterStep, prepareCounterBatchInsert } from '../store/counter-batches.js';
import type { Db } from '../store/database.js';
import { prepareJournalRollUp } from '../store/hourly-stats.js';
import { PendingAmounts } from './pending-amounts.js';
import type { RollingWindowCounters } from './rolling-window.js';

/**
 * Makes counters survive restarts: every accepted amount is buffered and written to SQLite as one packed batch
 * per flush (see store/counter-batches.ts). The daemon flushes several times a second, so a kill -9 loses at
 * most the last flush interval.
 */
export class CounterJournal {
  private readonly pending = new PendingAmounts();
  private readonly insertBatch;
  private readonly rollUp;

  constructor(private readonly db: Db) {
    this.insertBatch = prepareCounterBatchInsert(db);
    this.rollUp = prepareJournalRollUp(db);
  }

  record(key: number, second: number, amount: number): void {
    this.pending.add(key, second, amount);
  }

  /** Drops what is buffered for objects that no longer exist, so it is not written after their delete. */
  discard(keys: ReadonlySet<number>): void {
    this.pending.zeroKeys(keys);
  }

  /** Writes the buffered amounts; on failure they stay buffered for the next flush, and the error is thrown. */
  flush(): void {
    if (this.pending.size === 0) return;
    const rows = this.pending.drain();
    try {
      this.insertBatch(rows);
    } catch (error) {
      for (let i = 0; i + 2 < rows.length; i += COUNTER_BATCH_FIELDS) this.pending.add(rows[i]!, rows[i + 1]!, rows[i + 2]!);
      throw error;
    }
  }

  /** Batches that left the window no longer count: they are rolled up into hourly statistics. */
  pruneBefore(oldestKeptSecond: number): void {
    this.rollUp(oldestKeptSecond);
  }

  /**
   * Loads everything still inside the window ending at `now` into `counters` (the hourly and the daily window, in
   * one pass over the journal: each gets the steps inside its own window); returns the steps read.
   */
  restoreInto(counters: RollingWindowCounters | readonly RollingWindowCounters[], now: number): number {
    const windows = Array.isArray(counters) ? (counters as readonly RollingWindowCounters[]) : [counters as RollingWindowCounters];
    const longest = Math.max(...windows.map((w) => w.windowSeconds));
    let count = 0;
    forEachCounterStep(this.db, { fromSecond: now - longest + 1 }, (key, second, amount) => {
      for (const window of windows) if (second > now - window.windowSeconds) window.add(key, second, amount);
      count++;
    });
    return count;
  }
}
