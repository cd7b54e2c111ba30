import { Redis } from 'ioredis';
import pino from 'pino';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChargedObject } from '../src/core/directory.js';
import { COUNT_WINDOWS, RedisCounts } from '../src/counters/redis-counts.js';
import { ALONE_PRUNE_SECONDS, ClusterAwayError, ClusterCounting, keptAloneSecond } from '../src/enforcement/cluster-counting.js';
import { chainOf, freshRedisPerTest, redisNow } from '../test-support/redis-chains.js';

const DAY = 86_400;
const HOUR = 3_600;
const silent = pino({ level: 'silent' });

/** The cluster's counts with a Redis that is away until told otherwise (its script cannot be loaded). */
class CountsAwayAtFirst extends RedisCounts {
  away = true;
  override async load(): Promise<void> {
    if (this.away) throw new Error('connect ECONNREFUSED (the test says Redis is away)');
    return super.load();
  }
}

const fresh = freshRedisPerTest({ tcp: false });
let redis: Redis;
beforeAll(() => {
  redis = fresh.redis();
});

describe('counts made alone', () => {
  it('are kept where Redis would file them: dropped once the day has let go, per minute of the day once the hour has', () => {
    const now = 1_800_000_000;
    // Within the hour: at its own second.
    expect(keptAloneSecond(now - 10, now, COUNT_WINDOWS)).toBe(now - 10);
    expect(keptAloneSecond(now - HOUR + 1, now, COUNT_WINDOWS)).toBe(now - HOUR + 1);
    // Out of the hour, inside the day: at the end of its minute, unless that end is still inside the hour.
    expect(keptAloneSecond(now - HOUR - 100, now, COUNT_WINDOWS)).toBe(Math.ceil((now - HOUR - 100) / 60) * 60);
    expect(keptAloneSecond(now - HOUR - 30, now, COUNT_WINDOWS)).toBe(now - HOUR);
    // Its minute ends inside the hour: kept at its own second (at the minute's end it would count in the hour).
    expect(keptAloneSecond(now - HOUR + 45, now + 50, COUNT_WINDOWS)).toBe(now - HOUR + 45);
    // Out of the day: dropped, exactly where the count script drops it (step ceil(s/60) <= floor(now/60) - 1440).
    const lastMinuteOut = (Math.floor(now / 60) - 1440) * 60;
    expect(keptAloneSecond(lastMinuteOut, now, COUNT_WINDOWS)).toBeNull();
    expect(keptAloneSecond(lastMinuteOut + 1, now, COUNT_WINDOWS)).toBe(lastMinuteOut + 60);
    expect(keptAloneSecond(now - 2 * DAY, now, COUNT_WINDOWS)).toBeNull();
  });

  it('a busy node alone for two days keeps at most an hour of seconds and a day of minutes per object, not every second', () => {
    const counting = new ClusterCounting(new RedisCounts(redis), redis, silent);
    const chain = chainOf(1);
    const start = 1_800_000_000;
    // One message a second for two days, on this node's (fake) clock: 172,800 seconds on each of 3 objects.
    for (let second = start; second < start + 2 * DAY; second++) counting.countedAlone(chain, second, 1);
    const kept = counting.describe().waitingAdditions;
    // Before: every second of the two days was kept, 518,400 entries. Now: the last hour's seconds (and the
    // five minutes between two looks), the day's minutes.
    expect(kept).toBeLessThanOrEqual(3 * (HOUR + ALONE_PRUNE_SECONDS + DAY / 60 + 1));
    expect(kept).toBeGreaterThanOrEqual(3 * (HOUR + DAY / 60 - 60));
  });

  it('a day alone is added at catch-up as it was counted: the last hour by the second, the day by the minute, nothing older', async () => {
    const counts = new CountsAwayAtFirst(redis);
    const counting = new ClusterCounting(counts, redis, silent, undefined, Date.now, 20);
    await counting.start();
    expect(counting.state).toBe('alone');
    const chain = chainOf(2);
    const end = await redisNow(redis);
    // Every 10 s from two days ago to two minutes ago, none within 5 minutes of where the hour or the day ends,
    // so the test may take minutes without a count crossing an edge.
    const near = (second: number, edge: number) => Math.abs(second - edge) < 300;
    let inHour = 0;
    let inDay = 0;
    for (let second = end - 2 * DAY; second <= end - 120; second += 10) {
      if (near(second, end - HOUR) || near(second, end - DAY)) continue;
      counting.countedAlone(chain, second, 1);
      if (second > end - HOUR) inHour++;
      if (second > end - DAY) inDay++;
    }
    expect(counting.describe().waitingAdditions).toBeLessThanOrEqual(3 * ((HOUR + ALONE_PRUNE_SECONDS) / 10 + DAY / 60 + 1));

    counts.away = false;
    await vi.waitFor(() => expect(counting.state).toBe('cluster'), { timeout: 10_000, interval: 20 });
    await counting.stop();
    expect(counting.describe().waitingAdditions).toBe(0);
    const snapshot = await counts.read(chain.map((o) => ({ object: o })));
    for (const o of chain) {
      expect(snapshot.used(o, 'hour')).toBe(inHour);
      expect(snapshot.used(o, 'day')).toBe(inDay);
    }
  });
});

