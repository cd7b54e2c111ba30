// The cluster bench's Redis figures against a real redis-server: INFO read in one command, and round trips per
// message counted from what clients sent (the counting script's inner calls apart).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChargedObject } from '../backend-bridge/src/core/directory.js';
import type { Level } from '../backend-bridge/src/core/limits.js';
import { RedisCounts } from '../backend-bridge/src/counters/redis-counts.js';
import { RedisServer } from '../backend-bridge/test-support/redis-server.js';
import { chargedObject } from './charged-object.js';
import { redisCallsPerMessage } from './cluster-figures.js';
import { readRedisInfo } from './cluster.js';

function object(level: Level, id: number, limit: number, parent: ChargedObject | null): ChargedObject {
  return chargedObject(level, id, { hour: limit, day: 'unlimited' }, parent);
}

function chain(id: number): ChargedObject[] {
  const subscription = object('subscription', id, 1000, null);
  const domain = object('domain', id, 1000, subscription);
  return [object('mailbox', id, 100, domain), domain, subscription];
}

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await RedisServer.start({ unixSocket: false });
  redis = new Redis({ ...server.connection, maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

/** `messages` messages over 10 mailboxes, 20 in flight at a time, each decided by `send`. */
async function sendAll(messages: number, send: (chain: ChargedObject[]) => Promise<unknown>): Promise<void> {
  const chains = Array.from({ length: 10 }, (_, k) => chain(k + 1));
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    for (let i = next++; i < messages; i = next++) await send(chains[i % chains.length] as ChargedObject[]);
  }));
}

describe('Redis calls per message, measured on a real redis-server', () => {
  it('reads every section in one INFO: version, stats, commandstats, cpu, memory, keyspace', async () => {
    await redis.set('k', '1');
    const info = await readRedisInfo(redis);
    expect(info.get('redis_version')).toMatch(/^7\./);
    for (const field of ['total_commands_processed', 'used_cpu_user', 'used_memory', 'cmdstat_set', 'db0']) expect(info.has(field)).toBe(true);
  });

  it('finds one round trip per message when each message is one check-and-count script call', async () => {
    const counts = new RedisCounts(redis);
    await counts.load();
    const before = await readRedisInfo(redis);
    // 1,500 messages over 10 mailboxes of limit 100: the first 1,000 allowed, then refusals (also one call each).
    await sendAll(1500, (c) => counts.checkAndCount(c, 1, 'messages'));
    const after = await readRedisInfo(redis);
    const calls = redisCallsPerMessage(before, after, 1500, 1);
    expect(calls.sent).toEqual({ evalsha: 1500 });
    expect(calls.roundTripsPerMessage).toBe(1);
    // Redis counts the script's inner calls in total_commands_processed too.
    expect(calls.commandsPerMessage).toBeGreaterThan(3);
  });

  it('finds two round trips per message when a plain command goes beside the script call', async () => {
    const counts = new RedisCounts(redis);
    await counts.load();
    const before = await readRedisInfo(redis);
    await sendAll(300, async (c) => {
      await redis.get('ol:settings-version');
      return counts.checkAndCount(c, 1, 'messages');
    });
    const after = await readRedisInfo(redis);
    const calls = redisCallsPerMessage(before, after, 300, 1);
    expect(calls.sent).toEqual({ evalsha: 300, get: 300 });
    expect(calls.roundTripsPerMessage).toBe(2);
  });
});
