import type { WindowView } from './decision.js';
import { limitIn, type ChargedObject } from './directory.js';
import { LIMIT_WINDOWS } from './limits.js';
import { limitsEnforced } from './monitor-mode.js';
import type { ServerSettings } from './settings.js';

/**
 * When a held message leaves, as of now. The reason recorded at the moment of holding keeps the wait it had then
 * ("sent automatically in about 60 minutes"); this is computed afresh each time it is shown.
 */
export type HeldLeaving =
  /** The release worker sends it once the window has room: `inSeconds` 0 means at its next pass (about a second). */
  | { leaves: 'automatically'; inSeconds: number }
  /**
   * It leaves automatically, but only after the held messages ahead of it (`ahead`, same sender) have left and
   * counted: later than this hour's window can tell.
   */
  | { leaves: 'afterOthers'; ahead: number }
  /** Only a person can send it: a level's limit is 0 (`compromised`: because of the mark), or the message is larger than the limit. */
  | { leaves: 'byPerson'; because: 'compromised' | 'limitZero' | 'tooLarge'; level: ChargedObject['level']; name: string }
  /**
   * Held by another server of a cluster (`node`): that server releases it, after the older held mail of its own
   * sender there, which only it knows; no estimate of this server's is given for it.
   */
  | { leaves: 'onNode'; node: string };

/**
 * `chain`: the objects the message counts against when it leaves (innermost first; [] when it belongs to nobody
 * limited here). `aheadWeight`: budget units of the same sender's held messages that are older (they leave first).
 */
export function heldLeaving(
  chain: readonly ChargedObject[],
  weight: number,
  aheadWeight: number,
  ahead: number,
  window: WindowView,
  settings: ServerSettings,
  isCompromised: (mailbox: ChargedObject) => boolean,
): HeldLeaving {
  // Monitor mode holds nothing: what is still held (from before) leaves as with limits off.
  if (!limitsEnforced(settings) || chain.length === 0) return { leaves: 'automatically', inSeconds: 0 };
  let wait = 0;
  // It leaves when every window of every level has room: the latest of their waits.
  for (const object of chain) {
    for (const period of LIMIT_WINDOWS) {
      const limit = limitIn(object, period, window.atSecond);
      if (limit === 'unlimited') continue;
      if (weight > limit) {
        const because = limit === 0 ? (object.level === 'mailbox' && isCompromised(object) ? 'compromised' : 'limitZero') : 'tooLarge';
        return { leaves: 'byPerson', because, level: object.level, name: object.name };
      }
      const used = window.used(object, period);
      const needed = used + aheadWeight + weight - limit;
      if (needed <= 0) continue;
      // More than is in the window now must first be sent (the messages ahead count as they leave).
      if (needed > used) return { leaves: 'afterOthers', ahead };
      const seconds = window.secondsUntilFreed(object, needed, period);
      if (seconds === null) return { leaves: 'afterOthers', ahead };
      wait = Math.max(wait, seconds);
    }
  }
  return { leaves: 'automatically', inSeconds: wait };
}
