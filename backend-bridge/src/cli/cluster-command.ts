import type { Command, Option } from 'commander';
import { Redis } from 'ioredis';
import { ClusterNodes, type NodeListing } from '../cluster/cluster-nodes.js';
import { ClusterUrlError, clusterRedisOptions, describeClusterUrl } from '../cluster/cluster-url.js';
import { clusterOption, refusePasswordOnCommandLine } from './cluster-option.js';
import { pino } from 'pino';
import { ConfigLog, ConfigUnavailableError, DirectoryMismatchError, type JoinOutcome } from '../cluster/config-log.js';
import { clearMembership, installCapture, readMembership, removeCapture } from '../store/shared-config.js';
import * as parse from './arguments.js';
import { daemonAnswers, openStoreForCommand, UserError } from './daemon-or-store.js';

/** How long the command waits for Redis to connect and to answer: it is run by a person waiting at a prompt. */
export const CLUSTER_ANSWER_TIMEOUT_MS = 2_000;

/** "2 s ago", "3 min ago", "5 h ago", "2 d ago": how long since a node last reported. */
export function agoText(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** One line per node; `nowMs` is the cluster's clock, so "ago" does not depend on this host's clock. */
export function nodesTable(nodes: readonly NodeListing[], nowMs: number): string {
  if (nodes.length === 0) return 'No node has reported to this cluster.';
  const table = [['NODE', 'STATE', 'LAST SEEN', 'VERSION', 'COUNTING', 'HELD', 'WIRING']];
  for (const node of nodes) {
    table.push([node.node, node.state, agoText(nowMs - node.lastSeenMs), node.version, node.counting, String(node.heldMessages), node.wiring]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table.map((line) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

/**
 * The nodes of the cluster at `url`, read from its Redis directly (so it works while this host's daemon is
 * down), with Redis's clock at the time of the listing. One attempt: a Redis that cannot be reached within
 * CLUSTER_ANSWER_TIMEOUT_MS is a UserError naming the address (never its password).
 */
export async function clusterStatus(url: string): Promise<{ address: string; nowMs: number; nodes: NodeListing[] }> {
  return withClusterRedis(url, async (redis, address) => {
    const nodes = await new ClusterNodes(redis, { url }).list();
    const [seconds, micros] = await redis.time();
    return { address, nowMs: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), nodes };
  });
}

/**
 * Runs `work` on one connection to the cluster's Redis, made for a person waiting at a prompt: one attempt, and a
 * Redis that cannot be reached within CLUSTER_ANSWER_TIMEOUT_MS is a UserError naming the address (never its
 * password). The work has twice that in all.
 */
async function withClusterRedis<T>(url: string, work: (redis: Redis, address: string) => Promise<T>, workMs = 2 * CLUSTER_ANSWER_TIMEOUT_MS): Promise<T> {
  let options;
  try {
    options = clusterRedisOptions(url);
  } catch (error) {
    if (error instanceof ClusterUrlError) throw new UserError(`--cluster: ${error.message}`);
    throw error;
  }
  const address = describeClusterUrl(url);
  const redis = new Redis({
    ...options,
    lazyConnect: true,
    connectTimeout: CLUSTER_ANSWER_TIMEOUT_MS,
    commandTimeout: CLUSTER_ANSWER_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    // What ioredis sends on connecting (the ready check's INFO, CLIENT SETINFO) would take a timeout of its own
    // before the work even starts; the work's commands are check enough.
    enableReadyCheck: false,
    disableClientInfo: true,
    enableOfflineQueue: false,
    // One attempt, no reconnecting: a person is waiting for the answer.
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  // connect() rejects with only "Connection is closed."; the reason (refused, WRONGPASS, ...) comes as an event.
  let cause: Error | null = null;
  redis.on('error', (error: Error) => (cause ??= error));
  // connectTimeout covers only the TCP connection and commandTimeout only commands: a Redis that accepts and
  // then hangs (stopped, overloaded) could still hold the connect step, so the whole attempt has its own bound.
  let deadline: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => reject(new Error(`no answer within ${workMs / 1000} s`)), workMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await redis.connect();
        return work(redis, address);
      })(),
      expired,
    ]);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot reach the cluster's Redis at ${address}: ${reasonOf(cause ?? error)}`);
  } finally {
    clearTimeout(deadline);
    redis.disconnect();
    // disconnect() only half-closes: a Redis that hangs never closes its side, and the command would not exit.
    redis.stream?.destroy();
  }
}

/** Joining or leaving changes the store under the daemon's feet: it must be stopped (and started again after). */
async function refuseWhileDaemonRuns(dataDir: string, what: string): Promise<void> {
  if (await daemonAnswers(dataDir)) throw new UserError(`the daemon of ${dataDir} is running: stop it, ${what}, then start it again`);
}

const JOINED: Record<JoinOutcome['how'], string> = {
  created: "the cluster had no configuration: this store's is now the cluster's",
  adopted: "this store now holds the cluster's configuration (its directory was the same)",
  replaced: "this store's configuration replaced the cluster's, for every node",
  member: "this store was a copy of the cluster's configuration already; it is up to date",
};

/**
 * `cluster join`: makes the store of this server a copy of the cluster's configuration (see ConfigLog.join), so
 * that the daemon started with --cluster finds it ready. Refuses a cluster whose directory differs unless `replace`.
 */
export async function joinCluster(options: { url: string; dataDir: string; nodeName: string; replace: boolean }): Promise<string> {
  await refuseWhileDaemonRuns(options.dataDir, 'join');
  const db = openStoreForCommand(options.dataDir, 'write');
  try {
    return await withClusterRedis(
      options.url,
      async (redis, address) => {
        installCapture(db);
        const config = new ConfigLog(redis, db, options.nodeName, pino({ level: 'silent' }));
        try {
          const joined = await config.join({ replace: options.replace });
          await config.catchUp();
          return `Joined the cluster at ${address}: ${JOINED[joined.how]}. Start the daemon with --cluster.`;
        } catch (error) {
          if (error instanceof DirectoryMismatchError || error instanceof ConfigUnavailableError) throw new UserError(error.message);
          throw error;
        }
      },
      // A large store's snapshot takes longer to send than a listing.
      60_000,
    );
  } finally {
    db.close();
  }
}

/** `cluster leave`: the store keeps the configuration it last had from the cluster and is a single server's again. */
export async function leaveCluster(dataDir: string): Promise<string> {
  await refuseWhileDaemonRuns(dataDir, 'leave');
  const db = openStoreForCommand(dataDir, 'write');
  try {
    const membership = readMembership(db);
    db.transaction(() => {
      removeCapture(db);
      clearMembership(db);
    })();
    return membership
      ? 'Left the cluster: this store keeps the configuration it last had from the cluster and is a single server\'s again. Start the daemon without --cluster.'
      : 'This store was not part of a cluster; nothing changed.';
  } finally {
    db.close();
  }
}

/** ioredis's reasons, in a few words. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/Command timed out/i.test(message)) return `no answer within ${CLUSTER_ANSWER_TIMEOUT_MS / 1000} s`;
  if (/connect ETIMEDOUT/i.test(message)) return `no connection within ${CLUSTER_ANSWER_TIMEOUT_MS / 1000} s`;
  if (/^Protocol error/.test(message)) return `what answers there does not speak Redis's protocol (${message})`;
  return message;
}

export function registerClusterCommands(program: Command, dataDirOption: () => Option): void {
  const cluster = program.command('cluster').description('several mail servers sharing one set of limits through Redis');
  cluster
    .command('status')
    .description("the cluster's nodes: up or silent, last seen, version, counting, held mail, wiring (read from Redis; works while the daemon is down)")
    .addOption(dataDirOption())
    .addOption(clusterOption("the cluster's Redis: redis://, rediss://, redis+unix:// or redis-sentinel://").makeOptionMandatory())
    .option('--json', 'machine-readable output')
    .action(async (options: { cluster: string; json?: boolean }, command: Command) => {
      refusePasswordOnCommandLine(command, options.cluster);
      const status = await clusterStatus(options.cluster);
      if (options.json) process.stdout.write(`${JSON.stringify({ address: status.address, nodes: status.nodes }, null, 2)}\n`);
      else process.stdout.write(`Cluster ${status.address}\n${nodesTable(status.nodes, status.nowMs)}\n`);
    });
  cluster
    .command('join')
    .description("make this server's store a copy of the cluster's configuration (an empty cluster takes this store's); with the daemon stopped")
    .addOption(dataDirOption())
    .addOption(clusterOption("the cluster's Redis: redis://, rediss://, redis+unix:// or redis-sentinel://").makeOptionMandatory())
    .option('--node-name <name>', 'how the cluster names this node (default: the host name)', parse.nodeName)
    .option('--replace', "make this store's configuration the cluster's, for every node, even if the cluster's directory differs")
    .action(async (options: { cluster: string; dataDir: string; nodeName?: string; replace?: boolean }, command: Command) => {
      refusePasswordOnCommandLine(command, options.cluster);
      const nodeName = options.nodeName ?? parse.defaultNodeName();
      process.stdout.write(`${await joinCluster({ url: options.cluster, dataDir: options.dataDir, nodeName, replace: options.replace === true })}\n`);
    });
  cluster
    .command('leave')
    .description("make this server's store a single server's again, keeping the configuration it last had from the cluster; with the daemon stopped")
    .addOption(dataDirOption())
    .action(async (options: { dataDir: string }) => {
      process.stdout.write(`${await leaveCluster(options.dataDir)}\n`);
    });
}
