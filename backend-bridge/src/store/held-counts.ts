import type { Level } from '../core/limits.js';
import type { Db } from './database.js';

/**
 * Held messages per object they are charged to, counted by SQLite: rows ask on every refresh, and a hostile
 * sender can fill the hold queue with thousands of messages, so no record is read into JavaScript here.
 */
export function heldCountsByCharged(db: Db): Array<{ level: Level; name: string; count: number }> {
  return db
    .prepare(
      `SELECT charged_level AS level, charged_name AS name, COUNT(*) AS count FROM held_messages
       WHERE status = 'held' AND charged_level IS NOT NULL AND charged_name IS NOT NULL GROUP BY charged_level, charged_name`,
    )
    .all() as Array<{ level: Level; name: string; count: number }>;
}

/** Held mail in release order per charged object: what goes before a given message. */
export interface HeldQueues {
  ahead(message: { id: number; chargedLevel: Level | null; chargedName: string | null }): { count: number; weight: number };
}

/** One read of all held mail's order (ids, times and weights only; no recipients parsed). */
export function heldQueues(db: Db): HeldQueues {
  const rows = db
    .prepare(`SELECT id, weight, charged_level AS level, charged_name AS name FROM held_messages WHERE status = 'held' AND charged_level IS NOT NULL ORDER BY held_at_ms, id`)
    .all() as Array<{ id: number; weight: number; level: Level; name: string }>;
  const before = new Map<number, { count: number; weight: number }>();
  const running = new Map<string, { count: number; weight: number }>();
  for (const row of rows) {
    const key = `${row.level}:${row.name}`;
    const sofar = running.get(key) ?? { count: 0, weight: 0 };
    before.set(row.id, sofar);
    running.set(key, { count: sofar.count + 1, weight: sofar.weight + row.weight });
  }
  return { ahead: (message) => before.get(message.id) ?? { count: 0, weight: 0 } };
}
