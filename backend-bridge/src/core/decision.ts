import type { ChargedObject } from './directory.js';
import type { CountingUnit } from './settings.js';

/** What the counters know of one object at the moment of a decision. */
export interface WindowView {
  /** Budget used in the rolling window that ends now. */
  used(object: ChargedObject): number;
  /** Seconds until at least `amount` of the used budget has left the window; null if it never will. */
  secondsUntilFreed(object: ChargedObject, amount: number): number | null;
}

export interface Allowed {
  allowed: true;
}

export interface Refused {
  allowed: false;
  /** The innermost level that has no budget for this message. */
  tripped: ChargedObject;
  limit: number;
  used: number;
  /** When the message would fit; null when it never can (limit 0, or larger than the limit itself). */
  retryAfterSeconds: number | null;
  reason: string;
}

export type Decision = Allowed | Refused;

const ALLOWED: Allowed = { allowed: true };

/**
 * The decision for one message of `weight` budget units: allowed only if every level of the chain has room
 * for the whole message. Levels whose limit is "unlimited" are skipped. Reports the innermost level that
 * tripped, since that is the one the sender can do something about first.
 */
export function decideMessage(chain: readonly ChargedObject[], weight: number, unit: CountingUnit, window: WindowView): Decision {
  for (const object of chain) {
    const limit = object.effective.limit;
    if (limit === 'unlimited') continue;
    const used = window.used(object);
    if (used + weight <= limit) continue;
    const retryAfterSeconds = weight > limit ? null : window.secondsUntilFreed(object, used + weight - limit);
    return {
      allowed: false,
      tripped: object,
      limit,
      used,
      retryAfterSeconds,
      reason: explainRefusal(object, limit, used, weight, unit, retryAfterSeconds),
    };
  }
  return ALLOWED;
}

/**
 * The sentence a sender (and the log) gets: which level, which limit, and when budget frees. It is protocol text
 * (SMTP replies, milter quarantine reasons, logs) and stays English and as it is; the screens never show it: they
 * word the structured cause (core/hold-cause.ts) in the person's language.
 */
export function explainRefusal(
  object: ChargedObject,
  limit: number,
  used: number,
  weight: number,
  unit: CountingUnit,
  retryAfterSeconds: number | null,
): string {
  const what = `${object.level} ${object.name}`;
  const rate = `${limit} ${unit}/hour`;
  if (limit === 0) return `Sending is not allowed for ${what} (outgoing limit 0 ${unit}/hour)`;
  if (weight > limit) {
    return `This message has ${weight} recipients, more than the outgoing limit of ${rate} for ${what} allows; send it to fewer recipients at a time`;
  }
  const wait = retryAfterSeconds === null ? '' : `; try again in ${formatWait(retryAfterSeconds)}`;
  if (used < limit) {
    return `Outgoing limit of ${rate} for ${what} leaves ${limit - used}, this message has ${weight} recipients${wait}`;
  }
  return `Outgoing limit of ${rate} for ${what} reached${wait}`;
}

/** Rounded up: "try again in 12 minutes" must never be too early. */
export function formatWait(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return whole === 1 ? '1 second' : `${whole} seconds`;
  const minutes = Math.ceil(whole / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

/**
 * The same sentence for a held message: the sender's client saw 250, so this is what the log, the held-mail list
 * and the notifications say. Held mail is released automatically when the window frees, unless it never can.
 */
export function explainHold(refused: Refused): string {
  const wait = '; try again in ';
  const at = refused.reason.lastIndexOf(wait);
  if (refused.retryAfterSeconds !== null && at >= 0) {
    return `${refused.reason.slice(0, at)}; message held, sent automatically in about ${refused.reason.slice(at + wait.length)}`;
  }
  return `${refused.reason}; message held until a person releases it`;
}
