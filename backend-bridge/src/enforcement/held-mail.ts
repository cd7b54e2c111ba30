import type { Logger } from 'pino';
import type { Identity } from '../api/identity.js';
import { describeAnomaly, type AnomalyFigures } from '../core/anomalies.js';
import type { Decision, Refused } from '../core/decision.js';
import { refusalCause, type RefusalCode } from '../core/hold-cause.js';
import type { ChargedObject } from '../core/directory.js';
import { isLockingRole, lockAfterChange, sameLock, type LimitLock } from '../core/limit-locks.js';
import type { SenderIdentity } from '../core/identity.js';
import type { LimitOverride } from '../core/limits.js';
import { ownLimitOf } from '../core/object-query.js';
import type { PostfixQueue } from '../postfix/queue.js';
import { heldQueueFileSummary } from '../postfix/queue-file.js';
import { candidatesFor, matchRequeued, type RequeuedOriginal } from '../postfix/requeued.js';
import { recordAudit } from '../store/audit-store.js';
import type { Db } from '../store/database.js';
import { setObjectLimit, setObjectLock } from '../store/directory-store.js';
import { HeldStore, type HeldMessage, type HeldSource } from '../store/held-store.js';
import { LogSummariser } from '../log/log-summariser.js';
import type { CountReceipt, Enforcer, MessageFacts } from './enforcer.js';
import type { StoreSync } from './store-sync.js';
import { SerialQueue } from '../serial-queue.js';

/**
 * A request about held mail that cannot be done; status as the API answers it, and for the refusals a person can
 * meet in a screen a code with its facts (rendered there in the person's language).
 */
export class HeldMailError extends Error {
  constructor(
    readonly status: 404 | 409 | 502,
    message: string,
    readonly refusal?: RefusalCode,
  ) {
    super(message);
  }
}

/** "No room to release it within the limit", with what is known of why (see core/hold-cause.ts). */
function noRoomError(decision: Decision, weight: number): HeldMailError {
  if (decision.allowed) return new HeldMailError(409, 'no room in the limit; the message stays held until then', { code: 'noRoom', params: {} });
  const cause = refusalCause(decision, weight);
  return new HeldMailError(409, `${decision.reason}; the message stays held until then`, {
    code: 'noRoom',
    params: { cause, inSeconds: decision.retryAfterSeconds },
  });
}

const notHeldError = (queueId: string) => new HeldMailError(409, `message ${queueId} is no longer in the Postfix hold queue`, { code: 'notHeld', params: { queueId } });
const notFoundError = (queueId: string) => new HeldMailError(404, `held message ${queueId} not found`, { code: 'heldNotFound', params: { queueId } });

/** What the notifier hears from here: a mailbox was marked compromised (limits reached come as over-limit events). */
export interface MarkedCompromised {
  object: ChargedObject;
  reason: string;
}

export interface CompromisedMailbox {
  address: string;
  previousLimit: number | 'unlimited' | 'default';
  markedAtMs: number;
  markedBy: string;
}

/** How long the worker waits for pickup to take requeued mail out of maildrop, to learn its new queue id. */
const PICKUP_POLLS = 50;
const PICKUP_POLL_MS = 200;

/** Messages moved out of the hold queue; `requeued` were resubmitted with postsuper -r (`originals`: as they were). */
interface LeftHold {
  released: Set<string>;
  requeued: Set<string>;
  originals: RequeuedOriginal[];
}

/** postqueue -i commands run side by side after a release of many messages. */
const DELIVER_NOW_AT_ONCE = 8;

/** A message that a record says is held but Postfix has not finished writing yet is given this long to show up. */
const SETTLE_MS = 30_000;

/**
 * Over-limit mail in Postfix's hold queue: records each hold, releases held mail oldest first once the sender's
 * window has room again (each release counts), and carries out what people decide (release now, delete, mark a
 * mailbox compromised and restore it). Queue operations run one at a time, so a record is never handled twice.
 */
