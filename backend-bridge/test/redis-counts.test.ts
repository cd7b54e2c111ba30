import fc from 'fast-check';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { decideMessage } from '../src/core/decision.js';
import { counterKey, type ChargedObject } from '../src/core/directory.js';
import type { Limit } from '../src/core/limits.js';
import { RollingWindowCounters } from '../src/counters/rolling-window.js';
import { createHash } from 'node:crypto';
import { COUNT_SCRIPT } from '../src/counters/redis-counts.lua.js';
import { COUNT_WINDOWS, RedisCounts, RedisCountsError } from '../src/counters/redis-counts.js';
import { chainOf, chargedObject as object, freshRedisPerTest, quiet, redisNow } from '../test-support/redis-chains.js';
import { RedisSentinelGroup, RedisServer } from '../test-support/redis-server.js';

const fresh = freshRedisPerTest();
let server: RedisServer;
let redis: Redis;
beforeAll(() => {
  server = fresh.server();
  redis = fresh.redis();
});

describe('RedisCounts: concurrent nodes', () => {
  it.each(['mailbox', 'domain', 'subscription'] as const)('lets exactly 100 through a %s limit of 100 hammered by 3 connections × 50 concurrent checks', async (level) => {
    const connections = [0, 1, 2].map(() => quiet(new Redis({ ...server.connection, maxRetriesPerRequest: 1 })));
    try {
      const nodes = connections.map((connection) => new RedisCounts(connection));
      // Several mailboxes (and domains) under one subscription, so only the level under test is shared by all.
      const chains = Array.from({ length: 150 }, (_, i) => {
        const shared = chainOf(1, { [level]: [100, 'unlimited'] });
        const [mailbox, domain, subscription] = shared as [ChargedObject, ChargedObject, ChargedObject];
        if (level === 'mailbox') return shared;
        const ownDomain = level === 'domain' ? domain : { ...domain, id: 10 + (i % 7), counterKey: counterKey('domain', 10 + (i % 7)) };
        return [{ ...mailbox, id: 100 + i, counterKey: counterKey('mailbox', 100 + i), parent: ownDomain }, ownDomain, subscription];
      });
      const results = await Promise.all(chains.map((chain, i) => (nodes[i % 3] as RedisCounts).checkAndCount(chain, 1, 'messages')));
      expect(results.filter((r) => r.decision.allowed)).toHaveLength(100);
      const refused = results.map((r) => r.decision).find((d) => !d.allowed);
      expect(refused && !refused.allowed && refused.tripped.level).toBe(level);
      const snapshot = await nodes[0]!.read([{ object: chains[0]![['mailbox', 'domain', 'subscription'].indexOf(level)]! }]);
      expect(snapshot.used(chains[0]![['mailbox', 'domain', 'subscription'].indexOf(level)]!, 'hour')).toBe(100);
    } finally {
      for (const connection of connections) connection.disconnect();
    }
  });
});

describe('RedisCounts: several messages in one call', () => {
  it('answers a batch exactly as the same messages one call each would be answered, in order', async () => {
    const counts = new RedisCounts(redis, { keyPrefix: 'batch:' });
    const single = new RedisCounts(redis, { keyPrefix: 'single:' });
    // Two mailboxes of one subscription (limits 3 and 5, subscription 6) and one of another (unlimited), weights 1-2.
    const a = chainOf(1, { mailbox: [3, 'unlimited'], subscription: [6, 'unlimited'] });
    const b = [{ ...a[0]!, id: 2, name: 'bob@sub1.test', counterKey: counterKey('mailbox', 2), effective: { limit: 5, source: 'own' as const } }, a[1]!, a[2]!];
    const c = chainOf(3, {});
    const messages = Array.from({ length: 14 }, (_, i) => ({ chain: [a, b, c][i % 3]!, weight: 1 + (i % 2), unit: 'messages' as const }));
    const t = await redisNow(redis);
    const batched = await counts.checkAndCountMany(messages, t);
    const oneByOne = [];
    for (const { chain, weight, unit } of messages) oneByOne.push(await single.checkAndCount(chain, weight, unit, t));
    const shape = (results: typeof batched) => results.map((r) => (r.decision.allowed ? `allowed ${'usedAfter' in r ? JSON.stringify(r.usedAfter) : ''}` : `refused ${r.decision.tripped.level} ${r.decision.used}/${r.decision.limit} ${r.decision.retryAfterSeconds}`));
    expect(shape(batched)).toEqual(shape(oneByOne));
    expect(batched.filter((r) => r.decision.allowed).length).toBeGreaterThan(0);
    expect(batched.filter((r) => !r.decision.allowed).length).toBeGreaterThan(0);
    expect(await counts.checkAndCountMany([])).toEqual([]);
    await expect(counts.checkAndCountMany([{ chain: [], weight: 1, unit: 'messages' }])).rejects.toThrow(/at least one level/);
  });
});

