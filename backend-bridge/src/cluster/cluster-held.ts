import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { ROLES, type Identity } from '../api/identity.js';
import { LEVELS, type Level } from '../core/limits.js';
import { LogSummariser } from '../log/log-summariser.js';
import type { HeldMessage } from '../store/held-store.js';

/**
 * Held mail across the nodes of a cluster. Held mail stays in the Postfix of the node that held it; each node
 * publishes its records of held mail to Redis (one hash per node, replaced whole), so every node lists the
 * whole cluster's; an action on another node's message goes to that node as a request on its list in Redis,
 * and its answer comes back on a key of the request's own.
 *
 * Trust: whoever can write to the cluster's Redis can put requests there with any identity, exactly as it can
 * change the counts. Redis access is full trust; the nodes share its password and nothing else.
 *
 * Keys (one hash tag, apart from the counts' `{s:…}` and the nodes' `{nodes}`):
 * - `ol:{held}:node:<name>`: queue id → the record (JSON), at most `maxPublished` of the newest held;
 * - `ol:{held}:published`: node name → `{total, published, atMs}` (how many it holds, how many are listed);
 * - `ol:{held}:counts:<name>`: `<level>:<name>` of a charged object → how many of the node's held messages count
 *   against it (all of them, not only the published ones), for the cluster's held counts on rows;
 * - `ol:{held}:requests:<name>`: the node's incoming requests (a list);
 * - `ol:{held}:claim:<id>`: who took a request (the holding node, or `cancelled` by an asker that gave up);
 * - `ol:{held}:reply:<id>`: the answer.
 */

/** At most this many of a node's held messages are published: a hostile sender can fill a hold queue. */
export const MAX_PUBLISHED_PER_NODE = 1_000;
/** Recipients published per message (the count stays whole): a hostile sender picks 100 of 320 characters each. */
export const MAX_PUBLISHED_RECIPIENTS = 10;
/** A holding node that has not taken a request within this is taken as silent: the asker answers 503. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** A request the holding node took is waited for this long at most (a release of 500 messages runs postsuper). */
const TAKEN_REQUEST_TIMEOUT_MS = 60_000;
const ANSWER_POLL_MS = 50;
/** Claims and answers are kept this long: a request id seen again within it is not carried out twice. */
const KEEP_SECONDS = 600;
/** The largest request read from the list; anything bigger is not a node's request. */
const MAX_REQUEST_BYTES = 64 * 1024;

export interface PublishedHeld {
  node: string;
  message: HeldMessage;
}

/** How many held messages of one node count against one object (charged to it). */
export interface NodeHeldCount {
  node: string;
  level: Level;
  name: string;
  count: number;
}

/** How often a node reads the other nodes' held counts for its rows (daemon). */
export const HELD_COUNTS_READ_MS = 1_000;

export interface NodeHeldSummary {
  node: string;
  total: number;
  published: number;
}

/** The identity as a request carries it (a Set travels as a list). */
const identitySchema = z.strictObject({
  login: z.string().min(1).max(255),
  role: z.enum(ROLES),
  userId: z.string().max(255).nullable(),
  via: z.enum(['plesk', 'session', 'local']),
  permittedSubscriptions: z.array(z.string().max(255)).max(100_000).optional(),
});

const queueId = z.string().regex(/^[0-9A-Za-z]{6,32}$/);

export const heldRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('release'), queueId, force: z.boolean() }),
  z.strictObject({ action: z.literal('delete'), queueId }),
  z.strictObject({ action: z.literal('bulk'), bulk: z.enum(['release', 'delete', 'compromise']), queueIds: z.array(queueId).min(1).max(500), force: z.boolean() }),
]);
export type HeldRequest = z.infer<typeof heldRequestSchema>;

const envelopeSchema = z.strictObject({ id: z.uuid(), from: z.string().max(253), identity: identitySchema, request: heldRequestSchema });

/** The holding node's answer: what its own API would have answered (a body, or an error with its status). */
export type HeldReply = { ok: true; body: unknown } | { ok: false; status: number; error: string; refusal?: { code: string; params: Record<string, unknown> } };