export class HeldMail {
  readonly store: HeldStore;
  private queueLifetimeMs: number | null = null;
  /** Runs queue work one piece at a time. */
  private readonly serial = new SerialQueue();
  /** A failing store or queue repeats these per message or per pass: one line, then a count a minute. */
  readonly repeated: LogSummariser;
  private queueDirectory: string | null = null;
  /** When queue_directory was last asked for (it is asked in the background, at most once a minute). */
  private queueDirectoryAskedAtMs = -Infinity;

  constructor(
    private readonly db: Db,
    private readonly enforcer: Enforcer,
    private readonly sync: StoreSync,
    readonly queue: PostfixQueue,
    private readonly log: Logger,
    private readonly onCompromised: (event: MarkedCompromised) => void,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.store = new HeldStore(db);
    this.repeated = new LogSummariser(log);
  }

  /**
   * Records a message Postfix is about to hold, before the answer that holds it goes out. False when there is no
   * queue id to track it by: the caller then defers instead (mail we cannot track must not sit in hold forever).
   */
  recordHold(source: HeldSource, queueId: string | undefined, facts: MessageFacts, identity: SenderIdentity, refused: Refused, weight: number, reason: string): boolean {
    if (!queueId) return false;
    const charged = identity.chain[0];
    try {
      this.store.insert({
        queueId,
        heldAtMs: this.nowMs(),
        source,
        sender: facts.sender ?? null,
        saslUsername: facts.saslUsername ?? null,
        chargedLevel: charged?.level ?? null,
        chargedName: charged?.name ?? null,
        trippedLevel: refused.tripped.level,
        trippedName: refused.tripped.name,
        trippedLimit: refused.limit,
        trippedUsed: refused.used,
        trippedWindow: refused.window,
        weight,
        recipientCount: facts.recipientCount,
        recipients: facts.recipients ?? null,
        reason,
      });
    } catch (error) {
      this.repeated.error('held-record-failed', { err: error, queueId }, 'recording a held message failed; deferring it instead');
      return false;
    }
    return true;
  }

  /** The objects a held message counts against when it leaves; [] when its sender is no longer ours to limit. */
  chainOf(message: HeldMessage): ChargedObject[] {
    if (!message.chargedLevel || !message.chargedName) return [];
    const object = this.enforcer.directory.find(message.chargedLevel, message.chargedName);
    return object ? this.enforcer.directory.chainFrom(object) : [];
  }

  /**
   * The messages with their subject and recipients: read from the hold queue file (bounded, see
   * ../postfix/queue-file.ts) the first time a held message is asked for, and kept in its record, so they are
   * still there after it left and after a restart, and nothing grows in memory with the number held. A file that
   * cannot be read (yet) is tried again on the next ask.
   */
  withSummaries(messages: readonly HeldMessage[]): HeldMessage[] {
    if (!messages.some((m) => m.status === 'held' && !m.summaryRead)) return [...messages];
    const directory = this.knownQueueDirectory();
    if (directory === null) return [...messages];
    return messages.map((message) => {
      if (message.status !== 'held' || message.summaryRead) return message;
      const summary = heldQueueFileSummary(directory, message.queueId);
      if (!summary) return message;
      try {
        this.store.setSummary(message.id, summary, this.nowMs());
      } catch (error) {
        this.repeated.error('held-summary-failed', { err: error, queueId: message.queueId }, 'keeping the subject of a held message failed');
      }
      return { ...message, subject: summary.subject, recipients: message.recipients ?? summary.recipients, summaryRead: true };
    });
  }

  /**
   * Postfix's queue_directory once known; until then null, and it is asked for in the background (postconf), so
   * that a list never waits on Postfix nor asks it on every refresh while it cannot answer.
   */
  private knownQueueDirectory(): string | null {
    if (this.queueDirectory === null && this.nowMs() - this.queueDirectoryAskedAtMs >= 60_000) {
      this.queueDirectoryAskedAtMs = this.nowMs();
      void this.queue.queueDirectory().then(
        (directory) => (this.queueDirectory = directory),
        () => undefined,
      );
    }
    return this.queueDirectory;
  }

