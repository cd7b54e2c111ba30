import { execFile } from 'node:child_process';
import os from 'node:os';
import type { Logger } from 'pino';
import type { ChargedObject } from '../core/directory.js';
import type { Level, LimitWindow } from '../core/limits.js';
import { explainEarlyWarning, type EarlyWarning } from '../core/early-warning.js';
import { MONITORED_ACTIONS, MONITORED_REJECT } from '../core/monitor-mode.js';
import { NOTIFY_PERIOD_SECONDS } from '../core/settings.js';
import { windowUsage } from '../core/usage.js';
import type { Enforcer } from '../enforcement/enforcer.js';
import type { Db } from '../store/database.js';
import type { HeldStore } from '../store/held-store.js';
import { contactAddress } from '../store/notification-contacts.js';
import type { OverLimitEvent } from '../store/over-limit-events.js';
import type { StoreFailureEvent } from '../store/store-health.js';
import { LogSummariser } from '../log/log-summariser.js';
import type { WiringGuardEvent } from '../postfix/wiring-guard.js';
import { describeAnomaly, type AnomalyFigures } from '../core/anomalies.js';
import {
  anomalyBody,
  anomalySubject,
  clusterAloneBody,
  clusterAloneSubject,
  type ClusterAloneNotification,
  type AnomalyNotification,
  headerSafe,
  mailBody,
  mailSubject,
  storeFailureBody,
  storeFailureSubject,
  topDomains,
  wiringBody,
  wiringSubject,
  type Notification,
  type StoreFailureNotification,
  type WiringNotification,
} from './notification.js';

/** What only some kinds of notification carry. */
interface NotificationExtra {
  recipientMaximum?: number | null;
  wouldHaveBeen?: Notification['wouldHaveBeen'];
}

/** Monitor mode's actions ("would-hold", "would-defer") in a notification's words; null for mail really held or deferred. */
function wouldHaveBeen(action: string): Notification['wouldHaveBeen'] {
  if (action === MONITORED_ACTIONS.hold) return 'held';
  if (action === MONITORED_ACTIONS.defer) return 'deferred';
  return null;
}

/** Webhook attempts: at once, then after 1, 2, 4 and 8 seconds. */
const WEBHOOK_BACKOFF_MS = [0, 1_000, 2_000, 4_000, 8_000];
const WEBHOOK_TIMEOUT_MS = 10_000;
const SENDER = 'outgoing-limits';

/** How long a notification waits for Postfix to put the held message in its hold queue: 12 × 250 ms. */
const RECIPIENT_ATTEMPTS = 12;
const RECIPIENT_RETRY_MS = 250;

/**
 * Tells people when an object reaches its limit (or a mailbox is marked compromised): mail through the local
 * sendmail to the administrator and, as configured, the reseller and the customer; and an optional webhook.
 * At most one notification per object per period, kept in the store so a restart does not repeat one.
 */
