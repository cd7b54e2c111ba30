import type { Level } from '../core/limits.js';
import type { Db } from './database.js';

/**
 * The objects whose held mail an administrator released beyond the limit since `sinceMs` (audited as
 * `held.release` with `overLimit: true`): what explains usage above the limit on their rows.
 */
export function releasedBeyondLimitSince(db: Db, sinceMs: number): Array<{ level: Level; name: string }> {
  const rows = db
    .prepare(`SELECT level, object_name, new_value FROM audit_log WHERE at_ms >= ? AND action = 'held.release' AND level IS NOT NULL AND object_name IS NOT NULL`)
    .all(sinceMs) as Array<{ level: Level; object_name: string; new_value: string | null }>;
  const found: Array<{ level: Level; name: string }> = [];
  for (const row of rows) {
    let overLimit = false;
    try {
      overLimit = (JSON.parse(row.new_value ?? 'null') as { overLimit?: unknown } | null)?.overLimit === true;
    } catch {
      // An unreadable audit value explains nothing; the row then says "counted before this limit applied".
    }
    if (overLimit) found.push({ level: row.level, name: row.object_name });
  }
  return found;
}
