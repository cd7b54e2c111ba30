import { z } from 'zod';
import { counterKey } from '../core/directory.js';
import { COUNTER_BATCH_FIELDS, decodeCounterBatch } from './counter-batches.js';
import type { Db } from './database.js';
import { OVER_LIMIT_EVENT_KEEP_DAYS, type RecordedOverLimitEvent } from './over-limit-events.js';

/**
 * What a node of a cluster records and the other nodes take in: its over-limit events as they are flushed, and
 * its counted amounts per (counter key, hour) as its journal is flushed, and the held mail it released (a release
 * is counted like a new message; the charts show it as released, not as sent). Each goes to Redis once (read from the
 * store by id, so a node that could not reach Redis sends it later) and is added once on every other node
 * (each node keeps, per sending node, the last id it added). The rows taken in go into the same tables the
 * queries read — events with the sending node's name, amounts into the hourly and daily rows — so every query
 * answers the cluster's figures without a change, and a single server (nothing sent, nothing taken in) is as before.
 */
export type SharedKind = 'events' | 'sent' | 'released';

/** Every counted message is charged to its subscription, so the subscriptions' sum is the server's total. */
const SUBSCRIPTION_TAG = counterKey('subscription', 0);

/** One unit of what a node sends: the id it has in the sender's store, and what it carries. */
export interface Outgoing<T> {
  id: number;
  item: T;
}

/** Held mail released on a node: when, what the release counted, and the object it is charged to. */
export interface SharedRelease {
  resolvedAtMs: number;
  weight: number;
  chargedLevel: 'mailbox' | 'domain' | 'subscription';
  chargedName: string;
}

export const sharedReleaseSchema = z.object({
  resolvedAtMs: z.number().int().nonnegative(),
  weight: z.number().int(),
  chargedLevel: z.enum(['mailbox', 'domain', 'subscription']),
  chargedName: z.string().max(1000),
});

/** A counter batch as sent: (counter key, hour, amount) triples, summed per key and hour. */
export type HourAmounts = number[];

export interface Sendable<T> {
  generation: number;
  items: Array<Outgoing<T>>;
  /** How many rows were read: amounts of a batch that sum to nothing make no item, yet the batch was read. */
  rowsRead: number;
  /** The id of the last row read (see markSent): the last item's id, except for amounts, which go in parts. */
  upto: number;
  /** The mark of that row (see markSent). */
  lastMark: number;
}

/**
 * A journal batch's amounts go in parts of at most this many (key, hour) triples, each an item of its own: the
 * node taking them in adds one part per step and answers mail between steps (a batch of a busy server holds
 * thousands of keys). A part's id is the batch's id times AMOUNT_PARTS_PER_BATCH plus its index.
 */
export const AMOUNT_PART_TRIPLES = 200;
export const AMOUNT_PARTS_PER_BATCH = 65_536;

/** The parts of one batch's amounts; the last part takes whatever is over (never reached: 13 million keys). */
export function amountParts(batchId: number, amounts: HourAmounts): Array<Outgoing<HourAmounts>> {
  const size = AMOUNT_PART_TRIPLES * 3;
  const parts: Array<Outgoing<HourAmounts>> = [];
  for (let start = 0, index = 0; start < amounts.length; start += size, index++) {
    const last = index === AMOUNT_PARTS_PER_BATCH - 1;
    parts.push({ id: batchId * AMOUNT_PARTS_PER_BATCH + index, item: amounts.slice(start, last ? amounts.length : start + size) });
    if (last) break;
  }
  return parts;
}

/** Sums a journal batch's (key, second, amount) steps per key and clock hour: what the hourly rows of another node get. */
export function hourAmountsOf(rows: Float64Array): HourAmounts {
  const byKeyHour = new Map<string, [number, number, number]>();
  for (let i = 0; i + 2 < rows.length; i += COUNTER_BATCH_FIELDS) {
    const key = rows[i]!;
    const hour = Math.floor(rows[i + 1]! / 3600);
    const id = `${key}:${hour}`;
    const sum = byKeyHour.get(id);
    if (sum) sum[2] += rows[i + 2]!;
    else byKeyHour.set(id, [key, hour, rows[i + 2]!]);
  }
  return [...byKeyHour.values()].filter(([, , amount]) => amount !== 0).flat();
}

