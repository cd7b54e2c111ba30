import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { endOfMessage, PolicyClient } from '../test-support/policy-client.js';
import { bridgeApi, getOk, preparedDataDir } from '../test-support/prepared-store.js';
import { RedisServer } from '../test-support/redis-server.js';

/**
 * Three daemons of one cluster on one real Redis, asked directly on their policy sockets: the over-limit events
 * and the statistics every node's API answers are the whole cluster's, also for what a node recorded while Redis
 * was away.
 */
const LIMITS = exampleDirectory({ 'alice@example.com': 10, 'bob@example.com': 5, 'erin@example.net': 3 });
const SETTINGS = ['--over-limit-action', 'defer', '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited', '--mailbox-limit', '50'];
const DUNNO = 'action=DUNNO';

interface Event {
  atMs: number;
  level: string;
  objectName: string;
  sender: string | null;
  action: string;
  reason: string;
  queueId: string | null;
  recipientCount: number;
}
interface Bucket {
  start: string;
  sent: number;
  held: number;
  deferred: number;
}

let redis: RedisServer;
let nodes: { a: DaemonProcess; b: DaemonProcess; c: DaemonProcess };

beforeAll(async () => {
  // Kept on disk, written at once: Redis stopped and started again finds its streams.
  redis = await RedisServer.start({ tcp: false, persistence: true, config: { appendfsync: 'always' } });
  const url = `redis+unix://${redis.socketPath}`;
  const start = async (name: string) => DaemonProcess.start(await preparedDataDir(LIMITS, SETTINGS), ['--cluster', url, '--node-name', name]);
  const [a, b, c] = await Promise.all([start('node-a'), start('node-b'), start('node-c')]);
  nodes = { a: a!, b: b!, c: c! };
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(nodes ?? {}).map((node) => node.stop()));
  await redis?.stop();
});

/** Asks a node's policy service `count` times for `sender`, one after another, each with its own queue id. */
async function askPolicy(node: DaemonProcess, sender: string, count: number, tag: string): Promise<string[]> {
  const client = await PolicyClient.connect(node.policySocket);
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await client.request(endOfMessage({ sender, queueId: `${tag}${i}` })));
  client.end();
  return answers;
}

const eventsOf = async (node: DaemonProcess, query = '') => (await getOk<{ items: Event[] }>(bridgeApi(node.dataDir), `/api/v1/events?limit=500${query}`)).items;
const chartOf = async (node: DaemonProcess, query: string) => (await getOk<{ buckets: Bucket[] }>(bridgeApi(node.dataDir), `/api/v1/stats?${query}`)).buckets;
const sentIn = (buckets: Bucket[]) => buckets.reduce((sum, bucket) => sum + bucket.sent, 0);
/** Events in an order that does not depend on a store's row ids. */
const byContent = (events: Event[]) => [...events].sort((x, y) => x.atMs - y.atMs || String(x.queueId).localeCompare(String(y.queueId)));

async function everyNodeShows<T>(read: (node: DaemonProcess) => Promise<T>, expected: (value: T) => boolean, what: string): Promise<T[]> {
  let seen: T[] = [];
  await eventually(async () => {
    seen = await Promise.all(Object.values(nodes).map(read));
    return seen.every(expected);
  }, `every node to show ${what}`, 15_000);
  return seen;
}

