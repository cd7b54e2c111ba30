/** Budget used by one object, as (second, amount) steps in arrival order; old steps fall off the front. */
interface Steps {
  seconds: number[];
  amounts: number[];
  head: number;
  total: number;
}

/** Steps are compacted once this many have expired at the front, to keep memory flat without copying often. */
const COMPACT_AFTER = 64;

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
      s = { seconds: [], amounts: [], head: 0, total: 0 };
      this.steps.set(key, s);
    }
    const last = s.seconds.length - 1;
    if (last >= s.head && s.seconds[last] === second) {
      s.amounts[last] = (s.amounts[last] ?? 0) + amount;
    } else if (last >= s.head && (s.seconds[last] ?? 0) > second) {
      // Restored journal rows may arrive out of order: keep the steps sorted so expiry stays a front pop.
      this.insertSorted(s, second, amount);
    } else {
      s.seconds.push(second);
      s.amounts.push(amount);
    }
    s.total += amount;
  }

  private insertSorted(s: Steps, second: number, amount: number): void {
    let i = s.seconds.length;
    while (i > s.head && (s.seconds[i - 1] ?? 0) > second) i--;
    if (i > s.head && s.seconds[i - 1] === second) {
      s.amounts[i - 1] = (s.amounts[i - 1] ?? 0) + amount;
      return;
    }
    s.seconds.splice(i, 0, second);
    s.amounts.splice(i, 0, amount);
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
    for (let i = s.head; i < s.seconds.length; i++) {
      freed += s.amounts[i] ?? 0;
      if (freed >= amount) return (s.seconds[i] ?? now) + this.windowSeconds - now;
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
    while (s.head < s.seconds.length && (s.seconds[s.head] ?? 0) <= oldestKept) {
      s.total -= s.amounts[s.head] ?? 0;
      s.head++;
    }
    if (s.head === s.seconds.length) {
      this.steps.delete(key);
    } else if (s.head >= COMPACT_AFTER && s.head * 2 >= s.seconds.length) {
      s.seconds = s.seconds.slice(s.head);
      s.amounts = s.amounts.slice(s.head);
      s.head = 0;
    }
  }
}
