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