describe('RedisCounts: temporary exemptions', () => {
  it('applies an exemption until its end on the deciding node\'s clock, and words a refusal by the limit in force', async () => {
    const counts = new RedisCounts(redis, { keyPrefix: 'exempt:' });
    const chain = chainOf(1, { mailbox: [2, 'unlimited'] });
    const t = await redisNow(redis);
    const raised = [{ ...chain[0]!, exemption: { hourly: 4, daily: null, startsAtMs: (t - 60) * 1000, endsAtMs: (t + 600) * 1000, setBy: { login: 'admin', role: 'admin' as const } } }, chain[1]!, chain[2]!];
    for (let i = 0; i < 4; i++) expect((await counts.checkAndCount(raised, 1, 'messages', t, t)).decision.allowed).toBe(true);
    expect((await counts.checkAndCount(raised, 1, 'messages', t, t)).decision).toMatchObject({ allowed: false, limit: 4, used: 4 });
    // Past its end, the normal limit of 2 applies (and is what the refusal says).
    expect((await counts.checkAndCount(raised, 1, 'messages', t, t + 600)).decision).toMatchObject({ allowed: false, limit: 2, used: 4 });
    // Without a second for the limits, no exemption applies.
    expect((await counts.checkAndCountMany([{ chain: raised, weight: 1, unit: 'messages' }]))[0]!.decision).toMatchObject({ allowed: false, limit: 2 });
  });
});

