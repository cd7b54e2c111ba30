import type { FastifyInstance } from 'fastify';
import { chmodSync, chownSync, statSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { loadOrCreateBridgeSecret } from './api/auth/bridge-secret.js';
import type { ApiContext } from './api/context.js';
import { apiSocketPath, buildApi, listenApi } from './api/server.js';
import { findStandaloneUi } from './api/standalone-ui.js';
import { VERSION } from './version.js';
import { daemonClock } from './clock.js';
import { endDueExemptions } from './enforcement/exemption-ends.js';
import { CounterJournal } from './counters/journal.js';
import { RollingWindowCounters } from './counters/rolling-window.js';
import { DAY_SECONDS, clusterWindowsOf, dailyWindowCounters, Enforcer, windowSeconds } from './enforcement/enforcer.js';
import { ClusterCounting } from './enforcement/cluster-counting.js';
import { RedisCounts } from './counters/redis-counts.js';
import { clusterRedisOptions, describeClusterUrl } from './cluster/cluster-url.js';
import { ClusterNodes, startNodeHeartbeat, type NodeHeartbeat } from './cluster/cluster-nodes.js';
import { ClusterHeld, HELD_COUNTS_READ_MS, MAX_PUBLISHED_PER_NODE } from './cluster/cluster-held.js';
import { heldCountsByCharged } from './store/held-counts.js';
import { ClusterAnomalies } from './cluster/cluster-anomalies.js';
import { ConfigLog, ConfigUnavailableError } from './cluster/config-log.js';
import { ClusterStats } from './cluster/cluster-stats.js';
import { ClusterStatsStore } from './store/cluster-stats-store.js';
import { installCapture } from './store/shared-config.js';
import { heldActions } from './api/routes/held-routes.js';
import { readHeldFacts } from './store/health-records.js';
import { HeldMail } from './enforcement/held-mail.js';
import { watchAnomalies } from './enforcement/anomaly-response.js';
import { AnomalyStore } from './store/anomaly-store.js';
import { StoreSync } from './enforcement/store-sync.js';
import { localMailHandler } from './postfix/milter-handler.js';
import { MilterServer } from './postfix/milter-server.js';
import { Notifier } from './notify/notifier.js';
import { PostfixQueue } from './postfix/queue.js';
import { SystemUsers } from './postfix/system-users.js';
import { smtpdPolicyHandler } from './postfix/policy-handler.js';
import { PolicyServer } from './postfix/policy-server.js';
import { defaultSocketAddress, describeAddress, type ListenAddress, type UnixAddress } from './postfix/listen-address.js';
import { postfixGroup, prepareSocketDirectory } from './postfix/unix-socket.js';
import { WiringGuard } from './postfix/wiring-guard.js';
import { takeBackup, listBackups, backupName } from './store/backups.js';
import { databasePath, GROUP_FILE_MODE, openDatabase, PRIVATE_FILE_MODE, type Db } from './store/database.js';
import { integrityProblems, StoreDamagedError } from './store/integrity.js';
import { OverLimitEventLog } from './store/over-limit-events.js';
import { EarlyWarningLog, lastEarlyWarnings } from './store/early-warnings.js';
import { LogSummariser } from './log/log-summariser.js';
import { StoreHealth } from './store/store-health.js';

export type { ListenAddress };

export interface DaemonOptions {
  dataDir: string;
  /** Where Postfix's smtpd asks; default: the socket `outgoing-limits/policy` in the queue directory of postfixConfigDir. */
  policy?: ListenAddress;
  /** Also serve the API on this loopback TCP address (the unix socket is always there), and the standalone UI. */
  http?: { host: string; port: number } | null;
  /** A group (id) that may use the API: gets the socket, the secret (read-only) and entry to the data dir. */
  apiGroup?: number | null;
  /** The built standalone UI served at / with --http; default: the package's frontend/dist when built. */
  uiDir?: string | null;
  /** The Postfix instance whose hold queue holds over-limit mail (`postfix -c DIR`); default /etc/postfix. */
  postfixConfigDir?: string;
  /** Where the milter for local mail (non_smtpd_milters) listens; default: `outgoing-limits/milter` beside the policy socket; null: no milter. */
  milter?: ListenAddress | null;
  /**
   * Keep `postfix wire`'s entries in postfixConfigDir's main.cf (put back what another program removes). Only
   * for a Postfix named explicitly (`daemon --postfix-config-dir`), and only while the wiring state file says wired.
   */
  guardWiring?: boolean;
  /** A node of a cluster: the counts are those in this Redis (see cluster/cluster-url.ts for the address forms). */
  cluster?: { url: string; nodeName: string } | null;
}

export const DEFAULT_POSTFIX_CONFIG_DIR = '/etc/postfix';

/** A Redis that does not answer a count within this is taken as away: the node counts alone meanwhile. */
const REDIS_COMMAND_TIMEOUT_MS = 1_000;
/** How long a starting node waits for its Redis before it starts counting alone. */
const REDIS_START_WAIT_MS = 3_000;

/**
 * The connection of a node to its cluster's Redis: commands fail at once while it is down (never queued, so a
 * message never waits for a Redis that is not there), and it reconnects every half second.
 */
async function connectCluster(url: string, log: Logger): Promise<Redis> {
  warnIfOpenToLocalUsers(url, log);
  const redis = new Redis({
    ...clusterRedisOptions(url),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_START_WAIT_MS,
    retryStrategy: () => 500,
    // Sentinel: the new primary is asked for as soon as the old one fails.
    sentinelRetryStrategy: () => 500,
  });
  const repeated = new LogSummariser(log);
  redis.on('error', (error: Error) => repeated.warn('redis-connection', { cluster: describeClusterUrl(url), error: error.message }, 'Redis connection failed; retrying'));
  redis.on('ready', () => log.info({ cluster: describeClusterUrl(url) }, 'connected to Redis'));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, REDIS_START_WAIT_MS);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

/**
 * Whoever can write to the cluster's Redis can change the counts and so lift every limit: a Redis without a
 * password, or a socket every local user may open, is said at start (it may be on another host behind a firewall).
 */
function warnIfOpenToLocalUsers(url: string, log: Logger): void {
  const options = clusterRedisOptions(url);
  const cluster = describeClusterUrl(url);
  if (options.path !== undefined) {
    try {
      if (statSync(options.path).mode & 0o002) log.warn({ cluster }, "the cluster's Redis socket may be opened by every local user, who could change the counts and lift every limit: restrict it (unixsocketperm 770 and a group of this service)");
    } catch {
      // Not there (yet): the connection says so.
    }
  } else if (!options.password) {
    log.warn({ cluster }, "the cluster's Redis has no password: anyone who can connect to it can change the counts and lift every limit; give it one (requirepass or an ACL user) in OUTGOING_LIMITS_CLUSTER");
  }
}

/** Counts reach the disk this often: a kill -9 loses at most this much of them. */
const FLUSH_INTERVAL_MS = 200;
/** Changes made by the command (another process) are picked up this often: well within the promised second. */
const WATCH_INTERVAL_MS = 250;
const HOUSEKEEPING_INTERVAL_MS = 60_000;
/** Ended exemptions are recorded and removed this often; decisions stop applying them at their end regardless. */
const EXEMPTION_END_INTERVAL_MS = 1_000;
/** Held mail is looked at this often: it leaves within about a second of its window freeing. */
const RELEASE_INTERVAL_MS = 1_000;
/** Records are compared with Postfix's hold queue this often (and at start), for changes made by other hands. */
const RECONCILE_INTERVAL_MS = 30_000;
/** A node of a cluster reads the cluster's configuration log this often: a change anywhere acts here within it. */
const CONFIG_FOLLOW_INTERVAL_MS = 200;

/**
 * At start, a node of a cluster makes its store a copy of the cluster's configuration (cluster/config-log.ts). A
 * store whose directory differs from the cluster's stops the start. Redis away: the node starts from the
 * configuration it last saw (or its own, before it ever joined) and says so; changes are refused until Redis answers.
 */
async function joinClusterConfig(config: ConfigLog, db: Db, log: Logger): Promise<void> {
  installCapture(db);
  try {
    const joined = await config.join();
    await config.catchUp();
    log.info({ how: joined.how, clusterId: joined.clusterId }, 'configuration from the cluster');
  } catch (error) {
    if (!(error instanceof ConfigUnavailableError)) throw error;
    log.warn(
      { error: error.message },
      config.membership
        ? "the cluster's Redis cannot be reached: starting from the configuration last seen from the cluster; changes are refused until it answers"
        : "the cluster's Redis cannot be reached: starting from this server's own configuration until it joins the cluster's; changes are refused until Redis answers",
    );
  }
}

/** A node of a cluster sends its events and counts to the others and takes in theirs this often (charts within seconds). */
const STATS_EXCHANGE_INTERVAL_MS = 1_000;
/** A node of a cluster looks this often whether its held mail changed, to publish it (cheap: one count query). */
const HELD_PUBLISH_INTERVAL_MS = 250;
/**
 * The running store is checked this often, so damage in pages the daemon does not read every second still comes
 * to light. quick_check (70-250 ms on 100,000 mailboxes with an hour of counts) holds up the policy service
 * that long, hence once an hour and not integrity_check.
 */
const STORE_CHECK_INTERVAL_MS = 3_600_000;

interface ListenOn {
  policy: ListenAddress;
  milter: ListenAddress | null;
  /** Postfix's group, which gets the sockets; -1 (unchanged) when both listen on TCP. */
  gid: number;
}

/**
 * Resolves the default addresses (sockets in our directory inside Postfix's queue directory, where chrooted smtpd
 * and cleanup reach them too) and makes every socket directory safe before anything listens there.
 */
async function socketsFor(options: DaemonOptions, postfixConfigDir: string, queue: PostfixQueue): Promise<ListenOn> {
  const needsDefault = options.policy === undefined || options.milter === undefined;
  const queueDirectory = needsDefault
    ? await queue.queueDirectory().catch((error: unknown) => {
        throw new Error(`cannot place the default sockets: ${(error as Error).message}; start the daemon with --postfix-config-dir of a working Postfix, or give --policy and --milter`);
      })
    : '';
  const policy = options.policy ?? defaultSocketAddress(queueDirectory, 'policy');
  const milter = options.milter === undefined ? defaultSocketAddress(queueDirectory, 'milter') : options.milter;
  const sockets = [policy, milter].filter((address): address is UnixAddress => address?.kind === 'unix');
  if (sockets.length === 0) return { policy, milter, gid: -1 };
  const { gid } = await postfixGroup(postfixConfigDir);
  const ownDirectory = queueDirectory ? path.dirname(defaultSocketAddress(queueDirectory, 'policy').path) : null;
  for (const directory of new Set(sockets.map((socket) => path.dirname(socket.path)))) {
    await prepareSocketDirectory(directory, gid, { dedicated: directory === ownDirectory });
  }
  return { policy, milter, gid };
}

/** The one long-running process: store, counters and the Postfix-facing services. */
export class Daemon {
  private timers: NodeJS.Timeout[] = [];
  private api: FastifyInstance | null = null;
  private apiTcp: http.Server | null = null;
  apiAddress: { socketPath: string; tcpPort: number | null } | null = null;
  private stopped = false;
  private milterServer: MilterServer | null = null;
  milterAddress: ListenAddress | null = null;
  private wiringGuard: WiringGuard | null = null;

  private constructor(
    private readonly db: Db,
    readonly enforcer: Enforcer,
    private readonly journal: CounterJournal,
    private readonly events: OverLimitEventLog,
    private readonly warnings: EarlyWarningLog,
    private readonly policyServer: PolicyServer,
    /** What the policy service bound: its socket, or the TCP address with the port picked. */
    readonly policyAddress: ListenAddress,
    private readonly log: Logger,
    readonly sync: StoreSync,
    readonly held: HeldMail,
    private readonly notifier: Notifier,
    readonly storeHealth: StoreHealth,
    private readonly dataDir: string,
    private readonly storeFileMode: number,
    private readonly apiGroup: number | null,
    /** Decisions and exemption ends read this clock (see clock.ts); the API keeps the real one, which signatures are checked against. */
    private readonly clockMs: () => number,
    /** A node of a cluster: its Redis connection and its counting state; null for a single server. */
    readonly cluster: { redis: Redis; counts: RedisCounts; counting: ClusterCounting; nodes: ClusterNodes; held: ClusterHeld; config: ConfigLog; stats: ClusterStats; url: string; nodeName: string } | null,
    /** Failures that repeat every few seconds while they last (Redis away, a store that fails): a line, then counts. */
    private readonly repeated: LogSummariser,
  ) {}

  private heartbeat: NodeHeartbeat | null = null;
  private readonly startedAtMs = Date.now();

  static async start(options: DaemonOptions, log: Logger): Promise<Daemon> {
    const apiGroup = options.apiGroup ?? null;
    const storeFileMode = apiGroup !== null ? GROUP_FILE_MODE : PRIVATE_FILE_MODE;
    // Checked before anything is read: a damaged store stops the start (StoreDamagedError says how to recover).
    const db = openDatabase(options.dataDir, { check: true, enforceMode: true, fileMode: storeFileMode, group: apiGroup });
    const journal = new CounterJournal(db);
    const events = new OverLimitEventLog(db);
    const warnings = new EarlyWarningLog(db);
    const counters = new RollingWindowCounters(windowSeconds());
    const dailyCounters = dailyWindowCounters();
    const clockMs = daemonClock();
    const restored = journal.restoreInto([counters, dailyCounters], Math.floor(Date.now() / 1000));
    let notifier: Notifier | null = null;
    // Per message on a failing store: one line, then a count a minute.
    const repeated = new LogSummariser(log);
    const enforcer = new Enforcer(counters, journal, (event) => {
      // Recording and notifying may fail with the store; the refusal they follow must stand all the same.
      try {
        events.record(event);
        notifier?.limitReached(event);
      } catch (error) {
        repeated.error('over-limit-record-failed', { err: error }, 'recording or notifying an over-limit message failed; the message is still refused');
      }
    }, clockMs, dailyCounters, (warning) => {
      try {
        warnings.record(warning);
        notifier?.earlyWarning(warning);
      } catch (error) {
        repeated.error('early-warning-record-failed', { err: error }, 'recording or notifying an early warning failed');
      }
    });
    let cluster: Daemon['cluster'] = null;
    if (options.cluster) {
      const redis = await connectCluster(options.cluster.url, log);
      const counts = new RedisCounts(redis, { windows: clusterWindowsOf(enforcer) });
      const { url, nodeName } = options.cluster;
      const counting = new ClusterCounting(counts, redis, log.child({ cluster: describeClusterUrl(url), node: nodeName }), (change) => {
        if (change.state === 'alone') notifier?.clusterAlone({ atMs: change.atMs, node: nodeName, address: describeClusterUrl(url), error: change.detail });
      });
      await counting.start();
      enforcer.cluster = counting;
      enforcer.onRefundLost = (chain, weight, error) => repeated.warn('cluster-refund-lost', { object: chain[0]?.name, weight, error: error.message }, 'a refund could not reach Redis: the count stays');
      const clusterHeld = new ClusterHeld(redis, nodeName, log.child({ node: nodeName }));
      const config = new ConfigLog(redis, db, nodeName, log.child({ node: nodeName }));
      const stats = new ClusterStats(redis, new ClusterStatsStore(db), nodeName, log.child({ node: nodeName }));
      cluster = { redis, counts, counting, nodes: new ClusterNodes(redis, { url }), held: clusterHeld, config, stats, url, nodeName };
    }
    const storeHealth = new StoreHealth(databasePath(options.dataDir), log, (event) => notifier?.storeFailed(event));
    const sync = new StoreSync(db, enforcer, log, storeHealth);
    if (cluster) {
      try {
        await joinClusterConfig(cluster.config, db, log);
      } catch (error) {
        // Nothing may keep the process: the start failed.
        await cluster.counting.stop();
        cluster.redis.disconnect();
        db.close();
        throw error;
      }
      // A limit, lock or exemption changed anywhere updates its objects in place: no reload of a directory that may be large.
      cluster.config.onApplied = (changes) => {
        sync.applyClusterChanges(changes);
        // A mailbox marked compromised anywhere: its mail waiting in this node's queue is held here too.
        const marked = changes.filter((c) => c.table === 'compromised_mailboxes' && c.op === 'put').map((c) => String(c.row.address));
        if (marked.length > 0) void held.holdQueuedOfMarked(marked).then((count) => count > 0 && log.info({ held: count, mailboxes: marked }, 'mail of mailboxes marked compromised on another node held here'));
      };
      sync.clustered = cluster.config;
    }
    try {
      // Before any port is open: not one message may be decided without the store's limits.
      sync.loadNow();
    } catch (error) {
      db.close();
      throw new Error(`cannot read the settings and directory from the store ${databasePath(options.dataDir)}: ${(error as Error).message}`);
    }
    // Warnings already given within their window are not given again after a restart.
    try {
      for (const given of lastEarlyWarnings(db, Date.now() - DAY_SECONDS * 1000)) enforcer.rememberWarning(given.level, given.objectId, given.window, Math.floor(given.atMs / 1000));
    } catch (error) {
      log.warn({ err: error }, 'cannot read the early warnings given before: one may be repeated');
    }
    const postfixConfigDir = options.postfixConfigDir ?? DEFAULT_POSTFIX_CONFIG_DIR;
    const queue = new PostfixQueue(postfixConfigDir);
    const held = new HeldMail(db, enforcer, sync, queue, log, (event) => notifier?.compromised(event.object, event.reason));
    notifier = new Notifier(db, enforcer, held.store, postfixConfigDir, () => held.reconcile(), log);
    enforcer.anomalyWatch = watchAnomalies({ db, enforcer, held, log, notify: (mailbox, figures, auto) => notifier?.anomaly(mailbox, figures, auto) });
    // A node of a cluster judges the signals on what every node saw; one node raises each.
    if (cluster) enforcer.anomalyWatch.shared = new ClusterAnomalies(cluster.redis);
    let listenOn: ListenOn;
    try {
      listenOn = await socketsFor(options, postfixConfigDir, queue);
    } catch (error) {
      db.close();
      throw error;
    }
    const policyServer = new PolicyServer(smtpdPolicyHandler(enforcer, held, log), log);
    let bound;
    try {
      bound = await policyServer.listenAt(listenOn.policy, listenOn.gid);
    } catch (error) {
      db.close();
      throw new Error(`cannot listen for policy requests on ${describeAddress(listenOn.policy)}: ${(error as Error).message}`);
    }
    const daemon = new Daemon(db, enforcer, journal, events, warnings, policyServer, bound, log, sync, held, notifier, storeHealth, options.dataDir, storeFileMode, apiGroup, clockMs, cluster, repeated);
    if (listenOn.milter) {
      // Read where the queue lives now; the milter reads the submitting uid from files there.
      let queueDirectory: string | null = await queue.queueDirectory().catch((error: unknown) => {
        log.warn({ error: (error as Error).message }, 'cannot read queue_directory: local mail is identified by sender only until it can');
        return null;
      });
      const lookUpQueueDirectory = () => {
        if (queueDirectory === null) void queue.queueDirectory().then((dir) => (queueDirectory = dir), () => undefined);
        return queueDirectory;
      };
      const milterServer = new MilterServer(localMailHandler(enforcer, held, new SystemUsers(), lookUpQueueDirectory, log), log);
      try {
        daemon.milterAddress = await milterServer.listenAt(listenOn.milter, listenOn.gid);
        daemon.milterServer = milterServer;
      } catch (error) {
        await daemon.stop();
        throw new Error(`cannot listen for milter connections on ${describeAddress(listenOn.milter)}: ${(error as Error).message}`);
      }
    }
    if (options.guardWiring) {
      daemon.wiringGuard = new WiringGuard({ configDir: postfixConfigDir, log, onEvent: (event) => notifier?.wiringChanged(event) });
    }
    try {
      await daemon.startApi(options);
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    daemon.timers.push(
      setInterval(() => daemon.flush(), FLUSH_INTERVAL_MS),
      setInterval(() => daemon.sync.reloadIfChanged(), WATCH_INTERVAL_MS),
      setInterval(() => daemon.housekeeping(), HOUSEKEEPING_INTERVAL_MS),
      setInterval(() => daemon.releaseHeld(), RELEASE_INTERVAL_MS),
      setInterval(() => daemon.endExemptions(), EXEMPTION_END_INTERVAL_MS),
      setInterval(() => void held.reconcile(), RECONCILE_INTERVAL_MS),
      setInterval(() => daemon.checkStore(), STORE_CHECK_INTERVAL_MS),
      setInterval(() => void daemon.publishHeld(), HELD_PUBLISH_INTERVAL_MS),
      ...(daemon.cluster
        ? [
            setInterval(() => void daemon.followClusterConfig(), CONFIG_FOLLOW_INTERVAL_MS),
            setInterval(() => void daemon.readClusterHeldCounts(), HELD_COUNTS_READ_MS),
            setInterval(() => void daemon.exchangeClusterStats(), STATS_EXCHANGE_INTERVAL_MS),
          ]
        : []),
    );
    void daemon.backUpIfDue();
    daemon.wiringGuard?.start();
    daemon.startHeartbeat();
    // Before the first release: records of mail that left the hold queue while the daemon was down are closed.
    daemon.reconciled = held.reconcile(Date.now());
    for (const [service, address] of [['policy', daemon.policyAddress], ['milter', daemon.milterAddress]] as const) {
      if (address?.kind === 'tcp') {
        log.warn({ [service]: describeAddress(address) }, `the ${service === 'policy' ? 'policy service' : 'milter'} listens on TCP: every local user can connect to it and forge requests; use a unix: socket unless Postfix runs on another host`);
      }
    }
    if (daemon.milterAddress) log.info({ milter: describeAddress(daemon.milterAddress) }, 'milter listening');
    log.info({ dataDir: options.dataDir, restoredSteps: restored, policy: describeAddress(daemon.policyAddress), ...(cluster ? { cluster: describeClusterUrl(cluster.url), node: cluster.nodeName, counting: cluster.counting.state } : {}) }, 'policy service listening');
    return daemon;
  }

  private async startApi(options: DaemonOptions): Promise<void> {
    const context: ApiContext = { db: this.db, enforcer: this.enforcer, sync: this.sync, log: this.log, nowMs: Date.now, flushCounts: () => this.flush(), held: this.held, clusterNodes: this.cluster?.nodes ?? null };
    const cluster = this.cluster;
    if (cluster) {
      context.clusterUsage = { inCluster: () => cluster.counting.state === 'cluster', read: (requests) => cluster.counts.read(requests) };
      context.clusterHeld = cluster.held;
      context.heldChanged = () => this.publishHeld(true);
    }
    if (this.wiringGuard) context.wiring = this.wiringGuard;
    const apiGroup = options.apiGroup ?? null;
    if (apiGroup !== null) {
      // The group must pass through the data directory to reach the socket; it lists and reads nothing else.
      chownSync(options.dataDir, -1, apiGroup);
      chmodSync(options.dataDir, 0o710);
    }
    const uiDir = options.http ? (options.uiDir === undefined ? findStandaloneUi() : options.uiDir) : null;
    if (options.http && !uiDir) this.log.warn('the standalone UI is not built (npm run build:ui): serving the API only');
    const nodeCounting = cluster
      ? () => {
          const state = cluster.counting.describe();
          return { node: cluster.nodeName, address: describeClusterUrl(cluster.url), counting: state.state, sinceMs: state.sinceMs, lastFailure: state.lastFailure, waitingAdditions: state.waitingAdditions, configProblem: cluster.config.problem };
        }
      : undefined;
    this.api = buildApi(context, {
      secret: loadOrCreateBridgeSecret(options.dataDir, { group: apiGroup }),
      version: VERSION,
      uiDir,
      storeHealth: () => this.storeHealth.report(),
      ...(nodeCounting ? { cluster: nodeCounting } : {}),
    });
    const socketPath = apiSocketPath(options.dataDir);
    let listening;
    try {
      listening = await listenApi(this.api, socketPath, options.http ?? null, apiGroup);
    } catch (error) {
      throw new Error(`cannot serve the API on ${socketPath}${options.http ? ` and ${options.http.host}:${options.http.port}` : ''}: ${(error as Error).message}`);
    }
    this.apiTcp = listening.tcpServer;
    this.apiAddress = { socketPath, tcpPort: listening.tcpPort };
    this.log.info({ socketPath, tcpPort: listening.tcpPort, ui: uiDir }, 'API listening');
    // Other nodes' requests about this node's held mail: the same actions, checks and audit as this API's.
    cluster?.held.serve(heldActions(context, this.held).answerRequest);
  }

  /** What the held mail looked like when last published; '' until published (or after a failure: try again). */
  private publishedHeld = '';
  private publishedHeldAtMs = 0;
  private publishingHeld: Promise<void> | null = null;

  /**
   * A node of a cluster publishes its held mail (at most MAX_PUBLISHED_PER_NODE, newest first) to Redis whenever
   * it changed: a hold, a release, a delete, reconciliation. Looked at four times a second and after every
   * change through the API. A failure (Redis away) is logged and tried again; it never fails what changed.
   */
  publishHeld(changedNow = false): Promise<void> {
    const cluster = this.cluster;
    if (!cluster || this.stopped) return Promise.resolve();
    if (this.publishingHeld) {
      // One at a time; a change meanwhile is published by the next one.
      return changedNow ? this.publishingHeld.then(() => this.publishHeld(true)) : this.publishingHeld;
    }
    this.publishingHeld = (async () => {
      try {
        // The set of held ids changes with every hold and every end (ids only grow); subjects once read.
        const fingerprint = JSON.stringify(
          this.db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(id), 0) AS s, COALESCE(MAX(id), 0) AS m, COUNT(summary_read_at_ms) AS r FROM held_messages WHERE status = 'held'`).get(),
        );
        // Also every 30 s unchanged: a Redis that lost its data (restart without persistence) gets it back.
        if (fingerprint === this.publishedHeld && Date.now() - this.publishedHeldAtMs < 30_000) return;
        const total = (JSON.parse(fingerprint) as { n: number }).n;
        const newest = this.held.withSummaries(this.held.store.list({ status: 'held', limit: MAX_PUBLISHED_PER_NODE }));
        await cluster.held.publish(newest, total, heldCountsByCharged(this.db));
        this.publishedHeld = fingerprint;
        // Subjects not read yet (Postfix's queue directory still being asked for): published again in a second.
        this.publishedHeldAtMs = newest.every((m) => m.summaryRead) ? Date.now() : Date.now() - 29_000;
      } catch (error) {
        this.publishedHeld = '';
        this.repeated.warn('held-publish-failed', { error: (error as Error).message }, "publishing this server's held mail to the cluster failed; will try again");
      }
    })().finally(() => {
      // Chained, not inside: an unchanged pass ends before the assignment above, and must not leave it set.
      this.publishingHeld = null;
    });
    return this.publishingHeld;
  }

  /**
   * A node of a cluster reads, every second, how many held messages of the other nodes count against each object,
   * so its rows show the cluster's held counts without a Redis call per request. Should Redis fail, the last
   * read stays (logged).
   */
  private async readClusterHeldCounts(): Promise<void> {
    if (!this.cluster || this.stopped) return;
    try {
      await this.cluster.held.readOthersCounts();
    } catch (error) {
      this.repeated.warn('held-counts-unreadable', { error: (error as Error).message }, "the other servers' held counts could not be read from the cluster's Redis; rows show the last ones read");
    }
  }

  /** A node of a cluster tells the others, every second, that it is up and how it is doing (`cluster status`). */
  private startHeartbeat(): void {
    const cluster = this.cluster;
    if (!cluster) return;
    this.heartbeat = startNodeHeartbeat(
      cluster.nodes,
      () => {
        const held = readHeldFacts(this.db);
        return {
          node: cluster.nodeName,
          version: VERSION,
          startedAtMs: this.startedAtMs,
          counting: cluster.counting.state,
          heldMessages: held.readable ? held.count : 0,
          wiring: this.wiringGuard ? 'guarded' : 'unknown',
        };
      },
      this.log,
    );
  }

  /** Writes buffered counts and events; what fails stays buffered and is tried again with the next flush. */
  flush(): void {
    let failure: unknown = null;
    for (const buffered of [this.journal, this.events, this.warnings]) {
      try {
        buffered.flush();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure === null) this.storeHealth.succeeded('write');
    else this.storeHealth.failed('write', failure);
  }

  private reconciled: Promise<boolean> = Promise.resolve(true);
  private releasing = false;
  private endingExemptions = false;
  private following = false;

  /** One pass of the release worker; passes never overlap. */
  private releaseHeld(): void {
    if (this.releasing || this.stopped) return;
    this.releasing = true;
    void this.reconciled
      .then(() => this.held.releaseDue())
      .catch((error: unknown) => this.held.repeated.error('release-failed', { error: (error as Error).message }, 'releasing held mail failed; will try again'))
      .finally(() => {
        this.releasing = false;
      });
  }

  /**
   * A node of a cluster applies what the other nodes changed (within CONFIG_FOLLOW_INTERVAL_MS), sends what was
   * written here outside the cluster's write path, and joins the cluster's configuration if it could not at start.
   */
  private followClusterConfig(): Promise<void> {
    const config = this.cluster?.config;
    if (!config || this.stopped || this.following) return Promise.resolve();
    this.following = true;
    return (async () => {
      if (!config.membership) {
        const joined = await config.join();
        this.log.info({ how: joined.how }, 'joined the configuration of the cluster');
      }
      const shipped = await config.shipStray();
      if (shipped > 0) this.log.info({ changes: shipped }, 'changes made here outside the cluster\'s write path sent to the cluster');
      await config.catchUp();
    })()
      .catch((error: unknown) => {
        // Redis away: counting says so already; the configuration waits for it quietly.
        if (!(error instanceof ConfigUnavailableError)) this.repeated.error('cluster-config-follow', { err: error }, 'applying the cluster\'s configuration failed; will try again');
      })
      .finally(() => {
        this.following = false;
      });
  }

  /** A node of a cluster sends its events and counts and takes in the other nodes' (cluster/cluster-stats.ts). */
  private exchangeClusterStats(): void {
    if (this.cluster && !this.stopped) void this.cluster.stats.exchange();
  }

  /** Records the end of exemptions whose end time has come; a failing store is reported and tried again. */
  private endExemptions(): void {
    if (this.stopped || this.endingExemptions) return;
    this.endingExemptions = true;
    endDueExemptions(this.db, this.sync, this.enforcer, this.clockMs())
      .then((ended) => {
        if (ended > 0) this.log.info({ ended }, 'exemptions ended');
      })
      .catch((error: unknown) => {
        // A node whose Redis is away ends them once it answers again; decisions stopped applying them already.
        if (error instanceof ConfigUnavailableError) this.repeated.warn('exemption-end-waits', { error: error.message }, 'ending exemptions waits for the cluster');
        else this.storeHealth.failed('write', error);
      })
      .finally(() => {
        this.endingExemptions = false;
      });
  }

  private housekeeping(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const counters of this.enforcer.windows()) counters.sweep(now);
    this.enforcer.anomalyWatch?.sweep(now);
    try {
      // The journal keeps the longest window (a day), so a restart restores the daily counts too.
      this.journal.pruneBefore(now - this.enforcer.longestWindowSeconds);
      this.events.prune(Date.now());
      this.warnings.prune(Date.now());
      new AnomalyStore(this.db).prune(Date.now());
      this.cluster?.stats.prune(Date.now());
    } catch (error) {
      this.storeHealth.failed('write', error);
    }
    this.storeHealth.summarizeIfDue();
    void this.backUpIfDue();
  }

  /** Damage found in the running store is reported (health, log, administrator); enforcement goes on from memory. */
  private checkStore(): void {
    try {
      const problems = integrityProblems(this.db, 'quick_check');
      if (problems.length > 0) throw new StoreDamagedError(databasePath(this.dataDir), problems);
      this.storeHealth.succeeded('check');
    } catch (error) {
      this.storeHealth.failed('check', error);
    }
  }

  private backingUp: Promise<void> | null = null;

  /** One online backup a day (UTC), the first at start; the last seven are kept. */
  backUpIfDue(): Promise<void> {
    const atMs = Date.now();
    if (this.backingUp || this.stopped || listBackups(this.dataDir).some((b) => b.name === backupName(atMs))) return this.backingUp ?? Promise.resolve();
    this.backingUp = this.backUp(atMs);
    return this.backingUp;
  }

  private async backUp(atMs: number): Promise<void> {
    try {
      const backup = await takeBackup(this.db, this.dataDir, { atMs, fileMode: this.storeFileMode, group: this.apiGroup });
      this.storeHealth.succeeded('check');
      this.log.info({ backup: backup.path, bytes: backup.sizeBytes }, 'store backed up and checked');
    } catch (error) {
      // A copy that fails its check means the store is damaged; any other failure is worth the same attention.
      this.storeHealth.failed('check', error);
    } finally {
      this.backingUp = null;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.apiTcp) {
      const closed = new Promise((resolve) => this.apiTcp?.close(resolve));
      // An open browser tab keeps a connection alive (the UI polls): it must not hold up stopping.
      this.apiTcp.closeAllConnections();
      await closed;
    }
    await this.api?.close();
    await this.policyServer.close();
    await this.milterServer?.close();
    await this.held.idle();
    await this.wiringGuard?.stop();
    // Mail goes out at once; a webhook still retrying gets a few seconds more, not its whole back-off.
    await Promise.race([this.notifier.idle(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    await this.backingUp; // the backup reads through this connection
    if (this.cluster) {
      await this.cluster.held.stop();
      await this.cluster.stats.idle();
      await this.cluster.config.idle();
      await this.publishingHeld;
      await this.heartbeat?.stop();
      await this.cluster.counting.stop();
      this.cluster.redis.disconnect();
    }
    this.flush();
    this.db.close();
    this.repeated.flush();
    this.held.repeated.flush();
    this.log.info('stopped');
  }
}
