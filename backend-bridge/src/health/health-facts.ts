import type { ClusterFacts, DaemonFacts, DirectoryFacts, HealthFacts, PlatformFacts, StoreFacts } from '../core/health-check.js';
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
  /** A node of a cluster: its counting state (only the daemon knows it). */
  cluster?: ClusterFacts;
}

/** Gathers what the health view judges; the same for the command and for GET /doctor, apart from daemon and store. */
export async function gatherHealthFacts(sources: HealthSources): Promise<HealthFacts> {
  const { db } = sources;
  const noStore = (what: string) => `no sound store to read ${what} from`;
  // A failing store must not stop the view: each line it feeds says it cannot be read, the store line why.
  let platform: PlatformFacts;
  let directory: DirectoryFacts | null = null;
  try {
    platform = db ? readPlatformReport(db) : { unreadable: noStore("Plesk's report") };
  } catch (error) {
    platform = { unreadable: (error as Error).message };
  }
  try {
    directory = db ? readDirectoryFacts(db) : null;
  } catch {
    directory = null;
  }
  return {
    daemon: sources.daemon,
    wiring: await inspectWiring(sources.postfixConfigDir),
    platform,
    directory,
    held: db ? readHeldFacts(db) : { readable: false, error: noStore('held mail') },
    store: sources.store,
    backup: readBackupFacts(sources.dataDir),
    ...(sources.cluster ? { cluster: sources.cluster } : {}),
  };
}
