import { describe, expect, it } from 'vitest';
import { effectiveLimit, MAX_LIMIT, parseLimit } from './limits.js';

describe('effectiveLimit', () => {
  it('takes the object own value over the plan and the server default', () => {
    expect(effectiveLimit(7, null, 100)).toEqual({ limit: 7, source: 'own' });
    expect(effectiveLimit(7, 50, 100)).toEqual({ limit: 7, source: 'own' });
    expect(effectiveLimit('unlimited', 5, 100)).toEqual({ limit: 'unlimited', source: 'own' });
    expect(effectiveLimit(0, 'unlimited', 'unlimited')).toEqual({ limit: 0, source: 'own' });
  });

  it('takes the service plan value when the object has none, whether lower or higher than the default', () => {
    expect(effectiveLimit(null, 50, 100)).toEqual({ limit: 50, source: 'plan' });
    expect(effectiveLimit(null, 500, 100)).toEqual({ limit: 500, source: 'plan' });
    expect(effectiveLimit(null, 0, 100)).toEqual({ limit: 0, source: 'plan' });
    expect(effectiveLimit(null, 'unlimited', 100)).toEqual({ limit: 'unlimited', source: 'plan' });
  });

  it('falls back to the server default when neither the object nor its plan has a value', () => {
    expect(effectiveLimit(null, null, 100)).toEqual({ limit: 100, source: 'default' });
    expect(effectiveLimit(null, null, 'unlimited')).toEqual({ limit: 'unlimited', source: 'default' });
  });
});

describe('parseLimit', () => {
  it('accepts whole numbers in range, "unlimited", and "default" only where allowed', () => {
    expect(parseLimit('25', { allowDefault: false })).toEqual({ ok: true, value: 25 });
    expect(parseLimit(0, { allowDefault: false })).toEqual({ ok: true, value: 0 });
    expect(parseLimit(MAX_LIMIT, { allowDefault: false })).toEqual({ ok: true, value: MAX_LIMIT });
    expect(parseLimit('unlimited', { allowDefault: false })).toEqual({ ok: true, value: 'unlimited' });
    expect(parseLimit('default', { allowDefault: true })).toEqual({ ok: true, value: null });
    expect(parseLimit(null, { allowDefault: true })).toEqual({ ok: true, value: null });
    expect(parseLimit('default', { allowDefault: false }).ok).toBe(false);
  });

  it.each([-1, 1.5, MAX_LIMIT + 1, '-3', '2.5', 'ten', '', true, {}, Number.NaN])('rejects %j with a message', (raw) => {
    const result = parseLimit(raw, { allowDefault: true });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/whole number from 0 to 1000000000/);
  });
});
