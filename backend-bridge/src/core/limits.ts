/** The three levels a message is charged to, innermost first: the order in which a tripped level is reported. */
export const LEVELS = ['mailbox', 'domain', 'subscription'] as const;
export type Level = (typeof LEVELS)[number];

/** An effective hourly limit: a count of messages (or recipients), or no limit at all. */
export type Limit = number | 'unlimited';

/** What an object stores for itself: its own limit, or null to follow the server default. */
export type LimitOverride = Limit | null;

export type LimitSource = 'own' | 'default';

export interface EffectiveLimit {
  limit: Limit;
  source: LimitSource;
}

/** Largest value accepted anywhere a limit is written. */
export const MAX_LIMIT = 1_000_000_000;

/** An object's own value wins; otherwise the server default for its level applies. */
export function effectiveLimit(override: LimitOverride, serverDefault: Limit): EffectiveLimit {
  return override === null ? { limit: serverDefault, source: 'default' } : { limit: override, source: 'own' };
}

/**
 * Reads a limit as people and files write it: a whole number 0…MAX_LIMIT, "unlimited", or (when allowed)
 * "default"/null for "use the server default". Returns an error message instead of throwing so callers can
 * attach it to the field that was wrong.
 */
export function parseLimit(
  raw: unknown,
  options: { allowDefault: boolean },
): { ok: true; value: LimitOverride } | { ok: false; error: string } {
  const expected = options.allowDefault
    ? `a whole number from 0 to ${MAX_LIMIT}, "unlimited" or "default"`
    : `a whole number from 0 to ${MAX_LIMIT} or "unlimited"`;
  if (raw === null || raw === 'default') {
    return options.allowDefault ? { ok: true, value: null } : { ok: false, error: `expected ${expected}` };
  }
  if (raw === 'unlimited') return { ok: true, value: 'unlimited' };
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && /^\d+$/.test(raw.trim())) value = Number(raw.trim());
  else return { ok: false, error: `expected ${expected}, got ${JSON.stringify(raw)}` };
  if (!Number.isInteger(value) || value < 0 || value > MAX_LIMIT) {
    return { ok: false, error: `expected ${expected}, got ${JSON.stringify(raw)}` };
  }
  return { ok: true, value };
}

export function formatLimit(limit: LimitOverride): string {
  if (limit === null) return 'default';
  return String(limit);
}
