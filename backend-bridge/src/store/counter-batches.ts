import type { Db } from './database.js';

/**
 * The counter journal on disk: one row per flush, holding that flush's (counter key, second, amount) triples
 * packed as 64-bit floats (little-endian, as every platform Plesk runs on). One insert per flush costs the
 * daemon's single thread well under a millisecond even when a flood touches thousands of objects, where a row
 * per object and second would take tens of milliseconds or a second thread with a V8 heap of its own.
 * Rows of objects deleted since are harmless: ids are never reused, and the daemon forgets counts of objects
 * the directory no longer has.
 */

export const COUNTER_BATCH_FIELDS = 3;

export function encodeCounterBatch(rows: Float64Array): Buffer {
  return Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
}

/** Copies into a fresh buffer: SQLite's bytes need not be aligned for a Float64Array view. */
export function decodeCounterBatch(blob: Buffer): Float64Array {
  const rows = new Float64Array(Math.floor(blob.length / 8));
  new Uint8Array(rows.buffer).set(blob.subarray(0, rows.length * 8));
  return rows;
}

/** The smallest and largest second in a batch. */
export function secondsSpanned(rows: Float64Array): { first: number; last: number } {
  let first = Infinity;
  let last = -Infinity;
  for (let i = 1; i < rows.length; i += COUNTER_BATCH_FIELDS) {
    const second = rows[i]!;
    if (second < first) first = second;
    if (second > last) last = second;
  }
  return { first, last };
}

export function prepareCounterBatchInsert(db: Db): (rows: Float64Array) => void {
  const insert = db.prepare('INSERT INTO counter_batches (first_second, last_second, rows) VALUES (?, ?, ?)');
  return (rows) => {
    if (rows.length === 0) return;
    const { first, last } = secondsSpanned(rows);
    insert.run(first, last, encodeCounterBatch(rows));
  };
}

/**
 * Calls `visit` for every (key, second, amount) with second >= fromSecond (and < beforeSecond when given), in
 * the order they were written: a refund then always comes after the count it takes back.
 */
export function forEachCounterStep(
  db: Db,
  range: { fromSecond?: number; beforeSecond?: number },
  visit: (key: number, second: number, amount: number) => void,
): void {
  const from = range.fromSecond ?? -Infinity;
  const before = range.beforeSecond ?? Infinity;
  const blobs = db
    .prepare('SELECT rows FROM counter_batches WHERE last_second >= ? AND first_second < ? ORDER BY id')
    .pluck()
    .iterate(Number.isFinite(from) ? from : -1, Number.isFinite(before) ? before : Number.MAX_SAFE_INTEGER) as IterableIterator<Buffer>;
  for (const blob of blobs) {
    const rows = decodeCounterBatch(blob);
    for (let i = 0; i + 2 < rows.length; i += COUNTER_BATCH_FIELDS) {
      const second = rows[i + 1]!;
      if (second >= from && second < before) visit(rows[i]!, second, rows[i + 2]!);
    }
  }
}
