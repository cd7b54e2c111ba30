import type { Identity } from '../api/identity.js';
import type { Db } from './database.js';

export interface AuditEntry {
  atMs: number;
  actorLogin: string;
  actorRole: string;
  /** What was done, e.g. `limit.set`, `settings.update`, `directory.upsert`, `directory.delete`. */
  action: string;
  level: string | null;
  objectName: string | null;
  oldValue: unknown;
  newValue: unknown;
}

/** Written inside the same transaction as the change it describes: no change without its audit line. */
export function recordAudit(
  db: Db,
  actor: Identity,
  entry: { action: string; level?: string | null; objectName?: string | null; oldValue?: unknown; newValue?: unknown },
  atMs = Date.now(),
): void {
  db.prepare(
    `INSERT INTO audit_log (at_ms, actor_login, actor_role, action, level, object_name, old_value, new_value)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    atMs,
    actor.login,
    actor.role,
    entry.action,
    entry.level ?? null,
    entry.objectName ?? null,
    entry.oldValue === undefined ? null : JSON.stringify(entry.oldValue),
    entry.newValue === undefined ? null : JSON.stringify(entry.newValue),
  );
}

export interface AuditQuery {
  level?: string | undefined;
  objectName?: string | undefined;
  /** The login of the person who made the change. */
  actorLogin?: string | undefined;
  limit: number;
  beforeId?: number | undefined;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

/** Newest first; `beforeId` pages further back. */
export function queryAudit(db: Db, query: AuditQuery): AuditRow[] {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (query.level) {
    where.push('level = ?');
    args.push(query.level);
  }
  if (query.objectName) {
    where.push('object_name = ?');
    args.push(query.objectName.toLowerCase());
  }
  if (query.actorLogin) {
    where.push('actor_login = ? COLLATE NOCASE');
    args.push(query.actorLogin);
  }
  if (query.beforeId) {
    where.push('id < ?');
    args.push(query.beforeId);
  }
  const rows = db
    .prepare(
      `SELECT id, at_ms, actor_login, actor_role, action, level, object_name, old_value, new_value FROM audit_log
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
    )
    .all(...args, query.limit) as Array<{
    id: number;
    at_ms: number;
    actor_login: string;
    actor_role: string;
    action: string;
    level: string | null;
    object_name: string | null;
    old_value: string | null;
    new_value: string | null;
  }>;
  return rows.map((r) => ({
    id: r.id,
    atMs: r.at_ms,
    actorLogin: r.actor_login,
    actorRole: r.actor_role,
    action: r.action,
    level: r.level,
    objectName: r.object_name,
    oldValue: r.old_value === null ? null : (JSON.parse(r.old_value) as unknown),
    newValue: r.new_value === null ? null : (JSON.parse(r.new_value) as unknown),
  }));
}

/** How many rows one scoped request reads at most before it answers with what it found and where to go on. */
export const AUDIT_SCAN_LIMIT = 50_000;
const SCAN_CHUNK = 1000;

/**
 * A page of the audit lines `visible` lets through, newest first: read in chunks going back until the page is
 * full or AUDIT_SCAN_LIMIT rows were read. `next` is the `beforeId` of the following page; null at the start of
 * the log. A page may be short (even empty) and still have a `next`: the rows read so far were not visible.
 */
export function queryVisibleAudit(db: Db, query: AuditQuery, visible: (row: AuditRow) => boolean): { items: AuditRow[]; next: number | null } {
  const items: AuditRow[] = [];
  let beforeId = query.beforeId;
  let scanned = 0;
  for (;;) {
    const chunk = queryAudit(db, { ...query, beforeId, limit: SCAN_CHUNK });
    for (const row of chunk) {
      scanned++;
      beforeId = row.id;
      if (!visible(row)) continue;
      items.push(row);
      if (items.length >= query.limit) return { items, next: row.id };
    }
    if (chunk.length < SCAN_CHUNK) return { items, next: null };
    if (scanned >= AUDIT_SCAN_LIMIT) return { items, next: beforeId ?? null };
  }
}

/** Who the log names for what the program does by itself (an exemption reaching its end). */
export const SYSTEM_ACTOR = { login: 'system', role: 'system' } as const;

/** recordAudit for a change the program makes by itself, not on anyone's request. */
export function recordSystemAudit(db: Db, entry: { action: string; level?: string | null; objectName?: string | null; oldValue?: unknown; newValue?: unknown }, atMs: number): void {
  db.prepare(
    `INSERT INTO audit_log (at_ms, actor_login, actor_role, action, level, object_name, old_value, new_value)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(atMs, SYSTEM_ACTOR.login, SYSTEM_ACTOR.role, entry.action, entry.level ?? null, entry.objectName ?? null, entry.oldValue === undefined ? null : JSON.stringify(entry.oldValue), entry.newValue === undefined ? null : JSON.stringify(entry.newValue));
}
