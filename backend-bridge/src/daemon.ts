import type { FastifyInstance } from 'fastify';
import { chmodSync, chownSync } from 'node:fs';
import type http from 'node:http';
import type { Logger } from 'pino';
import { loadOrCreateBridgeSecret } from './api/auth/bridge-secret.js';
import type { ApiContext } from './api/context.js';
import { apiSocketPath, buildApi, listenApi } from './api/server.js';
import { findStandaloneUi } from './api/standalone-ui.js';
import { VERSION } from './version.js';
import { CounterJournal } from './counters/journal.js';
import { RollingWindowCounters } from './counters/rolling-window.js';
import { Enforcer, HOUR_SECONDS } from './enforcement/enforcer.js';
import { StoreSync } from './enforcement/store-sync.js';
import { smtpdPolicyHandler } from './postfix/policy-handler.js';
import { PolicyServer } from './postfix/policy-server.js';
import { openDatabase, type Db } from './store/database.js';
import { OverLimitEventLog } from './store/over-limit-events.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DaemonOptions {
  dataDir: string;
  policy: ListenAddress;
  /** Also serve the API on this loopback TCP address (the unix socket is always there), and the standalone UI. */
  http?: ListenAddress | null;
  /** A group (id) that may use the API: gets the socket, the secret (read-only) and entry to the data dir. */
  apiGroup?: number | null;
  /** The built standalone UI served at / with --http; default: the package's frontend/dist when built. */
  uiDir?: string | null;
}

/** Counts reach the disk this often: a kill -9 loses at most this much of them. */
const FLUSH_INTERVAL_MS = 200;
/** Changes made by the command (another process) are picked up this often: well within the promised second. */
const WATCH_INTERVAL_MS = 250;
const HOUSEKEEPING_INTERVAL_MS = 60_000;

/** The one long-running process: store, counters and the Postfix-facing services. */
export class Daemon {
  private timers: NodeJS.Timeout[] = [];
  private api: FastifyInstance | null = null;
  private apiTcp: http.Server | null = null;
  apiAddress: { socketPath: string; tcpPort: number | null } | null = null;
  private stopped = false;

  private constructor(
    private readonly db: Db,
    readonly enforcer: Enforcer,
    private readonly journal: CounterJournal,
    private readonly events: OverLimitEventLog,
    private readonly policyServer: PolicyServer,
    readonly policyAddress: ListenAddress,
    private readonly log: Logger,
  ) {
    this.sync = new StoreSync(db, enforcer, log);
  }

  readonly sync: StoreSync;

  static async start(options: DaemonOptions, log: Logger): Promise<Daemon> {
    const db = openDatabase(options.dataDir);
    const journal = new CounterJournal(db, { background: true, onError: (message) => log.error({ error: message }, 'writing counters to the store failed') });
    const events = new OverLimitEventLog(db);
    const counters = new RollingWindowCounters(HOUR_SECONDS);
    const restored = journal.restoreInto(counters, Math.floor(Date.now() / 1000));
    const enforcer = new Enforcer(counters, journal, (event) => events.record(event));
    const policyServer = new PolicyServer(smtpdPolicyHandler(enforcer, log), log);
    let bound;
    try {
      bound = await policyServer.listen(options.policy.host, options.policy.port);
    } catch (error) {
      await journal.close();
      db.close();
      throw new Error(`cannot listen for policy requests on ${options.policy.host}:${options.policy.port}: ${(error as Error).message}`);
    }
    const daemon = new Daemon(db, enforcer, journal, events, policyServer, { host: bound.address, port: bound.port }, log);
    daemon.sync.reloadIfChanged();
    try {
      await daemon.startApi(options);
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    daemon.timers.push(
      setInterval(() => void daemon.flush(), FLUSH_INTERVAL_MS),
      setInterval(() => daemon.sync.reloadIfChanged(), WATCH_INTERVAL_MS),
      setInterval(() => daemon.housekeeping(), HOUSEKEEPING_INTERVAL_MS),
    );
    log.info({ dataDir: options.dataDir, restoredSteps: restored, ...daemon.policyAddress }, 'policy service listening');
    return daemon;
  }

  private async startApi(options: DaemonOptions): Promise<void> {
    const context: ApiContext = { db: this.db, enforcer: this.enforcer, sync: this.sync, log: this.log, nowMs: Date.now, flushCounts: () => this.flush() };
    const apiGroup = options.apiGroup ?? null;
    if (apiGroup !== null) {
      // The group must pass through the data directory to reach the socket; it lists and reads nothing else.
      chownSync(options.dataDir, -1, apiGroup);
      chmodSync(options.dataDir, 0o710);
    }
    const uiDir = options.http ? (options.uiDir === undefined ? findStandaloneUi() : options.uiDir) : null;
    if (options.http && !uiDir) this.log.warn('the standalone UI is not built (npm run build:ui): serving the API only');
    this.api = buildApi(context, { secret: loadOrCreateBridgeSecret(options.dataDir, { group: apiGroup }), version: VERSION, uiDir });
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
  }

  /** Hands buffered counts to the writer thread and writes buffered events; resolves when counts are stored. */
  flush(): Promise<void> {
    try {
      this.events.flush();
    } catch (error) {
      this.log.error({ err: error }, 'writing over-limit events to the store failed; will retry');
    }
    return this.journal.flush().catch(() => undefined); // already logged by the journal's onError
  }

  private housekeeping(): void {
    const now = Math.floor(Date.now() / 1000);
    this.enforcer.counters.sweep(now);
    void this.journal.pruneBefore(now - HOUR_SECONDS).catch(() => undefined);
    try {
      this.events.prune(Date.now());
    } catch (error) {
      this.log.error({ err: error }, 'pruning the store failed');
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
    await this.flush();
    await this.journal.close();
    this.db.close();
    this.log.info('stopped');
  }
}
