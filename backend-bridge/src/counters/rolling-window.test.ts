import { describe, expect, it } from 'vitest';
import { RollingWindowCounters } from './rolling-window.js';

describe('RollingWindowCounters', () => {
  it('counts an amount for exactly one window length, not until the top of the clock hour', () => {
    const c = new RollingWindowCounters(3600);
    c.add(1, 1000, 1);
    expect(c.used(1, 1000)).toBe(1);
    expect(c.used(1, 4599)).toBe(1);
    expect(c.used(1, 4600)).toBe(0);
  });

  it('has no burst at the hour boundary: messages at :59 still count at :01', () => {
    const c = new RollingWindowCounters(3600);
    const hourStart = 36_000;
    c.add(1, hourStart - 60, 100);
    expect(c.used(1, hourStart + 60)).toBe(100);
  });

  it('keeps objects apart and sums steps within the window', () => {
    const c = new RollingWindowCounters(60);
    c.add(1, 10, 2);
    c.add(1, 10, 3);
    c.add(1, 20, 1);
    c.add(2, 20, 7);
    expect(c.used(1, 20)).toBe(6);
    expect(c.used(2, 20)).toBe(7);
    expect(c.used(1, 70)).toBe(1);
    expect(c.used(3, 70)).toBe(0);
  });

  it('tells when enough budget frees', () => {
    const c = new RollingWindowCounters(3600);
    c.add(1, 100, 1);
    c.add(1, 200, 1);
    c.add(1, 300, 2);
    expect(c.secondsUntilFreed(1, 1000, 1)).toBe(100 + 3600 - 1000);
    expect(c.secondsUntilFreed(1, 1000, 2)).toBe(200 + 3600 - 1000);
    expect(c.secondsUntilFreed(1, 1000, 3)).toBe(300 + 3600 - 1000);
    expect(c.secondsUntilFreed(1, 1000, 5)).toBeNull();
    expect(c.secondsUntilFreed(9, 1000, 1)).toBeNull();
  });

  it('accepts steps out of order (restored journal) and still expires them correctly', () => {
    const c = new RollingWindowCounters(100);
    c.add(1, 50, 1);
    c.add(1, 30, 1);
    c.add(1, 40, 1);
    c.add(1, 30, 1);
    expect(c.used(1, 50)).toBe(4);
    expect(c.used(1, 130)).toBe(2);
    expect(c.used(1, 140)).toBe(1);
    expect(c.secondsUntilFreed(1, 140, 1)).toBe(10);
  });

  it('stays exact across compaction of long histories', () => {
    const c = new RollingWindowCounters(1000);
    for (let second = 0; second < 5000; second++) c.add(1, second, 1);
    expect(c.used(1, 4999)).toBe(1000);
    for (let second = 5000; second < 5100; second++) c.add(1, second, 2);
    expect(c.used(1, 5099)).toBe(900 + 200);
  });

  it('keeps counting right when a short history drops expired steps while growing', () => {
    const c = new RollingWindowCounters(10);
    c.add(1, 0, 1);
    c.add(1, 5, 2);
    expect(c.used(1, 12)).toBe(2); // second 0 expired, second 5 still counts
    c.add(1, 12, 3);
    c.add(1, 13, 4);
    expect(c.used(1, 13)).toBe(9);
    expect(c.secondsUntilFreed(1, 13, 3)).toBe(9); // 2 leave at second 15, the next 3 at second 22
    expect(c.used(1, 15)).toBe(7);
  });

  it('forgets idle objects once their window is empty, and on request', () => {
    const c = new RollingWindowCounters(10);
    c.add(1, 0, 1);
    c.add(2, 5, 1);
    c.sweep(12);
    expect(c.size).toBe(1);
    c.forget(2);
    expect(c.size).toBe(0);
  });

  it('moves an object from its slot to a long history and back to a fresh slot, keeping other objects intact', () => {
    const c = new RollingWindowCounters(100);
    c.add(1, 10, 1);
    c.add(2, 10, 5);
    c.add(1, 30, 2);
    c.add(1, 20, 4); // a third second, out of order: the object no longer fits its slot
    expect(c.used(1, 30)).toBe(7);
    expect(c.secondsUntilFreed(1, 30, 5)).toBe(20 + 100 - 30);
    expect(c.used(1, 125)).toBe(2);
    expect(c.used(1, 130)).toBe(0);
    expect(c.size).toBe(1);
    c.add(3, 131, 9); // reuses the freed slot: nothing of object 1 may show through
    expect(c.used(3, 131)).toBe(9);
    expect(c.secondsUntilFreed(3, 131, 10)).toBeNull();
    expect(c.used(2, 109)).toBe(5);
  });

  it('grows past its first thousand slots without losing counts', () => {
    const c = new RollingWindowCounters(3600);
    for (let key = 0; key < 5000; key++) c.add(key, 1000 + (key % 3), key);
    for (let key = 0; key < 5000; key += 499) expect(c.used(key, 2000)).toBe(key);
    expect(c.size).toBe(5000);
  });

  it('agrees with a plain list of steps under random adds, expiries and forgets', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const window = 50;
    const c = new RollingWindowCounters(window);
    const model = new Map<number, Array<[number, number]>>();
    let now = 1000;
    for (let step = 0; step < 20_000; step++) {
      now += random(3);
      const key = random(40);
      const action = random(10);
      if (action < 6) {
        const second = now - random(5); // sometimes out of order, as restored journal rows are
        const amount = 1 + random(4);
        c.add(key, second, amount);
        model.set(key, [...(model.get(key) ?? []), [second, amount]]);
      } else if (action === 6) {
        c.forget(key);
        model.delete(key);
      } else {
        const live = (model.get(key) ?? []).filter(([s]) => s > now - window).sort((a, b) => a[0] - b[0]);
        const used = live.reduce((sum, [, a]) => sum + a, 0);
        expect(c.used(key, now)).toBe(used);
        const want = 1 + random(8);
        let freed = 0;
        const frees = live.find(([, a]) => (freed += a) >= want);
        expect(c.secondsUntilFreed(key, now, want)).toBe(frees ? frees[0] + window - now : null);
      }
    }
  });

  it('keeps a refund filed at a second that holds nothing yet as a negative amount, not a wrapped huge one', () => {
    // Enforcer.refund files -weight at the second the message was counted; in the hour that second may already
    // have left (other mail keeps the hour's sum up), so the refund opens a pair of its own.
    const c = new RollingWindowCounters(3600);
    c.add(1, 5000, 1);
    c.add(1, 1000, -1);
    expect(c.used(1, 5000)).toBe(1);
    expect(c.secondsUntilFreed(1, 5000, 1)).toBe(3600);
  });

  it('takes a refund that left the window back out of a long history too', () => {
    // Three seconds in use: the object keeps a long history, whose expiry must also drop negative amounts.
    const c = new RollingWindowCounters(3600);
    c.add(1, 3000, 1);
    c.add(1, 6000, 1);
    c.add(1, 6001, 1);
    expect(c.used(1, 9001)).toBe(2);
    c.add(1, 3000, -1);
    expect(c.used(1, 9001)).toBe(2);
  });
});
