import { ANOMALIES_OFF } from '../core/anomalies.js';
import { decideMessage, explainHold, type Decision, type WindowView } from '../core/decision.js';
import { DirectoryIndex, counterKey as counterKeyOf, limitIn, type ChargedObject, type DirectoryRecordStreams } from '../core/directory.js';
import { crossesShare, earlyWarningDue, type EarlyWarning } from '../core/early-warning.js';
import { WINDOW_LENGTH_SECONDS, type Level, type LimitWindow } from '../core/limits.js';
import { MONITORED_ACTIONS, MONITORED_REJECT, explainMonitored, explainMonitoredRejection, limitsEnforced, limitsMode } from '../core/monitor-mode.js';
import { identifySender, type SenderIdentity } from '../core/identity.js';
import { decideRecipients, UNLIMITED_RECIPIENTS, type RecipientRefusal } from '../core/recipient-limits.js';
import { INITIAL_NOTIFICATIONS, UNLIMITED_DAILY, messageWeight, type OverLimitAction, type ServerSettings } from '../core/settings.js';
import type { CounterJournal } from '../counters/journal.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import type { AnomalyWatch } from './anomaly-watch.js';
import type { RecordedOverLimitEvent } from '../store/over-limit-events.js';

export const HOUR_SECONDS = 3600;

function idAt(chain: readonly ChargedObject[], level: Level): number | null {
  for (const object of chain) if (object.level === level) return object.id;
  return null;
}

/**
 * The length of the rolling window: one hour. FOR TESTS ONLY, OUTGOING_LIMITS_TEST_WINDOW_SECONDS shortens it
 * (e.g. to 10 s) so a test can watch held mail leave once its window frees; answers still say "per hour".
 */
export function windowSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.OUTGOING_LIMITS_TEST_WINDOW_SECONDS;
  if (raw === undefined || raw === '') return HOUR_SECONDS;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > HOUR_SECONDS) {
    throw new Error(`OUTGOING_LIMITS_TEST_WINDOW_SECONDS must be a whole number of seconds from 1 to ${HOUR_SECONDS}, got "${raw}"`);
  }
  return seconds;
}

export const DAY_SECONDS = WINDOW_LENGTH_SECONDS.day;
/** The daily window is counted per minute: exact to the minute, and a busy domain keeps 1,440 steps, not 86,400. */
const DAY_STEP_SECONDS = 60;

/**
 * The counters of the daily window: the last 24 hours, per minute. FOR TESTS ONLY, OUTGOING_LIMITS_TEST_DAY_SECONDS
 * shortens it (counted per second) so a test can watch mail held by a daily limit leave; answers still say "daily".
 */
export function dailyWindowCounters(env: NodeJS.ProcessEnv = process.env): RollingWindowCounters {
  const raw = env.OUTGOING_LIMITS_TEST_DAY_SECONDS;
  if (raw === undefined || raw === '') return new RollingWindowCounters(DAY_SECONDS, DAY_STEP_SECONDS);
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > DAY_SECONDS) {
    throw new Error(`OUTGOING_LIMITS_TEST_DAY_SECONDS must be a whole number of seconds from 1 to ${DAY_SECONDS}, got "${raw}"`);
  }
  return new RollingWindowCounters(seconds);
}

/** Until the store is loaded, nothing is known and nothing is limited. */
const NOTHING_LIMITED: ServerSettings = {
  enabled: false,
  monitorOnly: false,
  earlyWarningPercent: 0,
  defaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
  dailyDefaults: UNLIMITED_DAILY,
  recipientDefaults: UNLIMITED_RECIPIENTS,
  countingUnit: 'messages',
  customersMayChangeLimits: false,
  overLimitAction: 'defer',
  notifications: INITIAL_NOTIFICATIONS,
  anomalies: ANOMALIES_OFF,
};

