import {
  addDistinct,
  addDistinctHash,
  ANOMALY_SIGNALS,
  distinctCount,
  exceeds,
  hourOf,
  mayBeSurge,
  percentile95,
  NONE,
  surgeThreshold,
  textHash,
  type AnomalyFigures,
  type Distinct,
  type AnomalySettings,
  type AnomalySignal,
} from '../core/anomalies.js';
import { domainOf, subscriptionOf, type ChargedObject } from '../core/directory.js';

/**
 * A cluster's view of the signals (cluster/cluster-anomalies.ts): what every node saw, and which node raises.
 * Either call may fail (Redis away): the node then judges on what it saw itself.
 */
export interface SharedSignals {
  addDistinct(subscription: string, mailbox: string, signal: 'loginAddresses' | 'recipientDomains', hour: number, members: readonly string[], threshold: number): Promise<{ seen: number; raiseHere: boolean }>;
  claim(subscription: string, mailbox: string, signal: AnomalySignal, hour: number): Promise<boolean>;
}

/** One mailbox within the current clock hour: only what its signals need, made on its first message of the hour. */
interface MailboxHour {
  hour: number;
  /** Distinct client addresses of its SASL login (loginAddresses). */
  addresses: Distinct;
  /** Distinct recipient domains (recipientDomains). */
  domains: Distinct;
  /** The signals raised this hour, one bit each. */
  raised: number;
  /** The 95th percentile of its last 7 days, read once the hour's count passed the floor; null: not yet. */
  baseline: number | null;
}

/** What one message tells the signals. */
export interface ObservedMessage {
  saslUsername?: string | undefined;
  clientAddress?: string | undefined;
  /** Recipients when known (the milter's RCPTs, smtpd's single recipient or the recipient stage's domains). */
  recipients?: readonly string[] | undefined;
  /** Recipient domains seen at the recipient stage of an SMTP session, hashed with textHash. */
  recipientDomainHashes?: readonly number[] | undefined;
}

const bit = (signal: AnomalySignal) => 1 << ANOMALY_SIGNALS.indexOf(signal);

/**
 * Watches each mailbox's sending within the clock hour for the anomaly signals (core/anomalies.ts). Memory is
 * bounded: one small entry per mailbox that sent this hour, its sets capped at threshold + 1, all dropped when
 * the hour passes. The 7-day baseline is read only for a mailbox past SURGE_FLOOR in the hour, once per hour.
 */
export class AnomalyWatch {
  private readonly mailboxes = new Map<number, MailboxHour>();
  private currentHour = -1;
  /** A node of a cluster: the signals are judged on what every node saw. */
  shared: SharedSignals | null = null;

  constructor(
    /**
     * The mailbox's counted amounts per clock hour over the 7 days before `hour` (store and counters); null when
     * they cannot be read now (the surge is then judged at a later message, never against a baseline of nothing).
     */
    private readonly hourlyAmounts: (mailbox: ChargedObject, hour: number) => Iterable<number> | null,
    /** A signal was raised (first time this hour for this mailbox). */
    private readonly onRaised: (mailbox: ChargedObject, hour: number, figures: AnomalyFigures) => void,
  ) {}

  /** Mailboxes watched this hour (for the memory figures). */
  get size(): number {
    return this.mailboxes.size;
  }

