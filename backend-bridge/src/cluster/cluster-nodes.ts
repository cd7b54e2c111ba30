import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  FORGET_AFTER_MS,
  MAX_NODES,
  nodeFactsProblem,
  nodeListing,
  nodeNameProblem,
  readNodeFacts,
  SILENT_AFTER_MS,
  storedNodeFacts,
  type NodeFacts,
  type NodeListing,
} from '../core/cluster-nodes.js';
import { LogSummariser } from '../log/log-summariser.js';
import { describeClusterUrl } from './cluster-url.js';

export type { NodeFacts, NodeListing, NodeState } from '../core/cluster-nodes.js';

/** A report or a request the nodes' list refuses (a bad name, a full list), or a reply it cannot read. */
export class ClusterNodesError extends Error {
  override name = 'ClusterNodesError';
}

export interface ClusterNodesOptions {
  /** Prefix of the keys (default 'ol:', as the counts). */
  keyPrefix?: string;
  /** Replaces the cluster's clock (Redis's TIME) for reports and listings: tests. */
  clockMs?: () => number;
  /** Not seen for longer than this: silent (default 10 s). */
  silentAfterMs?: number;
  /** Silent for longer than this: dropped (default 7 days). */
  forgetAfterMs?: number;
  /** The cluster address as given (--cluster URL), shown without its password; default: read from the connection. */
  url?: string;
}

// Both scripts take the time first: Redis's own (TIME), so nodes with skewed clocks agree, unless a test gives one.
// They drop nodes silent for longer than the forget time before anything else, so the list stays bounded.
const NOW_AND_PRUNE = `
local now
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[2])))
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
`;

/** KEYS: facts hash, last-seen sorted set. ARGV: clock ('' = Redis's), forget after ms, name, facts, most nodes. */
const REPORT_SCRIPT = `${NOW_AND_PRUNE}
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
  return redis.error_reply('FULL the cluster already lists ' .. ARGV[5] .. ' nodes; remove those that left (cluster leave)')
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[2], now, ARGV[3])
return now
`;

/** KEYS: facts hash, last-seen sorted set. ARGV: clock ('' = Redis's), forget after ms. */
const LIST_SCRIPT = `${NOW_AND_PRUNE}
return { now, redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES') }
`;

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const REPORT = script(REPORT_SCRIPT);
const LIST = script(LIST_SCRIPT);

/**
 * The nodes of a cluster as they report themselves to its Redis: one hash of facts by node name and one sorted
 * set of when each was last seen, both under `<prefix>{nodes}:` (one hash tag, so a Redis Cluster keeps them
 * in one slot, apart from the counts' `{s:…}` keys). A report is one script call (one round trip).
 */
export class ClusterNodes {
  private readonly factsKey: string;
  private readonly seenKey: string;
  private readonly silentAfterMs: number;
  private readonly forgetAfterMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: ClusterNodesOptions = {},
  ) {
    const prefix = options.keyPrefix ?? 'ol:';
    this.factsKey = `${prefix}{nodes}:facts`;
    this.seenKey = `${prefix}{nodes}:seen`;
    this.silentAfterMs = options.silentAfterMs ?? SILENT_AFTER_MS;
    this.forgetAfterMs = options.forgetAfterMs ?? FORGET_AFTER_MS;
  }

  /** The cluster's address for people: the URL without its password, or where the connection goes. */
  get address(): string {
    if (this.options.url !== undefined) return describeClusterUrl(this.options.url);
    const { host, port, path, sentinels, name } = this.redis.options;
    if (sentinels && sentinels.length > 0) return `redis-sentinel://${sentinels.map((s) => `${s.host ?? 'localhost'}:${s.port ?? 26379}`).join(',')}/${name ?? ''}`;
    if (path) return `redis+unix://${path}`;
    return `redis://${host ?? 'localhost'}:${port ?? 6379}`;
  }

  /** Says this node's facts to the cluster; lastSeen is the cluster's clock. Refuses facts that are not valid. */
  async report(facts: NodeFacts): Promise<void> {
    const problem = nodeFactsProblem(facts);
    if (problem) throw new ClusterNodesError(problem);
    await this.run(REPORT, [this.clock(), String(this.forgetAfterMs), facts.node, storedNodeFacts(facts), String(MAX_NODES)]);
  }

  /** Every node the cluster knows, sorted by name: up, or silent (listed until forgotten or 7 days silent). */
  async list(): Promise<NodeListing[]> {
    const reply = await this.run(LIST, [this.clock(), String(this.forgetAfterMs)]);
    if (!Array.isArray(reply) || reply.length !== 3 || typeof reply[0] !== 'number' || !Array.isArray(reply[1]) || !Array.isArray(reply[2])) {
      throw new ClusterNodesError(`Redis answered the list of nodes with something unreadable: ${JSON.stringify(reply).slice(0, 200)}`);
    }
    const [now, factsPairs, seenPairs] = reply as [number, unknown[], unknown[]];
    const seen = new Map<string, number>();
    for (let i = 0; i + 1 < seenPairs.length; i += 2) {
      const at = Number(seenPairs[i + 1]);
      if (typeof seenPairs[i] === 'string' && Number.isFinite(at)) seen.set(seenPairs[i] as string, at);
    }
    const listed: NodeListing[] = [];
    for (let i = 0; i + 1 < factsPairs.length; i += 2) {
      const name = factsPairs[i];
      if (typeof name !== 'string' || nodeNameProblem(name) !== null) continue;
      const facts = readNodeFacts(name, factsPairs[i + 1]);
      const lastSeenMs = seen.get(name);
      // A half-written or foreign entry is left out rather than shown wrong.
      if (facts === null || lastSeenMs === undefined) continue;
      listed.push(nodeListing(facts, lastSeenMs, now, this.silentAfterMs));
    }
    return listed.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /** Removes a node from the list (`cluster leave`); false when it was not listed. */
  async forget(node: string): Promise<boolean> {
    const problem = nodeNameProblem(node);
    if (problem) throw new ClusterNodesError(problem);
    const results = await this.redis.multi().hdel(this.factsKey, node).zrem(this.seenKey, node).exec();
    if (!results) throw new ClusterNodesError('Redis dropped the removal of the node (transaction aborted)');
    for (const [error] of results) if (error) throw error;
    return results.some(([, removed]) => removed === 1);
  }

  private clock(): string {
    return this.options.clockMs ? String(Math.floor(this.options.clockMs())) : '';
  }

  /** EVALSHA, and EVAL once when Redis does not have the script (restart, SCRIPT FLUSH, failover). */
  private async run(which: Script, args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(which.sha, 2, this.factsKey, this.seenKey, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw refusal(error);
    }
    try {
      return await this.redis.eval(which.source, 2, this.factsKey, this.seenKey, ...args);
    } catch (error) {
      throw refusal(error);
    }
  }
}