  /** Resolves when the queue work under way is done (for a clean stop). */
  async idle(): Promise<void> {
    await this.serial.idle();
  }

  /**
   * One pass of the release worker: every held message, oldest first, that fits its sender's window now is
   * counted and released. A sender whose oldest message does not fit gets none of its later ones released
   * before it, so mail leaves in the order it came.
   */
  releaseDue(): Promise<number> {
    return this.serial.run(async () => {
      const held = this.store.stillHeld();
      if (held.length === 0) return 0;
      const blocked = new Set<number>();
      const batch: Array<{ message: HeldMessage; chain: ChargedObject[]; receipt: CountReceipt | null }> = [];
      for (const message of held) {
        const chain = this.chainOf(message);
        const first = chain[0];
        if (!first) {
          batch.push({ message, chain, receipt: null });
          continue;
        }
        if (blocked.has(first.counterKey)) continue;
        const charged = await this.enforcer.chargeIfRoom(chain, message.weight);
        if (charged.receipt === null) {
          blocked.add(first.counterKey);
          continue;
        }
        batch.push({ message, chain, receipt: charged.receipt });
      }
      if (batch.length === 0) return 0;
      let left: LeftHold;
      try {
        left = await this.leaveHold(batch.map((b) => b.message));
      } catch (error) {
        for (const b of batch) if (b.receipt !== null) await this.enforcer.refund(b.chain, b.receipt, b.message.weight);
        throw error;
      }
      const released = left.released;
      const at = this.nowMs();
      for (const b of batch) {
        if (released.has(b.message.queueId)) {
          this.store.resolve(b.message.id, 'released', 'worker', at);
        } else if (b.receipt !== null) {
          // Not in the hold queue (yet, or any more): the count goes back; reconciliation sorts out the record.
          await this.enforcer.refund(b.chain, b.receipt, b.message.weight);
        }
      }
      await this.afterLeaving(batch.map((b) => b.message).filter((m) => released.has(m.queueId)), left);
      if (released.size > 0) this.log.info({ released: released.size }, 'held messages released');
      return released.size;
    });
  }

  /**
   * Moves messages out of the hold queue. Mail held longer than the queue lifetime would expire at its first
   * temporary failure (Postfix counts the lifetime from the queue file's creation, and -H keeps the file), so it
   * is resubmitted instead: postsuper -r gives it a new queue file and id; no milter or policy service sees it
   * again, so it is counted only here (see ../postfix/requeued.ts for what was measured).
   */
  private async leaveHold(messages: readonly HeldMessage[]): Promise<LeftHold> {
    this.queueLifetimeMs ??= await this.queue.queueLifetimeSeconds().then(
      (s) => s * 1000,
      () => 5 * 86_400_000,
    );
    const oldest = this.nowMs() - this.queueLifetimeMs;
    const old = messages.filter((m) => m.heldAtMs <= oldest).map((m) => m.queueId);
    const recent = messages.filter((m) => m.heldAtMs > oldest).map((m) => m.queueId);
    const released = await this.queue.releaseFromHold(recent);
    const originals = old.length > 0 ? await this.describeForRequeue(old) : [];
    const requeued = await this.queue.requeueFromHold(old);
    if (requeued.size > 0 && !(await this.queue.kickPickup())) this.log.warn('postkick pickup failed; requeued mail leaves at pickup\'s next wakeup');
    for (const id of requeued) released.add(id);
    return { released, requeued, originals: originals.filter((o) => requeued.has(o.queueId)) };
  }

  /** What identifies a message after postsuper -r: sender, arrival time and Message-ID, read before it moves. */
  private async describeForRequeue(ids: readonly string[]): Promise<RequeuedOriginal[]> {
    const wanted = new Set(ids);
    const queued = await this.queue.list().catch(() => []);
    const originals: RequeuedOriginal[] = [];
    for (const q of queued) {
      if (q.queue_name !== 'hold' || !wanted.has(q.queue_id)) continue;
      originals.push({ queueId: q.queue_id, sender: q.sender, arrivalTime: q.arrival_time, messageId: await this.queue.messageId(q.queue_id) });
    }
    return originals;
  }

