import type { QueuedMessage } from './queue.js';

/**
 * `postsuper -r`, measured on Postfix 3.7 (as postsuper(1) documents it): the queue file moves to the maildrop
 * queue under its old id and waits there for pickup (up to pickup's 60 s wakeup unless it is kicked); pickup and
 * cleanup then write it anew under a NEW queue id, with a fresh create_time (the queue lifetime counts from it)
 * and the old arrival_time (postqueue -j shows it unchanged); sender, recipients and content, Message-ID
 * included, stay. Neither smtpd_milters nor non_smtpd_milters nor the policy service see it: smtpd-submitted and
 * locally submitted mail alike leave without being counted or held again. The only trace linking old and new id
 * is pickup's "orig_id=" in the mail log, so the daemon finds the new id by sender, arrival time and Message-ID.
 */
export interface RequeuedOriginal {
  queueId: string;
  sender: string;
  /** postqueue -j's arrival_time (seconds), which postsuper -r keeps. */
  arrivalTime: number | undefined;
  messageId: string | null;
}

/** The Message-ID of `postcat -h` output (header section of a queue file); null when it has none. */
export function messageIdFromHeaders(text: string): string | null {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^message-id:[ \t]*(.*)$/i.exec(lines[i]!);
    if (!match) continue;
    let value = match[1]!;
    // A folded header goes on in lines that start with white space.
    for (let j = i + 1; j < lines.length && /^[ \t]/.test(lines[j]!); j++) value += ` ${lines[j]!.trim()}`;
    value = value.trim();
    return value === '' ? null : value;
  }
  return null;
}

/** Entries that may be the new copy of a requeued message: out of hold and maildrop, not an old id, same sender and arrival. */
export function candidatesFor(original: RequeuedOriginal, queued: readonly QueuedMessage[], oldIds: ReadonlySet<string>): QueuedMessage[] {
  return queued.filter(
    (q) =>
      q.queue_name !== 'hold' &&
      q.queue_name !== 'maildrop' &&
      !oldIds.has(q.queue_id) &&
      q.sender.toLowerCase() === original.sender.toLowerCase() &&
      q.arrival_time !== undefined &&
      q.arrival_time === original.arrivalTime,
  );
}

/**
 * Pairs requeued messages with their new queue ids. `messageIds` holds the Message-ID of every candidate entry
 * (by queue id). A pair is made only when exactly one candidate has the original's Message-ID and no other
 * original claims it: anything ambiguous stays unpaired rather than pointing at another message.
 */
export function matchRequeued(originals: readonly RequeuedOriginal[], queued: readonly QueuedMessage[], messageIds: ReadonlyMap<string, string | null>): Map<string, string> {
  const oldIds = new Set(originals.map((o) => o.queueId));
  const choices = new Map<string, string[]>();
  for (const original of originals) {
    const candidates = candidatesFor(original, queued, oldIds).filter((c) => (messageIds.get(c.queue_id) ?? null) === original.messageId);
    choices.set(original.queueId, candidates.map((c) => c.queue_id));
  }
  const claims = new Map<string, number>();
  for (const ids of choices.values()) if (ids.length === 1) claims.set(ids[0]!, (claims.get(ids[0]!) ?? 0) + 1);
  const pairs = new Map<string, string>();
  for (const [oldId, ids] of choices) if (ids.length === 1 && claims.get(ids[0]!) === 1) pairs.set(oldId, ids[0]!);
  return pairs;
}
