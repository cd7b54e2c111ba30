// `node dist/bench/redis-counts.js [--mailboxes N]`: the cluster counts' cost in one throwaway redis-server.
// Every mailbox sends once (as in the daemon's memory run), spread over the last day, then a second pass of
// messages is timed. Prints Redis's memory for the counts (INFO memory), commands Redis ran per message (INFO
// commandstats: the script's own calls included) and round trips per message as the client sent them.

import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { ChargedObject } from '../backend-bridge/src/core/directory.js';
import { RedisCounts } from '../backend-bridge/src/counters/redis-counts.js';
import { chargedObject } from './charged-object.js';
import { RedisServer } from '../backend-bridge/test-support/redis-server.js';

const { values } = parseArgs({ options: { mailboxes: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '50' } } });
const MAILBOXES = Number(values.mailboxes);
const CONCURRENCY = Number(values.concurrency);
const MAILBOXES_PER_DOMAIN = 10;
const DOMAINS_PER_SUBSCRIPTION = 5;

function object(level: ChargedObject['level'], id: number, limit: number, parent: ChargedObject | null): ChargedObject {
  return chargedObject(level, id, { hour: limit, day: limit * 10 }, parent);
}

function chains(): ChargedObject[][] {
  const subscriptions = new Map<number, ChargedObject>();
  const domains = new Map<number, ChargedObject>();
  const result: ChargedObject[][] = [];
  for (let m = 0; m < MAILBOXES; m++) {
    const d = Math.floor(m / MAILBOXES_PER_DOMAIN);
    const s = Math.floor(d / DOMAINS_PER_SUBSCRIPTION);
    let subscription = subscriptions.get(s);
    if (!subscription) subscriptions.set(s, (subscription = object('subscription', s, 100_000, null)));
    let domain = domains.get(d);
    if (!domain) domains.set(d, (domain = object('domain', d, 10_000, subscription)));
    const mailbox = object('mailbox', m, 100, domain);
    result.push([mailbox, domain, subscription]);
  }
  return result;
}

async function info(redis: Redis, section: string): Promise<Map<string, string>> {
  const text = await redis.info(section);
  return new Map(text.split('\r\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
}

async function commandsRun(redis: Redis): Promise<number> {
  let total = 0;
  for (const [name, value] of await info(redis, 'commandstats')) {
    if (!name.startsWith('cmdstat_') || name === 'cmdstat_info') continue;
    total += Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
  }
  return total;
}

async function runAll(all: ChargedObject[][], send: (chain: ChargedObject[], i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < all.length; i = next++) await send(all[i] as ChargedObject[], i);
    }),
  );
}

async function main(): Promise<void> {
  const server = await RedisServer.start({ tcp: false });
  const redis = new Redis(server.connection);
  try {
    const counts = new RedisCounts(redis);
    await counts.load();
    const all = chains();
    const [seconds] = await redis.time();
    const now = Number(seconds);
    const before = Number((await info(redis, 'memory')).get('used_memory'));
    // One message per mailbox, spread over the last 24 hours: the day window holds all, the hour about 1/24.
    await runAll(all, (chain, i) => counts.checkAndCount(chain, 1, 'messages', now - 86_000 + Math.floor((i * 86_000) / all.length)));
    const memory = await info(redis, 'memory');
    const used = Number(memory.get('used_memory')) - before;
    const keys = Number(/keys=(\d+)/.exec((await info(redis, 'keyspace')).get('db0') ?? '')?.[1] ?? 0);
    const commandsBefore = await commandsRun(redis);
    const started = process.hrtime.bigint();
    await runAll(all, (chain) => counts.checkAndCount(chain, 1, 'messages', now));
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const commands = (await commandsRun(redis)) - commandsBefore;
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    console.log(`mailboxes ${MAILBOXES} (domains ${Math.ceil(MAILBOXES / MAILBOXES_PER_DOMAIN)}, subscriptions ${Math.ceil(MAILBOXES / MAILBOXES_PER_DOMAIN / DOMAINS_PER_SUBSCRIPTION)}), keys ${keys}`);
    console.log(`redis used_memory for the counts: ${mb(used)} MB (${Math.round(used / MAILBOXES)} bytes per mailbox with its share of domains and subscriptions); used_memory_rss ${mb(Number(memory.get('used_memory_rss')))} MB`);
    console.log(`second pass: ${MAILBOXES} messages in ${elapsedMs.toFixed(0)} ms (${Math.round(MAILBOXES / (elapsedMs / 1000))} messages/s, ${CONCURRENCY} in flight, one connection)`);
    const evalsha = (await info(redis, 'commandstats')).get('cmdstat_evalsha') ?? '';
    console.log(`per message: 1 round trip (EVALSHA), ${(commands / MAILBOXES).toFixed(1)} Redis commands (the script's own calls included)`);
    console.log(`Redis CPU per script call: ${/usec_per_call=([\d.]+)/.exec(evalsha)?.[1] ?? '?'} µs (both passes)`);
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();