/** What a mail server tells us about one message at the end of its submission. */
export interface MessageFacts {
  saslUsername?: string | undefined;
  sender?: string | undefined;
  recipientCount: number;
  queueId?: string | undefined;
  clientAddress?: string | undefined;
  /** When known (the milter sees each RCPT): for the held-mail list and notifications. */
  recipients?: string[] | undefined;
  /** Recipient domains seen at the recipient stage of the SMTP session, hashed (for the anomaly signals only). */
  recipientDomainHashes?: readonly number[] | undefined;
}

export interface Verdict {
  identity: SenderIdentity | null;
  /** What happens to the message: in monitor mode always allowed. */
  decision: Decision;
  weight: number;
  /**
   * Set when the message has more recipients than its maximum: it must be refused permanently. `decision` is
   * then a refusal too (never released by itself), so a caller that missed this field would still not send it.
   * Null in monitor mode, where such a message passes and is recorded as "would have been refused".
   */
  tooManyRecipients: RecipientRefusal<ChargedObject> | null;
  /** Monitor mode only: the refusal enforcing would have made; the message was let through and counted. */
  monitored?: Decision;
}

const ALLOWED: Decision = { allowed: true };

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
  /** Unusual sending of mailboxes (see anomaly-watch.ts); null: not watched. */
  anomalyWatch: AnomalyWatch | null = null;

  constructor(
    /** The hourly window. */
    readonly counters: RollingWindowCounters,
    private readonly journal: CounterJournal | null,
    private readonly onRefused: ((event: RecordedOverLimitEvent) => void) | null,
    private readonly clockMs: () => number = Date.now,
    /** The daily window: the same accepted amounts, kept 24 hours. */
    readonly dailyCounters: RollingWindowCounters = new RollingWindowCounters(DAY_SECONDS, DAY_STEP_SECONDS),
    /** An object passed the early-warning share of a limit (at most once per window per object). */
    private readonly onEarlyWarning: ((warning: EarlyWarning) => void) | null = null,
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
    // Built whole before anything is replaced: records that fail midway (an unreadable store) leave the
    // settings and directory in force untouched.
    const index = new DirectoryIndex(records, settings);
    this.settings = settings;
    this.index = index;
    const gone = new Set<number>();
    for (const counters of this.windows()) {
      for (const key of counters.activeKeys(this.nowSeconds())) if (!this.index.byCounterKey.has(key)) gone.add(key);
    }
    for (const key of gone) {
      for (const counters of this.windows()) counters.forget(key);
      this.lastWarned.hour.delete(key);
      this.lastWarned.day.delete(key);
    }
    this.journal?.discard(gone);
  }

  /** Both windows' counters: every count and refund goes to each. */
  windows(): readonly RollingWindowCounters[] {
    return [this.counters, this.dailyCounters];
  }

  /** The longest window: how long the journal must keep what it counted. */
  get longestWindowSeconds(): number {
    return Math.max(this.counters.windowSeconds, this.dailyCounters.windowSeconds);
  }

  /** New server settings without a directory rebuild: effective limits are resolved again in place. */
  applySettings(settings: ServerSettings): void {
    this.settings = settings;
    this.index.applySettings(settings);
  }

  /** Identifies an SMTP sender and decides its message; see decide(). */
  check(facts: MessageFacts): Verdict {
    return this.decide(identifySender(this.index, facts.saslUsername, facts.sender), facts, this.settings.overLimitAction);
  }

  /**
   * Decides one message of an identified sender and, when it is allowed, counts it. A refusal is recorded as an
   * over-limit event with the action the caller takes (the milter always holds).
   */
  decide(identity: SenderIdentity | null, facts: MessageFacts, action: OverLimitAction): Verdict {
    const weight = messageWeight(this.settings.countingUnit, facts.recipientCount);
    if (!identity) return { identity, decision: ALLOWED, weight, tooManyRecipients: null };
    const now = this.nowSeconds();
    const verdict = this.judge(identity, facts, action, weight, now);
    // After counting, refused or not: every message of a mailbox is a sign of how it is used.
    this.watchAnomalies(identity, facts, now);
    return verdict;
  }

  private judge(identity: SenderIdentity, facts: MessageFacts, action: OverLimitAction, weight: number, now: number): Verdict {
    const mode = limitsMode(this.settings);
    // Before the rate decision: a message that can never be sent as it is costs no budget.
    const tooMany = mode === 'off' ? null : decideRecipients(identity.chain, facts.recipientCount);
    if (tooMany && mode === 'enforce') {
      this.onRefused?.(this.eventOf(identity, facts, 'reject', tooMany.tripped, 'hour', tooMany.reason, tooMany.maximum));
      const decision: Decision = { allowed: false, tripped: tooMany.tripped, window: 'hour', limit: tooMany.maximum, used: 0, retryAfterSeconds: null, reason: tooMany.reason };
      return { identity, decision, weight, tooManyRecipients: tooMany };
    }
    if (tooMany) {
      this.onRefused?.(this.eventOf(identity, facts, MONITORED_REJECT, tooMany.tripped, 'hour', explainMonitoredRejection(tooMany.reason), tooMany.maximum));
    }
    const decision = mode === 'off' ? ALLOWED : decideMessage(identity.chain, weight, this.settings.countingUnit, this.currentWindow(now));
    if (decision.allowed) {
      this.charge(identity.chain, now, weight, mode !== 'off');
      return { identity, decision, weight, tooManyRecipients: null };
    }
    if (mode === 'monitor') {
      // Recorded as enforcing would have decided, then let through and counted like any message that left.
      this.onRefused?.(this.eventOf(identity, facts, MONITORED_ACTIONS[action], decision.tripped, decision.window, explainMonitored(decision, action), null));
      this.charge(identity.chain, now, weight, true);
      return { identity, decision: ALLOWED, weight, tooManyRecipients: null, monitored: decision };
    }
    this.onRefused?.(this.eventOf(identity, facts, action, decision.tripped, decision.window, action === 'hold' ? explainHold(decision) : decision.reason, null));
    return { identity, decision, weight, tooManyRecipients: null };
  }

  /** An over-limit event; `recipientMaximum` set only for a message refused for its number of recipients. */
  private eventOf(identity: SenderIdentity, facts: MessageFacts, action: string, tripped: ChargedObject, window: LimitWindow, reason: string, recipientMaximum: number | null): RecordedOverLimitEvent {
    return {
      atMs: this.clockMs(),
      level: tripped.level,
      objectId: tripped.id,
      objectName: tripped.name,
      window,
      recipientMaximum,
      sender: facts.sender ?? null,
      saslUsername: facts.saslUsername ?? null,
      recipientCount: facts.recipientCount,
      queueId: facts.queueId ?? null,
      clientAddress: facts.clientAddress ?? null,
      action,
      reason,
      mailboxId: idAt(identity.chain, 'mailbox'),
      domainId: idAt(identity.chain, 'domain'),
      subscriptionId: idAt(identity.chain, 'subscription'),
    };
  }

  /**
   * For the release of a held message: counts it if every level has room now (limits switched off: always).
   * Returns the second it was counted at, for a refund should Postfix not release it after all; null if it
   * does not fit.
   */
  chargeIfRoom(chain: readonly ChargedObject[], weight: number): { second: number } | { second: null; decision: Decision } {
    const now = this.nowSeconds();
    // Monitor mode holds nothing, so held mail (from before it was chosen) leaves as it would with limits off.
    if (limitsEnforced(this.settings)) {
      const decision = decideMessage(chain, weight, this.settings.countingUnit, this.windowAt(now));
      if (!decision.allowed) return { second: null, decision };
    }
    this.charge(chain, now, weight, false);
    return { second: now };
  }

  /** Counts a message regardless of budget (an administrator's "release now", mail released outside). */
  chargeAnyway(chain: readonly ChargedObject[], weight: number): number {
    const now = this.nowSeconds();
    this.charge(chain, now, weight, false);
    return now;
  }

  /** Takes back a count made at `second` whose message did not leave after all. */
  refund(chain: readonly ChargedObject[], second: number, weight: number): void {
    const now = this.nowSeconds();
    for (const object of chain) {
      // The daily window holds at least what the hourly one does: a count the hour no longer has is gone from both.
      if (this.counters.used(object.counterKey, now) < weight) continue;
      for (const counters of this.windows()) counters.add(object.counterKey, second, -weight);
      this.journal?.record(object.counterKey, second, -weight);
    }
  }

  /** Hands a mailbox's message to the anomaly signals; a failure there never changes the decision. */
  private watchAnomalies(identity: SenderIdentity, facts: MessageFacts, now: number): void {
    const mailbox = identity.chain[0];
    if (!this.anomalyWatch || mailbox?.level !== 'mailbox') return;
    this.anomalyWatch.observe(mailbox, facts, this.counters.used(mailbox.counterKey, now), this.settings.anomalies, now);
  }

  /** Counts a message; `warn`: a message of the policy path, which may cross an early-warning line. */
  private charge(chain: readonly ChargedObject[], now: number, weight: number, warn: boolean): void {
    const percent = warn && this.onEarlyWarning ? this.settings.earlyWarningPercent : 0;
    for (const object of chain) {
      this.counters.add(object.counterKey, now, weight);
      this.dailyCounters.add(object.counterKey, now, weight);
      this.journal?.record(object.counterKey, now, weight);
      if (percent > 0) {
        this.warnIfCrossed(object, 'hour', this.counters, now, weight, percent);
        this.warnIfCrossed(object, 'day', this.dailyCounters, now, weight, percent);
      }
    }
  }

  /** When each object was last warned of, per window (counter key → second): one warning per window. */
  private readonly lastWarned: Record<LimitWindow, Map<number, number>> = { hour: new Map(), day: new Map() };

  /** After a restart: warnings recorded within their window are not repeated. */
  rememberWarning(level: Level, id: number, window: LimitWindow, atSecond: number): void {
    const object = this.index.byCounterKey.get(counterKeyOf(level, id));
    if (!object) return;
    const known = this.lastWarned[window].get(object.counterKey);
    if (known === undefined || known < atSecond) this.lastWarned[window].set(object.counterKey, atSecond);
  }

  private warnIfCrossed(object: ChargedObject, window: LimitWindow, counters: RollingWindowCounters, now: number, weight: number, percent: number): void {
    const limit = limitIn(object, window, now);
    if (limit === 'unlimited') return;
    const used = counters.used(object.counterKey, now);
    if (!crossesShare(used - weight, weight, limit, percent)) return;
    const warned = this.lastWarned[window];
    if (!earlyWarningDue(warned.get(object.counterKey), now, counters.windowSeconds)) return;
    warned.set(object.counterKey, now);
    this.onEarlyWarning?.({ atMs: this.clockMs(), level: object.level, objectId: object.id, objectName: object.name, window, percent, limit, used });
  }

  private cachedWindow: { second: number; view: WindowView } | null = null;

  /** The view for the current second, made once per second rather than once per message. */
  private currentWindow(now: number): WindowView {
    if (this.cachedWindow?.second !== now) this.cachedWindow = { second: now, view: this.windowAt(now) };
    return this.cachedWindow.view;
  }

  windowAt(now: number): WindowView {
    const of: Record<LimitWindow, RollingWindowCounters> = { hour: this.counters, day: this.dailyCounters };
    return {
      used: (object, window) => of[window].used(object.counterKey, now),
      secondsUntilFreed: (object, amount, window) => of[window].secondsUntilFreed(object.counterKey, now, amount),
      atSecond: now,
    };
  }
}
