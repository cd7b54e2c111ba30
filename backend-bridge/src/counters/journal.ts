import type { Db } from '../store/database.js';
import type { RollingWindowCounters } from './rolling-window.js';

/**
 * Makes counters survive restarts: every accepted amount is buffered and written to SQLite in one transaction
 * per flush. The daemon flushes several times a second, so a kill -9 loses at most the last flush interval.
 */
export class CounterJournal {
  private pending = new Map<number, Map<number, number>>();
  private readonly upsert;
  private readonly prune;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare(
      `INSERT INTO counter_journal (counter_key, second, amount) VALUES (?, ?, ?)
       ON CONFLICT(counter_key, second) DO UPDATE SET amount = amount + excluded.amount`,
    );
    this.prune = db.prepare('DELETE FROM counter_journal WHERE second <= ?');
  }

  record(key: number, second: number, amount: number): void {
    let bySecond = this.pending.get(key);
    if (!bySecond) {
      bySecond = new Map();
      this.pending.set(key, bySecond);
    }
    bySecond.set(second, (bySecond.get(second) ?? 0) + amount);
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  flush(): void {
    if (this.pending.size === 0) return;
    // Synchronous, so nothing is recorded meanwhile; on failure the batch stays pending for the next flush.
    this.db.transaction(() => {
      for (const [key, bySecond] of this.pending) {
        for (const [second, amount] of bySecond) this.upsert.run(key, second, amount);
      }
    })();
    this.pending = new Map();
  }

  /** Rows that left the window are of no use any more. */
  pruneBefore(oldestKeptSecond: number): void {
    this.prune.run(oldestKeptSecond - 1);
  }

  /** Loads everything still inside the window ending at `now` into `counters`. */
  restoreInto(counters: RollingWindowCounters, now: number): number {
    const rows = this.db
      .prepare('SELECT counter_key, second, amount FROM counter_journal WHERE second > ? ORDER BY counter_key, second')
      .raw()
      .iterate(now - counters.windowSeconds) as IterableIterator<[number, number, number]>;
    let count = 0;
    for (const [key, second, amount] of rows) {
      counters.add(key, second, amount);
      count++;
    }
    return count;
  }
}