  /** Sends released mail on now; requeued mail has a new id, which its record is given once pickup has it. */
  private async afterLeaving(messages: readonly HeldMessage[], left: LeftHold): Promise<void> {
    // postqueue -i takes one id: a few at a time, so that releasing hundreds does not take minutes.
    const now = messages.filter((m) => !left.requeued.has(m.queueId));
    for (let i = 0; i < now.length; i += DELIVER_NOW_AT_ONCE) await Promise.all(now.slice(i, i + DELIVER_NOW_AT_ONCE).map((m) => this.queue.deliverNow(m.queueId)));
    if (left.requeued.size === 0) return;
    const newIds = await this.followRequeued(left.originals);
    for (const m of messages) {
      const newId = newIds.get(m.queueId);
      if (newId) this.store.setRequeuedAs(m.id, newId);
    }
    this.log.info({ requeued: Object.fromEntries([...left.requeued].map((id) => [id, newIds.get(id) ?? null])) }, 'held mail older than the queue lifetime requeued');
  }

  /**
   * Finds the new queue ids of requeued messages: waits (bounded) until pickup has taken them out of maildrop,
   * then matches by sender, arrival time and Message-ID. A message delivered in the meantime has no id to find.
   */
  private async followRequeued(originals: readonly RequeuedOriginal[]): Promise<Map<string, string>> {
    if (originals.length === 0) return new Map();
    const oldIds = new Set(originals.map((o) => o.queueId));
    for (let poll = 1; ; poll++) {
      let queued;
      try {
        queued = await this.queue.list();
      } catch {
        return new Map();
      }
      const inMaildrop = queued.some((q) => q.queue_name === 'maildrop' && oldIds.has(q.queue_id));
      if (!inMaildrop || poll >= PICKUP_POLLS) {
        const messageIds = new Map<string, string | null>();
        for (const original of originals) {
          for (const c of candidatesFor(original, queued, oldIds)) if (!messageIds.has(c.queue_id)) messageIds.set(c.queue_id, await this.queue.messageId(c.queue_id));
        }
        return matchRequeued(originals, queued, messageIds);
      }
      await new Promise((resolve) => setTimeout(resolve, PICKUP_POLL_MS));
    }
  }

  /**
   * Brings the records in line with Postfix's real hold queue: a record whose message left the hold queue by
   * other hands is closed (and counted, if it is being sent), recipients are filled in from the queue. Returns
   * false when Postfix could not be asked (it is not running). A record without its message is closed once
   * it is SETTLE_MS old (Postfix may still be writing the message), or at once if older than `settledBeforeMs`
   * (at daemon start: nothing recorded before then is still being written).
   */
  reconcile(settledBeforeMs = 0): Promise<boolean> {
    return this.serial.run(async () => {
      const held = this.store.stillHeld();
      if (held.length === 0) return true;
      let queued;
      try {
        queued = await this.queue.list();
      } catch (error) {
        this.repeated.warn('reconcile-queue-unreadable', { error: (error as Error).message }, 'cannot read the Postfix queue to reconcile held mail; will try again');
        return false;
      }
      const byId = new Map(queued.map((q) => [q.queue_id, q]));
      const at = this.nowMs();
      let closed = 0;
      for (const message of held) {
        const entry = byId.get(message.queueId);
        if (entry?.queue_name === 'hold') {
          if (message.recipients === null) this.store.setRecipients(message.id, entry.recipients.map((r) => r.address));
        } else if (entry && (entry.queue_name === 'deferred' || entry.queue_name === 'active')) {
          // Released by hand (postsuper -H): it leaves now, so it counts now.
          const chain = this.chainOf(message);
          if (chain.length > 0) await this.enforcer.chargeAnyway(chain, message.weight);
          this.store.resolve(message.id, 'released', 'postfix', at);
          closed++;
        } else if (!entry && (message.heldAtMs < settledBeforeMs || at - message.heldAtMs > SETTLE_MS)) {
          this.store.resolve(message.id, 'gone', 'postfix', at);
          closed++;
        }
      }
      if (closed > 0) this.log.info({ closed }, 'held-mail records reconciled with the Postfix queue');
      return true;
    });
  }

