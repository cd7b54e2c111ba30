import { LEVELS, MAX_LIMIT, type Level, type Limit, type LimitOverride } from './limits.js';

/**
 * The maximum number of recipients of one message, per level. Unlike the rate limits it is not a budget: a
 * message over it can never be sent as it is, so it is the one refusal that is permanent (5.5.3), decided
 * before any rate limit and never counted against one.
 */

export const UNLIMITED_RECIPIENTS: Readonly<Record<Level, Limit>> = Object.freeze({ mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' });

/** The facts of an object a maximum is read from: only its level, name and the maximum in force for it. */
export interface RecipientCapped {
  level: Level;
  name: string;
  recipients: { effective: { limit: Limit } };
}

export interface RecipientRefusal<T extends RecipientCapped = RecipientCapped> {
  /** The level whose maximum is the tightest of the chain: the one the answer names. */
  tripped: T;
  maximum: number;
  recipients: number;
  /** Protocol text (SMTP reply, bounce, log): English, as it is. */
  reason: string;
}

/**
 * The tightest maximum along the chain (mailbox, domain, subscription): the smallest number; on a tie, the
 * innermost level, as the rate limits report theirs. null when every level is unlimited.
 */
export function tightestRecipientMaximum<T extends RecipientCapped>(chain: readonly T[]): { object: T; maximum: number } | null {
  let tightest: { object: T; maximum: number } | null = null;
  for (const object of chain) {
    const limit = object.recipients.effective.limit;
    if (limit === 'unlimited') continue;
    if (tightest === null || limit < tightest.maximum) tightest = { object, maximum: limit };
  }
  return tightest;
}

/**
 * The decision on the number of recipients alone, made before the rate decision: null when the message may go
 * on to it. A count that is not a positive whole number (a request without one) is never refused here: the
 * rate decision still counts it as one.
 */
export function decideRecipients<T extends RecipientCapped>(chain: readonly T[], recipientCount: number): RecipientRefusal<T> | null {
  if (!Number.isInteger(recipientCount) || recipientCount < 1) return null;
  const tightest = tightestRecipientMaximum(chain);
  if (tightest === null || recipientCount <= tightest.maximum) return null;
  return {
    tripped: tightest.object,
    maximum: tightest.maximum,
    recipients: recipientCount,
    reason: explainTooManyRecipients(tightest.object, tightest.maximum),
  };
}

/** "Too many recipients: at most 50 per message for mailbox x@example.com": the text after the SMTP code. */
export function explainTooManyRecipients(object: { level: Level; name: string }, maximum: number): string {
  return `Too many recipients: at most ${maximum} per message for ${object.level} ${object.name}`;
}

/** The SMTP reply: permanent, 5.5.3 ("too many recipients"), since sending the same message again cannot help. */
export function tooManyRecipientsReply(refusal: RecipientRefusal): string {
  return `554 5.5.3 ${refusal.reason}`;
}

/**
 * Reads a maximum as people and files write it: a whole number 1…MAX_LIMIT, "unlimited", or (when allowed)
 * "default"/null. 0 is refused: a message has at least one recipient, so it would mean "no mail at all",
 * which is what a rate limit of 0 says (and holds, instead of refusing for good).
 */
export function parseRecipientLimit(
  raw: unknown,
  options: { allowDefault: boolean },
): { ok: true; value: LimitOverride } | { ok: false; error: string } {
  const expected = options.allowDefault
    ? `a whole number of recipients from 1 to ${MAX_LIMIT}, "unlimited" or "default"`
    : `a whole number of recipients from 1 to ${MAX_LIMIT} or "unlimited"`;
  if (raw === null || raw === 'default') {
    return options.allowDefault ? { ok: true, value: null } : { ok: false, error: `expected ${expected}` };
  }
  if (raw === 'unlimited') return { ok: true, value: 'unlimited' };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) return { ok: false, error: `expected ${expected}, got ${JSON.stringify(raw)}` };
  return { ok: true, value };
}

/** Server defaults as stored: each level falls back to unlimited on its own when its value is unreadable. */
export function readRecipientDefaults(stored: (level: Level) => unknown): Record<Level, Limit> {
  const defaults: Record<Level, Limit> = { ...UNLIMITED_RECIPIENTS };
  for (const level of LEVELS) {
    const raw = stored(level);
    if (raw === undefined) continue;
    const parsed = parseRecipientLimit(raw, { allowDefault: false });
    if (parsed.ok && parsed.value !== null) defaults[level] = parsed.value;
  }
  return defaults;
}
