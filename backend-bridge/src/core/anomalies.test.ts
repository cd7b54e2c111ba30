import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDistinct, describeAnomaly, distinctCount, NONE, textHash, type Distinct, exceeds, hourOf, mayBeSurge, percentile95, surgeThreshold, SURGE_FLOOR } from './anomalies.js';

describe('exceeds: raised strictly above the threshold', () => {
  it('10 addresses is not above a threshold of 10; 11 is', () => {
    expect(exceeds(10, 10)).toBe(false);
    expect(exceeds(11, 10)).toBe(true);
  });
  it('an off signal never raises', () => {
    expect(exceeds(1_000_000, null)).toBe(false);
  });
});

describe('percentile95 (nearest rank over 168 hours, missing hours are 0)', () => {
  it('no history: 0', () => {
    expect(percentile95([])).toBe(0);
  });
  it('8 busy hours of 168 are within the top 5 %: the 95th percentile is still 0', () => {
    // rank ceil(0.95 × 168) = 160: 160 quiet hours reach it
    expect(percentile95(Array(8).fill(50))).toBe(0);
  });
  it('9 busy hours of 168 reach the 160th rank', () => {
    expect(percentile95(Array(9).fill(50))).toBe(50);
  });
  it('a steady mailbox: its usual hour', () => {
    expect(percentile95(Array(168).fill(7))).toBe(7);
  });
  it('takes the 160th smallest of 168 values', () => {
    const counts = Array.from({ length: 168 }, (_, i) => i + 1);
    expect(percentile95(counts)).toBe(160);
  });
  it('is never above the largest count nor below 0, and ignores order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(10_000), { maxLength: 168 }), (counts) => {
        const p = percentile95(counts);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(Math.max(0, ...counts));
        expect(percentile95([...counts].reverse())).toBe(p);
      }),
    );
  });
});

describe('surgeThreshold: max(20, factor × p95)', () => {
  it('a quiet mailbox: the floor of 20', () => {
    expect(surgeThreshold(0, 10)).toBe(SURGE_FLOOR);
    expect(surgeThreshold(2, 10)).toBe(20);
  });
  it('a busy mailbox: ten times its usual', () => {
    expect(surgeThreshold(3, 10)).toBe(30);
    expect(surgeThreshold(50, 10)).toBe(500);
  });
  it('the baseline is looked up only past the floor and only when the signal is on', () => {
    expect(mayBeSurge(20, 10)).toBe(false);
    expect(mayBeSurge(21, 10)).toBe(true);
    expect(mayBeSurge(1000, null)).toBe(false);
  });
});

describe('distinct values, bounded', () => {
  it('counts distinct values up to its cap and no further', () => {
    let kept: Distinct = NONE;
    for (let i = 0; i < 10; i++) {
      kept = addDistinct(kept, `192.0.2.${i}`, 11);
      expect(distinctCount(kept)).toBe(i + 1);
    }
    kept = addDistinct(kept, '192.0.2.0', 11);
    expect(distinctCount(kept)).toBe(10);
    kept = addDistinct(addDistinct(kept, '192.0.2.10', 11), '192.0.2.11', 11);
    expect(distinctCount(kept)).toBe(11);
  });
  it('one value repeated stays one, held without a Set', () => {
    const kept = addDistinct(addDistinct(NONE, 'a', 5), 'a', 5);
    expect(distinctCount(kept)).toBe(1);
    expect(typeof kept).toBe('number');
  });
  it('hashes are small integers', () => {
    fc.assert(fc.property(fc.string(), (text) => {
      const hash = textHash(text);
      expect(Number.isInteger(hash) && hash >= 0 && hash < 2 ** 30).toBe(true);
    }));
  });
});

describe('hourOf and describeAnomaly', () => {
  it('clock hours since the epoch', () => {
    expect(hourOf(3599)).toBe(0);
    expect(hourOf(3600)).toBe(1);
  });
  it('says the figures', () => {
    expect(describeAnomaly({ signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null })).toBe('logged in from 11 addresses in an hour (threshold 10)');
    expect(describeAnomaly({ signal: 'volumeSurge', observed: 31, threshold: 30, baseline: 3 })).toBe('sent 31 messages in an hour, usually at most 3 (threshold 30)');
  });
});
