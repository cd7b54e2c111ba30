import { canSee } from '../../core/access.js';
import { counterKey } from '../../core/directory.js';
import { buildReport, reportCsv, type ReportEventGroup, type ReportRow } from '../../core/report.js';
import { reportEventGroups } from '../../store/report-sources.js';
import type { ApiContext } from '../context.js';
import { TextAnswer, type RouteTable } from '../route-table.js';
import { reportQuery } from '../schemas.js';

const DAY_MS = 86_400_000;
/**
 * How long one reading of the events serves the reports of its period: a month of a flood is up to a million
 * rows (0.07 s for a day, 0.5 s for a week, 2 s for the month, measured), and callers asking again and again must
 * not stall the daemon each time.
 */
const REPORT_REUSE_MS = 30_000;

export function reportRoutes(routes: RouteTable, context: ApiContext): void {
  const readings = new Map<number, { atMs: number; groups: ReportEventGroup[] }>();
  const eventGroups = (nowMs: number, days: number): { atMs: number; groups: ReportEventGroup[] } => {
    let reading = readings.get(days);
    if (!reading || nowMs - reading.atMs >= REPORT_REUSE_MS || nowMs < reading.atMs) {
      // What is still buffered belongs in the report.
      context.flushCounts();
      reading = { atMs: nowMs, groups: reportEventGroups(context.db, nowMs, days) };
      readings.set(days, reading);
    }
    return reading;
  };

  routes.add({
    method: 'GET',
    path: '/report',
    summary:
      'Objects that reached a limit in the last `since` days (1d..31d), as far as you may see them (each period read at most every 30 seconds: `from` says from when): per object its level, name, owner, over-limit events by window (hourly/daily) and by what was done (held/deferred), the last time and its limits now; most events first. JSON by default; CSV with `format=csv` or `Accept: text/csv` (a header row, RFC 4180 quoting; text starting with = + - @ is prefixed with \')',
    tag: 'events',
    query: reportQuery,
    alsoProduces: ['text/csv'],
    handler: ({ identity, query, request }): { since: string; from: string; items: ReportRow[] } | TextAnswer => {
      const { atMs: nowMs, groups } = eventGroups(context.nowMs(), query.since);
      const fromMs = nowMs - query.since * DAY_MS;
      const directory = context.enforcer.directory;
      const items = buildReport(groups, (level, id) => {
        const object = directory.byCounterKey.get(counterKey(level, id));
        if (!object || !canSee(identity, object)) return null;
        return {
          name: object.name,
          customer: object.owner.customer,
          reseller: object.owner.reseller,
          hourlyLimit: object.effective.limit,
          dailyLimit: object.daily.effective.limit,
        };
      });
      const wantsCsv = query.format === 'csv' || (query.format === undefined && /\btext\/csv\b/i.test(request.headers.accept ?? ''));
      if (wantsCsv) {
        const day = new Date(nowMs).toISOString().slice(0, 10);
        return new TextAnswer('text/csv; charset=utf-8', reportCsv(items), `outgoing-mail-limits-report-${query.since}d-${day}.csv`);
      }
      return { since: `${query.since}d`, from: new Date(fromMs).toISOString(), items };
    },
  });
}
