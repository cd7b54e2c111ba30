import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogSummariser } from './log-summariser.js';

interface Line {
  level: number;
  msg: string;
  kind?: string;
  repeated?: number;
  err?: { message: string; stack?: string };
  error?: string;
  peer?: string;
}

let lines: Line[];
let summariser: LogSummariser;

beforeEach(() => {
  vi.useFakeTimers();
  lines = [];
  summariser = new LogSummariser(pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Line) }), 60_000);
});

afterEach(() => {
  summariser.close();
  vi.useRealTimers();
});

describe('LogSummariser', () => {
  it('writes the first of a kind whole, then one summary per interval with the count', () => {
    for (let i = 0; i < 10_000; i++) summariser.warn('malformed', { peer: `p${i}`, error: `bad ${i}` }, 'malformed policy request answered DUNNO');
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: 'malformed policy request answered DUNNO', kind: 'malformed', peer: 'p0', error: 'bad 0' })]);
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 40, kind: 'malformed', repeated: 9_999, peer: 'p9999', error: 'bad 9999', msg: 'malformed policy request answered DUNNO (repeated 9999 more times)' });
    // Still going on in the next interval: counted again, no new whole line.
    for (let i = 0; i < 500; i++) summariser.warn('malformed', { error: 'again' }, 'malformed policy request answered DUNNO');
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ repeated: 500 });
  });

  it('keeps kinds apart, and forgets a kind that stayed quiet for an interval', () => {
    summariser.warn('a', {}, 'first kind');
    summariser.warn('b', {}, 'second kind');
    summariser.warn('a', {}, 'first kind');
    expect(lines.map((l) => l.msg)).toEqual(['first kind', 'second kind']);
    vi.advanceTimersByTime(60_000);
    expect(lines.map((l) => l.msg)).toEqual(['first kind', 'second kind', 'first kind (repeated 1 more times)']);
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(3);
    summariser.warn('b', { n: 2 }, 'second kind');
    expect(lines[3]).toMatchObject({ msg: 'second kind', n: 2 });
  });

  it('a failing disk writes one stack trace, then counts with the latest message only', () => {
    for (let i = 0; i < 20_000; i++) summariser.error('store-write', { err: new Error(i === 0 ? 'SQLITE_FULL: database or disk is full' : `SQLITE_FULL ${i}`) }, 'writing counters to the store failed; will retry');
    summariser.flush();
    expect(lines).toHaveLength(2);
    expect(lines[0]!.level).toBe(50);
    expect(lines[0]!.err?.stack).toContain('SQLITE_FULL: database or disk is full');
    expect(lines[1]).toMatchObject({ level: 50, repeated: 19_999, err: 'SQLITE_FULL 19999' });
    expect(JSON.stringify(lines[1])).not.toContain('at ');
  });

  it('flush with nothing repeated writes nothing; close stops the timer', () => {
    summariser.warn('once', {}, 'only once');
    summariser.flush();
    summariser.close();
    expect(lines).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