export class Notifier {
  private readonly pending = new Set<Promise<unknown>>();
  /** Last notification per object, so a flood of refusals does not cost a store transaction each. */
  private readonly lastSentMs = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly enforcer: Enforcer,
    private readonly held: HeldStore,
    private readonly postfixConfigDir: string,
    /** Fills in recipients of held mail from the queue, for the top recipient domains. */
    private readonly refreshRecipients: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.repeated = new LogSummariser(log);
  }

  /** A failing store or mail command repeats these per notification: one line, then a count a minute. */
  private readonly repeated: LogSummariser;

  /** From the enforcer: a message over the limit was held or deferred. */
  limitReached(event: OverLimitEvent): void {
    const object = this.enforcer.directory.find(event.level as Level, event.objectName);
    if (!object) return;
    // Monitor only let a message over its maximum of recipients through: nothing was refused, so nothing is said.
    if (event.action === MONITORED_REJECT) return;
    // A message over its maximum of recipients was refused for good: said as such, not as a limit reached.
    if (event.recipientMaximum !== null) this.notify('too-many-recipients', object, event.reason, 'hour', { recipientMaximum: event.recipientMaximum });
    else this.notify('limit-reached', object, event.reason, event.window, { wouldHaveBeen: wouldHaveBeen(event.action) });
  }

  /** From the enforcer: an object passed the early-warning share of a limit (once per window at most, decided there). */
  earlyWarning(warning: EarlyWarning): void {
    const object = this.enforcer.directory.find(warning.level, warning.objectName);
    if (object) this.notify('early-warning', object, explainEarlyWarning(warning, this.enforcer.currentSettings.countingUnit), warning.window);
  }

  compromised(object: ChargedObject, reason: string): void {
    this.notify('compromised', object, reason);
  }

  /**
   * A mailbox raised an anomaly: the same people as for its limits hear of it. Not held back by the notification
   * period: each signal is raised at most once per mailbox and hour already.
   */
  anomaly(mailbox: ChargedObject, figures: AnomalyFigures, autoCompromise: boolean): void {
    const settings = this.enforcer.currentSettings.notifications;
    const to = this.addressesFor(mailbox);
    if (to.length === 0 && !settings.webhookUrl) return;
    const notification: AnomalyNotification = {
      kind: 'anomaly',
      atMs: this.nowMs(),
      host: os.hostname(),
      level: 'mailbox',
      name: mailbox.name,
      ...figures,
      description: describeAnomaly(figures),
      autoCompromise,
    };
    const sends: Array<Promise<void>> = [];
    if (to.length > 0) sends.push(this.sendMail(to, anomalySubject(notification), anomalyBody(notification), `anomaly ${mailbox.name}`));
    if (settings.webhookUrl) sends.push(this.postWebhook(settings.webhookUrl, notification));
    const work = Promise.all(sends);
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /**
   * The store failed under the running daemon: the administrator hears of it (mail and webhook). Nothing here
   * reads the store, which may be what failed; the settings are those in force.
   */
  storeFailed(event: StoreFailureEvent): void {
    const settings = this.enforcer.currentSettings.notifications;
    const to = settings.adminAddress ? [settings.adminAddress] : [];
    if (to.length === 0 && !settings.webhookUrl) {
      this.log.warn('no administrator address or webhook is set: nobody is notified of the store failure');
      return;
    }
    const notification: StoreFailureNotification = { kind: 'store-failure', atMs: event.atMs, file: event.file, operation: event.operation, error: event.error, host: os.hostname() };
    const sends: Array<Promise<void>> = [];
    if (to.length > 0) sends.push(this.sendMail(to, storeFailureSubject(notification), storeFailureBody(notification), `store ${event.operation}`));
    if (settings.webhookUrl) sends.push(this.postWebhook(settings.webhookUrl, notification));
    const work = Promise.all(sends);
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** A node of a cluster lost its Redis (one message each time; the way back is in the health view). Administrator only. */
  clusterAlone(event: { atMs: number; node: string; address: string; error: string }): void {
    const settings = this.enforcer.currentSettings.notifications;
    const to = settings.adminAddress ? [settings.adminAddress] : [];
    if (to.length === 0 && !settings.webhookUrl) {
      this.log.warn('no administrator address or webhook is set: nobody is notified that this node counts alone');
      return;
    }
    const notification: ClusterAloneNotification = { kind: 'cluster-alone', host: os.hostname(), ...event };
    const sends: Array<Promise<void>> = [];
    if (to.length > 0) sends.push(this.sendMail(to, clusterAloneSubject(notification), clusterAloneBody(notification), 'cluster alone'));
    if (settings.webhookUrl) sends.push(this.postWebhook(settings.webhookUrl, notification));
    const work = Promise.all(sends);
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** When the wiring guard last told of a repair: a program that rewrites main.cf often must not flood the inbox. */
  private lastWiringRestoredMs: number | null = null;

  /**
   * The daemon put back its entries in main.cf (at most one message per notification period; the log counts the
   * rest), or could not (the guard reports each failure once). For the administrator only, like store failures.
   */
  wiringChanged(event: WiringGuardEvent): void {
    const settings = this.enforcer.currentSettings.notifications;
    const to = settings.adminAddress ? [settings.adminAddress] : [];
    if (to.length === 0 && !settings.webhookUrl) {
      this.log.warn({ kind: event.kind }, 'no administrator address or webhook is set: nobody is notified of the Postfix wiring');
      return;
    }
    if (event.kind === 'wiring-restored') {
      const now = this.nowMs();
      if (this.lastWiringRestoredMs !== null && now - this.lastWiringRestoredMs < NOTIFY_PERIOD_SECONDS[settings.period] * 1000) return;
      this.lastWiringRestoredMs = now;
    }
    const notification: WiringNotification =
      event.kind === 'wiring-restored'
        ? { kind: event.kind, atMs: event.atMs, host: os.hostname(), mainCf: event.mainCf, missing: event.missing, action: `The service put them back${event.reloaded ? ' and reloaded Postfix' : ' (Postfix was not running; it reads them when it starts)'}; limits are enforced again.`, stage: null, error: null }
        : {
            kind: event.kind,
            atMs: event.atMs,
            host: os.hostname(),
            mainCf: event.mainCf,
            missing: event.missing,
            action: event.stage === 'reload' ? 'The service put them back in main.cf, but could not reload Postfix, which goes on without them until it is reloaded:' : 'The service could not put them back:',
            stage: event.stage,
            error: event.error,
          };
    const sends: Array<Promise<void>> = [];
    if (to.length > 0) sends.push(this.sendMail(to, wiringSubject(notification), wiringBody(notification), event.kind));
    if (settings.webhookUrl) sends.push(this.postWebhook(settings.webhookUrl, notification));
    const work = Promise.all(sends);
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Resolves when notifications under way are sent (or given up). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private notify(kind: Notification['kind'], object: ChargedObject, reason: string, window: LimitWindow = 'hour', extra: NotificationExtra = {}): void {
    const settings = this.enforcer.currentSettings.notifications;
    const to = this.addressesFor(object);
    if (to.length === 0 && !settings.webhookUrl) return;
    const now = this.nowMs();
    if ((kind === 'limit-reached' || kind === 'too-many-recipients') && !this.claimPeriod(object, now, NOTIFY_PERIOD_SECONDS[settings.period] * 1000)) return;
    // An early warning comes before anything is held: no held mail to wait for.
    const ready = kind === 'early-warning' ? Promise.resolve() : this.recipientsKnown(object);
    const work = ready.then(() => this.send(this.compose(kind, object, reason, now, window, extra), to, settings.webhookUrl, settings.period));
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /**
   * Waits (a few seconds at most) until the object's held mail shows its recipients. The message that tripped is
   * recorded as held right after the decision, but Postfix puts it in the hold queue, where its recipients
   * are read, only once the client has finished the transaction.
   */
  private async recipientsKnown(object: ChargedObject): Promise<void> {
    for (let attempt = 0; attempt < RECIPIENT_ATTEMPTS; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, attempt === 0 ? 0 : RECIPIENT_RETRY_MS));
      await this.refreshRecipients().catch(() => undefined);
      if (this.held.heldFor(object.level, object.name).every((m) => m.recipients !== null)) return;
    }
  }

  /** True (and the time recorded) when the object had no notification within the period. */
  private claimPeriod(object: ChargedObject, now: number, periodMs: number): boolean {
    const key = `${object.level}:${object.name}`;
    const known = this.lastSentMs.get(key);
    if (known !== undefined && now - known < periodMs) return false;
    let claimed: boolean;
    try {
      claimed = this.claimInStore(object, now, periodMs);
    } catch (error) {
      // The store cannot be written (full disk, damage): the period is kept in memory alone until it can.
      this.repeated.warn('notify-period-unrecorded', { err: error, object: key }, 'cannot record the notification period in the store; kept in memory');
      claimed = true;
    }
    if (claimed) this.lastSentMs.set(key, now);
    return claimed;
  }

  private claimInStore(object: ChargedObject, now: number, periodMs: number): boolean {
    const key = `${object.level}:${object.name}`;
    return this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT last_sent_ms FROM notifications_sent WHERE level = ? AND object_name = ?').get(object.level, object.name) as
          | { last_sent_ms: number }
          | undefined;
        if (row && now - row.last_sent_ms < periodMs) {
          this.lastSentMs.set(key, row.last_sent_ms);
          return false;
        }
        this.db
          .prepare('INSERT INTO notifications_sent (level, object_name, last_sent_ms) VALUES (?, ?, ?) ON CONFLICT (level, object_name) DO UPDATE SET last_sent_ms = excluded.last_sent_ms')
          .run(object.level, object.name, now);
        return true;
      })
      .immediate();
  }

  private addressesFor(object: ChargedObject): string[] {
    const settings = this.enforcer.currentSettings.notifications;
    const addresses = new Set<string>();
    if (settings.adminAddress) addresses.add(settings.adminAddress);
    const contact = (login: string | null) => (login === null ? null : contactAddress(this.db, login));
    const reseller = settings.notifyReseller ? contact(object.owner.reseller) : undefined;
    const customer = settings.notifyCustomer ? contact(object.owner.customer) : undefined;
    if (reseller) addresses.add(reseller);
    if (customer) addresses.add(customer);
    return [...addresses];
  }

  private compose(kind: Notification['kind'], object: ChargedObject, reason: string, atMs: number, window: LimitWindow, extra: NotificationExtra): Notification {
    const settings = this.enforcer.currentSettings;
    // The window that was reached: its limit, what was sent in it and when it frees.
    const usage = windowUsage(object, this.enforcer.windowAt(Math.floor(this.nowMs() / 1000)), window);
    const heldMail = this.held.heldFor(object.level, object.name);
    const base = settings.notifications.screenUrl ?? `https://${os.hostname()}:8443/modules/outgoing-mail-limits/index.php/ui/held`;
    const link = `${base}${base.includes('?') ? '&' : '?'}${new URLSearchParams({ level: object.level, name: object.name }).toString()}`;
    return {
      kind,
      wouldHaveBeen: extra.wouldHaveBeen ?? null,
      atMs,
      level: object.level,
      name: object.name,
      window,
      limit: usage.limit,
      unit: settings.countingUnit,
      sent: usage.used,
      held: heldMail.length,
      topRecipientDomains: topDomains(heldMail.map((m) => m.recipients ?? [])),
      reason,
      freesInSeconds: usage.freesInSeconds,
      recipientMaximum: extra.recipientMaximum ?? null,
      link,
    };
  }

  private async send(notification: Notification, to: string[], webhookUrl: string | null, period: string): Promise<void> {
    const sends: Array<Promise<void>> = [];
    if (to.length > 0) sends.push(this.mail(to, notification, period));
    if (webhookUrl) sends.push(this.postWebhook(webhookUrl, notification));
    await Promise.all(sends);
  }

  private mail(to: string[], notification: Notification, period: string): Promise<void> {
    return this.sendMail(to, mailSubject(notification), mailBody(notification, period), `${notification.level} ${notification.name}`);
  }

  private sendMail(to: string[], subject: string, body: string, about: string): Promise<void> {
    const message = [
      `From: Outgoing Mail Limits <${SENDER}>`,
      `To: ${to.join(', ')}`,
      `Subject: ${headerSafe(subject)}`,
      'Content-Type: text/plain; charset=utf-8',
      'Auto-Submitted: auto-generated',
      '',
      body,
    ].join('\n');
    return new Promise((resolve) => {
      const child = execFile(
        'sendmail',
        ['-C', this.postfixConfigDir, '-f', SENDER, '-i', '--', ...to],
        { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 },
        (error, _stdout, stderr) => {
          if (error) this.log.error({ error: error.message, stderr }, 'sending a notification mail failed');
          else this.log.info({ to, object: about }, 'notification mailed');
          resolve();
        },
      );
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(message);
    });
  }

  private async postWebhook(url: string, notification: Notification | StoreFailureNotification | WiringNotification | AnomalyNotification | ClusterAloneNotification): Promise<void> {
    const body = JSON.stringify(notification);
    for (const [attempt, delay] of WEBHOOK_BACKOFF_MS.entries()) {
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
        if (response.ok) return;
        this.log.warn({ url, status: response.status, attempt: attempt + 1 }, 'webhook answered with an error; will retry');
      } catch (error) {
        this.log.warn({ url, error: (error as Error).message, attempt: attempt + 1 }, 'webhook unreachable; will retry');
      }
    }
    this.log.error({ url, attempts: WEBHOOK_BACKOFF_MS.length }, 'webhook gave up');
  }
}
