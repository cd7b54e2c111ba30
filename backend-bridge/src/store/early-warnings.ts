import type { EarlyWarning } from '../core/early-warning.js';
import type { Level, LimitWindow } from '../core/limits.js';
import type { Db } from './database.js';

/** As long as over-limit events. */
const KEEP_DAYS = 30;

/** Early warnings, buffered and written with the counter journal's flush (at most one per object and window per window length). */
export class EarlyWarningLog {
  private pending: EarlyWarning[] = [];
  private readonly insert;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(
      `INSERT INTO early_warnings (at_ms, level, object_id, object_name, limit_window, percent, limit_value, used)
       VALUES (@atMs, @level, @objectId, @objectName, @window, @percent, @limit, @used)`,
    );
  }

  record(warning: EarlyWarning): void {
    this.pending.push(warning);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.db.transaction(() => {
      for (const warning of this.pending) this.insert.run(warning);
    })();
    this.pending = [];
  }

  prune(nowMs: number): void {
    this.db.prepare('DELETE FROM early_warnings WHERE at_ms < ?').run(nowMs - KEEP_DAYS * 86_400_000);
  }
}

/** Newest first, since `sinceMs`. */
export function recentEarlyWarnings(db: Db, sinceMs: number, limit = 1000): EarlyWarning[] {
  return db
    .prepare(
      `SELECT at_ms AS atMs, level, object_id AS objectId, object_name AS objectName, limit_window AS window, percent, limit_value AS "limit", used
       FROM early_warnings WHERE at_ms >= ? ORDER BY at_ms DESC, id DESC LIMIT ?`,
    )
    .all(sinceMs, limit) as EarlyWarning[];
}

/** The last warning of each object and window since `sinceMs`: what a restarted daemon must not repeat. */
export function lastEarlyWarnings(db: Db, sinceMs: number): Array<{ level: Level; objectId: number; window: LimitWindow; atMs: number }> {
  return db
    .prepare(
      `SELECT level, object_id AS objectId, limit_window AS window, MAX(at_ms) AS atMs
       FROM early_warnings WHERE at_ms >= ? GROUP BY level, object_id, limit_window`,
    )
    .all(sinceMs) as Array<{ level: Level; objectId: number; window: LimitWindow; atMs: number }>;
}
