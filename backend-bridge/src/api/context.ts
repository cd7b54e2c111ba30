import type { Logger } from 'pino';
import type { ClusterHeld } from '../cluster/cluster-held.js';
import type { ClusterNodes } from '../cluster/cluster-nodes.js';
import type { WindowView } from '../core/decision.js';
import { limitIn, type ChargedObject } from '../core/directory.js';
import { LIMIT_WINDOWS, type LimitWindow } from '../core/limits.js';
import type { CountsSnapshot, WindowRead } from '../counters/redis-counts.js';
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
  /** A node of a cluster: the cluster's usage, while it counts in the cluster (null: this node's counters). */
  clusterUsage?: ClusterUsage | null;
  /** A node of a cluster: the held mail of the other nodes, and requests to them about it. */
  clusterHeld?: ClusterHeld | null;
  /** Held mail changed through the API: a node of a cluster publishes its held mail again before answering. */
  heldChanged?: () => Promise<void>;
}

/** Reads of the cluster's counts, for the usage every node shows alike. */
export interface ClusterUsage {
  /** False while the node counts alone (Redis away): its own counts are all there is to show. */
  inCluster(): boolean;
  read(requests: readonly WindowRead[]): Promise<CountsSnapshot>;
}

/** This node's counters as of now (a single server, or a node counting alone). */
export function currentWindow(context: ApiContext): WindowView {
  return context.enforcer.windowAt(Math.floor(context.nowMs() / 1000));
}

/**
 * Answers with the usage every node shows: on a node counting in a cluster, the cluster's counts from Redis, read
 * in one pipeline for exactly the objects the answer looks at (`answer` runs once to learn them, then with their
 * figures); elsewhere this node's counters. Should Redis fail meanwhile, this node's counts answer, and the log says so.
 */
export async function withCurrentWindow<T>(context: ApiContext, answer: (window: WindowView) => T): Promise<T> {
  const cluster = context.clusterUsage;
  if (!cluster?.inCluster()) return answer(currentWindow(context));
  const atSecond = Math.floor(context.nowMs() / 1000);
  const looked = new Set<ChargedObject>();
  answer({
    used: (object) => (looked.add(object), 0),
    secondsUntilFreed: (object) => (looked.add(object), null),
    atSecond,
  });
  try {
    const snapshot = await cluster.read([...looked].map((object) => ({ object, downTo: shownTargets(object, atSecond) })));
    return answer({ used: (object, window) => snapshot.used(object, window), secondsUntilFreed: (object, amount, window) => snapshot.secondsUntilFreed(object, amount, window), atSecond });
  } catch (error) {
    context.log.warn({ error: (error as Error).message }, "the cluster's usage could not be read: this node's counts are shown");
    return answer(currentWindow(context));
  }
}

/** Per window, the used level usage asks the wait for (one more unit fits), with exemptions in force now. */
function shownTargets(object: ChargedObject, atSecond: number): Partial<Record<LimitWindow, number>> {
  const targets: Partial<Record<LimitWindow, number>> = {};
  for (const window of LIMIT_WINDOWS) {
    const limit = limitIn(object, window, atSecond);
    if (limit !== 'unlimited' && limit > 0) targets[window] = limit - 1;
  }
  return targets;
}
