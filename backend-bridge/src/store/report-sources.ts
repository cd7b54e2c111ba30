import type { Level } from '../core/limits.js';
import type { ReportEventGroup } from '../core/report.js';
import type { Db } from './database.js';

/**
 * Where the report's events come from: each source sums its own table per object from `sinceMs` to `nowMs`. A new kind of record (anomalies) joins the report by adding its source to
 * REPORT_EVENT_SOURCES; nothing else changes.
 */
export interface ReportEventSource {
  /** For error messages and tests. */
  name: string;
  groups(db: Db, sinceMs: number, nowMs: number): ReportEventGroup[];
}

/** Over-limit attempts, by the object whose limit was reached (the event's level), window and action. */
export const overLimitEventSource: ReportEventSource = {
  name: 'over-limit events',
  groups(db, sinceMs, nowMs) {
    // A range of the at_ms index: only the period's events are read, however many are kept. (Without INDEXED BY,
    // SQLite chose the (level, object_id) index for the grouping and read every event kept.)
    const rows = db
      .prepare(
        `SELECT level, object_id, limit_window, action, COUNT(*), MAX(at_ms) FROM over_limit_events
         INDEXED BY over_limit_events_at WHERE at_ms >= @since AND at_ms <= @now GROUP BY level, object_id, limit_window, action`,
      )
      .raw()
      .all({ since: sinceMs, now: nowMs }) as Array<[Level, number, 'hour' | 'day', string, number, number]>;
    return rows.map(([level, objectId, window, action, count, lastAtMs]) => ({ kind: 'over-limit', level, objectId, window, action, count, lastAtMs }));
  },
};

/** Anomalies of unusual sending, by mailbox (recorded by address; a mailbox no longer listed drops out). */
export const anomalySource: ReportEventSource = {
  name: 'anomalies',
  groups(db, sinceMs, nowMs) {
    // A range of the at_ms index, as for over-limit events.
    const rows = db
      .prepare(
        `SELECT m.id, COUNT(*), MAX(a.at_ms) FROM anomalies a INDEXED BY anomalies_by_time
         JOIN mailboxes m ON m.address = a.mailbox WHERE a.at_ms >= @since AND a.at_ms <= @now GROUP BY m.id`,
      )
      .raw()
      .all({ since: sinceMs, now: nowMs }) as Array<[number, number, number]>;
    return rows.map(([objectId, count, lastAtMs]) => ({ kind: 'anomaly', level: 'mailbox', objectId, window: null, action: null, count, lastAtMs }));
  },
};

export const REPORT_EVENT_SOURCES: readonly ReportEventSource[] = [overLimitEventSource, anomalySource];

/** Every source's groups of the `days` whole days before `nowMs`. */
export function reportEventGroups(db: Db, nowMs: number, days: number, sources: readonly ReportEventSource[] = REPORT_EVENT_SOURCES): ReportEventGroup[] {
  return sources.flatMap((source) => source.groups(db, nowMs - days * 86_400_000, nowMs));
}
