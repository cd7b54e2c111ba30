import type { Level, LimitWindow } from './limits.js';

/**
 * Why a message is held, as data: the screens put it into people's words in their language. (The reason text
 * given to Postfix is protocol wording and stays English.)
 */
export type HoldCause =
  /** The level had used its whole limit (`limit` is null only in old records whose reason names none). */
  | { kind: 'limitReached'; level: Level; name: string; limit: number | null; window: LimitWindow }
  /** The level's limit is 0: it may not send at all. */
  | { kind: 'notAllowed'; level: Level; name: string; limit: 0; window: LimitWindow }
  /** The message alone has more recipients than the limit allows in its window (counting recipients). */
  | { kind: 'tooManyRecipients'; level: Level; name: string; limit: number; recipients: number; window: LimitWindow }
  /** The level had `left` of its limit, fewer than the message's recipients (counting recipients). */
  | { kind: 'notEnoughLeft'; level: Level; name: string; limit: number; left: number; recipients: number; window: LimitWindow }
  /** Queued mail put on hold when its email address was marked as compromised. */
  | { kind: 'compromised'; level: 'mailbox'; name: string };

/**
 * What a refusal is, for screens that say it in their own words and language: a code and the facts the sentence
 * was made from. The sentence stays beside it for the command line and logs.
 */
export interface RefusalCode {
  code: string;
  params: Record<string, unknown>;
}

/** What a held record keeps that tells why it was held. */
export interface HoldRecordFacts {
  source: 'smtpd' | 'milter' | 'compromised';
  trippedLevel: Level;
  trippedName: string;
  /** null in records from before the limit was kept: then it is read from `reason`. */
  trippedLimit: number | null;
  trippedUsed: number | null;
  /** Which window was full: the hourly or the daily limit ('hour' in records from before daily limits). */
  trippedWindow: LimitWindow;
  weight: number;
  reason: string;
}

/**
 * The limit an old record's reason names: "Outgoing limit of 3 messages/hour ...", "(outgoing limit 0 ...)",
 * "... more than the outgoing limit of 2 recipients/hour ...". null when it names none.
 */
export function limitInReason(reason: string): number | null {
  const match = /\b(?:outgoing )?limit (?:of )?(\d{1,10}) (?:messages|recipients)\/hour/i.exec(reason);
  return match ? Number(match[1]) : null;
}

export function holdCause(record: HoldRecordFacts): HoldCause {
  const { trippedLevel: level, trippedName: name } = record;
  if (record.source === 'compromised' && level === 'mailbox') return { kind: 'compromised', level, name };
  const limit = record.trippedLimit ?? limitInReason(record.reason);
  if (limit === null) return { kind: 'limitReached', level, name, limit: null, window: record.trippedWindow };
  // An old record does not say how much was used: "reached" is what its reason said in all but rare cases.
  return refusalCause({ tripped: { level, name }, limit, used: record.trippedUsed ?? limit, window: record.trippedWindow }, record.weight);
}

/** The cause of a refusal decided now (a release that finds no room), in the same terms as a held message's. */
export function refusalCause(refused: { tripped: { level: Level; name: string }; limit: number; used: number; window: LimitWindow }, weight: number): HoldCause {
  const { level, name } = refused.tripped;
  const { window } = refused;
  if (refused.limit === 0) return { kind: 'notAllowed', level, name, limit: 0, window };
  if (weight > refused.limit) return { kind: 'tooManyRecipients', level, name, limit: refused.limit, recipients: weight, window };
  if (refused.used < refused.limit) return { kind: 'notEnoughLeft', level, name, limit: refused.limit, left: refused.limit - refused.used, recipients: weight, window };
  return { kind: 'limitReached', level, name, limit: refused.limit, window };
}