describe('RedisCounts: the same answers as the in-process counters and core decision', () => {
  // Short histories are read whole by the script; busy objects (more than 64 fields) are walked step by step.
  it.each([
    { shape: 'short histories, long pauses', maxLimit: 12, maxMessages: 40, runs: 60, advance: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 200 }), fc.integer({ min: 3000, max: 4000 }), fc.integer({ min: 80_000, max: 90_000 })) },
    { shape: 'busy objects, many steps', maxLimit: 400, maxMessages: 160, runs: 12, advance: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 50, max: 70 }), fc.integer({ min: 600, max: 1800 })) },
  ])('gives the same decisions, used figures and waits for random messages, times, weights and limits ($shape)', async ({ maxLimit, maxMessages, runs, advance }) => {
    const limit = fc.oneof(fc.constant<Limit>('unlimited'), fc.integer({ min: 0, max: maxLimit }));
    const step = fc.record({
      member: fc.integer({ min: 0, max: 2 }),
      advance,
      weight: fc.integer({ min: 1, max: 5 }),
      kind: fc.constantFrom('check', 'check', 'check', 'anyway', 'refund'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(limit, limit), { minLength: 3, maxLength: 3 }),
        fc.array(step, { minLength: 1, maxLength: maxMessages }),
        fc.integer({ min: 1_800_000_000, max: 1_800_100_000 }),
        async (limits, steps, start) => {
          await redis.flushall();
          const counts = new RedisCounts(redis);
          // Three mailboxes of two domains in one subscription: levels are shared unevenly.
          const subscription = object('subscription', 1, 's.test', ...(limits[2] as [Limit, Limit]), null);
          const domains = [object('domain', 1, 'a.test', ...(limits[1] as [Limit, Limit]), subscription), object('domain', 2, 'b.test', ...(limits[1] as [Limit, Limit]), subscription)];
          const mailboxes = [0, 1, 2].map((i) => object('mailbox', i + 1, `m${i}@x.test`, ...(limits[0] as [Limit, Limit]), domains[i % 2] as ChargedObject));
          const chains = mailboxes.map((m) => [m, m.parent as ChargedObject, subscription]);
          const hour = new RollingWindowCounters(COUNT_WINDOWS.hour.seconds, COUNT_WINDOWS.hour.stepSeconds);
          const day = new RollingWindowCounters(COUNT_WINDOWS.day.seconds, COUNT_WINDOWS.day.stepSeconds);
          const local = (now: number) => ({
            used: (o: ChargedObject, w: 'hour' | 'day') => (w === 'hour' ? hour : day).used(o.counterKey, now),
            secondsUntilFreed: (o: ChargedObject, amount: number, w: 'hour' | 'day') => (w === 'hour' ? hour : day).secondsUntilFreed(o.counterKey, now, amount),
          });
          const counted: { chain: ChargedObject[]; second: number; weight: number }[] = [];
          let now = start;
          for (const s of steps) {
            now += s.advance;
            const chain = chains[s.member] as ChargedObject[];
            if (s.kind === 'check') {
              const expected = decideMessage(chain, s.weight, 'messages', local(now));
              const got = await counts.checkAndCount(chain, s.weight, 'messages', now);
              expect(got.decision).toEqual(expected);
              if (expected.allowed) {
                for (const o of chain) for (const c of [hour, day]) c.add(o.counterKey, now, s.weight);
                counted.push({ chain, second: now, weight: s.weight });
              }
            } else if (s.kind === 'anyway') {
              expect((await counts.chargeAnyway(chain, s.weight, now)).second).toBe(now);
              for (const o of chain) for (const c of [hour, day]) c.add(o.counterKey, now, s.weight);
              counted.push({ chain, second: now, weight: s.weight });
            } else {
              const taken = counted.shift();
              if (!taken) continue;
              await counts.refund(taken.chain, taken.second, taken.weight, now);
              // Enforcer.refund, on the in-process counters.
              for (const o of taken.chain) {
                if (hour.used(o.counterKey, now) < taken.weight) continue;
                for (const c of [hour, day]) c.add(o.counterKey, taken.second, -taken.weight);
              }
            }
            const objects = [...mailboxes, ...domains, subscription];
            const snapshot = await counts.read(objects.map((o) => ({ object: o, downTo: { hour: 0, day: 0 } })), now);
            for (const o of objects) {
              for (const w of ['hour', 'day'] as const) {
                const used = local(now).used(o, w);
                expect(snapshot.used(o, w)).toBe(used);
                if (used > 0) expect(snapshot.secondsUntilFreed(o, used, w)).toBe(local(now).secondsUntilFreed(o, used, w));
              }
            }
          }
        },
      ),
      { numRuns: runs },
    );
  });
});

