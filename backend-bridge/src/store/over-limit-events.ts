import { MONITORED_ACTIONS, type MonitoredCount } from '../core/monitor-mode.js';
import type { Db } from './database.js';

export interface OverLimitEvent {
  atMs: number;
  level: string;
  /** The window whose limit was reached: 'hour' or 'day'. */
  window: 'hour' | 'day';
  /**
   * Set only when the message was refused for its number of recipients (action "reject"): the maximum it was
   * over. Such a message costs no budget, so its window means nothing; null for every rate limit event.
   */
  recipientMaximum: number | null;
  objectId: number;
  objectName: string;
  sender: string | null;
  saslUsername: string | null;
  recipientCount: number;
  queueId: string | null;
  clientAddress: string | null;
  action: string;
  reason: string;
}

/** As written: with the sender's chain (null where it has no such level), for per-object statistics. */
export interface RecordedOverLimitEvent extends OverLimitEvent {
  mailboxId: number | null;
  domainId: number | null;
  subscriptionId: number | null;
}

/** Keeps this many days of events (the 31-day chart and report, and a day to spare); a flood from a hijacked mailbox must not grow the file without end. */
export const OVER_LIMIT_EVENT_KEEP_DAYS = 32;

/** Over-limit attempts, buffered like the counter journal so a flood of refusals costs one write per flush. */
export class OverLimitEventLog {
  private pending: RecordedOverLimitEvent[] = [];
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO over_limit_events (at_ms, level, object_id, object_name, sender, sasl_username, recipient_count, queue_id, client_address, action, reason, mailbox_id, domain_id, subscription_id, limit_window, recipient_maximum)
       VALUES (@atMs, @level, @objectId, @objectName, @sender, @saslUsername, @recipientCount, @queueId, @clientAddress, @action, @reason, @mailboxId, @domainId, @subscriptionId, @window, @recipientMaximum)`,
    );
  }

  record(event: RecordedOverLimitEvent): void {
    this.pending.push(event);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.db.transaction(() => {
      for (const event of this.pending) this.insert.run(event);
    })();
    this.pending = [];
  }

  prune(nowMs: number): void {
    this.db.prepare('DELETE FROM over_limit_events WHERE at_ms < ?').run(nowMs - OVER_LIMIT_EVENT_KEEP_DAYS * 86_400_000);
  }
}

/** Newest first, optionally of one level and/or one object name. */
export function recentOverLimitEvents(db: Db, limit: number, level?: string, objectName?: string): OverLimitEvent[] {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (level) {
    where.push('level = ?');
    args.push(level);
  }
  if (objectName) {
    where.push('object_name = ?');
    args.push(objectName);
  }
  return db
    .prepare(
      `SELECT at_ms AS atMs, level, limit_window AS window, recipient_maximum AS recipientMaximum, object_id AS objectId, object_name AS objectName, sender, sasl_username AS saslUsername,
              recipient_count AS recipientCount, queue_id AS queueId, client_address AS clientAddress, action, reason
       FROM over_limit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at_ms DESC, id DESC LIMIT ?`,
    )
    .all(...args, limit) as OverLimitEvent[];
}

/** Messages monitor mode let through since `sinceMs`, per object, action and window (see core/monitor-mode.ts). */
export function monitoredCounts(db: Db, sinceMs: number): MonitoredCount[] {
  return db
    .prepare(
      `SELECT level, object_id AS objectId, object_name AS objectName, action, limit_window AS window, COUNT(*) AS messages, MAX(at_ms) AS lastAtMs
       FROM over_limit_events WHERE at_ms >= ? AND action IN (?, ?)
       GROUP BY level, object_id, object_name, action, limit_window`,
    )
    .all(sinceMs, MONITORED_ACTIONS.hold, MONITORED_ACTIONS.defer) as MonitoredCount[];
}
