import type { Logger } from 'pino';
import type { Identity } from '../api/identity.js';
import { describeAnomaly, HOUR_SECONDS, type AnomalyFigures } from '../core/anomalies.js';
import type { ChargedObject } from '../core/directory.js';
import { LogSummariser } from '../log/log-summariser.js';
import { storedHourlyAmounts } from '../store/anomaly-baseline.js';
import { AnomalyStore } from '../store/anomaly-store.js';
import type { Db } from '../store/database.js';
import { AnomalyWatch } from './anomaly-watch.js';
import type { Enforcer } from './enforcer.js';
import type { HeldMail } from './held-mail.js';

/** Who marks a mailbox compromised when a signal does it: audited as the system, with the anomaly's figures. */
export const SYSTEM_ACTOR: Identity = { login: 'system', role: 'admin', userId: null, via: 'local' };

/**
 * The mailbox's counted amounts per clock hour over the 7 days before `hour`: hours the store rolled up into
 * hourly_sent, plus the last day, still in the daily counters (per minute).
 */
export function baselineHours(db: Db, enforcer: Enforcer, mailbox: ChargedObject, hour: number, nowSecond: number): number[] {
  const perHour = storedHourlyAmounts(db, mailbox.counterKey, hour);
  enforcer.dailyCounters.forEachStep(mailbox.counterKey, nowSecond, (second, amount) => {
    // A step's second is its last one; the hour being judged is not part of its own baseline.
    const stepHour = Math.floor((second - 1) / HOUR_SECONDS);
    if (stepHour < hour) perHour.set(stepHour, (perHour.get(stepHour) ?? 0) + amount);
  });
  return [...perHour.values()];
}

export interface AnomalyResponseParts {
  db: Db;
  enforcer: Enforcer;
  held: HeldMail;
  notify: (mailbox: ChargedObject, figures: AnomalyFigures, autoCompromise: boolean) => void;
  log: Logger;
  nowMs?: () => number;
  /** How many 7-day baselines may be read in one second (default BASELINE_READS_PER_SECOND). */
  baselineReadsPerSecond?: number;
}

/**
 * Baselines read in one second at most. Each is a store read on the policy path; when thousands of mailboxes pass
 * the floor of 20 in the same minute, the reads beyond this wait for the next seconds (the surge is judged at a
 * later message of each), so a burst never stalls the decisions. 50 reads cost under 10 ms a second.
 */
export const BASELINE_READS_PER_SECOND = 50;

/**
 * What happens when a mailbox raises an anomaly: it is recorded (once per mailbox, signal and hour, also across
 * restarts), logged and notified; where the administrator chose so for the signal, the mailbox is marked
 * compromised through the same path as a person's mark, audited as the system. A failing store is logged and
 * never changes the answer to the message.
 */
export function watchAnomalies(parts: AnomalyResponseParts): AnomalyWatch {
  const { db, enforcer, held, notify, log } = parts;
  const nowMs = parts.nowMs ?? Date.now;
  const store = new AnomalyStore(db);
  const repeated = new LogSummariser(log);
  const onRaised = (mailbox: ChargedObject, hour: number, figures: AnomalyFigures) => {
    let first = true;
    try {
      first = store.record(mailbox.name, hour, figures, nowMs());
    } catch (error) {
      repeated.error('anomaly-record-failed', { err: error, mailbox: mailbox.name, signal: figures.signal }, 'recording an anomaly failed; it is still notified');
    }
    if (!first) return;
    let autoCompromise = enforcer.currentSettings.anomalies[figures.signal].autoCompromise;
    try {
      autoCompromise &&= !held.compromisedEntry(mailbox.name);
    } catch (error) {
      // Unknown whether it is marked: markCompromised below finds out (and refuses a second mark).
      repeated.error('anomaly-record-failed', { err: error, mailbox: mailbox.name }, 'reading the compromised marks failed');
    }
    log.warn({ mailbox: mailbox.name, ...figures, autoCompromise }, `unusual sending: mailbox ${mailbox.name} ${describeAnomaly(figures)}`);
    try {
      notify(mailbox, figures, autoCompromise);
    } catch (error) {
      repeated.error('anomaly-notify-failed', { err: error, mailbox: mailbox.name }, 'notifying an anomaly failed');
    }
    if (!autoCompromise) return;
    void held.markCompromised(mailbox, SYSTEM_ACTOR, figures).then(
      () => {
        try {
          store.markAutoCompromised(mailbox.name, figures.signal, hour);
        } catch (error) {
          repeated.error('anomaly-record-failed', { err: error, mailbox: mailbox.name }, 'recording the automatic compromised mark of an anomaly failed');
        }
      },
      (error: unknown) => log.error({ err: error, mailbox: mailbox.name, signal: figures.signal }, 'marking the mailbox compromised after an anomaly failed'),
    );
  };
  const readsPerSecond = parts.baselineReadsPerSecond ?? BASELINE_READS_PER_SECOND;
  let budgetSecond = -1;
  let readsThisSecond = 0;
  const hourlyAmounts = (mailbox: ChargedObject, hour: number): number[] | null => {
    const second = Math.floor(nowMs() / 1000);
    if (second !== budgetSecond) {
      budgetSecond = second;
      readsThisSecond = 0;
    }
    if (readsThisSecond >= readsPerSecond) return null;
    readsThisSecond += 1;
    try {
      return baselineHours(db, enforcer, mailbox, hour, Math.floor(nowMs() / 1000));
    } catch (error) {
      repeated.error('anomaly-baseline-failed', { err: error, mailbox: mailbox.name }, 'reading the 7-day baseline failed; the surge is judged at a later message');
      return null;
    }
  };
  return new AnomalyWatch(hourlyAmounts, onRaised);
}
