import type { Db } from './database.js';

/**
 * The configuration the nodes of a cluster share (issue 15): settings, directory (with plan values and own
 * limits), logins, notification contacts, exemptions, compromised marks and the audit log. Parents come before
 * their children, the order a snapshot is written in. Per-server data stays out: counts, held mail, over-limit
 * events, statistics, anomalies, notifications sent, and the server's own health records in `settings`.
 */
export const SHARED_TABLES = ['settings', 'revisions', 'users', 'notification_contacts', 'subscriptions', 'domains', 'mailboxes', 'exemptions', 'compromised_mailboxes', 'audit_log', 'anomalies'] as const;
export type SharedTable = (typeof SHARED_TABLES)[number];

/**
 * Tables whose rows are known across nodes by a natural key, not by their row id: an anomaly is raised once per
 * mailbox, signal and hour on whichever node saw it, and each node numbers its rows itself.
 */
const NATURAL_KEYS: Partial<Record<SharedTable, readonly string[]>> = { anomalies: ['mailbox', 'signal', 'hour'] };

/** Rows of `settings` that describe this server (store/health-records.ts), never shared. */
const OWN_SETTINGS_PREFIX = 'health.';

/** The WHERE clause that leaves out this server's own rows of a shared table ('' for every table but settings). */
const sharedRowsOnly = (table: SharedTable): string => (table === 'settings' ? ` WHERE key NOT LIKE '${OWN_SETTINGS_PREFIX}%'` : '');

/**
 * One row changed: its whole new image (`put`), or its key (`del`); `append` adds a row of an append-only table
 * under the next key of the node applying it (a row written while the node could not reach the cluster: its
 * own key may have been taken by another node's row meanwhile). Every node applies the log in the same order,
 * so every node gives it the same key.
 */
export interface RowChange {
  table: SharedTable;
  op: 'put' | 'del' | 'append';
  row: Record<string, unknown>;
}

/** Tables only ever added to: a row written outside the cluster's write path is appended, not put. */
export const APPEND_ONLY_TABLES: ReadonlySet<SharedTable> = new Set(['audit_log']);

/** A log entry that replaces every shared row (a node joining, or the log compacted). */
export interface ConfigSnapshot {
  kind: 'snapshot';
  rows: RowChange[];
}
export interface ConfigChanges {
  kind: 'changes';
  changes: RowChange[];
}
export type ConfigEntry = ConfigSnapshot | ConfigChanges;

interface TableShape {
  columns: string[];
  key: string[];
}

const shapes = new WeakMap<Db, Map<SharedTable, TableShape>>();

function shapeOf(db: Db, table: SharedTable): TableShape {
  let byTable = shapes.get(db);
  if (!byTable) shapes.set(db, (byTable = new Map()));
  let shape = byTable.get(table);
  if (!shape) {
    const info = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; pk: number }>;
    const rowKey = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const natural = NATURAL_KEYS[table];
    shape = natural ? { columns: info.map((c) => c.name).filter((c) => !rowKey.includes(c)), key: [...natural] } : { columns: info.map((c) => c.name), key: rowKey };
    byTable.set(table, shape);
  }
  return shape;
}

const isSharedTable = (name: string): name is SharedTable => (SHARED_TABLES as readonly string[]).includes(name);

const jsonOf = (alias: 'NEW' | 'OLD', columns: readonly string[]) => `json_object(${columns.map((c) => `'${c}', ${alias}.${c}`).join(', ')})`;

/**
 * Installs the triggers that write every row change of the shared tables to `config_changes` (a node of a
 * cluster only: a single server writes as before). Triggers see every writer, so no change can slip past.
 */
export function installCapture(db: Db): void {
  db.transaction(() => {
    for (const table of SHARED_TABLES) {
      const { columns, key } = shapeOf(db, table);
      const own = (alias: 'NEW' | 'OLD') => (table === 'settings' ? ` WHEN ${alias}.key NOT LIKE '${OWN_SETTINGS_PREFIX}%'` : '');
      const keyChanged = key.map((k) => `OLD.${k} IS NOT NEW.${k}`).join(' OR ');
      db.exec(`
        CREATE TRIGGER IF NOT EXISTS capture_${table}_insert AFTER INSERT ON ${table}${own('NEW')} BEGIN
          INSERT INTO config_changes (tbl, op, row) VALUES ('${table}', 'put', ${jsonOf('NEW', columns)});
        END;
        CREATE TRIGGER IF NOT EXISTS capture_${table}_update AFTER UPDATE ON ${table}${own('NEW')} BEGIN
          INSERT INTO config_changes (tbl, op, row) SELECT '${table}', 'del', ${jsonOf('OLD', key)} WHERE ${keyChanged};
          INSERT INTO config_changes (tbl, op, row) VALUES ('${table}', 'put', ${jsonOf('NEW', columns)});
        END;
        CREATE TRIGGER IF NOT EXISTS capture_${table}_delete AFTER DELETE ON ${table}${own('OLD')} BEGIN
          INSERT INTO config_changes (tbl, op, row) VALUES ('${table}', 'del', ${jsonOf('OLD', key)});
        END;
      `);
    }
  })();
}

