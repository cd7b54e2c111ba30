import type { DaemonFacts, HealthFacts, StoreFacts } from '../core/health-check.js';
import { inspectWiring } from '../postfix/wiring-inspection.js';
import type { Db } from '../store/database.js';
import { readBackupFacts, readDirectoryFacts, readHeldFacts, readPlatformReport } from '../store/health-records.js';

export interface HealthSources {
  /** The open store, or null when there is none to read (then the store line says so). */
  db: Db | null;
  dataDir: string;
  postfixConfigDir: string;
  daemon: DaemonFacts;
  store: StoreFacts;
}

/** Gathers what the health view judges; the same for the command and for GET /doctor, apart from daemon and store. */
export async function gatherHealthFacts(sources: HealthSources): Promise<HealthFacts> {
  const { db } = sources;
  const unreadable = (what: string) => ({ readable: false as const, error: `no store to read ${what} from` });
  return {
    daemon: sources.daemon,
    wiring: await inspectWiring(sources.postfixConfigDir),
    platform: db ? readPlatformReport(db) : null,
    directory: db ? readDirectoryFacts(db) : null,
    held: db ? readHeldFacts(db) : unreadable('held mail'),
    store: sources.store,
    backup: readBackupFacts(sources.dataDir),
  };
}
