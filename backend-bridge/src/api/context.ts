import type { Logger } from 'pino';
import type { ClusterNodes } from '../cluster/cluster-nodes.js';
import type { WindowView } from '../core/decision.js';
import type { Enforcer } from '../enforcement/enforcer.js';
import type { HeldMail } from '../enforcement/held-mail.js';
import type { StoreSync } from '../enforcement/store-sync.js';
import type { Db } from '../store/database.js';
import type { WiringCheckOutcome } from '../postfix/wiring-guard.js';

/** What the routes work with: the store, the live state it mirrors, and the clock. */
export interface ApiContext {
  db: Db;
  enforcer: Enforcer;
  sync: StoreSync;
  log: Logger;
  nowMs: () => number;
  /** Writes buffered counts and events, so what the API reads from the store is current. */
  flushCounts: () => void;
  /** Held mail and its Postfix queue: only in the daemon, which runs next to Postfix. */
  held?: HeldMail;
  /** The Postfix wiring guard: only in a daemon started with --postfix-config-dir. */
  wiring?: { check(): Promise<WiringCheckOutcome> };
  /** The nodes of the cluster (daemon --cluster); null or absent when the daemon runs standalone. */
  clusterNodes?: ClusterNodes | null;
}

export function currentWindow(context: ApiContext): WindowView {
  return context.enforcer.windowAt(Math.floor(context.nowMs() / 1000));
}
