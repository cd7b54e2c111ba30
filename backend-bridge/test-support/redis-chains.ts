import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { counterKey, type ChargedObject } from '../src/core/directory.js';
import type { Limit, Level } from '../src/core/limits.js';
import { RedisServer } from './redis-server.js';

/** One object of a sender's chain with its hourly and daily limits (its own values), as the directory makes it. */
export function chargedObject(level: Level, id: number, name: string, hour: Limit, day: Limit, parent: ChargedObject | null): ChargedObject {
  return {
    level,
    id,
    name,
    counterKey: counterKey(level, id),
    own: null,
    plan: null,
    lock: null,
    effective: { limit: hour, source: 'own' },
    daily: { own: null, plan: null, effective: { limit: day, source: 'own' } },
    recipients: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } },
    parent,
    owner: { customer: 'jdoe', reseller: null },
  };
}

/** mailbox → domain → subscription of `sub<id>.test`, innermost first, as SenderIdentity.chain; [hour, day] limits. */
export function chainOf(id: number, limits: { mailbox?: [Limit, Limit]; domain?: [Limit, Limit]; subscription?: [Limit, Limit] } = {}): ChargedObject[] {
  const [sh, sd] = limits.subscription ?? ['unlimited', 'unlimited'];
  const [dh, dd] = limits.domain ?? ['unlimited', 'unlimited'];
  const [mh, md] = limits.mailbox ?? ['unlimited', 'unlimited'];
  const subscription = chargedObject('subscription', id, `sub${id}.test`, sh, sd, null);
  const domain = chargedObject('domain', id, `sub${id}.test`, dh, dd, subscription);
  return [chargedObject('mailbox', id, `alice@sub${id}.test`, mh, md, domain), domain, subscription];
}

/** Connection errors reach the test through the rejected commands; the client's own error event stays quiet. */
export function quiet(client: Redis): Redis {
  client.on('error', () => undefined);
  return client;
}

/**
 * A throwaway redis-server for the test file, emptied before each test: `server()` and `redis()` (a client of it)
 * are there from the file's first test on.
 */
export function freshRedisPerTest(options: Parameters<typeof RedisServer.start>[0] = {}): { server: () => RedisServer; redis: () => Redis } {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start(options);
    redis = quiet(new Redis({ ...server.connection, maxRetriesPerRequest: 1 }));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  beforeEach(async () => {
    await redis.flushall();
  });
  return { server: () => server, redis: () => redis };
}

/** A second near Redis's own clock, so TTLs computed from it are what they would be live. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds] = await redis.time();
  return Number(seconds);
}