  /**
   * A person's "release now". Within the budget it counts like any release; an administrator may release
   * beyond the limit (`force`), which still counts and is audited as such.
   */
  releaseNow(queueId: string, actor: Identity, force: boolean): Promise<HeldMessage> {
    return this.serial.run(async () => {
      const message = this.heldOrThrow(queueId);
      const chain = this.chainOf(message);
      let receipt: CountReceipt | null = null;
      let exceeded = false;
      if (chain.length > 0) {
        const charged = await this.enforcer.chargeIfRoom(chain, message.weight);
        if (charged.receipt !== null) {
          receipt = charged.receipt;
        } else if (force) {
          receipt = await this.enforcer.chargeAnyway(chain, message.weight);
          exceeded = true;
        } else {
          throw noRoomError(charged.decision, message.weight);
        }
      }
      let left: LeftHold;
      try {
        left = await this.leaveHold([message]);
      } catch (error) {
        if (receipt !== null) await this.enforcer.refund(chain, receipt, message.weight);
        throw new HeldMailError(502, (error as Error).message);
      }
      if (!left.released.has(queueId)) {
        if (receipt !== null) await this.enforcer.refund(chain, receipt, message.weight);
        throw notHeldError(queueId);
      }
      const at = this.nowMs();
      this.db.transaction(() => {
        this.store.resolve(message.id, 'released', actor.login, at);
        recordAudit(this.db, actor, { action: 'held.release', level: message.chargedLevel, objectName: message.chargedName, newValue: { queueId, overLimit: exceeded } }, at);
      })();
      await this.afterLeaving([message], left);
      return this.store.byQueueId(queueId) ?? { ...message, status: 'released', resolvedAtMs: at, resolvedBy: actor.login };
    });
  }

  /**
   * "Release now" of several messages (a person's selection), in the order given: each is charged, refused or
   * forced exactly as releaseNow does it, then all leave the hold queue with one postsuper. Returns each
   * message's record, or why it was not released.
   */
  releaseMany(queueIds: readonly string[], actor: Identity, force: boolean): Promise<Map<string, HeldMessage | HeldMailError>> {
    return this.serial.run(async () => {
      const outcome = new Map<string, HeldMessage | HeldMailError>();
      const charged: Array<{ message: HeldMessage; chain: ChargedObject[]; receipt: CountReceipt | null; exceeded: boolean }> = [];
      for (const queueId of queueIds) {
        const message = this.store.byQueueId(queueId);
        if (!message || message.status !== 'held') {
          outcome.set(queueId, notFoundError(queueId));
          continue;
        }
        const chain = this.chainOf(message);
        if (chain.length === 0) {
          charged.push({ message, chain, receipt: null, exceeded: false });
          continue;
        }
        const attempt = await this.enforcer.chargeIfRoom(chain, message.weight);
        if (attempt.receipt !== null) charged.push({ message, chain, receipt: attempt.receipt, exceeded: false });
        else if (force) charged.push({ message, chain, receipt: await this.enforcer.chargeAnyway(chain, message.weight), exceeded: true });
        else outcome.set(queueId, noRoomError(attempt.decision, message.weight));
      }
      const refund = async (entries: typeof charged) => {
        for (const c of entries) if (c.receipt !== null) await this.enforcer.refund(c.chain, c.receipt, c.message.weight);
      };
      if (charged.length === 0) return outcome;
      let left: LeftHold;
      try {
        left = await this.leaveHold(charged.map((c) => c.message));
      } catch (error) {
        await refund(charged);
        for (const c of charged) outcome.set(c.message.queueId, new HeldMailError(502, (error as Error).message));
        return outcome;
      }
      const gone = charged.filter((c) => !left.released.has(c.message.queueId));
      await refund(gone);
      for (const c of gone) outcome.set(c.message.queueId, notHeldError(c.message.queueId));
      const released = charged.filter((c) => left.released.has(c.message.queueId));
      const at = this.nowMs();
      this.db.transaction(() => {
        for (const { message, exceeded } of released) {
          this.store.resolve(message.id, 'released', actor.login, at);
          recordAudit(this.db, actor, { action: 'held.release', level: message.chargedLevel, objectName: message.chargedName, newValue: { queueId: message.queueId, overLimit: exceeded } }, at);
        }
      })();
      await this.afterLeaving(released.map((c) => c.message), left);
      for (const { message } of released) outcome.set(message.queueId, this.store.byQueueId(message.queueId) ?? { ...message, status: 'released', resolvedAtMs: at, resolvedBy: actor.login });
      return outcome;
    });
  }

