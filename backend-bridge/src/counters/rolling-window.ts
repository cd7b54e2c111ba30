/**
 * Budget used by one object: (second, amount) pairs interleaved in one array, in arrival order, old pairs
 * falling off the front (`head` indexes the oldest second). One array per object keeps 100,000 busy mailboxes
 * affordable.
 */
interface Steps {
  pairs: number[];
  head: number;
  total: number;
}

/** Steps are compacted once this many have expired at the front, to keep memory flat without copying often. */
const COMPACT_AFTER = 64;
/** Below this many numbers (8 pairs) an append copies into an exact-size array instead of growing one. */
const EXACT_SIZE_UNTIL = 16;

/**
 * Exact rolling-window counters for many objects, at one-second resolution: an amount added at second s counts
 * until second s + windowSeconds, so there is no burst at the top of the hour as with clock-hour buckets.
 * Memory is proportional to the number of distinct (object, second) steps inside the window, not to traffic.
 * All methods are synchronous, so a check followed by an add in the same tick is atomic in Node.
 */
export class RollingWindowCounters {
  private readonly steps = new Map<number, Steps>();

  constructor(readonly windowSeconds: number) {}

  add(key: number, second: number, amount: number): void {
    let s = this.steps.get(key);
    if (!s) {
      this.steps.set(key, { pairs: [second, amount], head: 0, total: amount });
      return;
    }
    const p = s.pairs;
    const last = p.length - 2;
    if (last >= s.head && p[last] === second) {
      p[last + 1] = (p[last + 1] ?? 0) + amount;
    } else if (last >= s.head && (p[last] ?? 0) > second) {
      // Restored journal rows may arrive out of order: keep the pairs sorted so expiry stays a front pop.
      this.insertSorted(s, second, amount);
    } else if (p.length < EXACT_SIZE_UNTIL) {
      // Short histories (most objects) are copied into an exact-size array: push would reserve room for ~17
      // more numbers on each of 100,000 objects. The copy also drops expired pairs.
      s.pairs = (s.head === 0 ? p : p.slice(s.head)).concat(second, amount);
      s.head = 0;
    } else {
      p.push(second, amount);
    }
    s.total += amount;
  }

  private insertSorted(s: Steps, second: number, amount: number): void {
    const p = s.pairs;
    let i = p.length;
    while (i > s.head && (p[i - 2] ?? 0) > second) i -= 2;
    if (i > s.head && p[i - 2] === second) {
      p[i - 1] = (p[i - 1] ?? 0) + amount;
      return;
    }
    p.splice(i, 0, second, amount);
  }

  /** Budget used in the window that ends at `now` (seconds). */
  used(key: number, now: number): number {
    const s = this.steps.get(key);
    if (!s) return 0;
    this.expire(key, s, now);
    return s.total;
  }

  /**
   * Seconds from `now` until at least `amount` of the used budget has left the window, or null if the window
   * does not hold that much.
   */
  secondsUntilFreed(key: number, now: number, amount: number): number | null {
    const s = this.steps.get(key);
    if (!s) return null;
    this.expire(key, s, now);
    let freed = 0;
    for (let i = s.head; i < s.pairs.length; i += 2) {
      freed += s.pairs[i + 1] ?? 0;
      if (freed >= amount) return (s.pairs[i] ?? now) + this.windowSeconds - now;
    }
    return null;
  }

  /** Every object with budget used in the window ending at `now`. */
  *activeKeys(now: number): Iterable<number> {
    for (const [key, s] of this.steps) {
      this.expire(key, s, now);
      if (this.steps.has(key)) yield key;
    }
  }

  /** Drops the counters of objects that no longer exist. */
  forget(key: number): void {
    this.steps.delete(key);
  }

  /** Expires everything that left the window, for all objects (a periodic sweep keeps idle objects from piling up). */
  sweep(now: number): void {
    for (const [key, s] of this.steps) this.expire(key, s, now);
  }

  get size(): number {
    return this.steps.size;
  }

  private expire(key: number, s: Steps, now: number): void {
    const oldestKept = now - this.windowSeconds;
    const p = s.pairs;
    while (s.head < p.length && (p[s.head] ?? 0) <= oldestKept) {
      s.total -= p[s.head + 1] ?? 0;
      s.head += 2;
    }
    if (s.head === p.length) {
      this.steps.delete(key);
    } else if (s.head >= COMPACT_AFTER * 2 && s.head * 2 >= p.length) {
      s.pairs = p.slice(s.head);
      s.head = 0;
    }
  }
}
