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
import type { Counted } from '../counters/redis-counts.js';
import type { AnomalyWatch } from './anomaly-watch.js';
import { ClusterAwayError, type ClusterCounting } from './cluster-counting.js';
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

/** A count made, for its refund: the second, and whether the cluster's counts (Redis) or this node's hold it. */
export interface CountReceipt {
  second: number;
  inCluster: boolean;
}

/** The cluster's windows, as this node's counters are shaped (tests shorten both the same way). */
export function clusterWindowsOf(enforcer: Enforcer): Record<LimitWindow, { seconds: number; stepSeconds: number }> {
  return {
    hour: { seconds: enforcer.counters.windowSeconds, stepSeconds: enforcer.counters.stepSeconds },
    day: { seconds: enforcer.dailyCounters.windowSeconds, stepSeconds: enforcer.dailyCounters.stepSeconds },
  };
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
  /** Unusual sending of mailboxes (see anomaly-watch.ts); null: not watched. */
  anomalyWatch: AnomalyWatch | null = null;
  /**
   * A node of a cluster: the counts are Redis's while it answers (decisions are then asynchronous); while it does
   * not, this node's own counters decide and what they count is kept to be added later. Null: a single server.
   */
  cluster: ClusterCounting | null = null;

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
    this.cluster?.forget(gone);
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
  check(facts: MessageFacts): Verdict | Promise<Verdict> {
    return this.decide(identifySender(this.index, facts.saslUsername, facts.sender), facts, this.settings.overLimitAction);
  }

  /**
   * Decides one message of an identified sender and, when it is allowed, counts it. A refusal is recorded as an
   * over-limit event with the action the caller takes (the milter always holds).
   */
  decide(identity: SenderIdentity | null, facts: MessageFacts, action: OverLimitAction): Verdict | Promise<Verdict> {
    const weight = messageWeight(this.settings.countingUnit, facts.recipientCount);
    if (!identity) return { identity, decision: ALLOWED, weight, tooManyRecipients: null };
    const mode = limitsMode(this.settings);
    const refusedForRecipients = this.judgeRecipients(identity, facts, weight, mode);
    if (refusedForRecipients) return refusedForRecipients;
    const cluster = this.cluster;
    if (cluster?.state === 'cluster') return this.decideInCluster(cluster, identity, facts, action, weight, mode);
    return this.decideHere(identity, facts, action, weight, mode);
  }

  /** The rate decision with this node's own counters, then the anomaly signals. */
  private decideHere(identity: SenderIdentity, facts: MessageFacts, action: OverLimitAction, weight: number, mode: ReturnType<typeof limitsMode>): Verdict {
    const now = this.nowSeconds();
    const verdict = this.judgeRate(identity, facts, action, weight, now, mode);
    // After counting, refused or not: every message of a mailbox is a sign of how it is used.
    this.watchAnomalies(identity, facts, now, null);
    return verdict;
  }

  /**
   * Before the rate decision: a message that can never be sent as it is costs no budget. Returns the refusal
   * when limits are enforced; in monitor mode it is recorded as "would have been refused" and the message goes on.
   */
  private judgeRecipients(identity: SenderIdentity, facts: MessageFacts, weight: number, mode: ReturnType<typeof limitsMode>): Verdict | null {
    const tooMany = mode === 'off' ? null : decideRecipients(identity.chain, facts.recipientCount);
    if (tooMany && mode === 'enforce') {
      this.onRefused?.(this.eventOf(identity, facts, 'reject', tooMany.tripped, 'hour', tooMany.reason, tooMany.maximum));
      const decision: Decision = { allowed: false, tripped: tooMany.tripped, window: 'hour', limit: tooMany.maximum, used: 0, retryAfterSeconds: null, reason: tooMany.reason };
      return { identity, decision, weight, tooManyRecipients: tooMany };
    }
    if (tooMany) {
      this.onRefused?.(this.eventOf(identity, facts, MONITORED_REJECT, tooMany.tripped, 'hour', explainMonitoredRejection(tooMany.reason), tooMany.maximum));
    }
    return null;
  }

  /** The rate decision with this node's own counters (a single server, or a node whose Redis is away). */
  private judgeRate(identity: SenderIdentity, facts: MessageFacts, action: OverLimitAction, weight: number, now: number, mode: ReturnType<typeof limitsMode>): Verdict {
    const decision = mode === 'off' ? ALLOWED : decideMessage(identity.chain, weight, this.settings.countingUnit, this.currentWindow(now));
    if (decision.allowed) {
      this.charge(identity.chain, now, weight, mode !== 'off');
      return { identity, decision, weight, tooManyRecipients: null };
    }
    const verdict = this.recordRefusal(identity, facts, action, weight, decision, mode);
    // Monitor mode: let through, and counted like any message that left.
    if (mode === 'monitor') this.charge(identity.chain, now, weight, true);
    return verdict;
  }

  /**
   * The rate decision with the cluster's counts: one script call checks and counts the whole chain. Should Redis
   * fail on the way, this node's own counters decide (and the node counts alone until Redis is back).
   */
  private async decideInCluster(cluster: ClusterCounting, identity: SenderIdentity, facts: MessageFacts, action: OverLimitAction, weight: number, mode: ReturnType<typeof limitsMode>): Promise<Verdict> {
    const chain = identity.chain;
    let counted: Counted | null = null;
    let verdict: Verdict;
    try {
      if (mode === 'off') {
        counted = await cluster.chargeAnyway(chain, weight);
        verdict = { identity, decision: ALLOWED, weight, tooManyRecipients: null };
      } else {
        const outcome = await cluster.checkAndCount(chain, weight, this.settings.countingUnit, this.nowSeconds());
        if ('usedAfter' in outcome) {
          counted = outcome;
          verdict = { identity, decision: ALLOWED, weight, tooManyRecipients: null };
        } else {
          verdict = this.recordRefusal(identity, facts, action, weight, outcome.decision, mode);
          if (mode === 'monitor') counted = await this.chargeInClusterOrAlone(cluster, chain, weight);
        }
      }
    } catch (error) {
      if (!(error instanceof ClusterAwayError)) throw error;
      return this.decideHere(identity, facts, action, weight, mode);
    }
    if (counted) this.journalInCluster(chain, counted.second, weight);
    if (counted && mode !== 'off') this.warnFromCluster(chain, counted, weight);
    this.watchAnomalies(identity, facts, counted?.second ?? this.nowSeconds(), counted?.usedAfter[0]?.hour ?? 0);
    return verdict;
  }

  /**
   * What this node counted in the cluster also goes to its journal: its statistics (charts, History, the volume
   * signal's baseline) are made from the journal, as on a single server.
   */
  private journalInCluster(chain: readonly ChargedObject[], second: number, weight: number): void {
    for (const object of chain) this.journal?.record(object.counterKey, second, weight);
  }

  /**
   * A message over a limit, recorded as an over-limit event; in monitor mode as what enforcing would have done, and
   * the verdict lets it through (the caller counts it).
   */
  private recordRefusal(identity: SenderIdentity, facts: MessageFacts, action: OverLimitAction, weight: number, decision: Exclude<Decision, { allowed: true }>, mode: ReturnType<typeof limitsMode>): Verdict {
    if (mode === 'monitor') {
      this.onRefused?.(this.eventOf(identity, facts, MONITORED_ACTIONS[action], decision.tripped, decision.window, explainMonitored(decision, action), null));
      return { identity, decision: ALLOWED, weight, tooManyRecipients: null, monitored: decision };
    }
    this.onRefused?.(this.eventOf(identity, facts, action, decision.tripped, decision.window, action === 'hold' ? explainHold(decision) : decision.reason, null));
    return { identity, decision, weight, tooManyRecipients: null };
  }

  /** Counts regardless of budget in the cluster, or alone should Redis fail now. */
  private async chargeInClusterOrAlone(cluster: ClusterCounting, chain: readonly ChargedObject[], weight: number): Promise<Counted | null> {
    try {
      return await cluster.chargeAnyway(chain, weight);
    } catch (error) {
      if (!(error instanceof ClusterAwayError)) throw error;
      this.charge(chain, this.nowSeconds(), weight, true);
      return null;
    }
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
  async chargeIfRoom(chain: readonly ChargedObject[], weight: number): Promise<{ receipt: CountReceipt } | { receipt: null; decision: Decision }> {
    // Monitor mode holds nothing, so held mail (from before it was chosen) leaves as it would with limits off.
    const enforced = limitsEnforced(this.settings);
    const cluster = this.cluster;
    if (cluster?.state === 'cluster') {
      try {
        const outcome = enforced ? await cluster.checkAndCount(chain, weight, this.settings.countingUnit, this.nowSeconds()) : await cluster.chargeAnyway(chain, weight);
        if (outcome.second === null) return { receipt: null, decision: outcome.decision };
        this.journalInCluster(chain, outcome.second, weight);
        return { receipt: { second: outcome.second, inCluster: true } };
      } catch (error) {
        if (!(error instanceof ClusterAwayError)) throw error;
      }
    }
    const now = this.nowSeconds();
    if (enforced) {
      const decision = decideMessage(chain, weight, this.settings.countingUnit, this.windowAt(now));
      if (!decision.allowed) return { receipt: null, decision };
    }
    this.charge(chain, now, weight, false);
    return { receipt: { second: now, inCluster: false } };
  }

  /** Counts a message regardless of budget (an administrator's "release now", mail released outside). */
  async chargeAnyway(chain: readonly ChargedObject[], weight: number): Promise<CountReceipt> {
    const cluster = this.cluster;
    if (cluster?.state === 'cluster') {
      try {
        const { second } = await cluster.chargeAnyway(chain, weight);
        this.journalInCluster(chain, second, weight);
        return { second, inCluster: true };
      } catch (error) {
        if (!(error instanceof ClusterAwayError)) throw error;
      }
    }
    const now = this.nowSeconds();
    this.charge(chain, now, weight, false);
    return { second: now, inCluster: false };
  }

  /** Takes back a count whose message did not leave after all. */
  async refund(chain: readonly ChargedObject[], receipt: CountReceipt, weight: number): Promise<void> {
    if (receipt.inCluster) {
      try {
        await this.cluster?.refund(chain, receipt.second, weight);
        this.journalInCluster(chain, receipt.second, -weight);
      } catch (error) {
        // Redis went away in between: the count stays (too much rather than too little), and says so.
        if (!(error instanceof ClusterAwayError)) throw error;
        this.onRefundLost?.(chain, weight, error);
      }
      return;
    }
    this.refundHere(chain, receipt.second, weight);
    this.cluster?.refundedAlone(chain, receipt.second, weight);
  }

  /** A refund of the cluster's counts that could not be made (Redis away): logged by whoever set it. */
  onRefundLost: ((chain: readonly ChargedObject[], weight: number, error: Error) => void) | null = null;

  private refundHere(chain: readonly ChargedObject[], second: number, weight: number): void {
    const now = this.nowSeconds();
    for (const object of chain) {
      // The daily window holds at least what the hourly one does: a count the hour no longer has is gone from both.
      if (this.counters.used(object.counterKey, now) < weight) continue;
      for (const counters of this.windows()) counters.add(object.counterKey, second, -weight);
      this.journal?.record(object.counterKey, second, -weight);
    }
  }

  /**
   * Hands a mailbox's message and its hour's count (the cluster's when given, else this node's) to the anomaly
   * signals; they never change the decision.
   */
  private watchAnomalies(identity: SenderIdentity, facts: MessageFacts, now: number, clusterHourCount: number | null): void {
    const mailbox = identity.chain[0];
    if (!this.anomalyWatch || mailbox?.level !== 'mailbox') return;
    this.anomalyWatch.observe(mailbox, facts, clusterHourCount ?? this.counters.used(mailbox.counterKey, now), this.settings.anomalies, now);
  }

  /** Counts a message; `warn`: a message of the policy path, which may cross an early-warning line. */
  private charge(chain: readonly ChargedObject[], now: number, weight: number, warn: boolean): void {
    const percent = warn && this.onEarlyWarning ? this.settings.earlyWarningPercent : 0;
    for (const object of chain) {
      this.counters.add(object.counterKey, now, weight);
      this.dailyCounters.add(object.counterKey, now, weight);
      this.journal?.record(object.counterKey, now, weight);
      if (percent > 0) {
        this.warnIfCrossed(object, 'hour', this.counters.used(object.counterKey, now), this.counters.windowSeconds, now, weight, percent);
        this.warnIfCrossed(object, 'day', this.dailyCounters.used(object.counterKey, now), this.dailyCounters.windowSeconds, now, weight, percent);
      }
    }
    this.cluster?.countedAlone(chain, now, weight);
  }

  /** Early warnings from the cluster's figures after a count of the policy path. */
  private warnFromCluster(chain: readonly ChargedObject[], counted: Counted, weight: number): void {
    const percent = this.onEarlyWarning ? this.settings.earlyWarningPercent : 0;
    if (percent <= 0) return;
    chain.forEach((object, level) => {
      const used = counted.usedAfter[level];
      if (!used) return;
      this.warnIfCrossed(object, 'hour', used.hour, this.counters.windowSeconds, counted.second, weight, percent);
      this.warnIfCrossed(object, 'day', used.day, this.dailyCounters.windowSeconds, counted.second, weight, percent);
    });
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

  private warnIfCrossed(object: ChargedObject, window: LimitWindow, used: number, windowSeconds: number, now: number, weight: number, percent: number): void {
    const limit = limitIn(object, window, now);
    if (limit === 'unlimited') return;
    if (!crossesShare(used - weight, weight, limit, percent)) return;
    const warned = this.lastWarned[window];
    if (!earlyWarningDue(warned.get(object.counterKey), now, windowSeconds)) return;
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