describe('a batch of checks Redis refuses for one message\'s fault', () => {
  /** Three messages of three mailboxes asked for in one turn of the event loop: one script call. */
  function threeAtOnce(counting: ClusterCounting, chains: ChargedObject[][]) {
    const now = Math.floor(Date.now() / 1000);
    return Promise.allSettled(chains.map((chain) => counting.checkAndCount(chain, 1, 'messages', now)));
  }

  it('is sent again one by one: only the faulty message is decided by this node, the others count in the cluster, and the node stays in it', async () => {
    const counts = new RedisCounts(redis);
    const counting = new ClusterCounting(counts, redis, silent);
    await counting.start();
    const chains = [chainOf(3), chainOf(4), chainOf(5)];
    // Damage of one message's own: its mailbox's key holds a string, not the counts' hash (WRONGTYPE in the script).
    await redis.set(counts.keyOf(chains[1]![0]!), 'not a hash');
    const [first, faulty, third] = await threeAtOnce(counting, chains);
    expect(first).toMatchObject({ status: 'fulfilled', value: { decision: { allowed: true } } });
    expect(third).toMatchObject({ status: 'fulfilled', value: { decision: { allowed: true } } });
    expect(faulty?.status).toBe('rejected');
    expect((faulty as PromiseRejectedResult).reason).toBeInstanceOf(ClusterAwayError);
    expect(String((faulty as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(counting.state).toBe('cluster');
    // Counted once each in the cluster, not twice: the failed batch counted nothing (every message is checked first).
    const snapshot = await counts.read([{ object: chains[0]![0]! }, { object: chains[2]![0]! }]);
    expect(snapshot.used(chains[0]![0]!, 'hour')).toBe(1);
    expect(snapshot.used(chains[2]![0]!, 'hour')).toBe(1);
    await counting.stop();
  });

  it('a count made alone whose key Redis refuses is dropped at catch-up, not kept for ever: the node comes back and adds the rest', async () => {
    const counts = new CountsAwayAtFirst(redis);
    const counting = new ClusterCounting(counts, redis, silent, undefined, Date.now, 20);
    await counting.start();
    const [damaged, sound] = [chainOf(8), chainOf(9)];
    const now = await redisNow(redis);
    counting.countedAlone(damaged, now - 10, 1);
    counting.countedAlone(sound, now - 10, 1);
    await redis.set(counts.keyOf(damaged[0]!), 'not a hash');
    counts.away = false;
    await vi.waitFor(() => expect(counting.state).toBe('cluster'), { timeout: 10_000, interval: 20 });
    await counting.stop();
    const snapshot = await counts.read([...sound, ...damaged.slice(1)].map((object) => ({ object })));
    for (const object of [...sound, ...damaged.slice(1)]) expect(snapshot.used(object, 'hour')).toBe(1);
  });

  it('a fault of every message of the batch is Redis\'s: the node counts alone', async () => {
    const counts = new RedisCounts(redis);
    const counting = new ClusterCounting(counts, redis, silent, undefined, Date.now, 60_000);
    await counting.start();
    const chains = [chainOf(6), chainOf(7)];
    for (const chain of chains) await redis.set(counts.keyOf(chain[0]!), 'not a hash');
    const results = await threeAtOnce(counting, chains);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(counting.state).toBe('alone');
    await counting.stop();
  });
});
