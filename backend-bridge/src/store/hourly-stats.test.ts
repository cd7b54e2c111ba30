import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiHarness } from '../../test-support/api-harness.js';
import { HOUR_SECONDS } from '../enforcement/enforcer.js';
import { forEachCounterStep } from './counter-batches.js';
import { DATABASE_FILE, openDatabase, schemaVersion } from './database.js';
import { bucketedStats, hourlyStats, HOUR_MS, KEEP_DAYS, KEEP_HOURS, STATS_PERIODS } from './hourly-stats.js';
import { MIGRATIONS } from './migrations.js';
import { OVER_LIMIT_EVENT_KEEP_DAYS, OverLimitEventLog, recentOverLimitEvents } from './over-limit-events.js';
import { updateSettings } from './settings-store.js';

describe('hourly statistics', () => {
  let h: ApiHarness;
  beforeEach(async () => {
    h = await ApiHarness.start(); // defaults: mailbox 3, domain 5, subscription 8
  });
  afterEach(() => h.close());

  const idOf = (level: 'mailbox' | 'domain' | 'subscription', name: string) => ({ level, id: h.enforcer.directory.find(level, name)!.id });
  const prune = () => {
    h.flush();
    return h.journal.pruneBefore(Math.floor(h.nowMs / 1000) - HOUR_SECONDS);
  };
  const sent = (target: ReturnType<typeof idOf> | null, hours = 24) => hourlyStats(h.db, target, h.nowMs, hours).map((b) => b.sent);
  const blocked = (target: ReturnType<typeof idOf> | null, hours = 24) => hourlyStats(h.db, target, h.nowMs, hours).map((b) => b.held + b.deferred);

  it('keeps what left the window as hourly rows, so the day is complete while the journal stays an hour long', () => {
    const firstHour = h.nowMs;
    expect(h.sendMany('alice@example.com', 2)).toBe(2);
    h.advance(2 * HOUR_SECONDS + 60);
    expect(h.sendMany('alice@example.com', 1)).toBe(1);
    expect(h.sendMany('bob@example.com', 1)).toBe(1);
    expect(h.sendMany('mallory@other.org', 1)).toBe(1);
    prune();

    const oldestKept = Math.floor(h.nowMs / 1000) - HOUR_SECONDS;
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM counter_batches WHERE first_second < ?').get(oldestKept)).toEqual({ n: 0 });
    const kept: number[] = [];
    forEachCounterStep(h.db, {}, (_key, _second, amount) => kept.push(amount));
    expect(kept.sort()).toEqual([1, 1, 1, 1, 1, 2, 2]); // one step per object of the last three chains, in the same second
    expect(sent(idOf('mailbox', 'alice@example.com'), 3)).toEqual([2, 0, 1]);
    expect(sent(idOf('mailbox', 'bob@example.com'), 3)).toEqual([0, 0, 1]);
    expect(sent(idOf('domain', 'example.com'), 3)).toEqual([2, 0, 2]);
    expect(sent(idOf('subscription', 'example.com'), 3)).toEqual([2, 0, 2]);
    expect(sent(idOf('subscription', 'other.org'), 3)).toEqual([0, 0, 1]);
    expect(sent(null, 3)).toEqual([2, 0, 3]);
    expect(hourlyStats(h.db, null, h.nowMs, 3)[0]?.start).toBe(new Date(firstHour).toISOString());

    // Pruning again adds nothing twice.
    prune();
    expect(sent(null, 3)).toEqual([2, 0, 3]);
  });

  it('counts a refused message as blocked for every level of its sender, whichever level tripped', () => {
    expect(h.sendMany('alice@example.com', 4)).toBe(3); // the mailbox limit trips
    expect(h.sendMany('bob@example.com', 3)).toBe(2); // the domain limit (5) trips
    h.flush();
    expect(blocked(idOf('mailbox', 'alice@example.com'), 1)).toEqual([1]);
    expect(blocked(idOf('mailbox', 'bob@example.com'), 1)).toEqual([1]);
    expect(blocked(idOf('mailbox', 'carol@example.com'), 1)).toEqual([0]);
    expect(blocked(idOf('domain', 'example.com'), 1)).toEqual([2]);
    expect(blocked(idOf('subscription', 'example.com'), 1)).toEqual([2]);
    expect(blocked(idOf('subscription', 'other.org'), 1)).toEqual([0]);
    expect(blocked(null, 1)).toEqual([2]);
  });

  it('shows held mail as held in its hour and as released in the hour it left, never as refused or sent twice', async () => {
    await h.close();
    h = await ApiHarness.start({ heldWithoutPostfix: true });
    const held = h.held!;
    expect(h.sendMany('alice@example.com', 4)).toBe(3); // the 4th is held (over-limit action "hold")
    h.recordHeld('AAAAAA1', 'alice@example.com');
    h.flush();
    h.advance(HOUR_SECONDS + 60);
    // The worker's release an hour later: counted like a new message, and the record closed as released.
    const record = held.store.stillHeld()[0]!;
    h.enforcer.chargeAnyway(held.chainOf(record), record.weight);
    expect(held.store.resolve(record.id, 'released', 'worker', h.nowMs)).toBe(true);
    updateSettings(h.db, { overLimitAction: 'defer' });
    h.sync.reloadIfChanged();
    expect(h.sendMany('bob@example.com', 4)).toBe(3); // the 4th is deferred
    h.flush();

    const buckets = (target: ReturnType<typeof idOf> | null) =>
      hourlyStats(h.db, target, h.nowMs, 2).map(({ sent, held, released, deferred }) => ({ sent, held, released, deferred }));
    expect(buckets(idOf('mailbox', 'alice@example.com'))).toEqual([
      { sent: 3, held: 1, released: 0, deferred: 0 },
      { sent: 0, held: 0, released: 1, deferred: 0 },
    ]);
    expect(buckets(idOf('mailbox', 'bob@example.com'))).toEqual([
      { sent: 0, held: 0, released: 0, deferred: 0 },
      { sent: 3, held: 0, released: 0, deferred: 1 },
    ]);
    for (const target of [idOf('domain', 'example.com'), idOf('subscription', 'example.com'), null]) {
      expect(buckets(target)).toEqual([
        { sent: 3, held: 1, released: 0, deferred: 0 },
        { sent: 3, held: 0, released: 1, deferred: 1 },
      ]);
    }
    expect(buckets(idOf('subscription', 'other.org'))).toEqual([
      { sent: 0, held: 0, released: 0, deferred: 0 },
      { sent: 0, held: 0, released: 0, deferred: 0 },
    ]);
  });

  it('keeps hourly rows a week and daily rows 31 days, counted back from the journal\'s oldest second', () => {
    h.sendMany('alice@example.com', 1);
    h.advance(2 * HOUR_SECONDS);
    prune();
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM hourly_sent').get()).toEqual({ n: 3 });
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM daily_sent').get()).toEqual({ n: 3 });
    // Two days on (the old limit of hourly rows) nothing is forgotten: the 7-day chart needs them.
    h.advance(48 * HOUR_SECONDS);
    prune();
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM hourly_sent').get()).toEqual({ n: 3 });
    // Past a week the hours go; their day stays.
    h.advance((KEEP_HOURS + 1) * HOUR_SECONDS);
    prune();
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM hourly_sent').get()).toEqual({ n: 0 });
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM hourly_server_sent').get()).toEqual({ n: 0 });
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM daily_sent').get()).toEqual({ n: 3 });
    expect(bucketedStats(h.db, idOf('mailbox', 'alice@example.com'), h.nowMs, STATS_PERIODS['31d']).reduce((sum, b) => sum + b.sent, 0)).toBe(1);
    // Past 31 days the day goes too.
    h.advance(KEEP_DAYS * 24 * HOUR_SECONDS);
    prune();
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM daily_sent').get()).toEqual({ n: 0 });
    expect(h.db.prepare('SELECT COUNT(*) AS n FROM daily_server_sent').get()).toEqual({ n: 0 });
  });

  it('prunes a range of the time-first key, never a scan of the rows it keeps; reads an object by key lookups', () => {
    for (const [table, column] of [['hourly_sent', 'hour'], ['hourly_server_sent', 'hour'], ['daily_sent', 'day'], ['daily_server_sent', 'day']] as const) {
      const plan = h.db.prepare(`EXPLAIN QUERY PLAN DELETE FROM ${table} WHERE ${column} < 5`).all() as Array<{ detail: string }>;
      expect(plan.map((step) => step.detail).join('; '), table).toMatch(/SEARCH .*(PRIMARY KEY|INTEGER PRIMARY KEY) \(/);
    }
    const explained: string[] = [];
    const prepare = h.db.prepare.bind(h.db);
    const spy = vi.spyOn(h.db, 'prepare').mockImplementation(((sql: string) => {
      if (sql.includes('WITH RECURSIVE')) explained.push(...(prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ first: 1, last: 2, key: 5 }) as Array<{ detail: string }>).map((s) => s.detail));
      return prepare(sql);
    }) as typeof h.db.prepare);
    bucketedStats(h.db, idOf('mailbox', 'alice@example.com'), h.nowMs, STATS_PERIODS['7d']);
    bucketedStats(h.db, idOf('mailbox', 'alice@example.com'), h.nowMs, STATS_PERIODS['31d']);
    spy.mockRestore();
    expect(explained.filter((d) => /(hourly|daily)_sent/.test(d))).toEqual([
      expect.stringMatching(/SEARCH hourly_sent USING PRIMARY KEY \((hour=\? AND counter_key=\?)\)/),
      expect.stringMatching(/SEARCH daily_sent USING PRIMARY KEY \((day=\? AND counter_key=\?)\)/),
    ]);
  });

  it('shows 24 hourly bars, 28 six-hour bars over 7 days and 31 daily bars, each whole across the roll-up', () => {
    const alice = idOf('mailbox', 'alice@example.com');
    // One message an hour, for 40 days: hours roll up while the journal keeps the last day.
    const dayMs = 24 * HOUR_MS;
    h.advance(((Math.ceil(h.nowMs / dayMs) * dayMs - h.nowMs) / 1000) + 30 * 60); // half past midnight UTC
    for (let hour = 0; hour < 40 * 24; hour++) {
      expect(h.sendMany('alice@example.com', 1)).toBe(1);
      h.advance(HOUR_SECONDS);
      if (hour % 24 === 23) prune();
    }
    prune();
    const day = bucketedStats(h.db, alice, h.nowMs, STATS_PERIODS['24h']);
    const week = bucketedStats(h.db, alice, h.nowMs, STATS_PERIODS['7d']);
    const month = bucketedStats(h.db, alice, h.nowMs, STATS_PERIODS['31d']);
    expect(day).toHaveLength(24);
    expect(week).toHaveLength(28);
    expect(month).toHaveLength(31);
    expect(day.slice(0, -1).every((b) => b.sent === 1)).toBe(true);
    // Bars start at whole UTC 6-hour and day boundaries.
    expect(week.every((b) => new Date(b.start).getUTCHours() % 6 === 0)).toBe(true);
    expect(month.every((b) => new Date(b.start).getUTCHours() === 0)).toBe(true);
    // Every whole bar holds one message per hour of it, whether it came from the journal, hours or days.
    expect(week.slice(0, -1).map((b) => b.sent)).toEqual(Array(27).fill(6));
    expect(month.slice(0, -1).map((b) => b.sent)).toEqual(Array(30).fill(24));
    // The server's chart is the sum of its subscriptions: the same here.
    expect(bucketedStats(h.db, null, h.nowMs, STATS_PERIODS['31d']).map((b) => b.sent)).toEqual(month.map((b) => b.sent));
  });
});

