/**
 * A long history: (second, amount) pairs interleaved in one array, sorted by second, old pairs falling off the
 * front (`head` indexes the oldest second).
 */
interface LongHistory {
  pairs: number[];
  head: number;
}

/** Pairs kept in the typed slot arrays; an object with more live seconds moves to a LongHistory. */
const INLINE_PAIRS = 2;
/** `inlineCount` of a slot whose pairs live in `long`. */
const LONG = 255;
/** A long history is compacted once this many pairs have expired at its front, to keep memory flat without copying often. */
const COMPACT_AFTER = 64;
const INITIAL_SLOTS = 1024;

/**
 * Exact rolling-window counters for many objects, at one-second resolution: an amount added at second s counts
 * until second s + windowSeconds, so there is no burst at the top of the hour as with clock-hour buckets.
 * Memory is proportional to the number of distinct (object, second) steps inside the window, not to traffic.
 *
 * Most objects (mailboxes) use only a few seconds of the window, so each object gets a slot in flat typed
 * arrays with room for two pairs and its total: about 55 bytes per object with its map entry, where a small
 * array per object costs more than twice that. Busier objects (domains, subscriptions) keep an array.
 * All methods are synchronous, so a check followed by an add in the same tick is atomic in Node.
 *
 * `stepSeconds` coarsens the resolution for long windows (a day counted per minute keeps a busy domain at 1,440
 * steps instead of 86,400): an amount is filed under the step that ends at or after its second, so it leaves the
 * window at most one step late and never early. Callers always speak in seconds.
 */
export class RollingWindowCounters {
  private readonly slotOf = new Map<number, number>();
  // Unix seconds fit 32 bits until 2106; an amount is one object's budget used within one second, signed because
  // a refund may open a pair of its own (a negative amount stored unsigned would wrap and lift the limit).
  private seconds = new Uint32Array(INITIAL_SLOTS * INLINE_PAIRS);
  private amounts = new Int32Array(INITIAL_SLOTS * INLINE_PAIRS);
  private totals = new Float64Array(INITIAL_SLOTS);
  private inlineCount = new Uint8Array(INITIAL_SLOTS);
  private readonly long = new Map<number, LongHistory>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  private readonly windowSteps: number;

  constructor(
    readonly windowSeconds: number,
    readonly stepSeconds = 1,
  ) {
    if (!Number.isInteger(stepSeconds) || stepSeconds < 1 || windowSeconds % stepSeconds !== 0) {
      throw new Error(`a window of ${windowSeconds} s cannot be counted in steps of ${stepSeconds} s`);
    }
    this.windowSteps = windowSeconds / stepSeconds;
  }

  /** The step an amount counted at `second` is filed under: the one ending at or after it. */
  private stepOfAmount(second: number): number {
    return Math.ceil(second / this.stepSeconds);
  }

  /** The step `now` falls in, for expiry: a step leaves once now has passed its end plus the window. */
  private stepOfNow(now: number): number {
    return Math.floor(now / this.stepSeconds);
  }

  add(key: number, atSecond: number, amount: number): void {
    const second = this.stepOfAmount(atSecond);
    let slot = this.slotOf.get(key);
    if (slot === undefined) {
      slot = this.allocate(key);
      this.seconds[slot * INLINE_PAIRS] = second;
      this.amounts[slot * INLINE_PAIRS] = amount;
      this.inlineCount[slot] = 1;
      this.totals[slot] = amount;
      return;
    }
    this.totals[slot] = (this.totals[slot] ?? 0) + amount;
    const count = this.inlineCount[slot] ?? 0;
    if (count === LONG) {
      addToLong(this.long.get(slot) as LongHistory, second, amount);
      return;
    }
    const base = slot * INLINE_PAIRS;
    // Restored journal rows may arrive out of order: keep pairs sorted so expiry only looks at the front.
    let at = count;
    while (at > 0 && (this.seconds[base + at - 1] ?? 0) > second) at--;
    if (at > 0 && this.seconds[base + at - 1] === second) {
      this.amounts[base + at - 1] = (this.amounts[base + at - 1] ?? 0) + amount;
    } else if (count < INLINE_PAIRS) {
      for (let i = count; i > at; i--) {
        this.seconds[base + i] = this.seconds[base + i - 1] ?? 0;
        this.amounts[base + i] = this.amounts[base + i - 1] ?? 0;
      }
      this.seconds[base + at] = second;
      this.amounts[base + at] = amount;
      this.inlineCount[slot] = count + 1;
    } else {
      const pairs: number[] = [];
      for (let i = 0; i < count; i++) pairs.push(this.seconds[base + i] ?? 0, this.amounts[base + i] ?? 0);
      const history = { pairs, head: 0 };
      addToLong(history, second, amount);
      this.long.set(slot, history);
      this.inlineCount[slot] = LONG;
    }
  }

  /** Budget used in the window that ends at `now` (seconds). */
  used(key: number, nowSecond: number): number {
    const now = this.stepOfNow(nowSecond);
    const slot = this.slotOf.get(key);
    if (slot === undefined || !this.expire(key, slot, now)) return 0;
    return this.totals[slot] ?? 0;
  }