  /** Deletes several held messages with one postsuper (audited each); returns each record, or why not. */
  deleteMany(queueIds: readonly string[], actor: Identity): Promise<Map<string, HeldMessage | HeldMailError>> {
    return this.serial.run(async () => {
      const outcome = new Map<string, HeldMessage | HeldMailError>();
      const messages: HeldMessage[] = [];
      for (const queueId of queueIds) {
        const message = this.store.byQueueId(queueId);
        if (message?.status === 'held') messages.push(message);
        else outcome.set(queueId, notFoundError(queueId));
      }
      if (messages.length === 0) return outcome;
      let removed: Set<string>;
      try {
        removed = await this.queue.deleteFromHold(messages.map((m) => m.queueId));
      } catch (error) {
        for (const m of messages) outcome.set(m.queueId, new HeldMailError(502, (error as Error).message));
        return outcome;
      }
      const at = this.nowMs();
      this.db.transaction(() => {
        for (const message of messages) {
          if (!removed.has(message.queueId)) continue;
          this.store.resolve(message.id, 'deleted', actor.login, at);
          recordAudit(this.db, actor, { action: 'held.delete', level: message.chargedLevel, objectName: message.chargedName, oldValue: { queueId: message.queueId, sender: message.sender } }, at);
        }
      })();
      for (const message of messages) {
        outcome.set(
          message.queueId,
          removed.has(message.queueId) ? { ...message, status: 'deleted', resolvedAtMs: at, resolvedBy: actor.login } : notHeldError(message.queueId),
        );
      }
      return outcome;
    });
  }

  /** Deletes a held message from the hold queue for good (audited). */
  delete(queueId: string, actor: Identity): Promise<HeldMessage> {
    return this.serial.run(async () => {
      const message = this.heldOrThrow(queueId);
      let removed: Set<string>;
      try {
        removed = await this.queue.deleteFromHold([queueId]);
      } catch (error) {
        throw new HeldMailError(502, (error as Error).message);
      }
      if (!removed.has(queueId)) throw notHeldError(queueId);
      const at = this.nowMs();
      this.db.transaction(() => {
        this.store.resolve(message.id, 'deleted', actor.login, at);
        recordAudit(this.db, actor, { action: 'held.delete', level: message.chargedLevel, objectName: message.chargedName, oldValue: { queueId, sender: message.sender } }, at);
      })();
      return { ...message, status: 'deleted', resolvedAtMs: at, resolvedBy: actor.login };
    });
  }

  private heldOrThrow(queueId: string): HeldMessage {
    const message = this.store.byQueueId(queueId);
    if (!message || message.status !== 'held') throw notFoundError(queueId);
    return message;
  }

  compromised(): CompromisedMailbox[] {
    const rows = this.db.prepare('SELECT address, previous_limit, marked_at_ms, marked_by FROM compromised_mailboxes ORDER BY marked_at_ms DESC').all() as Array<{
      address: string;
      previous_limit: string;
      marked_at_ms: number;
      marked_by: string;
    }>;
    return rows.map((r) => ({ address: r.address, previousLimit: JSON.parse(r.previous_limit) as CompromisedMailbox['previousLimit'], markedAtMs: r.marked_at_ms, markedBy: r.marked_by }));
  }