describe('RedisCounts: windows, refunds, expiry and faults', () => {
  const limited = () => chainOf(1, { mailbox: [3, 5] });

  it('rolls the hour by the second and the day by the minute (explicit time)', async () => {
    const counts = new RedisCounts(redis);
    const chain = limited();
    const t = 1_800_000_000; // a whole minute
    for (let i = 0; i < 3; i++) expect((await counts.checkAndCount(chain, 1, 'messages', t + i)).decision.allowed).toBe(true);
    const full = await counts.checkAndCount(chain, 1, 'messages', t + 10);
    expect(full.decision).toMatchObject({ allowed: false, window: 'hour', used: 3, retryAfterSeconds: 3600 - 10 });
    expect((await counts.checkAndCount(chain, 1, 'messages', t + 3599)).decision.allowed).toBe(false);
    expect((await counts.checkAndCount(chain, 2, 'messages', t + 3601)).decision.allowed).toBe(true);
    // 5 in the day now: the daily window trips, and frees a day after the minute its first count was filed under.
    const daily = await counts.checkAndCount(chain, 1, 'messages', t + 7300);
    expect(daily.decision).toMatchObject({ allowed: false, window: 'day', used: 5, retryAfterSeconds: t + 86_400 - (t + 7300) });
    expect((await counts.checkAndCount(chain, 1, 'messages', t + 86_400)).decision.allowed).toBe(true);
  });

  it('refunds a held message that did not leave, and "release now" counts past the limit', async () => {
    const counts = new RedisCounts(redis);
    const chain = limited();
    const t = await redisNow(redis);
    const first = await counts.checkAndCount(chain, 2, 'messages', t);
    expect(first.second).toBe(t);
    await counts.refund(chain, t, 2, t + 5);
    let snapshot = await counts.read([{ object: chain[0]! }, { object: chain[2]! }], t + 5);
    expect(snapshot.used(chain[0]!, 'hour')).toBe(0);
    expect(snapshot.used(chain[0]!, 'day')).toBe(0);
    expect(snapshot.used(chain[2]!, 'hour')).toBe(0);
    expect((await counts.chargeAnyway(chain, 5, t + 6)).second).toBe(t + 6);
    snapshot = await counts.read([{ object: chain[0]! }], t + 6);
    expect(snapshot.used(chain[0]!, 'hour')).toBe(5);
    expect(snapshot.secondsUntilFreed(chain[0]!, 5 - 2, 'hour')).toBe(3600);
    // A refund the hour no longer holds changes nothing.
    await counts.refund(chain, t + 6, 5, t + 6 + 3600);
    snapshot = await counts.read([{ object: chain[0]! }], t + 6 + 3600);
    expect(snapshot.used(chain[0]!, 'day')).toBe(5);
  });

  it('says the used figures after each count, and adds the counts a node made alone at the seconds it made them', async () => {
    const counts = new RedisCounts(redis, { keyPrefix: 'alone:' });
    const chain = limited();
    const t = 1_800_000_000;
    const counted = await counts.checkAndCount(chain, 2, 'messages', t);
    expect('usedAfter' in counted ? counted.usedAfter : counted.decision).toEqual([
      { hour: 2, day: 2 },
      { hour: 2, day: 2 },
      { hour: 2, day: 2 },
    ]);
    // Made alone: one at t - 3500 (frees 100 s from t + 10), one older than the hour but inside the day, one older than the day.
    await counts.addMadeAlone(
      [
        { object: chain[0]!, second: t - 3500, amount: 1 },
        { object: chain[0]!, second: t - 7200, amount: 1 },
        { object: chain[0]!, second: t - 90_000, amount: 7 },
        { object: chain[1]!, second: t - 3500, amount: 1 },
      ],
      t + 10,
    );
    const snapshot = await counts.read([{ object: chain[0]!, downTo: { hour: 2 } }, { object: chain[1]! }, { object: chain[2]! }], t + 10);
    expect(snapshot.used(chain[0]!, 'hour')).toBe(3);
    expect(snapshot.used(chain[0]!, 'day')).toBe(4);
    expect(snapshot.secondsUntilFreed(chain[0]!, 1, 'hour')).toBe(t - 3500 + 3600 - (t + 10));
    expect(snapshot.used(chain[1]!, 'hour')).toBe(3);
    expect(snapshot.used(chain[2]!, 'hour')).toBe(2);
    // The mailbox's hour is full (3 of 3) with what was made alone: the next message is refused.
    expect((await counts.checkAndCount(chain, 1, 'messages', t + 10)).decision).toMatchObject({ allowed: false, window: 'hour', used: 3 });
    await expect(counts.addMadeAlone([{ object: chain[0]!, second: t, amount: 0 }], t + 10)).rejects.toThrow(/whole number of units, not 0/);
  });

  it('counts by Redis clock when no time is given', async () => {
    const counts = new RedisCounts(redis);
    const before = await redisNow(redis);
    const counted = await counts.checkAndCount(limited(), 1, 'messages');
    expect(counted.second).toBeGreaterThanOrEqual(before);
    expect(counted.second).toBeLessThanOrEqual(await redisNow(redis));
  });

  it('keeps one hash per object with a TTL that ends when the day has let go of it, and keys vanish by themselves', async () => {
    const counts = new RedisCounts(redis);
    const chain = limited();
    const t = Math.ceil((await redisNow(redis)) / 60) * 60;
    await counts.checkAndCount(chain, 1, 'messages', t);
    const keys = chain.map((o) => counts.keyOf(o));
    expect(keys).toEqual([`ol:{s:${chain[2]!.name}}:m:${chain[0]!.name}`, `ol:{s:${chain[2]!.name}}:d:${chain[1]!.name}`, `ol:{s:${chain[2]!.name}}:s:${chain[2]!.name}`]);
    expect(new Set(keys.map((k) => /\{[^}]+\}/.exec(k)?.[0])).size).toBe(1);
    for (const key of keys) expect(await redis.ttl(key)).toBe(86_400 + 1);
    // Short windows: the keys leave on their own, without any further call.
    const short = new RedisCounts(redis, { windows: { hour: { seconds: 1, stepSeconds: 1 }, day: { seconds: 2, stepSeconds: 1 } }, keyPrefix: 'short:' });
    await short.checkAndCount(chain, 1, 'messages');
    const shortKey = short.keyOf(chain[0]!);
    expect(await redis.exists(shortKey)).toBe(1);
    const deadline = Date.now() + 10_000;
    while ((await redis.exists(shortKey)) === 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await redis.exists(shortKey)).toBe(0);
  });

  it('sets the TTL of a key only when its newest step moves, and always to when that step leaves the day', async () => {
    const counts = new RedisCounts(redis, { keyPrefix: 'ttl:' });
    const chain = limited();
    const key = counts.keyOf(chain[0]!);
    const t = Math.ceil((await redisNow(redis)) / 60) * 60;
    // t + 1 and t + 30 share the daily step ending at t + 60: the key lives until that step has left the day.
    await counts.chargeAnyway(chain, 1, t + 1);
    const first = await redis.ttl(key);
    // TTL is read on Redis's clock, which may have passed a second boundary since the count.
    expect(first).toBeGreaterThanOrEqual(60 + 86_400 - 1);
    expect(first).toBeLessThanOrEqual(60 + 86_400);
    await redis.expire(key, first + 1_000); // a marker: a count in the same step leaves the TTL alone
    await counts.chargeAnyway(chain, 1, t + 30);
    expect(await redis.ttl(key)).toBeGreaterThan(first + 900);
    // The next minute's step moves the end: the TTL is set again, to the new step's end.
    await counts.chargeAnyway(chain, 1, t + 61);
    expect(await redis.ttl(key)).toBeGreaterThanOrEqual(60 + 86_400 - 1);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(60 + 86_400);
    expect((await counts.read([{ object: chain[0]! }], t + 61)).used(chain[0]!, 'day')).toBe(3);
  });

  it('loads its script again after SCRIPT FLUSH', async () => {
    const counts = new RedisCounts(redis);
    const chain = limited();
    const t = await redisNow(redis);
    await counts.checkAndCount(chain, 1, 'messages', t);
    await redis.script('FLUSH');
    expect((await counts.checkAndCount(chain, 1, 'messages', t)).decision.allowed).toBe(true);
    await redis.script('FLUSH');
    expect((await counts.read([{ object: chain[0]! }], t)).used(chain[0]!, 'hour')).toBe(2);
  });

  it('turns a reply it cannot read into an error, never into "allowed"', async () => {
    const chain = limited();
    const lying = (reply: unknown) => {
      const fake = Object.create(redis) as Redis;
      fake.evalsha = (async () => reply) as unknown as Redis['evalsha'];
      return new RedisCounts(fake);
    };
    for (const reply of [null, 'OK', [], [1], [1, 'soon'], [2, 1_800_000_000], [0, 1_800_000_000], [1, 1_800_000_000, 3]]) {
      await expect(lying(reply).checkAndCount(chain, 1, 'messages', 1_800_000_000)).rejects.toThrow(RedisCountsError);
    }
    // A refusal whose figures say there was room after all is a mismatch, not a pass.
    const roomy = [0, 1_800_000_000, ...Array.from({ length: 12 }, () => 0)];
    await expect(lying(roomy).checkAndCount(chain, 1, 'messages', 1_800_000_000)).rejects.toThrow(/decision allows it/);
    // Redis's own error (a bad argument reaching the script) is named.
    await expect(new RedisCounts(redis).checkAndCount(chain, 1.5, 'messages')).rejects.toThrow(/whole number/);
  });

  it('refuses a Redis that would evict counts when full, naming the setting', async () => {
    const chain = limited();
    try {
      await redis.config('SET', 'maxmemory', '100mb');
      await redis.config('SET', 'maxmemory-policy', 'volatile-lru');
      await expect(new RedisCounts(redis).checkAndCount(chain, 1, 'messages')).rejects.toThrow(/maxmemory-policy volatile-lru.*set maxmemory-policy noeviction/);
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
      expect((await new RedisCounts(redis).checkAndCount(chain, 1, 'messages')).decision.allowed).toBe(true);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  it('fails with the connection error when Redis is away, and counts again once it is back', async () => {
    const counts = new RedisCounts(redis);
    const chain = limited();
    await server.kill();
    await expect(counts.checkAndCount(chain, 1, 'messages')).rejects.toThrow();
    await server.restart();
    const deadline = Date.now() + 10_000;
    let result: Awaited<ReturnType<RedisCounts['checkAndCount']>> | null = null;
    while (result === null && Date.now() < deadline) {
      result = await counts.checkAndCount(chain, 1, 'messages').catch(() => null);
      if (result === null) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(result?.decision.allowed).toBe(true);
  });
});

describe('RedisCounts: Sentinel failover', () => {
  it('counts on through the sentinels once the replica is promoted, with the script loaded again there', async () => {
    const group = await RedisSentinelGroup.start();
    const client = quiet(new Redis({ sentinels: group.sentinels, name: group.masterName, maxRetriesPerRequest: 1 }));
    try {
      const counts = new RedisCounts(client);
      const chain = chainOf(7, { mailbox: [10, 'unlimited'] });
      const t = await (async () => Number((await client.time())[0]))();
      for (let i = 0; i < 4; i++) expect((await counts.checkAndCount(chain, 1, 'messages', t)).decision.allowed).toBe(true);
      // The replica has the counts before the primary goes (Redis replicates asynchronously).
      expect(await client.call('WAIT', '1', '5000')).toBe(1);
      // Redis 7 does not replicate its script cache: the replica must be given the script once it is primary.
      const replica = quiet(new Redis({ host: '127.0.0.1', port: group.replica.port as number }));
      const sha = createHash('sha1').update(COUNT_SCRIPT).digest('hex');
      expect(await replica.script('EXISTS', sha)).toEqual([0]);
      await group.primary.kill();
      const deadline = Date.now() + 30_000;
      let after: Awaited<ReturnType<RedisCounts['checkAndCount']>> | null = null;
      while (after === null) {
        after = await counts.checkAndCount(chain, 1, 'messages', t).catch(() => null);
        if (after === null) {
          expect(Date.now(), 'no primary took over within 30 s').toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      expect(after.decision.allowed).toBe(true);
      expect(((await replica.call('ROLE')) as unknown[])[0]).toBe('master');
      expect(await replica.script('EXISTS', sha)).toEqual([1]);
      replica.disconnect();
      const snapshot = await counts.read([{ object: chain[0]! }], t);
      expect(snapshot.used(chain[0]!, 'hour')).toBe(5);
    } finally {
      client.disconnect();
      await group.stop();
    }
  });
});
