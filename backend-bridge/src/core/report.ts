import type { Level, Limit } from './limits.js';

/**
 * The report "objects that reached a limit or raised an anomaly in the last N days": business rules only. Event
 * sources (store/report-sources.ts) sum their records per object; this file merges them into one row per object.
 */

/** The days a report may look back: as far as statistics and over-limit events are kept. */
export const REPORT_MIN_DAYS = 1;
export const REPORT_MAX_DAYS = 31;

/** What kind of record an event source sums. */
export type ReportEventKind = 'over-limit' | 'anomaly';

/** One source's records of one object, summed: the unit every event source hands to the report. */
export interface ReportEventGroup {
  kind: ReportEventKind;
  level: Level;
  objectId: number;
  /** The window whose limit was reached (over-limit records); null for records of no window (anomalies). */
  window: 'hour' | 'day' | null;
  /** What was done with the message: 'hold' or 'defer' (over-limit records); null otherwise. */
  action: string | null;
  count: number;
  lastAtMs: number;
}

/** What the report says of an object now; null when it is gone or the asking person may not see it. */
export interface ReportObject {
  name: string;
  /** The customer who owns the object's subscription, and their reseller (null: the administrator's own). */
  customer: string;
  reseller: string | null;
  hourlyLimit: Limit;
  dailyLimit: Limit;
}

export interface ReportRow {
  level: Level;
  name: string;
  customer: string;
  reseller: string | null;
  /** Over-limit events in all: by the window that was reached, and by what was done with the message. */
  overLimitEvents: number;
  hourlyLimitReached: number;
  dailyLimitReached: number;
  held: number;
  deferred: number;
  anomalies: number;
  /** The newest event of any kind, ISO 8601. */
  lastEventAt: string;
  /** The limits in force now. */
  hourlyLimit: Limit;
  dailyLimit: Limit;
}

/** "7d" (1d..31d) as a number of days; null for anything else. */
export function parseReportSince(text: string): number | null {
  const match = /^([0-9]{1,2})d$/.exec(text.trim());
  if (!match) return null;
  const days = Number(match[1]);
  return days >= REPORT_MIN_DAYS && days <= REPORT_MAX_DAYS ? days : null;
}

/**
 * One row per object that has any event, most events first (newest first among equals). Groups of objects
 * `describe` does not know (deleted, or not the asking person's) are left out, so nobody learns of them.
 */
export function buildReport(groups: Iterable<ReportEventGroup>, describe: (level: Level, objectId: number) => ReportObject | null): ReportRow[] {
  const rows = new Map<string, ReportRow & { lastAtMs: number }>();
  for (const group of groups) {
    const id = `${group.level}:${group.objectId}`;
    let row = rows.get(id);
    if (!row) {
      const object = describe(group.level, group.objectId);
      if (!object) continue;
      row = {
        level: group.level,
        name: object.name,
        customer: object.customer,
        reseller: object.reseller,
        overLimitEvents: 0,
        hourlyLimitReached: 0,
        dailyLimitReached: 0,
        held: 0,
        deferred: 0,
        anomalies: 0,
        lastEventAt: '',
        hourlyLimit: object.hourlyLimit,
        dailyLimit: object.dailyLimit,
        lastAtMs: -Infinity,
      };
      rows.set(id, row);
    }
    if (group.kind === 'anomaly') {
      row.anomalies += group.count;
    } else {
      row.overLimitEvents += group.count;
      if (group.window === 'day') row.dailyLimitReached += group.count;
      else row.hourlyLimitReached += group.count;
      if (group.action === 'hold') row.held += group.count;
      else if (group.action === 'defer') row.deferred += group.count;
    }
    row.lastAtMs = Math.max(row.lastAtMs, group.lastAtMs);
  }
  return [...rows.values()]
    .sort((a, b) => b.overLimitEvents + b.anomalies - (a.overLimitEvents + a.anomalies) || b.lastAtMs - a.lastAtMs || a.name.localeCompare(b.name))
    .map(({ lastAtMs, ...row }) => ({ ...row, lastEventAt: new Date(lastAtMs).toISOString() }));
}

/** The CSV columns, in order: header text and the row's value. */
const CSV_COLUMNS: Array<[string, (row: ReportRow) => string | number]> = [
  ['level', (r) => r.level],
  ['name', (r) => r.name],
  ['customer', (r) => r.customer],
  ['reseller', (r) => r.reseller ?? ''],
  ['over_limit_events', (r) => r.overLimitEvents],
  ['hourly_limit_reached', (r) => r.hourlyLimitReached],
  ['daily_limit_reached', (r) => r.dailyLimitReached],
  ['held', (r) => r.held],
  ['deferred', (r) => r.deferred],
  ['anomalies', (r) => r.anomalies],
  ['last_event_at', (r) => r.lastEventAt],
  ['hourly_limit', (r) => r.hourlyLimit],
  ['daily_limit', (r) => r.dailyLimit],
];

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. Text starting with
 * = + - @ (or a tab or CR, which some spreadsheets skip before them) gets a leading ' so a spreadsheet shows it
 * instead of running it as a formula: names come from customers, and a customer is not to be trusted.
 */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report as CSV: a header row, then one line per row, CRLF line ends (RFC 4180). */
export function reportCsv(rows: readonly ReportRow[]): string {
  const lines = [CSV_COLUMNS.map(([header]) => csvCell(header)).join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map(([, value]) => csvCell(value(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