describe('over-limit events', () => {
  it('are kept 31 whole days, for the 31-day chart and the report', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-events-')));
    const log = new OverLimitEventLog(db);
    const at = 100 * 24 * HOUR_MS;
    log.record({
      atMs: at, level: 'mailbox', window: 'hour', recipientMaximum: null, objectId: 1, objectName: 'alice@example.com', sender: 'alice@example.com', saslUsername: null,
      recipientCount: 1, queueId: null, clientAddress: null, action: 'hold', reason: 'over', mailboxId: 1, domainId: 1, subscriptionId: 1,
    });
    log.flush();
    log.prune(at + 31 * 24 * HOUR_MS + 1);
    expect(recentOverLimitEvents(db, 10)).toHaveLength(1);
    log.prune(at + (OVER_LIMIT_EVENT_KEEP_DAYS * 24 + 1) * HOUR_MS);
    expect(recentOverLimitEvents(db, 10)).toHaveLength(0);
    db.close();
  });
});

describe('schema version 15 (31 days of statistics)', () => {
  it('upgrades a store with hourly rows: their days are there at once, for the object and the server', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-days-'));
    const old = new Database(path.join(dir, DATABASE_FILE));
    for (const step of MIGRATIONS.filter((m) => m.version < 15)) old.exec(step.sql);
    old.pragma('user_version = 14');
    const day = 20_000;
    for (const [hour, amount] of [[day * 24 + 1, 2], [day * 24 + 23, 3], [day * 24 + 24, 4]] as const) {
      old.prepare('INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?)').run(4, hour, amount);
      old.prepare('INSERT INTO hourly_server_sent (hour, amount) VALUES (?, ?)').run(hour, amount);
    }
    old.close();

    const db = openDatabase(dir);
    expect(db.prepare('SELECT day, amount FROM daily_sent ORDER BY day').raw().all()).toEqual([[day, 5], [day + 1, 4]]);
    expect(db.prepare('SELECT day, amount FROM daily_server_sent ORDER BY day').raw().all()).toEqual([[day, 5], [day + 1, 4]]);
    const month = bucketedStats(db, null, (day + 1) * 24 * HOUR_MS + HOUR_MS, STATS_PERIODS['31d']);
    expect(month.slice(-2).map((b) => b.sent)).toEqual([5, 4]);
    db.close();
  });
});

