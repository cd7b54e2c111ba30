import type { Level, LimitWindow } from '../core/limits.js';
import { MAX_SUBJECT_LENGTH } from '../core/header-text.js';
import type { Db } from './database.js';

export type HeldSource = 'smtpd' | 'milter' | 'compromised';
export type HeldStatus = 'held' | 'released' | 'deleted' | 'gone';

/** A message a limit put into Postfix's hold queue, as recorded when it was held. */
export interface NewHeldMessage {
  queueId: string;
  heldAtMs: number;
  source: HeldSource;
  sender: string | null;
  saslUsername: string | null;
  /** The innermost object the message is charged to on release; null when it belongs to nobody we limit. */
  chargedLevel: Level | null;
  chargedName: string | null;
  trippedLevel: Level;
  trippedName: string;
  /**
   * The tripped level's limit and its usage when the message was held; null in records from before they were
   * kept (their `reason` still says it).
   */
  trippedLimit: number | null;
  trippedUsed: number | null;
  trippedWindow: LimitWindow;
  weight: number;
  recipientCount: number;
  recipients: string[] | null;
  /** The SMTP text given to Postfix (protocol wording, kept for logs and the command line). */
  reason: string;
}

export interface HeldMessage extends NewHeldMessage {
  id: number;
  status: HeldStatus;
  resolvedAtMs: number | null;
  /** `worker` (released by budget), `postfix` (seen released or removed outside), or the login of a person. */
  resolvedBy: string | null;
  /** The new queue id of a message released with `postsuper -r`, when it could be found (it may have left already). */
  requeuedAs: string | null;
  /** The subject read from the queue file while the message was held (decoded, at most MAX_SUBJECT_LENGTH characters). */
  subject: string | null;
  /** Whether the queue file was read (subject and recipients): it is read once, the first time it is asked for. */
  summaryRead: boolean;
}

/** The most recipients stored from a queue file, and the longest address (the sender chose them); the rest is cut. */
const MAX_STORED_RECIPIENTS = 100;
const MAX_STORED_RECIPIENT = 320;

interface Row {
  id: number;
  queue_id: string;
  held_at_ms: number;
  source: HeldSource;
  sender: string | null;
  sasl_username: string | null;
  charged_level: Level | null;
  charged_name: string | null;
  tripped_level: Level;
  tripped_name: string;
  tripped_limit: number | null;
  tripped_used: number | null;
  tripped_window: LimitWindow;
  weight: number;
  recipient_count: number;
  recipients: string | null;
  reason: string;
  status: HeldStatus;
  resolved_at_ms: number | null;
  resolved_by: string | null;
  requeued_as: string | null;
  subject: string | null;
  summary_read_at_ms: number | null;
}

function fromRow(r: Row): HeldMessage {
  return {
    id: r.id,
    queueId: r.queue_id,
    heldAtMs: r.held_at_ms,
    source: r.source,
    sender: r.sender,
    saslUsername: r.sasl_username,
    chargedLevel: r.charged_level,
    chargedName: r.charged_name,
    trippedLevel: r.tripped_level,
    trippedName: r.tripped_name,
    trippedLimit: r.tripped_limit,
    trippedUsed: r.tripped_used,
    trippedWindow: r.tripped_window,
    weight: r.weight,
    recipientCount: r.recipient_count,
    recipients: r.recipients === null ? null : (JSON.parse(r.recipients) as string[]),
    reason: r.reason,
    status: r.status,
    resolvedAtMs: r.resolved_at_ms,
    resolvedBy: r.resolved_by,
    requeuedAs: r.requeued_as,
    subject: r.subject,
    summaryRead: r.summary_read_at_ms !== null,
  };
}

/**
 * Records of held mail. Writes are synchronous and happen before Postfix is told to hold (or after it confirmed a
 * release or delete), so a crash can leave a record without a message (cleaned up by reconciliation), never a
 * held message nobody knows about.
 */
export class HeldStore {
  private readonly insertStatement;
  private readonly resolveStatement;

