import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { LogSummariser } from '../log/log-summariser.js';
import { TurnBudget } from './turn-budget.js';
import { ClusterStatsStore, hourAmountsSchema, sharedEventSchema, sharedReleaseSchema, type Outgoing, type Received, type SharedKind } from '../store/cluster-stats-store.js';

/**
 * The streams of what the nodes record (see store/cluster-stats-store.ts): one per kind, append-only, each entry
 * naming its node, trimmed (MAXLEN ~) to a number of entries: Redis memory stays bounded under a flood, and a
 * node away longer than a stream holds misses the others' entries of that time (said in its log). An entry of
 * events carries at most 50: measured on Redis 7.0 with 574-byte events (long names), 10,000 such entries took
 * 328 MB, so the cap of 1,000 holds the events stream under about 33 MB in a flood (minutes of a flood from every
 * node: enough for a node's restart). An amounts entry carries up to 100 journal flushes summed per object and
 * hour (a node sending 100 messages a second: about 6 KB a second, on paper 30 MB for the stream of 5,000). A node writes at most one entry of each kind a second unless it is catching
 * up or flooded, and only when it recorded something, so a quiet cluster keeps hours of entries.
 */
export const STATS_STREAMS: Record<SharedKind, string> = { events: 'ol:stats:events', sent: 'ol:stats:sent', released: 'ol:stats:released' };
export const STREAM_MAX_ENTRIES: Record<SharedKind, number> = { events: 1_000, sent: 5_000, released: 10_000 };
/** Rows read per entry sent: events, journal batches (each one or more parts of amounts), releases. */
const SEND_BATCH: Record<SharedKind, number> = { events: 50, sent: 10, released: 200 };
const READ_BATCH = 200;
const SENDS_PER_EXCHANGE = 20;
/** At most this many reads of a stream per exchange, so a node catching up takes it in over several exchanges. */
const READS_PER_EXCHANGE = 10;
/** Items of an entry added to the store in one step: up to 50 events, 50 releases, or one part of amounts. */
const ITEMS_PER_STEP: Record<SharedKind, number> = { events: 50, sent: 1, released: 50 };
/**
 * The exchange gives the event loop back after this long: measured in the cluster bench, a node taking in the
 * other's second of amounts and events in one piece held mail answers for 30–60 ms (p99 of 53/61 ms).
 */
const TURN_MS = 2;

const entrySchema = z.object({ n: z.string().min(1).max(200), g: z.coerce.number().int().positive(), b: z.string() });

/** Stream ids are `ms-seq`; compared as numbers, never as strings. */
function streamIdBefore(a: string, b: string): boolean {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  return aMs < bMs || (aMs === bMs && aSeq < bSeq);
}

export class ClusterStats {
  private readonly repeated: LogSummariser;
  private exchanging: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly store: ClusterStatsStore,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {
    this.repeated = new LogSummariser(log);
  }

  /**
   * Sends what this node recorded since the last send and takes in what the others sent, kind by kind. Redis
   * away: everything stays where it is (the store) and the next exchange goes on from there. Never two at once.
   */
  exchange(): Promise<void> {
    this.exchanging ??= (async () => {
      const budget = new TurnBudget(TURN_MS);
      try {
        for (const kind of ['events', 'sent', 'released'] as const) {
          await this.send(kind);
          await this.takeIn(kind, budget);
        }
      } catch (error) {
        this.repeated.warn('cluster-stats-exchange', { error: (error as Error).message }, "sharing over-limit events and statistics with the cluster failed; what is recorded here is kept and sent once Redis answers");
      }
    })().finally(() => {
      this.exchanging = null;
    });
    return this.exchanging;
  }

  private async send(kind: SharedKind): Promise<void> {
    // A node catching up (hours of Redis away) sends in steps, not all in one exchange.
    for (let round = 0; round < SENDS_PER_EXCHANGE; round++) {
      const pending = kind === 'events' ? this.store.pending('events', SEND_BATCH.events) : kind === 'sent' ? this.store.pending('sent', SEND_BATCH.sent) : this.store.pending('released', SEND_BATCH.released);
      if (pending.rowsRead === 0) return;
      const items = pending.items as Array<Outgoing<unknown>>;
      if (items.length > 0) {
        const body = JSON.stringify(items.map(({ id, item }) => [id, item]));
        await this.redis.xadd(STATS_STREAMS[kind], 'MAXLEN', '~', STREAM_MAX_ENTRIES[kind], '*', 'n', this.nodeName, 'g', String(pending.generation), 'b', body);
      }
      this.store.markSent(kind, pending.generation, pending.upto, pending.lastMark);
      if (pending.rowsRead < SEND_BATCH[kind]) return;
    }
  }

