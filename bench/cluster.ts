// `npm run bench -- --cluster`: two daemons of one cluster (`--cluster URL --node-name bench-a|bench-b`) on one
// throwaway redis-server, loaded at the same time with 50 connections each, side by side with the embedded daemon
// (no --cluster) alone under the same load. Per node: requests/s and the ratio to embedded, p50/p99; across the
// nodes: the hammered mailboxes' accepted total against their limit (overshoot), and Redis's calls per message
// from INFO commandstats before and after the load.

import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import { RedisServer } from '../backend-bridge/test-support/redis-server.js';
import {
  countHammered,
  evaluateClusterTargets,
  infoNumber,
  parseInfo,
  redisCallsPerMessage,
  type ClusterResult,
  type Hammered,
  type RedisCalls,
  type RedisFacts,
} from './cluster-figures.js';
import type { ClusterLoadMessage, ClusterLoadOptions } from './cluster-load-worker.js';
import { ALL_OFF } from './features.js';
import type { LoadResult } from './load-generator.js';
import { startOurs, type OursServer } from './ours.js';
import { groupUsage, readStat, RssSampler, systemBusyTicks } from './proc.js';
import { OTHER_CPU_WARN_PERCENT, type ServerResult } from './report.js';
import type { RunningServer } from './server.js';
import { buildDirectory, clusterWorkload, MAX_REQUESTS_PER_RUN, PER_SENDER_LIMIT, SENDERS_PER_DOMAIN, type DirectoryFile } from './workload.js';

export const NODE_NAMES = ['bench-a', 'bench-b'] as const;

export interface ClusterStageOptions {
  /** Our command (bin/outgoing-limits or BENCH_OURS_CLI). */
  cli: string;
  /** "ours", or how BENCH_OURS_CLI is marked. */
  label: string;
  connections: number;
  warmupSeconds: number;
  measureSeconds: number;
  log: (line: string) => void;
  /** Runs repeated (fresh servers) when other processes disturbed them, as --retries for the other servers. */
  retries: number;
  /** Waits (bounded) for other people's jobs to calm down before a run. */
  waitForQuiet: () => Promise<void>;
  /** Servers (daemons and the redis-server) to stop on Ctrl-C; untracked once stopped. */
  track: (server: RunningServer) => void;
  untrack: (server: RunningServer) => void;
}

/**
 * Both nodes send the same request sequence, so every normal sender gets messages from both: each generator stops
 * at its share of the per-run cap, which keeps the normal senders under their limit across the cluster.
 */
const MAX_REQUESTS_PER_GENERATOR = Math.floor(MAX_REQUESTS_PER_RUN / NODE_NAMES.length);

/** INFO sections every snapshot reads, in one command (Redis 7 takes several). */
const INFO_SECTIONS = ['server', 'stats', 'commandstats', 'cpu', 'memory', 'keyspace'] as const;

interface LoadThread {
  /** Resolves when the measured window opens (or the load ended without one). */
  measuring: Promise<void>;
  /** Resolves when the measured window closes (or the load ended without one). */
  measured: Promise<void>;
  result: Promise<LoadResult>;
}

function startLoadThread(options: ClusterLoadOptions): LoadThread {
  const worker = new Worker(new URL('./cluster-load-worker.js', import.meta.url), { workerData: options });
  let opened: () => void = () => undefined;
  let closed: () => void = () => undefined;
  const measuring = new Promise<void>((resolve) => (opened = resolve));
  const measured = new Promise<void>((resolve) => (closed = resolve));
  const result = new Promise<LoadResult>((resolve, reject) => {
    worker.on('message', (m: ClusterLoadMessage) => {
      if (m.kind === 'measuring') opened();
      else if (m.kind === 'measured') closed();
      else if (m.kind === 'done') resolve(m.result);
      else reject(new Error(`policy load: ${m.message}`));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`policy load worker exited with code ${code} before its result`)));
  });
  const settle = (): void => {
    opened();
    closed();
    void worker.terminate();
  };
  result.then(settle, settle);
  return { measuring, measured, result };
}

/** CPU of the machine, each server and the bench at one instant: a window is the difference of two. */
interface CpuSnapshot {
  at: number;
  systemTicks: number;
  serverTicks: number[];
  redisTicks: number;
  bench: NodeJS.CpuUsage;
}