describe("a cluster's over-limit events and statistics", () => {
  it('refusals made on any node are listed with the same content on every node, and every chart adds up all nodes', async () => {
    expect(await askPolicy(nodes.a, 'alice@example.com', 8, 'A')).toEqual(Array(8).fill(DUNNO));
    const onB = await askPolicy(nodes.b, 'alice@example.com', 8, 'B');
    expect(onB.filter((answer) => answer === DUNNO)).toHaveLength(2);
    const onC = await askPolicy(nodes.c, 'bob@example.com', 7, 'C');
    expect(onC.filter((answer) => answer === DUNNO)).toHaveLength(5);

    // 6 refusals of alice made on B, 2 of bob made on C: the same 8 on every node.
    const lists = await everyNodeShows((node) => eventsOf(node), (items) => items.length === 8, 'the 8 refusals');
    for (const list of lists) expect(byContent(list)).toEqual(byContent(lists[0]!));
    expect(lists[0]!.filter((event) => event.objectName === 'alice@example.com' && event.action === 'defer')).toHaveLength(6);
    expect(byContent(lists[0]!).map((event) => event.queueId)).toEqual(expect.arrayContaining(['B2', 'B7', 'C5', 'C6']));
    // The list of one object too (the object's page).
    const aliceOnA = await eventsOf(nodes.a, '&level=mailbox&name=alice@example.com');
    expect(aliceOnA).toHaveLength(6);

    // Alice: 8 sent through A and 2 through B, shown as 10 on every node, her refusals as deferred on every node.
    const alice = await everyNodeShows((node) => chartOf(node, 'level=mailbox&name=alice@example.com'), (buckets) => sentIn(buckets) === 10, "alice's 10");
    for (const chart of alice) {
      expect(chart).toEqual(alice[0]);
      expect(chart.reduce((sum, bucket) => sum + bucket.deferred, 0)).toBe(6);
    }
    // The server's 24-hour chart: the same bars on every node, 15 messages in all.
    const server = await everyNodeShows((node) => chartOf(node, 'period=24h'), (buckets) => sentIn(buckets) === 15, 'the server total of 15');
    for (const chart of server) expect(chart).toEqual(server[0]);
    const monthly = await everyNodeShows((node) => chartOf(node, 'period=31d'), (buckets) => sentIn(buckets) === 15, 'the 31-day total of 15');
    for (const chart of monthly) expect(chart).toEqual(monthly[0]);
  }, 60_000);

  it('what a node recorded while Redis was away reaches the others once Redis is back, once', async () => {
    await redis.kill();
    // Node A counts alone meanwhile: erin's limit of 3 on this node, two refusals recorded here.
    const alone = await askPolicy(nodes.a, 'erin@example.net', 5, 'E');
    expect(alone).toEqual([DUNNO, DUNNO, DUNNO, expect.stringMatching(/^action=DEFER_IF_PERMIT /), expect.stringMatching(/^action=DEFER_IF_PERMIT /)]);
    await eventually(async () => (await eventsOf(nodes.a, '&level=mailbox&name=erin@example.net')).length === 2, "node A's own list of erin's refusals");
    // Nothing reached node B: the exchange waits for Redis.
    expect(await eventsOf(nodes.b, '&level=mailbox&name=erin@example.net')).toEqual([]);

    await redis.restart();
    await everyNodeShows((node) => eventsOf(node, '&level=mailbox&name=erin@example.net'), (items) => items.length === 2, "erin's 2 refusals");
    await everyNodeShows((node) => chartOf(node, 'level=mailbox&name=erin@example.net'), (buckets) => sentIn(buckets) === 3, "erin's 3");

    await everyNodeShows(async (node) => (await getOk<{ cluster?: { counting: string } }>(bridgeApi(node.dataDir), '/api/v1/health')).cluster?.counting, (counting) => counting === 'cluster', 'counting in the cluster');
    // A marker sent after the catch-up: once every node has it, anything sent twice would be there before it.
    expect(await askPolicy(nodes.a, 'bob@example.com', 1, 'M')).toEqual([expect.stringMatching(/^action=DEFER_IF_PERMIT /)]);
    await everyNodeShows((node) => eventsOf(node), (items) => items.some((event) => event.queueId === 'M0'), 'the marker');
    for (const node of Object.values(nodes)) {
      expect(await eventsOf(node, '&level=mailbox&name=erin@example.net')).toHaveLength(2);
      expect(sentIn(await chartOf(node, 'level=mailbox&name=erin@example.net'))).toBe(3);
      expect(await eventsOf(node)).toHaveLength(11);
      expect(sentIn(await chartOf(node, 'period=24h'))).toBe(18);
    }
  }, 90_000);
});
