import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StoreHealth, SUMMARY_INTERVAL_MS, type StoreFailureEvent } from './store-health.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function healthWithClock() {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) });
  const notified: StoreFailureEvent[] = [];
  let nowMs = Date.parse('2026-12-03T12:00:00Z');
  const health = new StoreHealth('/data/outgoing-limits.sqlite', log, (event) => notified.push(event), () => nowMs);
  return { health, lines, notified, advance: (ms: number) => (nowMs += ms) };
}

describe('StoreHealth', () => {
  it('a read failing every 250 ms for two minutes: one line at the start, a summary a minute, one notification', () => {
    const { health, lines, notified, advance } = healthWithClock();
    const error = Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    for (let tick = 0; tick <= 480; tick++) {
      health.failed('read', error);
      advance(250);
    }
    expect(lines.filter((l) => l.msg.startsWith('reading the store failed'))).toHaveLength(1);
    const summaries = lines.filter((l) => l.msg === 'reading the store still fails');
    expect(summaries.length).toBe(2);
    expect(summaries[0]).toMatchObject({ failuresSinceLastReport: SUMMARY_INTERVAL_MS / 250, lastError: 'database disk image is malformed' });
    expect(lines).toHaveLength(3);
    expect(notified).toEqual([{ operation: 'read', error: 'database disk image is malformed', atMs: Date.parse('2026-12-03T12:00:00Z'), file: '/data/outgoing-limits.sqlite' }]);
    expect(health.report()).toEqual({ ok: false, operation: 'read', error: 'database disk image is malformed', since: '2026-12-03T12:00:00.000Z', failures: 481 });
  });

  it('says once when it works again, and reports ok', () => {
    const { health, lines } = healthWithClock();
    health.failed('write', new Error('database or disk is full'));
    health.failed('write', new Error('database or disk is full'));
    health.succeeded('write');
    health.succeeded('write');
    expect(lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^writing to the store failed/), 'writing to the store works again after 2 failed attempts']);
    expect(health.report()).toEqual({ ok: true });
  });

  it('reports the oldest failure still going on', () => {
    const { health, advance } = healthWithClock();
    health.failed('write', new Error('disk full'));
    advance(1000);
    health.failed('read', new Error('malformed'));
    expect(health.report()).toMatchObject({ ok: false, operation: 'write', error: 'disk full' });
    health.succeeded('write');
    expect(health.report()).toMatchObject({ ok: false, operation: 'read', error: 'malformed' });
  });
});
