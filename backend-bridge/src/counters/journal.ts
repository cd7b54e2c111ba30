import { Worker } from 'node:worker_threads';
import type { Db } from '../store/database.js';
import { prepareJournalRollUp } from '../store/hourly-stats.js';
import { PendingAmounts } from './pending-amounts.js';
import type { RollingWindowCounters } from './rolling-window.js';

export const JOURNAL_UPSERT_SQL = `INSERT INTO counter_journal (counter_key, second, amount) VALUES (?, ?, ?)
  ON CONFLICT(counter_key, second) DO UPDATE SET amount = amount + excluded.amount`;

export type JournalWorkerMessage =
  | { type: 'write'; id: number; rows: Float64Array }
  | { type: 'prune'; id: number; oldestKeptSecond: number }
  | { type: 'close'; id: number };

type WorkerReply = { type: 'done'; id: number } | { type: 'failed'; id: number; error: string };

/**
 * Makes counters survive restarts: every accepted amount is buffered and written to SQLite in one transaction
 * per flush. The daemon flushes several times a second, so a kill -9 loses at most the last flush interval.
 * With `background`, batches are written by a worker thread (see journal-worker.ts); otherwise synchronously.
 */
export class CounterJournal {
  private readonly pending = new PendingAmounts();
  private readonly upsert;
  private readonly prune;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(
    private readonly db: Db,
    options: { background?: boolean; onError?: (message: string) => void } = {},
  ) {
    this.upsert = db.prepare(JOURNAL_UPSERT_SQL);
    this.prune = prepareJournalRollUp(db);
    if (options.background) {
      // The writer only turns batches into statements: a small heap is plenty, and a large one is resident memory.
      this.worker = new Worker(new URL('./journal-worker.js', import.meta.url), {
        workerData: { file: db.name },
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 },
      });
      this.worker.on('message', (reply: WorkerReply) => {
        const waiter = this.waiting.get(reply.id);
        this.waiting.delete(reply.id);
        if (reply.type === 'failed') {
          options.onError?.(reply.error);
          waiter?.reject(new Error(reply.error));
        } else {
          waiter?.resolve();
        }
      });
      this.worker.on('error', (error) => options.onError?.(error.message));
    }
  }

  record(key: number, second: number, amount: number): void {
    this.pending.add(key, second, amount);
  }

  /** Drops what is buffered for an object that no longer exists, so it is not written after its delete. */
  discard(key: number): void {
    this.pending.zeroKey(key);
  }

  private writeRows(rows: Float64Array): void {
    this.db.transaction(() => {
      for (let i = 0; i + 2 < rows.length; i += 3) this.upsert.run(rows[i], rows[i + 1], rows[i + 2]);
    })();
  }

  /** Hands the buffered amounts to SQLite (or to the writer thread); resolves once they are committed. */
  flush(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    const rows = this.pending.drain();
    if (!this.worker) {
      try {
        this.writeRows(rows);
      } catch (error) {
        // Nothing of the batch was committed: it goes back to be written with the next flush.
        for (let i = 0; i + 2 < rows.length; i += 3) this.pending.add(rows[i]!, rows[i + 1]!, rows[i + 2]!);
        throw error;
      }
      return Promise.resolve();
    }
    return this.send({ type: 'write', id: this.nextId++, rows }, [rows.buffer as ArrayBuffer]);
  }

  /** Rows that left the window no longer count: they are rolled up into hourly statistics. */
  pruneBefore(oldestKeptSecond: number): Promise<void> {
    if (this.worker) return this.send({ type: 'prune', id: this.nextId++, oldestKeptSecond });
    this.prune(oldestKeptSecond);
    return Promise.resolve();
  }

  /** Writes what is pending and stops the writer thread. */
  async close(): Promise<void> {
    await this.flush();
    if (!this.worker) return;
    const worker = this.worker;
    this.worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close', id: this.nextId++ } satisfies JournalWorkerMessage);
    await exited;
  }

  private send(message: JournalWorkerMessage, transfer: ArrayBuffer[] = []): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.set(message.id, { resolve, reject });
      this.worker?.postMessage(message, transfer);
    });
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