const replySchema = z.union([
  z.strictObject({ ok: z.literal(true), body: z.unknown() }),
  z.strictObject({ ok: z.literal(false), status: z.number().int(), error: z.string(), refusal: z.strictObject({ code: z.string(), params: z.record(z.string(), z.unknown()) }).optional() }),
]);

/** The holding node did not take or answer a request in time. */
export class NodeUnansweredError extends Error {
  override name = 'NodeUnansweredError';
  constructor(
    readonly node: string,
    /** True when the node took the request but did not answer: it may have been carried out. */
    readonly taken: boolean,
  ) {
    super(
      taken
        ? `server ${node} took the request but did not answer within ${TAKEN_REQUEST_TIMEOUT_MS / 1000} s; it may still be carried out there: list the held mail again`
        : `server ${node}, which holds the message, did not answer within ${REQUEST_TIMEOUT_MS / 1000} s (stopped, or cut off from Redis); nothing was done`,
    );
  }
}

/** The fields a published record must have to be listed; anything else in the hash (damage, another program) is left out. */
function isHeldRecord(value: unknown): value is HeldMessage {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.queueId === 'string' &&
    typeof record.heldAtMs === 'number' &&
    typeof record.weight === 'number' &&
    typeof record.trippedLevel === 'string' &&
    typeof record.trippedName === 'string' &&
    record.status === 'held'
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ClusterHeld {
  private readonly prefix: string;
  private readonly repeated: LogSummariser;
  private serving: { stop: () => Promise<void> } | null = null;
  /** The other nodes' held counts as last read (readOthersCounts): rows are answered without a Redis call. */
  private othersCounts: readonly NodeHeldCount[] = [];

  constructor(
    private readonly redis: Redis,
    readonly nodeName: string,
    private readonly log: Logger,
    private readonly options: { maxPublished?: number; requestTimeoutMs?: number; keyPrefix?: string } = {},
  ) {
    this.prefix = `${options.keyPrefix ?? 'ol:'}{held}:`;
    this.repeated = new LogSummariser(log);
  }

  private nodeKey(node: string): string {
    return `${this.prefix}node:${node}`;
  }

  private get publishedKey(): string {
    return `${this.prefix}published`;
  }

  private countsKey(node: string): string {
    return `${this.prefix}counts:${node}`;
  }

  /**
   * Replaces what this node has published with its held mail now (newest first; at most maxPublished, with the
   * total beside them). One MULTI, so a reader sees the old set or the new, never half.
   */
  async publish(held: readonly HeldMessage[], total: number, counts: ReadonlyArray<{ level: Level; name: string; count: number }> = []): Promise<void> {
    const shown = held.slice(0, this.options.maxPublished ?? MAX_PUBLISHED_PER_NODE);
    const key = this.nodeKey(this.nodeName);
    const countsKey = this.countsKey(this.nodeName);
    const multi = this.redis.multi().del(key).del(countsKey);
    const fields = shown.map((m) => [m.queueId, JSON.stringify({ ...m, recipients: m.recipients?.slice(0, MAX_PUBLISHED_RECIPIENTS) ?? null })]);
    if (shown.length > 0) multi.hset(key, Object.fromEntries(fields));
    if (counts.length > 0) multi.hset(countsKey, Object.fromEntries(counts.map((c) => [`${c.level}:${c.name}`, String(c.count)])));
    multi.hset(this.publishedKey, this.nodeName, JSON.stringify({ total, published: shown.length }));
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('the publication of held mail was discarded');
  }

  /** Every other node's summary: how many it holds, how many of them it published. */
  async summaries(): Promise<NodeHeldSummary[]> {
    const all = await this.redis.hgetall(this.publishedKey);
    const summaries: NodeHeldSummary[] = [];
    for (const [node, text] of Object.entries(all)) {
      const value = parseJson(text) as { total?: unknown; published?: unknown } | undefined;
      if (node === this.nodeName || typeof value?.total !== 'number' || typeof value.published !== 'number') continue;
      summaries.push({ node, total: value.total, published: value.published });
    }
    return summaries.sort((a, b) => a.node.localeCompare(b.node));
  }

  /**
   * Reads how many held messages of every other node count against each object (of the nodes that published),
   * keeps it for cachedOthersCounts, and answers it. Fields that are not a level, a name and a positive count
   * (damage, another program) are left out.
   */
  async readOthersCounts(): Promise<readonly NodeHeldCount[]> {
    const nodes = await this.summaries();
    const counts: NodeHeldCount[] = [];
    if (nodes.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const { node } of nodes) pipeline.hgetall(this.countsKey(node));
      const results = (await pipeline.exec()) ?? [];
      nodes.forEach(({ node }, i) => {
        const [error, fields] = results[i] ?? [new Error('no answer')];
        if (error) throw error;
        for (const [field, value] of Object.entries(fields as Record<string, string>)) {
          const colon = field.indexOf(':');
          const level = field.slice(0, colon) as Level;
          const count = Number(value);
          if (colon < 0 || !LEVELS.includes(level) || !Number.isSafeInteger(count) || count < 1) continue;
          counts.push({ node, level, name: field.slice(colon + 1), count });
        }
      });
    }
    this.othersCounts = counts;
    return counts;
  }

  /** The other nodes' held counts as last read; none before the first read. */
  cachedOthersCounts(): readonly NodeHeldCount[] {
    return this.othersCounts;
  }

  /** The held mail other nodes published, with the summary of each. */
  async othersHeld(): Promise<{ messages: PublishedHeld[]; nodes: NodeHeldSummary[] }> {
    const nodes = await this.summaries();
    if (nodes.length === 0) return { messages: [], nodes };
    const pipeline = this.redis.pipeline();
    for (const { node } of nodes) pipeline.hvals(this.nodeKey(node));
    const results = (await pipeline.exec()) ?? [];
    const messages: PublishedHeld[] = [];
    nodes.forEach(({ node }, i) => {
      const [error, values] = results[i] ?? [new Error('no answer')];
      if (error) throw error;
      for (const text of values as string[]) {
        const record = parseJson(text);
        if (isHeldRecord(record)) messages.push({ node, message: record });
      }
    });
    return { messages, nodes };
  }

  /** A queue id on the other nodes (or on one of them): each node that published it, with its record. */
  async findOnOthers(queueId: string, onlyNode?: string): Promise<PublishedHeld[]> {
    const nodes = onlyNode !== undefined ? [onlyNode] : (await this.summaries()).map((s) => s.node);
    if (nodes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const node of nodes) pipeline.hget(this.nodeKey(node), queueId);
    const results = (await pipeline.exec()) ?? [];
    const found: PublishedHeld[] = [];
    nodes.forEach((node, i) => {
      const [error, text] = results[i] ?? [new Error('no answer')];
      if (error) throw error;
      const record = typeof text === 'string' ? parseJson(text) : undefined;
      if (isHeldRecord(record)) found.push({ node, message: record });
    });
    return found;
  }

  /**
   * Asks the holding node to carry out a request with the asker's identity and waits for its answer. A node
   * that does not take it within the timeout gets it cancelled (a claim of our own beats its claim, so it will
   * never carry it out late): NodeUnansweredError.
   */
  async ask(node: string, identity: Identity, request: HeldRequest): Promise<HeldReply> {
    const id = randomUUID();
    const envelope = {
      id,
      from: this.nodeName,
      identity: { ...identity, permittedSubscriptions: identity.permittedSubscriptions ? [...identity.permittedSubscriptions] : undefined },
      request,
    };
    const requestText = JSON.stringify(envelope);
    await this.redis.rpush(`${this.prefix}requests:${node}`, requestText);
    const replyKey = `${this.prefix}reply:${id}`;
    const timeoutMs = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    let deadline = Date.now() + timeoutMs;
    let taken = false;
    for (;;) {
      const text = await this.redis.get(replyKey);
      if (text !== null) {
        const reply = replySchema.safeParse(parseJson(text));
        if (!reply.success) throw new Error(`server ${node} answered something that is not an answer to a request about held mail`);
        return reply.data as HeldReply;
      }
      if (Date.now() >= deadline) {
        if (taken) throw new NodeUnansweredError(node, true);
        const cancelled = await this.redis.set(`${this.prefix}claim:${id}`, `cancelled by ${this.nodeName}`, 'EX', KEEP_SECONDS, 'NX');
        if (cancelled === 'OK') {
          await this.redis.lrem(`${this.prefix}requests:${node}`, 1, requestText);
          throw new NodeUnansweredError(node, false);
        }
        // The node took it meanwhile: it is being carried out, so its answer is worth waiting for.
        taken = true;
        deadline = Date.now() + TAKEN_REQUEST_TIMEOUT_MS;
      }
      await wait(ANSWER_POLL_MS);
    }
  }

  /**
   * Takes this node's requests one at a time on a connection of their own (a blocking pop), carries out each
   * one that no asker cancelled and that was not taken before (the request id), and answers it. Failures
   * (Redis away) are logged and retried; they never stop the daemon.
   */
  serve(handle: (identity: Identity, request: HeldRequest, from: string) => Promise<HeldReply>): void {
    if (this.serving) return;
    // Blocking pops wait up to a second: the connection's own command timeout must be longer.
    // It waits for its connection (offline queue) rather than failing while it connects: it only ever pops.
    const connection = this.redis.duplicate({ commandTimeout: 5_000, enableOfflineQueue: true });
    connection.on('error', () => undefined);
    let stopped = false;
    const listKey = `${this.prefix}requests:${this.nodeName}`;
    const loop = (async () => {
      while (!stopped) {
        let popped: [string, string] | null;
        try {
          popped = await connection.blpop(listKey, 1);
        } catch (error) {
          if (!stopped) this.repeated.warn('held-requests-unreadable', { error: (error as Error).message }, "cannot read this server's requests about held mail from Redis; retrying");
          await wait(500);
          continue;
        }
        if (popped) await this.takeOne(popped[1], handle);
      }
    })();
    this.serving = {
      stop: async () => {
        stopped = true;
        await loop;
        connection.disconnect();
      },
    };
  }

  private async takeOne(text: string, handle: (identity: Identity, request: HeldRequest, from: string) => Promise<HeldReply>): Promise<void> {
    const parsed = text.length <= MAX_REQUEST_BYTES ? envelopeSchema.safeParse(parseJson(text)) : null;
    if (!parsed?.success) {
      this.log.warn({ bytes: text.length }, 'a request about held mail in Redis is not one of a node: ignored');
      return;
    }
    const { id, from, identity: carried, request } = parsed.data;
    try {
      const claimed = await this.redis.set(`${this.prefix}claim:${id}`, this.nodeName, 'EX', KEEP_SECONDS, 'NX');
      // Cancelled by an asker that gave up, or taken before: never carried out (again).
      if (claimed !== 'OK') return;
      const identity: Identity = {
        login: carried.login,
        role: carried.role,
        userId: carried.userId,
        via: carried.via,
        ...(carried.permittedSubscriptions ? { permittedSubscriptions: new Set(carried.permittedSubscriptions) } : {}),
      };
      let reply: HeldReply;
      try {
        reply = await handle(identity, request, from);
      } catch (error) {
        reply = { ok: false, status: 500, error: (error as Error).message };
      }
      this.log.info({ request: id, from, login: identity.login, action: request.action, ok: reply.ok }, 'carried out a request about held mail from another server');
      await this.redis.set(`${this.prefix}reply:${id}`, JSON.stringify(reply), 'EX', KEEP_SECONDS);
    } catch (error) {
      this.repeated.warn('held-request-failed', { error: (error as Error).message, request: id }, 'a request about held mail from another server could not be answered');
    }
  }

  async stop(): Promise<void> {
    await this.serving?.stop();
    this.serving = null;
  }
}