  constructor(private readonly db: Db) {
    this.insertStatement = db.prepare(
      `INSERT INTO held_messages (queue_id, held_at_ms, source, sender, sasl_username, charged_level, charged_name, tripped_level, tripped_name,
                                  tripped_limit, tripped_used, tripped_window, weight, recipient_count, recipients, reason)
       VALUES (@queueId, @heldAtMs, @source, @sender, @saslUsername, @chargedLevel, @chargedName, @trippedLevel, @trippedName,
               @trippedLimit, @trippedUsed, @trippedWindow, @weight, @recipientCount, @recipients, @reason)
       ON CONFLICT (queue_id) WHERE status = 'held' DO NOTHING`,
    );
    this.resolveStatement = db.prepare(`UPDATE held_messages SET status = ?, resolved_at_ms = ?, resolved_by = ? WHERE id = ? AND status = 'held'`);
  }

  /** False when the queue id is already recorded as held (Postfix asked twice). */
  insert(message: NewHeldMessage): boolean {
    const info = this.insertStatement.run({ ...message, recipients: message.recipients === null ? null : JSON.stringify(message.recipients) });
    return info.changes > 0;
  }

  /** Marks a held message as done; false if it was no longer held (someone else got there first). */
  resolve(id: number, status: Exclude<HeldStatus, 'held'>, by: string, atMs: number): boolean {
    return this.resolveStatement.run(status, atMs, by, id).changes > 0;
  }

  /** The queue id under which a requeued message went on. */
  setRequeuedAs(id: number, queueId: string): void {
    this.db.prepare('UPDATE held_messages SET requeued_as = ? WHERE id = ?').run(queueId, id);
  }

  setRecipients(id: number, recipients: string[]): void {
    this.db.prepare('UPDATE held_messages SET recipients = ?, recipient_count = MAX(recipient_count, ?) WHERE id = ?').run(JSON.stringify(recipients), recipients.length, id);
  }

  /**
   * Keeps what the queue file said (read once, while the message is held): the subject, and the recipients when
   * the record has none. Both are bounded, since the sender wrote them.
   */
  setSummary(id: number, summary: { subject: string | null; recipients: readonly string[] }, atMs: number): void {
    const subject = summary.subject === null ? null : [...summary.subject].slice(0, MAX_SUBJECT_LENGTH).join('');
    const recipients = summary.recipients.slice(0, MAX_STORED_RECIPIENTS).map((r) => r.slice(0, MAX_STORED_RECIPIENT));
    this.db
      .prepare(
        `UPDATE held_messages SET subject = ?, summary_read_at_ms = ?,
                recipients = COALESCE(recipients, ?), recipient_count = MAX(recipient_count, ?) WHERE id = ?`,
      )
      .run(subject, atMs, recipients.length > 0 ? JSON.stringify(recipients) : null, recipients.length, id);
  }

  /** Still held, oldest first: the order in which they are released. */
  stillHeld(): HeldMessage[] {
    return (this.db.prepare(`SELECT * FROM held_messages WHERE status = 'held' ORDER BY held_at_ms, id`).all() as Row[]).map(fromRow);
  }

  byQueueId(queueId: string): HeldMessage | null {
    const row = this.db.prepare(`SELECT * FROM held_messages WHERE queue_id = ? ORDER BY status = 'held' DESC, id DESC LIMIT 1`).get(queueId) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Newest first, optionally of one status and one charged or tripped object. */
  list(query: { status?: HeldStatus | undefined; limit: number }): HeldMessage[] {
    const where = query.status ? 'WHERE status = ?' : '';
    const args: Array<string | number> = query.status ? [query.status] : [];
    return (this.db.prepare(`SELECT * FROM held_messages ${where} ORDER BY held_at_ms DESC, id DESC LIMIT ?`).all(...args, query.limit) as Row[]).map(fromRow);
  }

  /** How many messages an object has in the hold queue because it tripped. */
  heldCount(level: Level, name: string): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM held_messages WHERE status = 'held' AND tripped_level = ? AND tripped_name = ?`).get(level, name) as { n: number }).n;
  }

  /** Held messages charged to (or held by) a mailbox, domain or subscription name. */
  heldFor(level: Level, name: string): HeldMessage[] {
    return (
      this.db
        .prepare(`SELECT * FROM held_messages WHERE status = 'held' AND ((charged_level = ? AND charged_name = ?) OR (tripped_level = ? AND tripped_name = ?)) ORDER BY held_at_ms, id`)
        .all(level, name, level, name) as Row[]
    ).map(fromRow);
  }
}