  /**
   * Looks at one message of a mailbox (allowed or not: a hijacked login shows in refused mail too).
   * `hourCount`: the mailbox's count in its rolling hour, as the counters have it.
   */
  observe(mailbox: ChargedObject, message: ObservedMessage, hourCount: number, settings: AnomalySettings, nowSecond: number): void {
    const hour = hourOf(nowSecond);
    if (hour !== this.currentHour) {
      // A new hour: everything of the last one goes at once.
      this.mailboxes.clear();
      this.currentHour = hour;
    }
    const logins = settings.loginAddresses.threshold;
    const domains = settings.recipientDomains.threshold;
    const surge = settings.volumeSurge.threshold;
    const needsLogins = logins !== null && !!message.saslUsername && !!message.clientAddress;
    const recipientDomains = domains === null ? [] : this.domainHashesOf(message);
    const needsSurge = mayBeSurge(hourCount, surge);
    let entry = this.mailboxes.get(mailbox.id);
    if (!entry) {
      if (!needsLogins && recipientDomains.length === 0 && !needsSurge) return;
      entry = { hour, addresses: NONE, domains: NONE, raised: 0, baseline: null };
      this.mailboxes.set(mailbox.id, entry);
    }
    if (needsLogins && !(entry.raised & bit('loginAddresses'))) {
      const before = distinctCount(entry.addresses);
      entry.addresses = addDistinct(entry.addresses, message.clientAddress as string, logins + 1);
      const seen = distinctCount(entry.addresses);
      if (this.shared) {
        if (seen > before) this.judgeShared(mailbox, entry, 'loginAddresses', [message.clientAddress as string], logins, seen);
      } else if (exceeds(seen, logins)) {
        this.raise(mailbox, entry, { signal: 'loginAddresses', observed: seen, threshold: logins, baseline: null });
      }
    }
    if (domains !== null && recipientDomains.length > 0 && !(entry.raised & bit('recipientDomains'))) {
      const before = distinctCount(entry.domains);
      // Which domains are new to this node: only a node of a cluster sends them on.
      const added: number[] | null = this.shared ? [] : null;
      for (const hash of recipientDomains) {
        const next = addDistinctHash(entry.domains, hash, domains + 1);
        if (added && distinctCount(next) > distinctCount(entry.domains)) added.push(hash);
        entry.domains = next;
      }
      const seen = distinctCount(entry.domains);
      if (this.shared) {
        // Hashed as the node keeps them: every node hashes a domain alike (textHash), so the sets agree.
        if (seen > before) this.judgeShared(mailbox, entry, 'recipientDomains', (added ?? []).map(String), domains, seen);
      } else if (exceeds(seen, domains)) {
        this.raise(mailbox, entry, { signal: 'recipientDomains', observed: seen, threshold: domains, baseline: null });
      }
    }
    if (needsSurge && surge !== null && !(entry.raised & bit('volumeSurge'))) {
      if (entry.baseline === null) {
        const amounts = this.hourlyAmounts(mailbox, hour);
        if (amounts !== null) entry.baseline = percentile95([...amounts]);
      }
      const above = entry.baseline === null ? null : surgeThreshold(entry.baseline, surge);
      if (entry.baseline !== null && exceeds(hourCount, above)) {
        const figures: AnomalyFigures = { signal: 'volumeSurge', observed: hourCount, threshold: above as number, baseline: entry.baseline };
        if (this.shared) this.claimShared(mailbox, entry, figures);
        else this.raise(mailbox, entry, figures);
      }
    }
  }

  /** Drops the last hour's entries once the clock has moved on (also done by the first message of an hour). */
  sweep(nowSecond: number): void {
    if (hourOf(nowSecond) !== this.currentHour) {
      this.mailboxes.clear();
      this.currentHour = hourOf(nowSecond);
    }
  }

  private domainHashesOf(message: ObservedMessage): number[] {
    const found: number[] = [];
    for (const recipient of message.recipients ?? []) {
      const domain = domainOf(recipient);
      if (domain) found.push(textHash(domain));
    }
    for (const hash of message.recipientDomainHashes ?? []) found.push(hash);
    return found;
  }

  /**
   * A node of a cluster sends what it saw new to the cluster's set; the node told to raise raises. Redis away:
   * judged on this node's own set, as a single server would.
   */
  private judgeShared(mailbox: ChargedObject, entry: MailboxHour, signal: 'loginAddresses' | 'recipientDomains', members: readonly string[], threshold: number, seenHere: number): void {
    const shared = this.shared as SharedSignals;
    shared.addDistinct(subscriptionOf(mailbox).name, mailbox.name, signal, entry.hour, members, threshold).then(
      (answer) => {
        if (answer.raiseHere) this.raiseOnce(mailbox, entry, { signal, observed: answer.seen, threshold, baseline: null });
        // Raised by another node: nothing more to send this hour.
        else if (exceeds(answer.seen, threshold)) entry.raised |= bit(signal);
      },
      () => {
        if (exceeds(seenHere, threshold)) this.raiseOnce(mailbox, entry, { signal, observed: seenHere, threshold, baseline: null });
      },
    );
  }

  /** The surge is judged on the cluster's count already: one node claims it. */
  private claimShared(mailbox: ChargedObject, entry: MailboxHour, figures: AnomalyFigures): void {
    entry.raised |= bit(figures.signal);
    (this.shared as SharedSignals).claim(subscriptionOf(mailbox).name, mailbox.name, figures.signal, entry.hour).then(
      (claimed) => {
        if (claimed) this.onRaised(mailbox, entry.hour, figures);
      },
      () => this.onRaised(mailbox, entry.hour, figures),
    );
  }

  /** An answer that arrives after the hour passed, or after the signal was raised meanwhile, raises nothing more. */
  private raiseOnce(mailbox: ChargedObject, entry: MailboxHour, figures: AnomalyFigures): void {
    if (entry.raised & bit(figures.signal)) return;
    this.raise(mailbox, entry, figures);
  }

  private raise(mailbox: ChargedObject, entry: MailboxHour, figures: AnomalyFigures): void {
    entry.raised |= bit(figures.signal);
    // Nothing more is counted for a raised signal this hour: its set is not needed any more.
    if (figures.signal === 'loginAddresses') entry.addresses = NONE;
    if (figures.signal === 'recipientDomains') entry.domains = NONE;
    this.onRaised(mailbox, entry.hour, figures);
  }
}