describe('store size of 31 days of statistics', () => {
  it('daily rows beyond a week keep the store at a fraction of 31 days of hourly rows', () => {
    const sizeOf = (build: (db: Database.Database) => void): number => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-size-'));
      const db = openDatabase(dir);
      build(db);
      db.exec('VACUUM');
      const size = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
      db.close();
      return size;
    };
    const keys = 300;
    const hourly = (hours: number) => (db: Database.Database) => {
      const insert = db.prepare('INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let key = 0; key < keys; key++) for (let hour = 0; hour < hours; hour++) insert.run(key * 4, 500_000 + hour, 7);
      })();
    };
    const allHourly = sizeOf(hourly(31 * 24));
    const weekAndDays = sizeOf((db) => {
      hourly(7 * 24)(db);
      const insert = db.prepare('INSERT INTO daily_sent (counter_key, day, amount) VALUES (?, ?, ?)');
      db.transaction(() => {
        for (let key = 0; key < keys; key++) for (let day = 0; day < 31; day++) insert.run(key * 4, 20_000 + day, 168);
      })();
    });
    const empty = sizeOf(() => {});
    expect((weekAndDays - empty) / (allHourly - empty)).toBeLessThan(0.4);
  });
});

describe('schema version 3 (statistics)', () => {
  it('upgrades a version 2 store that already has over-limit events', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-stats-'));
    const old = new Database(path.join(dir, DATABASE_FILE));
    for (const step of MIGRATIONS.filter((m) => m.version <= 2)) old.exec(step.sql);
    old.pragma('user_version = 2');
    old
      .prepare(
        `INSERT INTO over_limit_events (at_ms, level, object_id, object_name, sender, sasl_username, recipient_count, queue_id, client_address, action, reason)
         VALUES (?, 'mailbox', 1, 'alice@example.com', 'alice@example.com', NULL, 1, NULL, NULL, 'defer', 'over')`,
      )
      .run(HOUR_MS * 10);
    old.close();

    const db = openDatabase(dir);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    expect(recentOverLimitEvents(db, 10).map((e) => e.objectName)).toEqual(['alice@example.com']);
    // Events from before the upgrade know no chain: they count for the server only.
    expect(hourlyStats(db, null, HOUR_MS * 10, 1)).toEqual([{ start: new Date(HOUR_MS * 10).toISOString(), sent: 0, held: 0, released: 0, deferred: 1 }]);
    expect(hourlyStats(db, { level: 'mailbox', id: 1 }, HOUR_MS * 10, 1)[0]?.deferred).toBe(0);
    db.close();
  });
});
