import type { Level } from '../core/limits.js';
import { OWN_VALUE_COLUMNS } from '../store/directory-store.js';
import type { AppliedChange, SharedTable } from '../store/shared-config.js';

/**
 * What the running daemon must do after changes of the cluster's configuration were applied to its store: a
 * full reload of settings and directory (hundreds of milliseconds with 100,000 mailboxes, on every node), or,
 * for the changes people make all day (a limit, a lock, an exemption, a compromised mark), an update in place
 * of the objects concerned, as a single server does after its own API changes.
 */
export type LiveUpdate = { reload: true } | { reload: false; objects: Array<{ level: Level; id: number }>; exemptions: boolean };

/** Tables no decision reads from the live state: they are read from the store when needed, or not at all. */
const NOT_LIVE: ReadonlySet<SharedTable> = new Set(['audit_log', 'users', 'notification_contacts', 'anomalies', 'compromised_mailboxes', 'revisions']);

const LEVEL_OF_TABLE: Partial<Record<SharedTable, Level>> = { mailboxes: 'mailbox', domains: 'domain', subscriptions: 'subscription' };

/**
 * In place only when every change is one of: a row of a table decisions do not read; an exemption; an object
 * row that existed before and of which only own values changed (its limits and lock). A new, deleted, renamed or
 * moved object, a plan, an owner, settings or a snapshot: a reload.
 */
export function liveUpdateOf(changes: readonly AppliedChange[]): LiveUpdate {
  const objects: Array<{ level: Level; id: number }> = [];
  let exemptions = false;
  for (const change of changes) {
    if (NOT_LIVE.has(change.table)) continue;
    if (change.table === 'exemptions') {
      exemptions = true;
      continue;
    }
    const level = LEVEL_OF_TABLE[change.table];
    if (!level || change.op !== 'put' || !change.before) return { reload: true };
    const before = change.before;
    const changed = Object.keys(change.row).filter((column) => (change.row[column] ?? null) !== (before[column] ?? null));
    if (changed.some((column) => !OWN_VALUE_COLUMNS.has(column))) return { reload: true };
    const id = before.id;
    if (typeof id !== 'number') return { reload: true };
    if (changed.length > 0) objects.push({ level, id });
  }
  return { reload: false, objects, exemptions };
}
