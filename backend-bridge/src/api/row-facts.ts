import type { ChargedObject } from '../core/directory.js';
import { NO_ROW_FACTS, rowFacts, type RowFacts } from '../core/object-query.js';
import { AnomalyStore } from '../store/anomaly-store.js';
import { heldCountsByCharged } from '../store/held-counts.js';
import { releasedBeyondLimitSince } from '../store/over-limit-releases.js';
import type { ApiContext } from './context.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * What the rows of one answer need from held mail and the audit, read once per request: held mail counted per
 * sender by SQLite (thousands held cost no more than a few) and, on a node of a cluster, the other nodes' counts
 * as last read from Redis (every second), so a row counts the cluster's held mail; releases beyond the limit of
 * the last hour from the audit's time index.
 */
export function currentRowFacts(context: ApiContext): RowFacts {
  const held = context.held;
  if (!held) return NO_ROW_FACTS;
  const directory = context.enforcer.directory;
  const chainOfNamed = (entry: { level: ChargedObject['level']; name: string }): ChargedObject[] => {
    const object = directory.find(entry.level, entry.name);
    return object ? directory.chainFrom(object) : [];
  };
  const facts = rowFacts(
    [...heldCountsByCharged(context.db), ...(context.clusterHeld?.cachedOthersCounts() ?? [])].map((entry) => ({ chain: chainOfNamed(entry), count: entry.count })),
    new Set(held.compromised().map((entry) => entry.address)),
    releasedBeyondLimitSince(context.db, context.nowMs() - HOUR_MS).map(chainOfNamed),
  );
  // The marks of unusual sending: the newest anomaly of each mailbox in the last day, read once per request.
  const anomalies = new AnomalyStore(context.db).latestPerMailbox(context.nowMs() - DAY_MS);
  return {
    ...facts,
    anomalyOf: (mailbox) => {
      const found = anomalies.get(mailbox.name);
      return found ? { signal: found.signal, observed: found.observed, threshold: found.threshold, baseline: found.baseline, atMs: found.atMs } : null;
    },
  };
}