  compromisedEntry(address: string): CompromisedMailbox | null {
    return this.compromised().find((c) => c.address === address.toLowerCase()) ?? null;
  }

  /**
   * "Mark compromised": the mailbox's limit becomes 0 (its new mail is held, or deferred), the mail it has
   * waiting in the queue is put on hold, people are notified, and its limit before is kept for restore.
   * Returns how many queued messages were put on hold; null if Postfix could not be asked.
   */
  markCompromised(mailbox: ChargedObject, actor: Identity, anomaly: AnomalyFigures | null = null): Promise<{ entry: CompromisedMailbox; heldNow: number | null }> {
    return this.serial.run(async () => {
      if (this.compromisedEntry(mailbox.name)) throw new HeldMailError(409, `mailbox ${mailbox.name} is already marked compromised`, { code: 'alreadyCompromised', params: { name: mailbox.name } });
      const at = this.nowMs();
      const previous = ownLimitOf(mailbox.own);
      const previousLock = mailbox.lock;
      // A mark by an administrator or reseller is their 0: locked, so a customer's restore cannot lift it.
      const lock = lockAfterChange(actor, 0, undefined, previousLock);
      await this.sync.write(
        () => {
          this.db
            .prepare('INSERT INTO compromised_mailboxes (address, previous_limit, marked_at_ms, marked_by, previous_locked_by, previous_locked_by_role) VALUES (?, ?, ?, ?, ?, ?)')
            .run(mailbox.name, JSON.stringify(previous), at, actor.login, previousLock?.login ?? null, previousLock?.role ?? null);
          setObjectLimit(this.db, 'mailbox', mailbox.name, 0);
          // Marked by the system because of an anomaly: the audit keeps its figures, so History says why.
          const newValue = anomaly ? { limit: 0, automatically: anomaly } : 0;
          recordAudit(this.db, actor, { action: 'mailbox.compromised', level: 'mailbox', objectName: mailbox.name, oldValue: previous, newValue }, at);
          this.changeLock(mailbox, previousLock, lock, actor, at);
        },
        () => {
          this.enforcer.directory.setOwnLimit(mailbox, 0);
          this.enforcer.directory.setLock(mailbox, lock);
        },
      );
      const heldNow = await this.holdQueuedFrom(mailbox);
      this.onCompromised({
        object: mailbox,
        reason: anomaly
          ? `Mailbox ${mailbox.name} was marked compromised automatically (it ${describeAnomaly(anomaly)}): its limit is 0 and its mail is held until it is restored`
          : `Mailbox ${mailbox.name} was marked compromised by ${actor.login}: its limit is 0 and its mail is held until it is restored`,
      });
      return { entry: { address: mailbox.name, previousLimit: previous, markedAtMs: at, markedBy: actor.login }, heldNow };
    });
  }

  /**
   * A node of a cluster: mailboxes marked compromised on another node get their mail waiting in this node's queue
   * held too (the mark itself came with the cluster's configuration). Returns how many messages were held.
   */
  holdQueuedOfMarked(addresses: readonly string[]): Promise<number> {
    return this.serial.run(async () => {
      let held = 0;
      for (const address of addresses) {
        const mailbox = this.enforcer.directory.find('mailbox', address);
        if (mailbox && this.compromisedEntry(address)) held += (await this.holdQueuedFrom(mailbox)) ?? 0;
      }
      return held;
    });
  }