/** An event as another node sends it: checked field by field, since whatever is in Redis is read as data. */
export const sharedEventSchema = z.object({
  atMs: z.number().int().nonnegative(),
  level: z.enum(['mailbox', 'domain', 'subscription']),
  window: z.enum(['hour', 'day']),
  recipientMaximum: z.number().int().positive().nullable(),
  objectId: z.number().int(),
  objectName: z.string().max(1000),
  sender: z.string().max(1000).nullable(),
  saslUsername: z.string().max(1000).nullable(),
  recipientCount: z.number().int().nonnegative(),
  queueId: z.string().max(100).nullable(),
  clientAddress: z.string().max(100).nullable(),
  action: z.string().max(100),
  reason: z.string().max(2000),
  mailboxId: z.number().int().nullable(),
  domainId: z.number().int().nullable(),
  subscriptionId: z.number().int().nullable(),
});

/** Checked in one pass rather than element by element through zod: a part holds hundreds of numbers. */
export const hourAmountsSchema = z.custom<HourAmounts>(
  (value) => Array.isArray(value) && value.length % 3 === 0 && value.every((n) => Number.isSafeInteger(n)),
  'amounts come as (counter key, hour, amount) triples of integers',
);

/** What another node sent, as read from its stream entry. */
export type Received =
  | { node: string; kind: 'events'; generation: number; items: Array<Outgoing<RecordedOverLimitEvent>> }
  | { node: string; kind: 'sent'; generation: number; items: Array<Outgoing<HourAmounts>> }
  | { node: string; kind: 'released'; generation: number; items: Array<Outgoing<SharedRelease>> };

/** A node's store side of sharing: what is still to be sent, what was taken in, and where the streams were read. */
/** The statements of taking in, prepared once: a busy cluster takes in thousands of rows a second. */
function prepareTakeIn(db: Db) {
  return {
    insertRelease: db.prepare('INSERT INTO cluster_releases (node, resolved_at_ms, weight, charged_level, charged_name) VALUES (?, ?, ?, ?, ?)'),
    insertEvent: db.prepare(
      `INSERT INTO over_limit_events (at_ms, level, object_id, object_name, sender, sasl_username, recipient_count, queue_id, client_address, action, reason, mailbox_id, domain_id, subscription_id, limit_window, recipient_maximum, node)
       VALUES (@atMs, @level, @objectId, @objectName, @sender, @saslUsername, @recipientCount, @queueId, @clientAddress, @action, @reason, @mailboxId, @domainId, @subscriptionId, @window, @recipientMaximum, @node)`,
    ),
    objectHour: db.prepare('INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?) ON CONFLICT (hour, counter_key) DO UPDATE SET amount = amount + excluded.amount'),
    serverHour: db.prepare('INSERT INTO hourly_server_sent (hour, amount) VALUES (?, ?) ON CONFLICT (hour) DO UPDATE SET amount = amount + excluded.amount'),
    objectDay: db.prepare('INSERT INTO daily_sent (counter_key, day, amount) VALUES (?, ?, ?) ON CONFLICT (day, counter_key) DO UPDATE SET amount = amount + excluded.amount'),
    serverDay: db.prepare('INSERT INTO daily_server_sent (day, amount) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET amount = amount + excluded.amount'),
  };
}

export class ClusterStatsStore {
  private readonly statements: ReturnType<typeof prepareTakeIn>;

