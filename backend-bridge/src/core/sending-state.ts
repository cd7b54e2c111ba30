import { decideMessage, type WindowView } from './decision.js';
import type { ChargedObject } from './directory.js';
import type { Level, Limit, LimitWindow } from './limits.js';
import { limitsMode } from './monitor-mode.js';
import type { ServerSettings } from './settings.js';

/**
 * What happens to the next message of an object if it sent one now: the state a row shows. It is the decision
 * for a one-unit message over the object's whole chain, so a tighter level above (a domain at 0) shows on the
 * rows of its mailboxes too.
 */
export type SendingState =
  | { state: 'sending' }
  /** Limits are switched off: everything passes (and is still counted). */
  | { state: 'limitsOff' }
  | {
      /**
       * 'holding': mail is accepted and waits in the hold queue; 'deferring': SMTP clients get 450 and retry
       * (local mail is held all the same, see the milter). 'wouldHold', 'wouldDefer': monitor only, the mail is
       * sent and what enforcing would do is recorded.
       */
      state: 'holding' | 'deferring' | 'wouldHold' | 'wouldDefer';
      /** The innermost level without room: the object itself or one above it. */
      level: Level;
      name: string;
      /** Whether that level is the object itself. */
      self: boolean;
      /** Which of its windows is full: the hourly or the daily limit. */
      window: LimitWindow;
      limit: number;
      /** When one unit frees; null when a person has to act (limit 0). */
      freesInSeconds: number | null;
      /** The limit of 0 is there because that mailbox was marked compromised. */
      compromised: boolean;
    };

/**
 * The state of the message `chain[0]` would send now. `chain` is innermost first, as DirectoryIndex.chainFrom
 * gives it; `isCompromised` says whether a mailbox is marked compromised.
 */
export function sendingState(chain: readonly ChargedObject[], window: WindowView, settings: ServerSettings, isCompromised: (mailbox: ChargedObject) => boolean): SendingState {
  const mode = limitsMode(settings);
  if (mode === 'off') return { state: 'limitsOff' };
  const decision = decideMessage(chain, 1, settings.countingUnit, window);
  if (decision.allowed) return { state: 'sending' };
  const tripped = decision.tripped;
  const hold = settings.overLimitAction === 'hold';
  return {
    state: mode === 'monitor' ? (hold ? 'wouldHold' : 'wouldDefer') : hold ? 'holding' : 'deferring',
    level: tripped.level,
    name: tripped.name,
    self: tripped === chain[0],
    window: decision.window,
    limit: decision.limit,
    freesInSeconds: decision.retryAfterSeconds,
    compromised: tripped.level === 'mailbox' && isCompromised(tripped),
  };
}

/**
 * Why an object has used more than its limit: the mailbox was marked compromised (its limit became 0 after it
 * sent), an administrator released held mail beyond the limit, limits are switched off (everything passes and is
 * counted), or the messages were counted before this limit applied (it was lowered, limits were off then, or
 * held mail was released in Postfix by hand).
 */
export type OverLimitCause = 'compromised' | 'releasedByAdministrator' | 'limitsOff' | 'monitorOnly' | 'countedBefore';

export function overLimitCause(
  used: number,
  limit: Limit,
  facts: { compromised: boolean; releasedBeyondLimit: boolean; limitsOff: boolean; monitorOnly?: boolean },
): OverLimitCause | null {
  if (limit === 'unlimited' || used <= limit) return null;
  if (facts.compromised) return 'compromised';
  if (facts.limitsOff) return 'limitsOff';
  if (facts.monitorOnly) return 'monitorOnly';
  if (facts.releasedBeyondLimit) return 'releasedByAdministrator';
  return 'countedBefore';
}

/**
 * How many held messages each object has, by counter key, from counts per charged object (`chain` innermost
 * first): a held message counts for every object it is charged to (its mailbox, that mailbox's domain and
 * subscription), as the held-mail screen's filter by name lists it.
 */
export function heldCountsByObject(chains: Iterable<{ chain: readonly ChargedObject[]; count: number }>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const { chain, count } of chains) for (const object of chain) counts.set(object.counterKey, (counts.get(object.counterKey) ?? 0) + count);
  return counts;
}