/** Redis's refusal from our script as our error; anything else (a lost connection) as it is. */
function refusal(error: unknown): unknown {
  if (error instanceof Error && error.message.startsWith('FULL ')) return new ClusterNodesError(error.message.slice(5));
  return error;
}

export interface NodeHeartbeat {
  /** Stops reporting; waits (a little) for a report under way. */
  stop(): Promise<void>;
}

/** How long stop() waits for a report under way: a Redis that is away must not hold up the daemon's stop. */
const STOP_WAIT_MS = 2_000;

/**
 * Reports `facts()` every `intervalMs`, the first at once. A report that fails (Redis away, a fact that cannot
 * be read) never throws out of here: the first failure is logged whole, the next are counted into one line a
 * minute (LogSummariser), and the return is logged once. While a report waits for its answer the next is not
 * sent, so a Redis that is away never piles reports up in the client's queue.
 *
 * A node name that is not valid is refused here at once (ClusterNodesError): that is a setting to fix, not a
 * fault to ride out.
 */
export function startNodeHeartbeat(nodes: ClusterNodes, facts: () => NodeFacts, log: Logger, intervalMs = 1000): NodeHeartbeat {
  let name: string | null = null;
  try {
    name = facts().node;
  } catch {
    // A fact that cannot be read now (held mail, wiring) is the ticks' to report, not a reason not to start.
  }
  const problem = name === null ? null : nodeNameProblem(name);
  if (problem) throw new ClusterNodesError(`--node-name: ${problem}`);
  const summariser = new LogSummariser(log);
  let failures = 0;
  let inFlight: Promise<void> | null = null;
  let stopped = false;

  const failed = (error: unknown) => {
    failures++;
    summariser.warn('cluster-heartbeat', { error: error instanceof Error ? error.message : String(error) }, 'reporting this node to the cluster failed; enforcing goes on, retrying every interval');
  };
  const tick = () => {
    if (stopped) return;
    if (inFlight) {
      failed(new Error("still waiting for Redis's answer to the previous report"));
      return;
    }
    const attempt = (async () => {
      try {
        await nodes.report(facts());
        if (failures > 0) {
          log.info({ failedReports: failures }, 'reporting this node to the cluster again');
          failures = 0;
        }
      } catch (error) {
        failed(error);
      }
    })();
    // Cleared once settled, not inside the attempt: one that fails before its first await settles before it is stored.
    inFlight = attempt;
    void attempt.then(() => {
      if (inFlight === attempt) inFlight = null;
    });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      const pending = inFlight as Promise<void> | null;
      if (pending) {
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([pending, new Promise<void>((resolve) => (bound = setTimeout(resolve, STOP_WAIT_MS).unref()))]);
        clearTimeout(bound);
      }
      summariser.flush();
      summariser.close();
    },
  };
}