/** Removes the triggers (`cluster leave`): the store is a single server's again. */
export function removeCapture(db: Db): void {
  db.transaction(() => {
    for (const table of SHARED_TABLES) for (const when of ['insert', 'update', 'delete']) db.exec(`DROP TRIGGER IF EXISTS capture_${table}_${when}`);
    db.prepare('DELETE FROM config_changes').run();
  })();
}

export function captureInstalled(db: Db): boolean {
  return (db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'capture_%'").get() as { n: number }).n === SHARED_TABLES.length * 3;
}

/** The newest captured change's number (0: none); changes after it are those of what runs next. */
export function lastCaptured(db: Db): number {
  return (db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM config_changes').get() as { seq: number }).seq;
}

/** The row changes captured after `afterSeq`, in the order they were made. */
export function capturedSince(db: Db, afterSeq: number, upToSeq = Number.MAX_SAFE_INTEGER): RowChange[] {
  const rows = db.prepare('SELECT tbl, op, row FROM config_changes WHERE seq > ? AND seq <= ? ORDER BY seq').all(afterSeq, upToSeq) as Array<{ tbl: string; op: 'put' | 'del'; row: string }>;
  return rows.map((r) => {
    if (!isSharedTable(r.tbl)) throw new Error(`captured a change of table ${r.tbl}, which is not shared`);
    return { table: r.tbl, op: r.op, row: JSON.parse(r.row) as Record<string, unknown> };
  });
}

export function forgetCaptured(db: Db, fromSeq: number, upToSeq = Number.MAX_SAFE_INTEGER): void {
  db.prepare('DELETE FROM config_changes WHERE seq > ? AND seq <= ?').run(fromSeq, upToSeq);
}

/** What a change would write, without writing it: `change` runs in a transaction that is rolled back. */
export function dryRun<T>(db: Db, change: () => T): { value: T; changes: RowChange[] } {
  const rollBack = new Error('dry run');
  let outcome: { value: T; changes: RowChange[] } | null = null;
  try {
    db.transaction(() => {
      const before = lastCaptured(db);
      const value = change();
      outcome = { value, changes: capturedSince(db, before) };
      throw rollBack;
    }).immediate();
  } catch (error) {
    if (error !== rollBack) throw error;
  }
  return outcome as unknown as { value: T; changes: RowChange[] };
}

/** Every shared row, parents first: the image a joining node starts from. */
export function snapshotOf(db: Db): ConfigSnapshot {
  const rows: RowChange[] = [];
  for (const table of SHARED_TABLES) {
    const { columns, key } = shapeOf(db, table);
    for (const row of db.prepare(`SELECT ${columns.join(', ')} FROM ${table}${sharedRowsOnly(table)} ORDER BY ${key.join(', ')}`).all() as Array<Record<string, unknown>>) rows.push({ table, op: 'put', row });
  }
  return { kind: 'snapshot', rows };
}

function putRow(db: Db, table: SharedTable, row: Record<string, unknown>): void {
  const { columns, key } = shapeOf(db, table);
  for (const name of Object.keys(row)) if (!columns.includes(name)) throw new Error(`a change of ${table} names column ${name}, which this store does not have (the nodes run different versions?)`);
  const names = columns.filter((c) => c in row);
  const others = names.filter((c) => !key.includes(c));
  const update = others.length > 0 ? `DO UPDATE SET ${others.map((c) => `${c} = excluded.${c}`).join(', ')}` : 'DO NOTHING';
  db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ON CONFLICT (${key.join(', ')}) ${update}`).run(...names.map((c) => row[c] ?? null));
}

function appendRow(db: Db, table: SharedTable, row: Record<string, unknown>): void {
  const { columns, key } = shapeOf(db, table);
  const names = columns.filter((c) => c in row && !key.includes(c));
  db.prepare(`INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...names.map((c) => row[c] ?? null));
}

/**
 * Turns changes made outside the cluster's write path into what the log carries: rows of append-only tables are
 * removed here (they come back from the log under the key every node gives them), the rest go as they are.
 */
export function strayToShip(db: Db, changes: readonly RowChange[]): RowChange[] {
  return changes.map((change) => {
    if (change.op !== 'put' || !APPEND_ONLY_TABLES.has(change.table)) return change;
    const { key } = shapeOf(db, change.table);
    const row = { ...change.row };
    for (const k of key) delete row[k];
    return { table: change.table, op: 'append' as const, row };
  });
}

/**
 * Removes this node's own copies of appended rows before the log's entry adds them again for every node. Only a
 * row that is still the one written here goes: a snapshot applied meanwhile may have put another row under its key.
 */
export function dropStrayAppends(db: Db, changes: readonly RowChange[]): void {
  for (const change of changes) {
    if (change.op !== 'put' || !APPEND_ONLY_TABLES.has(change.table)) continue;
    const names = Object.keys(change.row).filter((c) => shapeOf(db, change.table).columns.includes(c));
    db.prepare(`DELETE FROM ${change.table} WHERE ${names.map((c) => `${c} IS ?`).join(' AND ')}`).run(...names.map((c) => change.row[c] ?? null));
  }
}

/** The row of `table` with the key of `row`: a WHERE clause and its values. */
function byKey(db: Db, table: SharedTable, row: Record<string, unknown>): { where: string; values: unknown[] } {
  const { key } = shapeOf(db, table);
  return { where: key.map((k) => `${k} = ?`).join(' AND '), values: key.map((k) => row[k] ?? null) };
}

function deleteRow(db: Db, table: SharedTable, row: Record<string, unknown>): void {
  const { where, values } = byKey(db, table, row);
  db.prepare(`DELETE FROM ${table} WHERE ${where}`).run(...values);
}

/** The tables of the directory: a change of their rows may be applied to a running daemon in place. */
const DIRECTORY_TABLES: ReadonlySet<SharedTable> = new Set(['subscriptions', 'domains', 'mailboxes']);

/**
 * A change as applied to this store. `before` is read for a put on a directory table: the row as it was (null:
 * there was none), so the running daemon can tell a changed limit from a new or moved object. Undefined: not
 * read (a snapshot, another table or operation).
 */
export interface AppliedChange extends RowChange {
  before?: Record<string, unknown> | null;
}

function rowByKey(db: Db, table: SharedTable, row: Record<string, unknown>): Record<string, unknown> | null {
  const { where, values } = byKey(db, table, row);
  return (db.prepare(`SELECT * FROM ${table} WHERE ${where}`).get(...values) as Record<string, unknown> | undefined) ?? null;
}

/**
 * Applies one entry of the cluster's log, in the caller's transaction. A snapshot first empties the shared
 * tables (children first). What the apply itself makes the triggers capture is dropped: it is the log's already.
 */
export function applyEntry(db: Db, entry: ConfigEntry): AppliedChange[] {
  const captured = lastCaptured(db);
  const applied: AppliedChange[] = [];
  if (entry.kind === 'snapshot') {
    for (const table of [...SHARED_TABLES].reverse()) db.prepare(`DELETE FROM ${table}${sharedRowsOnly(table)}`).run();
    for (const change of entry.rows) {
      putRow(db, change.table, change.row);
      applied.push(change);
    }
  } else {
    for (const change of entry.changes) {
      if (!isSharedTable(change.table)) throw new Error(`the log changes table ${String(change.table)}, which is not shared`);
      const before = change.op === 'put' && DIRECTORY_TABLES.has(change.table) ? rowByKey(db, change.table, change.row) : undefined;
      if (change.op === 'put') putRow(db, change.table, change.row);
      else if (change.op === 'append') appendRow(db, change.table, change.row);
      else deleteRow(db, change.table, change.row);
      applied.push(before === undefined ? change : { ...change, before });
    }
  }
  forgetCaptured(db, captured);
  return applied;
}

export interface ClusterMembership {
  clusterId: string;
  lastApplied: string;
}

export function readMembership(db: Db): ClusterMembership | null {
  const row = db.prepare('SELECT cluster_id AS clusterId, last_applied AS lastApplied FROM cluster_config WHERE id = 1').get() as ClusterMembership | undefined;
  return row ?? null;
}

export function writeMembership(db: Db, membership: ClusterMembership): void {
  db.prepare('INSERT INTO cluster_config (id, cluster_id, last_applied) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET cluster_id = excluded.cluster_id, last_applied = excluded.last_applied').run(membership.clusterId, membership.lastApplied);
}

export function clearMembership(db: Db): void {
  db.prepare('DELETE FROM cluster_config').run();
}

/** Names of the directory, in order: two stores with the same digest list the same subscriptions, domains, mailboxes. */
export function directoryNames(db: Db): { subscriptions: string[]; domains: string[]; mailboxes: string[] } {
  const names = (sql: string) => (db.prepare(sql).all() as Array<{ name: string }>).map((r) => r.name);
  return {
    subscriptions: names('SELECT name FROM subscriptions ORDER BY name'),
    domains: names('SELECT name FROM domains ORDER BY name'),
    mailboxes: names('SELECT address AS name FROM mailboxes ORDER BY address'),
  };
}
