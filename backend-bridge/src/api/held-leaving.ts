import type { WindowView } from '../core/decision.js';
import { holdCause, type HoldCause } from '../core/hold-cause.js';
import { heldLeaving, type HeldLeaving } from '../core/held-release-time.js';
import type { HeldMail } from '../enforcement/held-mail.js';
import { heldQueues, type HeldQueues } from '../store/held-counts.js';
import type { HeldMessage } from '../store/held-store.js';
import { currentWindow, type ApiContext } from './context.js';

/** What a held message's view adds: when it leaves as of now, and why it was held (as data, for people's words). */
export interface HeldLeavingView {
  /** null once the message is no longer held. */
  leaves: HeldLeaving | null;
  cause: HoldCause;
}

/** The leaving of what another server of a cluster (`node`) holds: that server's to tell, so only its name. */
export function leavingOnNode(node: string): Pick<HeldLeavingNow, 'view'> {
  return { view: (message) => ({ leaves: message.status === 'held' ? { leaves: 'onNode', node } : null, cause: holdCause(message) }) };
}

/**
 * When held messages leave, as of one moment: make one per answer. What it reads (the order of all held mail,
 * the compromised marks, the window) is read once, on first use, so a list of 1,000 held messages costs one
 * query, not one per message (a hostile sender can fill the hold queue).
 */
export class HeldLeavingNow {
  private snapshot: { queues: HeldQueues; compromised: Set<string>; window: WindowView } | null = null;

  constructor(
    private readonly context: ApiContext,
    private readonly held: HeldMail,
  ) {}

  view(message: HeldMessage): HeldLeavingView {
    const cause = holdCause(message);
    if (message.status !== 'held') return { leaves: null, cause };
    this.snapshot ??= {
      queues: heldQueues(this.context.db),
      compromised: new Set(this.held.compromised().map((entry) => entry.address)),
      window: currentWindow(this.context),
    };
    const { queues, compromised, window } = this.snapshot;
    // The worker releases a sender's mail oldest first: older held messages of the same sender go before this one.
    const ahead = queues.ahead(message);
    const leaves = heldLeaving(this.held.chainOf(message), message.weight, ahead.weight, ahead.count, window, this.context.enforcer.currentSettings, (mailbox) =>
      compromised.has(mailbox.name),
    );
    return { leaves, cause };
  }
}
