import { describe, expect, it } from 'vitest';
import { PendingAmounts } from './pending-amounts.js';

function rowsOf(drained: Float64Array): Map<string, number> {
  const rows = new Map<string, number>();
  for (let i = 0; i < drained.length; i += 3) {
    const id = `${drained[i]}@${drained[i + 1]}`;
    expect(rows.has(id), `(key, second) ${id} drained twice`).toBe(false);
    rows.set(id, drained[i + 2]!);
  }
  return rows;
}

describe('PendingAmounts', () => {
  it('sums amounts per key and second and empties on drain', () => {
    const pending = new PendingAmounts();
    pending.add(5, 1000, 1);
    pending.add(5, 1000, 2);
    pending.add(5, 1001, 1);
    pending.add(6, 1000, 4);
    expect(pending.size).toBe(3);
    expect(rowsOf(pending.drain())).toEqual(new Map([['5@1000', 3], ['5@1001', 1], ['6@1000', 4]]));
    expect(pending.size).toBe(0);
    expect(pending.drain()).toHaveLength(0);
    pending.add(5, 1000, 1);
    expect(rowsOf(pending.drain())).toEqual(new Map([['5@1000', 1]]));
  });

  it('leaves out zeroed keys and sums that came to zero (a refund of the same second)', () => {
    const pending = new PendingAmounts();
    pending.add(8, 1000, 2);
    pending.add(8, 1001, 1);
    pending.add(9, 1000, 1);
    pending.add(9, 1000, -1);
    pending.add(10, 1000, 1);
    pending.zeroKeys(new Set([8]));
    expect(rowsOf(pending.drain())).toEqual(new Map([['10@1000', 1]]));
  });

  it('agrees with a plain map through growth, many drains and keys beyond 32 bits', () => {
    let seed = 11;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pending = new PendingAmounts(16);
    let model = new Map<string, number>();
    for (let step = 0; step < 60_000; step++) {
      const action = random(1000);
      if (action === 0) {
        const expected = new Map([...model].filter(([, amount]) => amount !== 0));
        expect(rowsOf(pending.drain())).toEqual(expected);
        model = new Map();
      } else if (action === 1) {
        const key = random(3000) * 4;
        pending.zeroKeys(new Set([key]));
        for (const id of model.keys()) if (id.startsWith(`${key}@`)) model.set(id, 0);
      } else {
        const key = random(3) === 0 ? 2 ** 33 + random(50) : random(3000) * 4 + random(3);
        const second = 1_800_000_000 + random(4);
        const amount = random(10) === 0 ? -1 : 1 + random(3);
        pending.add(key, second, amount);
        const id = `${key}@${second}`;
        model.set(id, (model.get(id) ?? 0) + amount);
      }
    }
    expect(rowsOf(pending.drain())).toEqual(new Map([...model].filter(([, amount]) => amount !== 0)));
  });
});