  private async takeIn(kind: SharedKind, budget: TurnBudget): Promise<void> {
    const stream = STATS_STREAMS[kind];
    let position = this.store.readPosition(stream);
    for (let read = 0; read < READS_PER_EXCHANGE; read++) {
      const answer = await this.redis.xread('COUNT', READ_BATCH, 'STREAMS', stream, position);
      const entries = answer?.[0]?.[1] ?? [];
      if (entries.length === 0) {
        await this.noticeRestartedStream(stream, position);
        return;
      }
      if (read === 0 && position !== '0-0') await this.noticeGap(stream, position);
      for (const [id, fields] of entries) {
        await this.takeInEntry(stream, position, id, this.entryOf(kind, stream, id, fields), budget);
        position = id;
        await budget.pause();
      }
      if (entries.length < READ_BATCH) return;
    }
  }

  /**
   * Adds an entry's items step by step, each step in a transaction of its own. The stream's read position moves
   * past the entry with its last step: a node stopped in between reads the entry again and adds only the items
   * it has not added (the store keeps, per node, the last item added).
   */
  private async takeInEntry(stream: string, before: string, id: string, entry: Received | null, budget: TurnBudget): Promise<void> {
    const step = entry ? ITEMS_PER_STEP[entry.kind] : 1;
    const items = entry?.items ?? [];
    for (let start = 0; ; start += step) {
      const last = start + step >= items.length;
      const part = entry && ({ ...entry, items: items.slice(start, start + step) } as Received);
      this.store.takeIn(stream, last ? id : before, part);
      if (last) return;
      await budget.pause();
    }
  }

  /** An entry of another node, checked; this node's own, or a malformed one (said in the log), is passed over. */
  private entryOf(kind: SharedKind, stream: string, id: string, fields: string[]): Received | null {
    const raw: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) raw[fields[i]!] = fields[i + 1]!;
    const entry = entrySchema.safeParse(raw);
    if (entry.success && entry.data.n === this.nodeName) return null;
    try {
      if (!entry.success) throw new Error(entry.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
      const body: unknown = JSON.parse(entry.data.b);
      const itemsOf = <T>(schema: z.ZodType<T>) => z.array(z.tuple([z.number().int().positive(), schema])).parse(body).map(([itemId, item]) => ({ id: itemId, item }));
      const { n: node, g: generation } = entry.data;
      if (kind === 'events') return { node, kind, generation, items: itemsOf(sharedEventSchema) };
      if (kind === 'sent') return { node, kind, generation, items: itemsOf(hourAmountsSchema) };
      return { node, kind, generation, items: itemsOf(sharedReleaseSchema) };
    } catch (error) {
      this.repeated.warn('cluster-stats-malformed', { stream, entry: id, error: (error as Error).message.slice(0, 300) }, 'an entry of the cluster\'s statistics could not be read; passed over');
      return null;
    }
  }

  /**
   * A Redis that lost its data (restarted without persistence) starts its stream ids again, below this node's
   * position: the position starts again too. What was taken in already is not added twice (per-node ids).
   */
  private async noticeRestartedStream(stream: string, position: string): Promise<void> {
    if (position === '0-0') return;
    const newest = await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    const newestId = newest[0]?.[0];
    if (newestId === undefined || streamIdBefore(newestId, position)) {
      if (newestId !== undefined) this.log.warn({ stream, position, newest: newestId }, "the cluster's statistics stream starts again (Redis lost its data): reading it from its start");
      this.store.takeIn(stream, '0-0', null);
    }
  }

  /** The stream was trimmed past what this node had read (Redis 7 keeps the newest id trimmed): say so once. */
  private async noticeGap(stream: string, position: string): Promise<void> {
    const info = (await this.redis.call('XINFO', 'STREAM', stream)) as unknown[];
    const at = info.indexOf('max-deleted-entry-id');
    const trimmedUpTo = at >= 0 ? String(info[at + 1]) : '0-0';
    if (streamIdBefore(position, trimmedUpTo) && this.noticedGap !== `${stream} ${position}`) {
      this.noticedGap = `${stream} ${position}`;
      this.log.warn({ stream, readUpTo: position, trimmedUpTo }, "this node was away longer than the cluster's statistics stream holds: the other nodes' entries between are not here");
    }
  }

  private noticedGap = '';

  /** Drops releases older than the longest chart (housekeeping). */
  prune(nowMs: number): void {
    this.store.prune(nowMs);
  }

  /** Waits for a running exchange (stopping). */
  async idle(): Promise<void> {
    await this.exchanging;
  }
}
