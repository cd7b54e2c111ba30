/**
 * Amounts accepted since the last journal flush, summed per (counter key, second), in flat typed arrays.
 * A flush covers a fifth of a second but, under a flood, thousands of objects: kept in Maps, every entry would
 * outlive a young-generation collection and be promoted, making work for full collections (and resident
 * memory) out of nothing but bookkeeping. Here recording allocates nothing; the arrays are reused.
 */
export class PendingAmounts {
  private keys: Float64Array;
  private seconds: Float64Array;
  private amounts: Float64Array;
  /** Slot i is in use when stamps[i] === generation: emptying the table is one increment. */
  private stamps: Uint32Array;
  private generation = 1;
  private used = 0;

  constructor(initialCapacity = 1024) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.keys = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity);
    this.amounts = new Float64Array(capacity);
    this.stamps = new Uint32Array(capacity);
  }

  /** Distinct (key, second) pairs held. */
  get size(): number {
    return this.used;
  }

  add(key: number, second: number, amount: number): void {
    if ((this.used + 1) * 2 > this.keys.length) this.grow();
    const slot = this.slotOf(key, second);
    if (this.stamps[slot] === this.generation) {
      this.amounts[slot]! += amount;
      return;
    }
    this.stamps[slot] = this.generation;
    this.keys[slot] = key;
    this.seconds[slot] = second;
    this.amounts[slot] = amount;
    this.used++;
  }

  /** Sets every amount of these keys to zero (objects deleted before their counts were written), in one pass. */
  zeroKeys(keys: ReadonlySet<number>): void {
    if (keys.size === 0) return;
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (this.stamps[slot] === this.generation && keys.has(this.keys[slot]!)) this.amounts[slot] = 0;
    }
  }

  /** Reused by drain(): a flood's batches are the same size flush after flush, so one buffer serves them all. */
  private drained = new Float64Array(0);

  /**
   * Moves everything out as (key, second, amount) triples, leaving out zero sums, and empties the table. The
   * triples are a view of a buffer the next drain() overwrites: use them before draining again.
   */
  drain(): Float64Array {
    if (this.drained.length < this.used * 3) this.drained = new Float64Array(this.used * 3 * 2);
    const rows = this.drained;
    let at = 0;
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (this.stamps[slot] !== this.generation || this.amounts[slot] === 0) continue;
      rows[at++] = this.keys[slot]!;
      rows[at++] = this.seconds[slot]!;
      rows[at++] = this.amounts[slot]!;
    }
    this.clear();
    return rows.subarray(0, at);
  }

  private clear(): void {
    this.used = 0;
    this.generation++;
    if (this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  /** The slot holding (key, second), or the empty slot where it belongs (linear probing). */
  private slotOf(key: number, second: number): number {
    const mask = this.keys.length - 1;
    // Keys are small integers (id * 4 + level) and seconds Unix times: mix both into 32 bits.
    let slot = (Math.imul(key | 0, 0x9e3779b1) ^ Math.imul(second | 0, 0x85ebca6b)) >>> 0;
    slot = (slot ^ (slot >>> 15)) & mask;
    while (this.stamps[slot] === this.generation && (this.keys[slot] !== key || this.seconds[slot] !== second)) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  private grow(): void {
    const { keys, seconds, amounts, stamps, generation } = this;
    const capacity = keys.length * 2;
    this.keys = new Float64Array(capacity);
    this.seconds = new Float64Array(capacity);
    this.amounts = new Float64Array(capacity);
    this.stamps = new Uint32Array(capacity);
    this.generation = 1;
    this.used = 0;
    for (let slot = 0; slot < keys.length; slot++) {
      if (stamps[slot] === generation) this.add(keys[slot]!, seconds[slot]!, amounts[slot]!);
    }
  }
}