function cpuSnapshot(servers: readonly OursServer[], redisPid: number | null): CpuSnapshot {
  return {
    at: performance.now(),
    systemTicks: systemBusyTicks(),
    serverTicks: servers.map((s) => groupUsage(s.pgid).cpuTicks),
    redisTicks: redisPid === null ? 0 : (readStat(redisPid)?.cpuTicks ?? 0),
    bench: process.cpuUsage(),
  };
}

/** Per server CPU % of one core over the window, and what everything else on the machine used meanwhile. */
function cpuOverWindow(start: CpuSnapshot, end: CpuSnapshot): { serverPercent: number[]; otherPercent: number; redisPercent: number } {
  const seconds = (end.at - start.at) / 1000;
  // Ticks are 1/100 s (USER_HZ); the bench's CPU (all its threads) is in µs.
  const percent = (ticks: number): number => (seconds > 0 ? ticks / seconds : Number.NaN);
  const serverTicks = end.serverTicks.map((t, k) => t - (start.serverTicks[k] ?? t));
  const benchTicks = (end.bench.user + end.bench.system - start.bench.user - start.bench.system) / 10_000;
  const redisTicks = end.redisTicks - start.redisTicks;
  const other = end.systemTicks - start.systemTicks - serverTicks.reduce((a, b) => a + b, 0) - redisTicks - benchTicks;
  return { serverPercent: serverTicks.map(percent), otherPercent: Math.max(0, percent(other)), redisPercent: percent(redisTicks) };
}

/** One INFO command with every section the cluster figures read. */
export async function readRedisInfo(redis: Redis): Promise<Map<string, string>> {
  const text = await redis.call('INFO', ...INFO_SECTIONS);
  if (typeof text !== 'string') throw new Error(`Redis answered INFO with ${typeof text}`);
  return parseInfo(text);
}

function answered(load: LoadResult): number {
  return Object.values(load.actions).reduce((a, b) => a + b, 0);
}

/**
 * Loads the given daemons at the same time, one generator thread each, and fills in their rows. The CPU figures
 * cover the time all generators were measuring.
 */
async function loadTogether(servers: readonly OursServer[], rows: readonly ServerResult[], opts: ClusterStageOptions, redisPid: number | null): Promise<void> {
  const samplers = servers.map((s) => new RssSampler(s.pgid));
  for (const sampler of samplers) sampler.start(500);
  const threads = servers.map((s) => startLoadThread({
    endpoint: s.endpoint,
    connections: opts.connections,
    warmupSeconds: opts.warmupSeconds,
    measureSeconds: opts.measureSeconds,
    maxRequests: MAX_REQUESTS_PER_GENERATOR,
  }));
  let window: ReturnType<typeof cpuOverWindow> | undefined;
  try {
    await Promise.all(threads.map((t) => t.measuring));
    const start = cpuSnapshot(servers, redisPid);
    await Promise.race(threads.map((t) => t.measured));
    window = cpuOverWindow(start, cpuSnapshot(servers, redisPid));
  } finally {
    // Every generator settles (a failed one too) before the rows are filled or an error goes up.
    const settled = await Promise.allSettled(threads.map((t) => t.result));
    for (const sampler of samplers) sampler.stop();
    settled.forEach((outcome, k) => {
      const row = rows[k] as ServerResult;
      const sampler = samplers[k] as RssSampler;
      row.maxRssMb = sampler.maxRssKb / 1024;
      row.hwmMb = sampler.maxHwmKb / 1024;
      if (outcome.status === 'rejected') {
        row.error = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
        return;
      }
      const load = outcome.value;
      row.load = load;
      row.ok = load.measuredRequests > 0;
      if (!row.ok) row.error = `no request was answered in the measured window\n${servers[k]?.logTail() ?? ''}`;
      if (window !== undefined) {
        row.serverCpuPercent = window.serverPercent[k];
        row.otherCpuPercent = window.otherPercent;
      }
      opts.log(`   -> ${row.name}: ${Math.round(load.requestsPerSecond).toLocaleString('en-US')} req/s, p50 ${load.latencyMs.p50.toFixed(2)} ms, ` +
        `p99 ${load.latencyMs.p99.toFixed(2)} ms; answers ${JSON.stringify(load.actions)}`);
    });
  }
}

async function stopOurs(server: OursServer, row: ServerResult, opts: ClusterStageOptions): Promise<void> {
  row.stopOutcome = await server.stop();
  server.cleanup();
  opts.untrack(server);
  opts.log(`   stopped ${row.name}: ${row.stopOutcome}`);
}

