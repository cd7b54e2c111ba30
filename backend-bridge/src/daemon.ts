import type { Logger } from 'pino';
import { CounterJournal } from './counters/journal.js';
import { RollingWindowCounters } from './counters/rolling-window.js';
import { Enforcer, HOUR_SECONDS } from './enforcement/enforcer.js';
import { smtpdPolicyHandler } from './postfix/policy-handler.js';
import { PolicyServer } from './postfix/policy-server.js';
import { openDatabase, readRevisions, type Db } from './store/database.js';
import { readDirectory } from './store/directory-store.js';
import { OverLimitEventLog } from './store/over-limit-events.js';
import { readSettings } from './store/settings-store.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DaemonOptions {
  dataDir: string;
  policy: ListenAddress;
}

/** Counts reach the disk this often: a kill -9 loses at most this much of them. */
const FLUSH_INTERVAL_MS = 200;
/** Changes made by the command (another process) are picked up this often: well within the promised second. */
const WATCH_INTERVAL_MS = 250;
const HOUSEKEEPING_INTERVAL_MS = 60_000;

/** The one long-running process: store, counters and the Postfix-facing services. */
export class Daemon {
  private timers: NodeJS.Timeout[] = [];
  private revisions = { settings: -1, directory: -1 };
  private stopped = false;

  private constructor(
    private readonly db: Db,
    readonly enforcer: Enforcer,
    private readonly journal: CounterJournal,
    private readonly events: OverLimitEventLog,
    private readonly policyServer: PolicyServer,
    readonly policyAddress: ListenAddress,
    private readonly log: Logger,
  ) {}

  static async start(options: DaemonOptions, log: Logger): Promise<Daemon> {
    const db = openDatabase(options.dataDir);
    const journal = new CounterJournal(db);
    const events = new OverLimitEventLog(db);
    const counters = new RollingWindowCounters(HOUR_SECONDS);
    const restored = journal.restoreInto(counters, Math.floor(Date.now() / 1000));
    const enforcer = new Enforcer(counters, journal, (event) => events.record(event));
    const policyServer = new PolicyServer(smtpdPolicyHandler(enforcer, log), log);
    let bound;
    try {
      bound = await policyServer.listen(options.policy.host, options.policy.port);
    } catch (error) {
      db.close();
      throw new Error(`cannot listen for policy requests on ${options.policy.host}:${options.policy.port}: ${(error as Error).message}`);
    }
    const daemon = new Daemon(db, enforcer, journal, events, policyServer, { host: bound.address, port: bound.port }, log);
    daemon.reloadIfChanged();
    daemon.timers.push(
      setInterval(() => daemon.flush(), FLUSH_INTERVAL_MS),
      setInterval(() => daemon.reloadIfChanged(), WATCH_INTERVAL_MS),
      setInterval(() => daemon.housekeeping(), HOUSEKEEPING_INTERVAL_MS),
    );
    log.info({ dataDir: options.dataDir, restoredSteps: restored, ...daemon.policyAddress }, 'policy service listening');
    return daemon;
  }

  /** Re-reads settings and directory when another process changed them. */
  reloadIfChanged(): void {
    try {
      const current = readRevisions(this.db);
      if (current.settings === this.revisions.settings && current.directory === this.revisions.directory) return;
      const settings = readSettings(this.db);
      const directory = readDirectory(this.db);
      this.enforcer.load(settings, directory);
      this.revisions = current;
      this.log.info(
        { enabled: settings.enabled, defaults: settings.defaults, countingUnit: settings.countingUnit, mailboxes: directory.mailboxes.length },
        'settings and directory loaded',
      );
    } catch (error) {
      // A locked or briefly unreadable store is retried on the next tick; the old state keeps serving.
      this.log.error({ err: error }, 'reloading settings and directory failed');
    }
  }

  flush(): void {
    try {
      this.journal.flush();
      this.events.flush();
    } catch (error) {
      this.log.error({ err: error }, 'writing counters to the store failed; will retry');
    }
  }

  private housekeeping(): void {
    const now = Math.floor(Date.now() / 1000);
    this.enforcer.counters.sweep(now);
    try {
      this.journal.pruneBefore(now - HOUR_SECONDS);
      this.events.prune(Date.now());
    } catch (error) {
      this.log.error({ err: error }, 'pruning the store failed');
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.policyServer.close();
    this.flush();
    this.db.close();
    this.log.info('stopped');
  }
}
