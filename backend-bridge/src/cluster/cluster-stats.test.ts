import { Redis } from 'ioredis';
import pino from 'pino';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness } from '../../test-support/api-harness.js';
import { eventually } from '../../test-support/daemon-process.js';
import { RedisServer } from '../../test-support/redis-server.js';
import { counterKey } from '../core/directory.js';
import { AMOUNT_PART_TRIPLES, ClusterStatsStore } from '../store/cluster-stats-store.js';
import { prepareCounterBatchInsert } from '../store/counter-batches.js';
import { hourlyStats } from '../store/hourly-stats.js';
import { recentOverLimitEvents } from '../store/over-limit-events.js';
import { ClusterStats, STATS_STREAMS } from './cluster-stats.js';

/** Two nodes' stores, each with its own connection to one real Redis (kept in memory only: a restart loses it). */
let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start({ tcp: false });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

interface Node {
  harness: ApiHarness;
  redis: Redis;
  stats: ClusterStats;
  logLines: string[];
}

async function startNode(name: string): Promise<Node> {
  const harness = await ApiHarness.start(); // mailbox limit 3
  // As the daemon connects: commands fail at once while Redis is away, never queued.
  const redis = new Redis({ path: server.socketPath as string, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  await new Promise((resolve) => redis.once('ready', resolve));
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logLines.push(chunk.toString()), done()) }));
  return { harness, redis, stats: new ClusterStats(redis, new ClusterStatsStore(harness.db), name, log), logLines };
}