  /**
   * Calls `visit` with each step of the window that ends at `now` (its last second, its amount), oldest first:
   * for sums per clock hour of the last day (the baseline of unusual sending).
   */
  forEachStep(key: number, nowSecond: number, visit: (second: number, amount: number) => void): void {
    const slot = this.slotOf.get(key);
    if (slot === undefined || !this.expire(key, slot, this.stepOfNow(nowSecond))) return;
    const count = this.inlineCount[slot] ?? 0;
    if (count === LONG) {
      const { pairs, head } = this.long.get(slot) as LongHistory;
      for (let i = head; i < pairs.length; i += 2) visit((pairs[i] ?? 0) * this.stepSeconds, pairs[i + 1] ?? 0);
      return;
    }
    const base = slot * INLINE_PAIRS;
    for (let i = 0; i < count; i++) visit((this.seconds[base + i] ?? 0) * this.stepSeconds, this.amounts[base + i] ?? 0);
  }

  /**
   * Seconds from `now` until at least `amount` of the used budget has left the window, or null if the window
   * does not hold that much.
   */
  secondsUntilFreed(key: number, nowSecond: number, amount: number): number | null {
    const now = this.stepOfNow(nowSecond);
    const slot = this.slotOf.get(key);
    if (slot === undefined || !this.expire(key, slot, now)) return null;
    // A step leaves the window at the start of step (its step + window steps).
    const freedAt = (step: number) => (step + this.windowSteps) * this.stepSeconds - nowSecond;
    let freed = 0;
    const count = this.inlineCount[slot] ?? 0;
    if (count === LONG) {
      const { pairs, head } = this.long.get(slot) as LongHistory;
      for (let i = head; i < pairs.length; i += 2) {
        freed += pairs[i + 1] ?? 0;
        if (freed >= amount) return freedAt(pairs[i] ?? now);
      }
      return null;
    }
    const base = slot * INLINE_PAIRS;
    for (let i = 0; i < count; i++) {
      freed += this.amounts[base + i] ?? 0;
      if (freed >= amount) return freedAt(this.seconds[base + i] ?? now);
    }
    return null;
  }

  /** Every object with budget used in the window ending at `now`. */
  *activeKeys(nowSecond: number): Iterable<number> {
    const now = this.stepOfNow(nowSecond);
    for (const [key, slot] of this.slotOf) {
      if (this.expire(key, slot, now)) yield key;
    }
  }

  /** Drops the counters of objects that no longer exist. */
  forget(key: number): void {
    const slot = this.slotOf.get(key);
    if (slot !== undefined) this.release(key, slot);
  }

  /** Expires everything that left the window, for all objects (a periodic sweep keeps idle objects from piling up). */
  sweep(nowSecond: number): void {
    const now = this.stepOfNow(nowSecond);
    for (const [key, slot] of this.slotOf) this.expire(key, slot, now);
  }

  get size(): number {
    return this.slotOf.size;
  }

  /** Drops the pairs that left the window (`now` in steps); false (and the slot freed) when nothing is left. */
  private expire(key: number, slot: number, now: number): boolean {
    const oldestKept = now - this.windowSteps;
    const count = this.inlineCount[slot] ?? 0;
    if (count === LONG) {
      const history = this.long.get(slot) as LongHistory;
      const p = history.pairs;
      let expired = 0;
      while (history.head < p.length && (p[history.head] ?? 0) <= oldestKept) {
        expired += p[history.head + 1] ?? 0;
        history.head += 2;
      }
      // Refunds are negative amounts: they leave the window too.
      if (expired !== 0) this.totals[slot] = (this.totals[slot] ?? 0) - expired;
      if (history.head === p.length) {
        this.release(key, slot);
        return false;
      }
      if (history.head >= COMPACT_AFTER * 2 && history.head * 2 >= p.length) {
        history.pairs = p.slice(history.head);
        history.head = 0;
      }
      return true;
    }
    const base = slot * INLINE_PAIRS;
    let gone = 0;
    while (gone < count && (this.seconds[base + gone] ?? 0) <= oldestKept) {
      this.totals[slot] = (this.totals[slot] ?? 0) - (this.amounts[base + gone] ?? 0);
      gone++;
    }
    if (gone === 0) return true;
    if (gone === count) {
      this.release(key, slot);
      return false;
    }
    for (let i = gone; i < count; i++) {
      this.seconds[base + i - gone] = this.seconds[base + i] ?? 0;
      this.amounts[base + i - gone] = this.amounts[base + i] ?? 0;
    }
    this.inlineCount[slot] = count - gone;
    return true;
  }

  private allocate(key: number): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.totals.length) this.grow();
    }
    this.slotOf.set(key, slot);
    return slot;
  }

  private release(key: number, slot: number): void {
    this.slotOf.delete(key);
    this.long.delete(slot);
    this.inlineCount[slot] = 0;
    this.totals[slot] = 0;
    this.freeSlots.push(slot);
  }

  private grow(): void {
    const slots = this.totals.length * 2;
    const widen = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T, perSlot: number): T => {
      const wider = make(slots * perSlot);
      wider.set(old);
      return wider;
    };
    this.seconds = widen(this.seconds, (n) => new Uint32Array(n), INLINE_PAIRS);
    this.amounts = widen(this.amounts, (n) => new Int32Array(n), INLINE_PAIRS);
    this.totals = widen(this.totals, (n) => new Float64Array(n), 1);
    this.inlineCount = widen(this.inlineCount, (n) => new Uint8Array(n), 1);
  }
}

/** Adds to a sorted long history: appended in the common case, inserted for out-of-order restores. */
function addToLong(history: LongHistory, second: number, amount: number): void {
  const p = history.pairs;
  let i = p.length;
  while (i > history.head && (p[i - 2] ?? 0) > second) i -= 2;
  if (i > history.head && p[i - 2] === second) {
    p[i - 1] = (p[i - 1] ?? 0) + amount;
  } else if (i === p.length) {
    p.push(second, amount);
  } else {
    p.splice(i, 0, second, amount);
  }
}
