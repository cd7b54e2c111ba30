import type { Role } from '../api/identity.js';
import type { Exemption } from '../core/exemptions.js';
import type { Level } from '../core/limits.js';
import { bumpRevision, type Db } from './database.js';
import { fromLimitColumn, toLimitColumn } from './directory-store.js';

/** An exemption with the object it belongs to. */
export interface StoredExemption {
  level: Level;
  objectId: number;
  name: string;
  exemption: Exemption;
}

const OBJECT_OF: Record<Level, { column: string; table: string; nameColumn: string }> = {
  mailbox: { column: 'mailbox_id', table: 'mailboxes', nameColumn: 'address' },
  domain: { column: 'domain_id', table: 'domains', nameColumn: 'name' },
  subscription: { column: 'subscription_id', table: 'subscriptions', nameColumn: 'name' },
};

interface ExemptionRow {
  mailbox_id: number | null;
  domain_id: number | null;
  subscription_id: number | null;
  name: string;
  hourly_value: number | null;
  daily_value: number | null;
  starts_at_ms: number;
  ends_at_ms: number;
  set_by: string;
  set_by_role: Role;
}

const SELECT = `
  SELECT e.mailbox_id, e.domain_id, e.subscription_id, COALESCE(m.address, d.name, s.name) AS name,
         e.hourly_value, e.daily_value, e.starts_at_ms, e.ends_at_ms, e.set_by, e.set_by_role
  FROM exemptions e
  LEFT JOIN mailboxes m ON m.id = e.mailbox_id
  LEFT JOIN domains d ON d.id = e.domain_id
  LEFT JOIN subscriptions s ON s.id = e.subscription_id`;

function fromRow(row: ExemptionRow): StoredExemption {
  const level: Level = row.mailbox_id !== null ? 'mailbox' : row.domain_id !== null ? 'domain' : 'subscription';
  return {
    level,
    objectId: row.mailbox_id ?? row.domain_id ?? row.subscription_id ?? 0,
    name: row.name,
    exemption: {
      // The CHECK keeps at least one set; a value the program cannot read keeps the normal limit (NULL).
      hourly: row.hourly_value === null ? null : fromLimitColumn(row.hourly_value),
      daily: row.daily_value === null ? null : fromLimitColumn(row.daily_value),
      startsAtMs: row.starts_at_ms,
      endsAtMs: row.ends_at_ms,
      setBy: { login: row.set_by, role: row.set_by_role },
    },
  };
}

/** Every stored exemption, ended or not (the sweep removes the ended ones; decisions ignore them meanwhile). */
export function readExemptions(db: Db): StoredExemption[] {
  return (db.prepare(`${SELECT} ORDER BY e.ends_at_ms, e.id`).all() as ExemptionRow[]).map(fromRow);
}

export function readExemption(db: Db, level: Level, name: string): StoredExemption | null {
  const { column, table, nameColumn } = OBJECT_OF[level];
  const row = db.prepare(`${SELECT} WHERE e.${column} = (SELECT id FROM ${table} WHERE ${nameColumn} = ?)`).get(name.toLowerCase()) as ExemptionRow | undefined;
  return row ? fromRow(row) : null;
}

/** Those whose end has come at `nowMs`: for the sweep that records each end and removes it. */
export function dueExemptions(db: Db, nowMs: number): StoredExemption[] {
  return (db.prepare(`${SELECT} WHERE e.ends_at_ms <= ? ORDER BY e.ends_at_ms, e.id`).all(nowMs) as ExemptionRow[]).map(fromRow);
}

/** Sets (or replaces) one object's exemption. Returns false when no such object exists. */
export function storeExemption(db: Db, level: Level, name: string, exemption: Exemption): boolean {
  const { column, table, nameColumn } = OBJECT_OF[level];
  return db
    .transaction(() => {
      const id = db.prepare(`SELECT id FROM ${table} WHERE ${nameColumn} = ?`).pluck().get(name.toLowerCase()) as number | undefined;
      if (id === undefined) return false;
      db.prepare(`DELETE FROM exemptions WHERE ${column} = ?`).run(id);
      db.prepare(
        `INSERT INTO exemptions (${column}, hourly_value, daily_value, starts_at_ms, ends_at_ms, set_by, set_by_role) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(id, exemption.hourly === null ? null : toLimitColumn(exemption.hourly), exemption.daily === null ? null : toLimitColumn(exemption.daily), exemption.startsAtMs, exemption.endsAtMs, exemption.setBy.login, exemption.setBy.role);
      // Another process (the daemon) picks the change up with the directory.
      bumpRevision(db, 'directory');
      return true;
    })
    .immediate();
}

/** Removes one object's exemption; returns what it was, or null when it had none. */
export function removeExemption(db: Db, level: Level, name: string): StoredExemption | null {
  return db
    .transaction(() => {
      const found = readExemption(db, level, name);
      if (!found) return null;
      db.prepare(`DELETE FROM exemptions WHERE ${OBJECT_OF[level].column} = ?`).run(found.objectId);
      bumpRevision(db, 'directory');
      return found;
    })
    .immediate();
}