  /** Puts on hold what the mailbox has waiting in the queue (deferred, active, incoming), with records. */
  private async holdQueuedFrom(mailbox: ChargedObject): Promise<number | null> {
    let queued;
    try {
      queued = await this.queue.list();
    } catch (error) {
      this.log.warn({ error: (error as Error).message, mailbox: mailbox.name }, 'cannot read the Postfix queue to hold the mail of a compromised mailbox');
      return null;
    }
    const waiting = queued.filter((q) => q.queue_name !== 'hold' && q.sender.toLowerCase() === mailbox.name);
    const reason = `Mailbox ${mailbox.name} is marked compromised; held until it is restored`;
    const at = this.nowMs();
    // Recorded first: a crash between the two leaves records that reconciliation closes, never untracked holds.
    for (const q of waiting) {
      this.store.insert({
        queueId: q.queue_id,
        heldAtMs: at,
        source: 'compromised',
        sender: q.sender,
        saslUsername: null,
        chargedLevel: 'mailbox',
        chargedName: mailbox.name,
        trippedLevel: 'mailbox',
        trippedName: mailbox.name,
        trippedLimit: 0,
        trippedUsed: null,
        trippedWindow: 'hour',
        weight: this.enforcer.currentSettings.countingUnit === 'recipients' ? Math.max(1, q.recipients.length) : 1,
        recipientCount: q.recipients.length,
        recipients: q.recipients.map((r) => r.address),
        reason,
      });
    }
    const held = await this.queue.hold(waiting.map((q) => q.queue_id)).catch((error: unknown) => {
      this.log.warn({ error: (error as Error).message }, 'postsuper -h failed');
      return new Set<string>();
    });
    for (const q of waiting) {
      if (held.has(q.queue_id)) continue;
      const record = this.store.byQueueId(q.queue_id);
      if (record?.status === 'held') this.store.resolve(record.id, 'gone', 'postfix', at);
    }
    return held.size;
  }

  /** One-click restore: the limit from before comes back; held mail then leaves by the normal rules. */
  async restore(mailbox: ChargedObject, actor: Identity): Promise<CompromisedMailbox> {
    const entry = this.compromisedEntry(mailbox.name);
    if (!entry) throw new HeldMailError(404, `mailbox ${mailbox.name} is not marked compromised`, { code: 'notCompromised', params: { name: mailbox.name } });
    const previous: LimitOverride = entry.previousLimit === 'default' ? null : entry.previousLimit;
    const previousLock = this.previousLockOf(mailbox.name);
    const at = this.nowMs();
    await this.sync.write(
      () => {
        this.db.prepare('DELETE FROM compromised_mailboxes WHERE address = ?').run(mailbox.name);
        setObjectLimit(this.db, 'mailbox', mailbox.name, previous);
        recordAudit(this.db, actor, { action: 'mailbox.restore', level: 'mailbox', objectName: mailbox.name, oldValue: 0, newValue: entry.previousLimit }, at);
        this.changeLock(mailbox, mailbox.lock, previousLock, actor, at);
      },
      () => {
        this.enforcer.directory.setOwnLimit(mailbox, previous);
        this.enforcer.directory.setLock(mailbox, previousLock);
      },
    );
    return entry;
  }

  /** The lock the mailbox had before it was marked compromised: a restore brings it back with the value. */
  private previousLockOf(address: string): LimitLock | null {
    const row = this.db.prepare('SELECT previous_locked_by, previous_locked_by_role FROM compromised_mailboxes WHERE address = ?').get(address) as
      | { previous_locked_by: string | null; previous_locked_by_role: string | null }
      | undefined;
    const role = row?.previous_locked_by_role ?? null;
    return role !== null && isLockingRole(role) ? { login: row?.previous_locked_by ?? '', role } : null;
  }

  /** Stores and audits a change of the mailbox's lock (inside the caller's transaction); nothing when it stays. */
  private changeLock(mailbox: ChargedObject, from: LimitLock | null, to: LimitLock | null, actor: Identity, at: number): void {
    if (sameLock(from, to)) return;
    setObjectLock(this.db, 'mailbox', mailbox.name, to);
    recordAudit(this.db, actor, { action: to ? 'limit.lock' : 'limit.unlock', level: 'mailbox', objectName: mailbox.name, oldValue: from, newValue: to }, at);
  }
}