/** A redis-server as something run.ts stops on Ctrl-C. */
function trackable(redis: RedisServer): RunningServer {
  return {
    name: 'redis-server',
    endpoint: redis.port ?? 0,
    pgid: redis.pid ?? 0,
    excludeComm: [],
    command: 'redis-server',
    config: '',
    probeAnswer: '',
    startupMs: 0,
    stop: async () => {
      await redis.stop();
      return 'stopped';
    },
    logTail: () => '',
    cleanup: () => undefined,
  };
}

interface EmbeddedAttempt {
  row: ServerResult;
  hammered?: Hammered;
}

/** The embedded node alone, fresh: the figure each cluster node is compared with. */
async function measureEmbedded(opts: ClusterStageOptions, directory: DirectoryFile): Promise<EmbeddedAttempt> {
  const row: ServerResult = { name: `${opts.label} embedded (no --cluster)`, role: 'embedded: SQLite and in-process counts', ok: false };
  opts.log(`\n== cluster: ${row.name}: starting`);
  await opts.waitForQuiet();
  let server: OursServer | undefined;
  try {
    server = await startOurs({ cli: opts.cli, label: row.name, directory, features: ALL_OFF });
    opts.track(server);
    Object.assign(row, { command: server.command, config: server.config, probeAnswer: server.probeAnswer, startupMs: server.startupMs });
    opts.log(`   ready in ${server.startupMs} ms; ${opts.connections} connections, warm-up ${opts.warmupSeconds} s, measuring ${opts.measureSeconds} s ...`);
    await loadTogether([server], [row], opts, null);
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    opts.log(`   ERROR: ${row.error}`);
  } finally {
    if (server !== undefined) await stopOurs(server, row, opts);
  }
  return { row, ...(row.load === undefined ? {} : { hammered: countHammered(PER_SENDER_LIMIT, [{ name: row.name, bySender: row.load.bySender }]) }) };
}

interface ClusterAttempt {
  nodes: ServerResult[];
  error?: string;
  hammered?: Hammered;
  calls?: RedisCalls;
  redisCpuPercent?: number;
  usedMemoryMb?: number;
  keys?: number;
}

/**
 * The nodes, fresh, on an emptied Redis (a repeated attempt must find no counts of the one before): every node
 * imports the same directory into its own data directory and counts in the one Redis; both are loaded at once.
 */
async function measureCluster(opts: ClusterStageOptions, directory: DirectoryFile, redis: RedisServer, admin: Redis): Promise<ClusterAttempt> {
  const nodes = NODE_NAMES.map((nodeName): ServerResult => ({ name: `${opts.label} ${nodeName}`, role: `cluster node --node-name ${nodeName}`, ok: false }));
  const attempt: ClusterAttempt = { nodes };
  const started: { server: OursServer; row: ServerResult }[] = [];
  try {
    await admin.flushall();
    for (const [k, nodeName] of NODE_NAMES.entries()) {
      const row = nodes[k] as ServerResult;
      opts.log(`\n== cluster: ${row.name}: starting`);
      let server: OursServer;
      try {
        server = await startOurs({
          cli: opts.cli,
          label: row.name,
          directory,
          features: ALL_OFF,
          daemonArgs: ['--cluster', redis.url, '--node-name', nodeName],
        });
      } catch (err) {
        row.error = err instanceof Error ? err.message : String(err);
        for (const later of nodes.slice(k + 1)) later.error = `not started (${row.name} did not start)`;
        throw new Error(`${row.name} did not start (see its ERROR)`);
      }
      opts.track(server);
      started.push({ server, row });
      Object.assign(row, { command: server.command, config: server.config, probeAnswer: server.probeAnswer, startupMs: server.startupMs });
      opts.log(`   ready in ${server.startupMs} ms`);
    }
    opts.log(`\n== cluster: ${NODE_NAMES.join(' and ')} at the same time, ${opts.connections} connections each, warm-up ${opts.warmupSeconds} s, measuring ${opts.measureSeconds} s ...`);
    await opts.waitForQuiet();
    const before = await readRedisInfo(admin);
    const loadStart = performance.now();
    await loadTogether(started.map((s) => s.server), nodes, opts, redis.pid);
    const loadedSeconds = (performance.now() - loadStart) / 1000;
    const after = await readRedisInfo(admin);
    const messages = nodes.reduce((sum, n) => sum + (n.load === undefined ? 0 : answered(n.load)), 0);
    // The first snapshot's own INFO is counted once it has run; the second's is not yet in its figures.
    attempt.calls = redisCallsPerMessage(before, after, messages, 1);
    if (loadedSeconds > 0) attempt.redisCpuPercent = (attempt.calls.redisCpuSeconds / loadedSeconds) * 100;
    attempt.usedMemoryMb = infoNumber(after, 'used_memory') / 1024 / 1024;
    attempt.keys = Number(/keys=(\d+)/.exec(after.get('db0') ?? '')?.[1] ?? 0);
    attempt.hammered = countHammered(PER_SENDER_LIMIT, nodes.map((n, k) => ({ name: NODE_NAMES[k] as string, bySender: n.load?.bySender })));
  } catch (err) {
    attempt.error = err instanceof Error ? err.message : String(err);
    opts.log(`   ERROR: ${attempt.error}`);
  } finally {
    for (const { server, row } of started.reverse()) await stopOurs(server, row, opts);
  }
  return attempt;
}

