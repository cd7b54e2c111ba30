/** The three levels a message is charged to, innermost first: the order in which a tripped level is reported. */
export const LEVELS = ['mailbox', 'domain', 'subscription'] as const;
export type Level = (typeof LEVELS)[number];

/**
 * The rolling windows a limit may be set for: the last hour and the last 24 hours. Both count the same accepted
 * messages; a message is accepted only when every window of every level has room for it.
 */
export const LIMIT_WINDOWS = ['hour', 'day'] as const;
export type LimitWindow = (typeof LIMIT_WINDOWS)[number];
export const WINDOW_LENGTH_SECONDS: Record<LimitWindow, number> = { hour: 3600, day: 86_400 };

/** An effective limit of one window: a count of messages (or recipients), or no limit at all. */
export type Limit = number | 'unlimited';

/** What an object stores for itself: its own limit, or null to follow the server default. */
export type LimitOverride = Limit | null;

/** Where an effective limit comes from: the object's own value, its service plan, or the server default. */
export type LimitSource = 'own' | 'plan' | 'default';

export interface EffectiveLimit {
  limit: Limit;
  source: LimitSource;
}

/** Largest value accepted anywhere a limit is written. */
export const MAX_LIMIT = 1_000_000_000;

/**
 * An object's own value wins; otherwise its service plan's value for its level (null: the plan sets none, or there
 * is no plan); otherwise the server default for its level.
 */
export function effectiveLimit(override: LimitOverride, planValue: LimitOverride, serverDefault: Limit): EffectiveLimit {
  if (override !== null) return { limit: override, source: 'own' };
  if (planValue !== null) return { limit: planValue, source: 'plan' };
  return { limit: serverDefault, source: 'default' };
}

/** What a service plan gives its subscriptions, per level; null where the plan sets nothing. */
export interface PlanLimits {
  name: string;
  mailbox: LimitOverride;
  domain: LimitOverride;
  subscription: LimitOverride;
  /** The plan's daily values per level; absent: the plan sets none. */
  daily?: Record<Level, LimitOverride> | undefined;
}

/** An object's values for one window: its own, its plan's, and the one in force. */
export interface WindowLimits {
  own: LimitOverride;
  plan: LimitOverride;
  effective: EffectiveLimit;
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
