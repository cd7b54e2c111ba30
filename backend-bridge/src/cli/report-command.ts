import type { Command, Option } from 'commander';
import { counterKey, DirectoryIndex } from '../core/directory.js';
import { buildReport, parseReportSince, reportCsv, REPORT_MAX_DAYS, REPORT_MIN_DAYS, type ReportRow } from '../core/report.js';
import { streamDirectory } from '../store/directory-store.js';
import { reportEventGroups } from '../store/report-sources.js';
import { readSettings } from '../store/settings-store.js';
import type { Db } from '../store/database.js';
import { expectOk, UserError, viaDaemonOrStore } from './daemon-or-store.js';

/** The report read from the store itself (the daemon is not running): the local command sees everything. */
function reportFromStore(db: Db, days: number): ReportRow[] {
  const directory = new DirectoryIndex(streamDirectory(db), readSettings(db));
  return buildReport(reportEventGroups(db, Date.now(), days), (level, id) => {
    const object = directory.byCounterKey.get(counterKey(level, id));
    return object
      ? { name: object.name, customer: object.owner.customer, reseller: object.owner.reseller, hourlyLimit: object.effective.limit, dailyLimit: object.daily.effective.limit }
      : null;
  });
}

/** A customer chose the names: control characters (a terminal's escape sequences) are shown as "?". */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function reportTable(rows: readonly ReportRow[], days: number): string {
  if (rows.length === 0) return `No object reached a limit in the last ${days} ${days === 1 ? 'day' : 'days'}.`;
  const limit = (value: ReportRow['hourlyLimit']) => (value === 'unlimited' ? 'Unlimited' : String(value));
  const table = [['LEVEL', 'NAME', 'CUSTOMER', 'EVENTS', 'HOURLY', 'DAILY', 'HELD', 'DEFERRED', 'ANOMALIES', 'LAST', 'LIMIT/HOUR', 'LIMIT/DAY']];
  for (const row of rows) {
    table.push([
      row.level,
      printable(row.name),
      printable(row.customer),
      String(row.overLimitEvents),
      String(row.hourlyLimitReached),
      String(row.dailyLimitReached),
      String(row.held),
      String(row.deferred),
      String(row.anomalies),
      row.lastEventAt.replace('T', ' ').slice(0, 16),
      limit(row.hourlyLimit),
      limit(row.dailyLimit),
    ]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table.map((line) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function registerReportCommand(program: Command, dataDirOption: () => Option): void {
  program
    .command('report')
    .description('objects that reached a limit in the last days: events by window, held/deferred, the last time, limits now')
    .addOption(dataDirOption())
    .option('--since <days>', `how far back: ${REPORT_MIN_DAYS}d to ${REPORT_MAX_DAYS}d`, '7d')
    .option('--csv', 'CSV with a header row (RFC 4180; text starting with = + - @ gets a leading \')')
    .option('--json', 'machine-readable output')
    .action(async (options: { dataDir: string; since: string; csv?: boolean; json?: boolean }) => {
      const days = parseReportSince(options.since);
      if (days === null) throw new UserError(`--since "${printable(options.since)}": must be a number of days from ${REPORT_MIN_DAYS}d to ${REPORT_MAX_DAYS}d, like 7d`);
      const rows = await viaDaemonOrStore(
        options.dataDir,
        async (client) => (expectOk(await client.request('GET', `/api/v1/report?since=${days}d`)) as { items: ReportRow[] }).items,
        (db) => reportFromStore(db, days),
        'read',
      );
      if (options.csv) process.stdout.write(reportCsv(rows));
      else if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(`${reportTable(rows, days)}\n`);
    });
}