describe('sharing over-limit events and statistics through Redis streams', () => {
  let a: Node;
  let b: Node;
  beforeEach(async () => {
    [a, b] = await Promise.all([startNode('node-a'), startNode('node-b')]);
    b.harness.nowMs = a.harness.nowMs;
  });
  afterEach(async () => {
    for (const node of [a, b]) {
      node.redis.disconnect();
      await node.harness.close();
    }
    if (server.socketPath) {
      const cleaner = new Redis({ path: server.socketPath, maxRetriesPerRequest: 1 });
      await cleaner.flushall().catch(() => undefined);
      cleaner.disconnect();
    }
  });

  const aliceSent = (node: Node) => {
    const alice = { level: 'mailbox' as const, id: node.harness.enforcer.directory.find('mailbox', 'alice@example.com')!.id };
    return hourlyStats(node.harness.db, alice, node.harness.nowMs, 24).reduce((sum, bucket) => sum + bucket.sent, 0);
  };

  it('takes in the other node\'s entries, never its own, and a second exchange adds nothing', async () => {
    expect(a.harness.sendMany('alice@example.com', 5)).toBe(3);
    a.harness.flush();
    await a.stats.exchange();
    await b.stats.exchange();
    await a.stats.exchange();
    expect(recentOverLimitEvents(b.harness.db, 50)).toEqual(recentOverLimitEvents(a.harness.db, 50));
    expect(recentOverLimitEvents(a.harness.db, 50)).toHaveLength(2);
    expect(aliceSent(b)).toBe(3);
    await b.stats.exchange();
    expect(recentOverLimitEvents(b.harness.db, 50)).toHaveLength(2);
    expect(aliceSent(b)).toBe(3);
    expect(await a.redis.xlen(STATS_STREAMS.events)).toBe(1);
  });

  it('passes over an entry it cannot read, says so, and goes on with the next', async () => {
    await a.redis.xadd(STATS_STREAMS.events, '*', 'n', 'node-x', 'g', '1', 'b', '[[1, {"level": "mailbox", "objectId": "1; DROP TABLE"}]]');
    await a.redis.xadd(STATS_STREAMS.sent, '*', 'n', 'node-x', 'g', '1', 'b', 'not json');
    a.harness.sendMany('alice@example.com', 4);
    a.harness.flush();
    await a.stats.exchange();
    await b.stats.exchange();
    expect(recentOverLimitEvents(b.harness.db, 50)).toHaveLength(1);
    expect(aliceSent(b)).toBe(3);
    expect(b.logLines.filter((line) => line.includes('could not be read'))).toHaveLength(1); // the second is counted, not repeated
  });

  it('keeps what was recorded while Redis was away and sends it once Redis is back, also to a Redis that lost its data', async () => {
    a.harness.sendMany('alice@example.com', 4);
    a.harness.flush();
    await a.stats.exchange();
    await b.stats.exchange();
    expect(recentOverLimitEvents(b.harness.db, 50)).toHaveLength(1);

    await server.kill();
    a.harness.advance(60);
    a.harness.sendMany('alice@example.com', 2);
    a.harness.flush();
    await a.stats.exchange(); // fails: kept
    expect(a.logLines.join('')).toContain('kept and sent once Redis answers');

    // Back without its data: the streams start again below node B's read position.
    await server.restart();
    await eventually(() => a.redis.status === 'ready' && b.redis.status === 'ready', 'both connections to Redis again');
    await a.stats.exchange();
    await b.stats.exchange();
    expect(recentOverLimitEvents(b.harness.db, 50)).toHaveLength(3);
    expect(recentOverLimitEvents(b.harness.db, 50)).toEqual(recentOverLimitEvents(a.harness.db, 50));
    expect(aliceSent(b)).toBe(3);
  });

  it('reads a stream that starts again below its position (a Redis that lost its data, on a clock behind) from its start', async () => {
    // Node B has read up to an id far ahead of what this Redis gives now.
    await a.redis.xadd(STATS_STREAMS.events, '9999999999999-0', 'n', 'node-x', 'g', '1', 'b', '[]');
    await b.stats.exchange();
    await a.redis.flushall();
    a.harness.sendMany('alice@example.com', 4);
    a.harness.flush();
    await a.stats.exchange();
    await b.stats.exchange(); // notices the stream below its position
    await b.stats.exchange(); // reads it from its start
    expect(b.logLines.join('')).toContain('reading it from its start');
    expect(recentOverLimitEvents(b.harness.db, 50)).toEqual(recentOverLimitEvents(a.harness.db, 50));
    expect(recentOverLimitEvents(b.harness.db, 50)).toHaveLength(1);
  });

  it("adds a busy node's batch of many mailboxes in parts, and passes a batch whose steps sum to nothing", async () => {
    const second = Math.floor(a.harness.nowMs / 1000);
    const keys = Array.from({ length: AMOUNT_PART_TRIPLES * 2 + 50 }, (_, i) => counterKey('mailbox', 100_001 + i));
    const insertBatch = prepareCounterBatchInsert(a.harness.db);
    // A count and its refund in one flush: nothing to send, yet the batch must not stop the ones after it.
    insertBatch(new Float64Array([keys[0]!, second, 1, keys[0]!, second, -1]));
    insertBatch(new Float64Array(keys.flatMap((key, i) => [key, second, 1 + (i % 3)])));
    await a.stats.exchange();
    await b.stats.exchange();

    const [entry] = (await a.redis.xrange(STATS_STREAMS.sent, '-', '+')).map(([, fields]) => JSON.parse(fields[fields.indexOf('b') + 1]!) as Array<[number, number[]]>);
    expect(await a.redis.xlen(STATS_STREAMS.sent)).toBe(1);
    expect(entry!.map(([, triples]) => triples.length / 3)).toEqual([AMOUNT_PART_TRIPLES, AMOUNT_PART_TRIPLES, 50]);
    const sentOnB = b.harness.db
      .prepare(`SELECT COUNT(*) AS mailboxes, SUM(amount) AS amount FROM hourly_sent WHERE counter_key IN (${keys.map(() => '?').join(',')})`)
      .get(...keys) as { mailboxes: number; amount: number };
    expect(sentOnB).toEqual({ mailboxes: keys.length, amount: keys.reduce((sum, _, i) => sum + 1 + (i % 3), 0) });

    // And what A records after those batches still goes out.
    a.harness.sendMany('alice@example.com', 2);
    a.harness.flush();
    await a.stats.exchange();
    await b.stats.exchange();
    expect(aliceSent(b)).toBe(2);
  });
});
