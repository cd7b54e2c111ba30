import { describe, expect, it } from 'vitest';
import { buildReport, csvCell, parseReportSince, reportCsv, type ReportEventGroup, type ReportObject } from './report.js';

const object = (name: string): ReportObject => ({ name, customer: 'jdoe', reseller: 'res1', hourlyLimit: 3, dailyLimit: 'unlimited' });
const group = (over: Partial<ReportEventGroup>): ReportEventGroup => ({ kind: 'over-limit', level: 'mailbox', objectId: 1, window: 'hour', action: 'hold', count: 1, lastAtMs: 0, ...over });

describe('parseReportSince', () => {
  it('takes 1d..31d and nothing else', () => {
    expect(parseReportSince('1d')).toBe(1);
    expect(parseReportSince(' 31d ')).toBe(31);
    for (const text of ['0d', '32d', '7', 'd', '7h', '-1d', '1.5d', '007d', '']) expect(parseReportSince(text), text).toBeNull();
  });
});

describe('buildReport', () => {
  it('sums an object\'s groups by window and action, keeps its newest time, most events first', () => {
    const rows = buildReport(
      [
        group({ objectId: 1, window: 'hour', action: 'hold', count: 2, lastAtMs: 1000 }),
        group({ objectId: 1, window: 'day', action: 'defer', count: 3, lastAtMs: 5000 }),
        group({ objectId: 2, count: 1, lastAtMs: 9000 }),
        group({ kind: 'anomaly', objectId: 2, window: null, action: null, count: 1, lastAtMs: 12_000 }),
        group({ level: 'domain', objectId: 1, count: 2, lastAtMs: 3000 }),
      ],
      (level, id) => object(`${level}-${id}`),
    );
    expect(rows.map((r) => [r.name, r.overLimitEvents, r.hourlyLimitReached, r.dailyLimitReached, r.held, r.deferred, r.anomalies, r.lastEventAt])).toEqual([
      ['mailbox-1', 5, 2, 3, 2, 3, 0, new Date(5000).toISOString()],
      // Two events each: the newer first.
      ['mailbox-2', 1, 1, 0, 1, 0, 1, new Date(12_000).toISOString()],
      ['domain-1', 2, 2, 0, 2, 0, 0, new Date(3000).toISOString()],
    ]);
    expect(rows[0]).toMatchObject({ level: 'mailbox', customer: 'jdoe', reseller: 'res1', hourlyLimit: 3, dailyLimit: 'unlimited' });
  });

  it('leaves out objects it cannot describe (gone, or not the asking person\'s)', () => {
    expect(buildReport([group({ objectId: 1 }), group({ objectId: 2 })], (_level, id) => (id === 2 ? object('mine') : null)).map((r) => r.name)).toEqual(['mine']);
  });
});

describe('CSV', () => {
  it('quotes per RFC 4180 only where needed, doubling quotes', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvCell(12)).toBe('12');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    for (const text of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) expect(csvCell(text).replace(/^"/, '').startsWith("'"), text).toBe(true);
    expect(csvCell('=cmd|\' /c calc\'!A0')).toBe("'=cmd|' /c calc'!A0");
    // Numbers are numbers: a negative figure is not text.
    expect(csvCell(-1)).toBe('-1');
  });

  it('has a header row and CRLF line ends', () => {
    const rows = buildReport([group({})], () => object('a@example.com'));
    const lines = reportCsv(rows).split('\r\n');
    expect(lines[0]?.split(',')[0]).toBe('level');
    expect(lines[1]).toBe(`mailbox,a@example.com,jdoe,res1,1,1,0,1,0,0,${new Date(0).toISOString()},3,unlimited`);
    expect(lines[2]).toBe('');
    expect(reportCsv([])).toBe(`${lines[0]}\r\n`);
  });
});