  /**
   * Fixes where sending starts the first time (a node that just joined): after what the store holds already, so
   * only what is recorded as a node of the cluster is shared. Made at start, before anything is recorded.
   */
  constructor(private readonly db: Db) {
    // Only on this (the daemon's) connection: a single server, and every other process, writes no outbox.
    db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS cluster_release_sent AFTER UPDATE OF status ON main.held_messages
      WHEN NEW.status = 'released' AND OLD.status <> 'released'
      BEGIN
        INSERT INTO cluster_release_outbox (resolved_at_ms, weight, charged_level, charged_name)
        VALUES (NEW.resolved_at_ms, NEW.weight, NEW.charged_level, NEW.charged_name);
      END`);
    this.sendPosition('events');
    this.sendPosition('sent');
    this.sendPosition('released');
    this.statements = prepareTakeIn(db);
  }

  /** Up to `limit` of this node's own rows not sent yet, oldest first. */
  pending(kind: 'events', limit: number): Sendable<RecordedOverLimitEvent>;
  pending(kind: 'sent', limit: number): Sendable<HourAmounts>;
  pending(kind: 'released', limit: number): Sendable<SharedRelease>;
  pending(kind: SharedKind, limit: number): Sendable<RecordedOverLimitEvent | HourAmounts | SharedRelease> {
    const position = this.sendPosition(kind);
    if (kind === 'released') {
      const rows = this.db
        .prepare('SELECT id, resolved_at_ms AS resolvedAtMs, weight, charged_level AS chargedLevel, charged_name AS chargedName FROM cluster_release_outbox WHERE id > ? ORDER BY id LIMIT ?')
        .all(position.upto, limit) as Array<SharedRelease & { id: number }>;
      return { generation: position.generation, items: rows.map(({ id, ...item }) => ({ id, item })), rowsRead: rows.length, upto: rows.at(-1)?.id ?? position.upto, lastMark: rows.at(-1)?.resolvedAtMs ?? 0 };
    }
    if (kind === 'events') {
      const rows = this.db
        .prepare(
          `SELECT id, at_ms AS atMs, level, limit_window AS window, recipient_maximum AS recipientMaximum, object_id AS objectId, object_name AS objectName,
                  sender, sasl_username AS saslUsername, recipient_count AS recipientCount, queue_id AS queueId, client_address AS clientAddress,
                  action, reason, mailbox_id AS mailboxId, domain_id AS domainId, subscription_id AS subscriptionId
           FROM over_limit_events WHERE id > ? AND node IS NULL ORDER BY id LIMIT ?`,
        )
        .all(position.upto, limit) as Array<RecordedOverLimitEvent & { id: number }>;
      return { generation: position.generation, items: rows.map(({ id, ...item }) => ({ id, item })), rowsRead: rows.length, upto: rows.at(-1)?.id ?? position.upto, lastMark: rows.at(-1)?.atMs ?? 0 };
    }
    const rows = this.db.prepare('SELECT id, rows, last_second FROM counter_batches WHERE id > ? ORDER BY id LIMIT ?').raw().all(position.upto, limit) as Array<[number, Buffer, number]>;
    return {
      generation: position.generation,
      items: rows.flatMap(([id, blob]) => amountParts(id, hourAmountsOf(decodeCounterBatch(blob)))),
      rowsRead: rows.length,
      upto: rows.at(-1)?.[0] ?? position.upto,
      lastMark: rows.at(-1)?.[2] ?? 0,
    };
  }

  /** Everything up to `upto` (whose row has `mark`) of this generation is in Redis. */
  markSent(kind: SharedKind, generation: number, upto: number, mark: number): void {
    this.db.prepare('UPDATE cluster_stats_sent SET upto = ?, upto_mark = ? WHERE kind = ? AND generation = ? AND upto < ?').run(upto, mark, kind, generation, upto);
  }

  /**
   * The send position of a kind, made on first use. SQLite gives max + 1, so ids start again only once every
   * row was pruned: then the newest id is below the position, or the row at the position is another one (its
   * time differs; a straddling batch rewritten by the roll-up keeps its last second). A new generation from 0.
   */
  private sendPosition(kind: SharedKind): { generation: number; upto: number } {
    const [table, markColumn] = { events: ['over_limit_events', 'at_ms'], sent: ['counter_batches', 'last_second'], released: ['cluster_release_outbox', 'resolved_at_ms'] }[kind];
    return this.db.transaction(() => {
      const newest = this.db.prepare(`SELECT id, ${markColumn} AS mark FROM ${table} ORDER BY id DESC LIMIT 1`).get() as { id: number; mark: number } | undefined;
      const row = this.db.prepare('SELECT generation, upto, upto_mark AS mark FROM cluster_stats_sent WHERE kind = ?').get(kind) as { generation: number; upto: number; mark: number } | undefined;
      if (!row) {
        this.db.prepare('INSERT INTO cluster_stats_sent (kind, generation, upto, upto_mark) VALUES (?, 1, ?, ?)').run(kind, newest?.id ?? 0, newest?.mark ?? 0);
        return { generation: 1, upto: newest?.id ?? 0 };
      }
      const atPosition = row.upto > 0 ? (this.db.prepare(`SELECT ${markColumn} AS mark FROM ${table} WHERE id = ?`).get(row.upto) as { mark: number } | undefined) : undefined;
      const reused = atPosition ? atPosition.mark !== row.mark : (newest?.id ?? 0) < row.upto;
      if (reused) {
        const next = { generation: row.generation + 1, upto: 0 };
        this.db.prepare('UPDATE cluster_stats_sent SET generation = ?, upto = 0, upto_mark = 0 WHERE kind = ?').run(next.generation, kind);
        return next;
      }
      return row;
    })();
  }

  readPosition(stream: string): string {
    return (this.db.prepare('SELECT position FROM cluster_stats_read WHERE stream = ?').get(stream) as { position: string } | undefined)?.position ?? '0-0';
  }

  /**
   * Adds what another node sent (those of its items this node has not added yet) and moves the stream's read
   * position, in one transaction: a crash in between neither loses nor repeats anything. Returns the items added.
   */
  takeIn(stream: string, position: string, from: Received | null): number {
    return this.db.transaction(() => {
      this.db.prepare('INSERT INTO cluster_stats_read (stream, position) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET position = excluded.position').run(stream, position);
      if (!from) return 0;
      const applied = this.db.prepare('SELECT generation, upto FROM cluster_stats_applied WHERE node = ? AND kind = ?').get(from.node, from.kind) as { generation: number; upto: number } | undefined;
      // An older generation than the one taken in already was sent before the ids started again: taken in then.
      if (applied && from.generation < applied.generation) return 0;
      const after = applied && applied.generation === from.generation ? applied.upto : 0;
      let added = 0;
      let upto = after;
      if (from.kind === 'events') {
        for (const { id, item } of from.items) {
          if (id <= after) continue;
          this.statements.insertEvent.run({ ...item, node: from.node });
          added++;
          upto = Math.max(upto, id);
        }
      } else if (from.kind === 'released') {
        for (const { id, item } of from.items) {
          if (id <= after) continue;
          this.statements.insertRelease.run(from.node, item.resolvedAtMs, item.weight, item.chargedLevel, item.chargedName);
          added++;
          upto = Math.max(upto, id);
        }
      } else {
        for (const { id, item } of from.items) {
          if (id <= after) continue;
          this.addAmounts(item);
          added++;
          upto = Math.max(upto, id);
        }
      }
      this.db
        .prepare('INSERT INTO cluster_stats_applied (node, kind, generation, upto) VALUES (?, ?, ?, ?) ON CONFLICT (node, kind) DO UPDATE SET generation = excluded.generation, upto = excluded.upto')
        .run(from.node, from.kind, from.generation, upto);
      return added;
    })();
  }

  /** Releases (sent and taken in) are kept as long as over-limit events: the 31-day chart and a day to spare. */
  prune(nowMs: number): void {
    const before = nowMs - OVER_LIMIT_EVENT_KEEP_DAYS * 86_400_000;
    this.db.prepare('DELETE FROM cluster_releases WHERE resolved_at_ms < ?').run(before);
    // The newest row stays: it marks the send position, which would otherwise start a new generation.
    this.db.prepare('DELETE FROM cluster_release_outbox WHERE resolved_at_ms < ? AND id < (SELECT MAX(id) FROM cluster_release_outbox)').run(before);
  }

  /** Another node's amounts go straight into the hourly and daily rows: this node's journal holds only its own. */
  private addAmounts(triples: HourAmounts): void {
    const { objectHour, serverHour, objectDay, serverDay } = this.statements;
    for (let i = 0; i + 2 < triples.length; i += 3) {
      const [key, hour, amount] = [triples[i]!, triples[i + 1]!, triples[i + 2]!];
      const day = Math.floor(hour / 24);
      objectHour.run(key, hour, amount);
      objectDay.run(key, day, amount);
      if (key % 4 === SUBSCRIPTION_TAG) {
        serverHour.run(hour, amount);
        serverDay.run(day, amount);
      }
    }
  }
}
