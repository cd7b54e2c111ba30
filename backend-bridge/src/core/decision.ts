import { limitIn, type ChargedObject } from './directory.js';
import { LIMIT_WINDOWS, type LimitWindow } from './limits.js';
import type { CountingUnit } from './settings.js';

/**
 * What the counters know of one object at the moment of a decision, per window (the last hour, the last 24
 * hours); both windows count the same accepted messages.
 */
export interface WindowView {
  /** Budget used in the rolling window that ends now. */
  used(object: ChargedObject, window: LimitWindow): number;
  /** Seconds until at least `amount` of the used budget has left the window; null if it never will. */
  secondsUntilFreed(object: ChargedObject, amount: number, window: LimitWindow): number | null;
  /** The second this view is of: temporary exemptions apply only before their end (absent: never applied). */
  atSecond?: number | undefined;
}

export interface Allowed {
  allowed: true;
}

export interface Refused {
  allowed: false;
  /** The innermost level that has no budget for this message. */
  tripped: ChargedObject;
  /** Which of its windows has no room: the hourly or the daily limit. */
  window: LimitWindow;
  limit: number;
  used: number;
  /** When the message would fit; null when it never can (limit 0, or larger than the limit itself). */
  retryAfterSeconds: number | null;
  reason: string;
}

export type Decision = Allowed | Refused;

const ALLOWED: Allowed = { allowed: true };

/**
 * The decision for one message of `weight` budget units: allowed only if every window of every level of the
 * chain has room for the whole message. Unlimited windows are skipped. Reports the innermost level that tripped,
 * since that is the one the sender can do something about first; when both of its windows are full, the one
 * that frees later (or never), since the message fits only once both have room.
 */
export function decideMessage(chain: readonly ChargedObject[], weight: number, unit: CountingUnit, view: WindowView): Decision {
  for (const object of chain) {
    let refused: Refused | null = null;
    for (const window of LIMIT_WINDOWS) {
      const limit = limitIn(object, window, view.atSecond);
      if (limit === 'unlimited') continue;
      const used = view.used(object, window);
      if (used + weight <= limit) continue;
      const retryAfterSeconds = weight > limit ? null : view.secondsUntilFreed(object, used + weight - limit, window);
      if (refused && !freesLater(retryAfterSeconds, refused.retryAfterSeconds)) continue;
      refused = {
        allowed: false,
        tripped: object,
        window,
        limit,
        used,
        retryAfterSeconds,
        reason: explainRefusal(object, limit, used, weight, unit, retryAfterSeconds, window),
      };
    }
    if (refused) return refused;
  }
  return ALLOWED;
}

/** Whether a wait of `a` seconds ends after one of `b` (null: never, the latest of all). */
function freesLater(a: number | null, b: number | null): boolean {
  if (b === null) return false;
  return a === null || a > b;
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
  window: LimitWindow = 'hour',
): string {
  const what = `${object.level} ${object.name}`;
  // "limit of 100 messages/hour", "daily limit of 500 messages": the window is always named.
  const named = window === 'hour' ? `limit of ${limit} ${unit}/hour` : `daily limit of ${limit} ${unit}`;
  if (limit === 0) return `Sending is not allowed for ${what} (outgoing ${window === 'hour' ? `limit 0 ${unit}/hour` : `daily limit 0 ${unit}`})`;
  if (weight > limit) {
    return `This message has ${weight} recipients, more than the outgoing ${named} for ${what} allows; send it to fewer recipients at a time`;
  }
  const wait = retryAfterSeconds === null ? '' : `; try again in ${formatWait(retryAfterSeconds)}`;
  if (used < limit) {
    return `Outgoing ${named} for ${what} leaves ${limit - used}, this message has ${weight} recipients${wait}`;
  }
  return `Outgoing ${named} for ${what} reached${wait}`;
}

/** Rounded up: "try again in 12 minutes" must never be too early. Waits beyond an hour (daily limits) in hours and minutes. */
export function formatWait(seconds: number): string {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return whole === 1 ? '1 second' : `${whole} seconds`;
  const minutes = Math.ceil(whole / 60);
  if (minutes <= 60) return minutes === 1 ? '1 minute' : `${minutes} minutes`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const hoursText = hours === 1 ? '1 hour' : `${hours} hours`;
  if (rest === 0) return hoursText;
  return `${hoursText} ${rest === 1 ? '1 minute' : `${rest} minutes`}`;
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
