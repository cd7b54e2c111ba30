import { heldCause, heldLeaving, type HeldLeaving } from '../core/held-release-time.js';
import type { HeldMail } from '../enforcement/held-mail.js';
import type { HeldMessage } from '../store/held-store.js';
import { currentWindow, type ApiContext } from './context.js';

/** What a held message's view adds: when it leaves as of now, and the recorded reason without its frozen wait. */
export interface HeldLeavingView {
  /** null once the message is no longer held. */
  leaves: HeldLeaving | null;
  cause: string;
}

export function leavingNow(context: ApiContext, held: HeldMail, message: HeldMessage): HeldLeavingView {
  const cause = heldCause(message.reason);
  if (message.status !== 'held') return { leaves: null, cause };
  // The worker releases a sender's mail oldest first: older held messages of the same sender go before this one.
  const ahead = message.chargedLevel && message.chargedName
    ? held.store.heldFor(message.chargedLevel, message.chargedName).filter((m) => m.chargedName === message.chargedName && m.chargedLevel === message.chargedLevel && (m.heldAtMs < message.heldAtMs || (m.heldAtMs === message.heldAtMs && m.id < message.id)))
    : [];
  const compromised = new Set(held.compromised().map((entry) => entry.address));
  const leaves = heldLeaving(
    held.chainOf(message),
    message.weight,
    ahead.reduce((sum, m) => sum + m.weight, 0),
    ahead.length,
    currentWindow(context),
    context.enforcer.currentSettings,
    (mailbox) => compromised.has(mailbox.name),
  );
  return { leaves, cause };
}
