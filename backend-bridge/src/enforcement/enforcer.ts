import { decideMessage, type Decision, type WindowView } from '../core/decision.js';
import { DirectoryIndex, type ChargedObject, type DirectoryRecordStreams } from '../core/directory.js';
import type { Level } from '../core/limits.js';
import { identifySender, type SenderIdentity } from '../core/identity.js';
import { messageWeight, type ServerSettings } from '../core/settings.js';
import type { CounterJournal } from '../counters/journal.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import type { RecordedOverLimitEvent } from '../store/over-limit-events.js';

export const HOUR_SECONDS = 3600;

function idAt(chain: readonly ChargedObject[], level: Level): number | null {
  for (const object of chain) if (object.level === level) return object.id;
  return null;
}

/** Until the store is loaded, nothing is known and nothing is limited. */
const NOTHING_LIMITED: ServerSettings = {
  enabled: false,
  defaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
  countingUnit: 'messages',
  customersMayChangeLimits: false,
};

/** What a mail server tells us about one message at the end of its submission. */
export interface MessageFacts {
  saslUsername?: string | undefined;
  sender?: string | undefined;
  recipientCount: number;
  queueId?: string | undefined;
  clientAddress?: string | undefined;
}

export interface Verdict {
  identity: SenderIdentity | null;
  decision: Decision;
  weight: number;
}

/**
 * Applies the rules of core to live counters: decides one message and, when it is accepted, charges it to
 * every level of its chain, in the same synchronous step, so concurrent sessions can never overshoot a limit.
 * Only accepted messages count. Limits switched off still count, so the numbers are right the moment an
 * admin switches them on.
 */
export class Enforcer {
  private index: DirectoryIndex;
  private settings: ServerSettings;
  private readonly nowSeconds: () => number;

  constructor(
    readonly counters: RollingWindowCounters,
    private readonly journal: CounterJournal | null,
    private readonly onRefused: ((event: RecordedOverLimitEvent) => void) | null,
    private readonly clockMs: () => number = Date.now,
  ) {
    this.settings = NOTHING_LIMITED;
    this.index = new DirectoryIndex({ subscriptions: [], domains: [], mailboxes: [] }, NOTHING_LIMITED);
    this.nowSeconds = () => Math.floor(this.clockMs() / 1000);
  }

  get directory(): DirectoryIndex {
    return this.index;
  }

  get currentSettings(): ServerSettings {
    return this.settings;
  }

  /** Takes a new directory and/or settings; counters of objects that no longer exist are dropped. */
  load(settings: ServerSettings, records: DirectoryRecordStreams): void {
    this.settings = settings;
    this.index = new DirectoryIndex(records, settings);
    for (const key of [...this.counters.activeKeys(this.nowSeconds())]) {
      if (this.index.byCounterKey.has(key)) continue;
      this.counters.forget(key);
      this.journal?.discard(key);
    }
  }

  /** New server settings without a directory rebuild: effective limits are resolved again in place. */
  applySettings(settings: ServerSettings): void {
    this.settings = settings;
    this.index.applySettings(settings);
  }

  check(facts: MessageFacts): Verdict {
    const identity = identifySender(this.index, facts.saslUsername, facts.sender);
    const weight = messageWeight(this.settings.countingUnit, facts.recipientCount);
    if (!identity) return { identity, decision: { allowed: true }, weight };
    const now = this.nowSeconds();
    const decision = this.settings.enabled ? decideMessage(identity.chain, weight, this.settings.countingUnit, this.currentWindow(now)) : { allowed: true as const };
    if (decision.allowed) {
      this.charge(identity.chain, now, weight);
    } else if (this.onRefused) {
      this.onRefused({
        atMs: this.clockMs(),
        level: decision.tripped.level,
        objectId: decision.tripped.id,
        objectName: decision.tripped.name,
        sender: facts.sender ?? null,
        saslUsername: facts.saslUsername ?? null,
        recipientCount: facts.recipientCount,
        queueId: facts.queueId ?? null,
        clientAddress: facts.clientAddress ?? null,
        action: 'defer',
        reason: decision.reason,
        mailboxId: idAt(identity.chain, 'mailbox'),
        domainId: idAt(identity.chain, 'domain'),
        subscriptionId: idAt(identity.chain, 'subscription'),
      });
    }
    return { identity, decision, weight };
  }

  private charge(chain: readonly ChargedObject[], now: number, weight: number): void {
    for (const object of chain) {
      this.counters.add(object.counterKey, now, weight);
      this.journal?.record(object.counterKey, now, weight);
    }
  }

  private cachedWindow: { second: number; view: WindowView } | null = null;

  /** The view for the current second, made once per second rather than once per message. */
  private currentWindow(now: number): WindowView {
    if (this.cachedWindow?.second !== now) this.cachedWindow = { second: now, view: this.windowAt(now) };
    return this.cachedWindow.view;
  }

  windowAt(now: number): WindowView {
    const counters = this.counters;
    return {
      used: (object) => counters.used(object.counterKey, now),
      secondsUntilFreed: (object, amount) => counters.secondsUntilFreed(object.counterKey, now, amount),
    };
  }
}