/** The most any run of an attempt was disturbed by other processes (% of a core). */
const disturbance = (rows: readonly ServerResult[]): number => Math.max(0, ...rows.map((r) => r.otherCpuPercent ?? 0));

/**
 * An attempt, repeated (fresh servers each time) while other processes disturbed it, as measureSteady in run.ts:
 * the least disturbed one is kept, and its rows say how many were made.
 */
async function steady<T>(opts: ClusterStageOptions, attempt: () => Promise<T>, rowsOf: (t: T) => ServerResult[]): Promise<T> {
  const results: T[] = [];
  for (let k = 0; k <= opts.retries; k++) {
    const result = await attempt();
    results.push(result);
    const rows = rowsOf(result);
    if (!rows.every((r) => r.ok) || disturbance(rows) <= OTHER_CPU_WARN_PERCENT) break;
    if (k < opts.retries) opts.log(`   other processes used ${Math.round(disturbance(rows))}% CPU during the run: measuring again`);
  }
  const measured = results.filter((r) => rowsOf(r).every((row) => row.ok));
  const best = measured.length === 0
    ? (results[results.length - 1] as T)
    : measured.reduce((a, b) => (disturbance(rowsOf(b)) < disturbance(rowsOf(a)) ? b : a));
  for (const row of rowsOf(best)) {
    row.attempts = results.length;
    row.otherCpuByAttempt = results.map((r) => disturbance(rowsOf(r)));
  }
  return best;
}

export async function runClusterStage(opts: ClusterStageOptions): Promise<ClusterResult> {
  const result: ClusterResult = { ok: false, connections: opts.connections, nodes: [], nodeNames: [...NODE_NAMES], targets: [] };
  const directory = buildDirectory(SENDERS_PER_DOMAIN);
  let redis: RedisServer | undefined;
  let redisTracked: RunningServer | undefined;
  let admin: Redis | undefined;
  try {
    opts.log(`\n== cluster: ${clusterWorkload().description}`);
    // TCP on loopback, as the nodes of a real cluster reach a Redis on another host.
    redis = await RedisServer.start({ unixSocket: false });
    redisTracked = trackable(redis);
    opts.track(redisTracked);
    admin = new Redis({ ...redis.connection, lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    const facts: RedisFacts = { version: (await readRedisInfo(admin)).get('redis_version') ?? '?', address: redis.url };
    result.redis = facts;
    opts.log(`   redis-server ${facts.version} at ${facts.address}`);

    const embedded = await steady(opts, () => measureEmbedded(opts, directory), (e) => [e.row]);
    result.embedded = embedded.row;
    if (embedded.hammered !== undefined) result.embeddedHammered = embedded.hammered;

    const [server, client] = [redis, admin];
    const cluster = await steady(opts, () => measureCluster(opts, directory, server, client), (c) => c.nodes);
    result.nodes = cluster.nodes;
    if (cluster.hammered !== undefined) result.hammered = cluster.hammered;
    if (cluster.calls !== undefined) result.calls = cluster.calls;
    Object.assign(facts, { cpuPercent: cluster.redisCpuPercent, usedMemoryMb: cluster.usedMemoryMb, keys: cluster.keys });
    result.ok = [result.embedded, ...result.nodes].every((r) => r.ok) && cluster.error === undefined;
    if (cluster.error !== undefined) result.error = cluster.error;
    else if (!result.ok) result.error = 'a run could not be measured (see its ERROR)';
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    opts.log(`   ERROR: ${result.error}`);
  } finally {
    admin?.disconnect();
    if (redis !== undefined) await redis.stop();
    if (redisTracked !== undefined) opts.untrack(redisTracked);
  }
  result.targets = evaluateClusterTargets(result.nodes, opts.connections, PER_SENDER_LIMIT, result.hammered, result.calls);
  return result;
}
