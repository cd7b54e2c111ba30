import { Redis } from 'ioredis';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { endOfMessage, PolicyClient } from '../test-support/policy-client.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, getOk, preparedDataDir } from '../test-support/prepared-store.js';
import { RedisServer } from '../test-support/redis-server.js';
import { startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * Three daemons of one cluster on one real Redis: nodes A and B each behind their own throwaway Postfix (mail
 * by SMTP), node C asked directly on its policy socket. Each node has its own store holding the same directory.
 */
const LIMITS = exampleDirectory({ 'alice@example.com': 100, 'bob@example.com': 5, 'erin@example.net': 3 });
const SETTINGS = ['--over-limit-action', 'defer', '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited', '--mailbox-limit', '50'];
const DEFERRED = /^action=DEFER_IF_PERMIT 4\.7\.1 Outgoing limit of (\d+) messages\/hour for mailbox (\S+) reached/;

let redis: RedisServer;
let url: string;
let postfixA: PostfixInstance;
let postfixB: PostfixInstance;
let nodes: { a: DaemonProcess; b: DaemonProcess; c: DaemonProcess };
let watcher: Redis;

async function startNode(name: string, postfix: PostfixInstance | null): Promise<DaemonProcess> {
  const dataDir = await preparedDataDir(LIMITS, SETTINGS);
  return DaemonProcess.start(dataDir, [...(postfix ? ['--postfix-config-dir', postfix.configDir] : []), '--cluster', url, '--node-name', name]);
}

beforeAll(async () => {
  // Kept on disk, written at once: the "Redis comes back" test restarts it and finds what it held.
  redis = await RedisServer.start({ tcp: false, persistence: true, config: { appendfsync: 'always' } });
  url = `redis+unix://${redis.socketPath}`;
  watcher = new Redis({ path: redis.socketPath as string, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  watcher.on('error', () => undefined);
  [postfixA, postfixB] = await Promise.all([startWiredPostfix(), startWiredPostfix()]);
  const [a, b, c] = await Promise.all([startNode('node-a', postfixA), startNode('node-b', postfixB), startNode('node-c', null)]);
  nodes = { a: a!, b: b!, c: c! };
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(nodes ?? {}).map((node) => node.stop()));
  watcher?.disconnect();
  await Promise.all([postfixA?.stop(), postfixB?.stop(), redis?.stop()]);
});

/** What the cluster's Redis holds for a mailbox's last hour (the total field of its hash). */
async function hourInRedis(subscription: string, mailbox: string): Promise<number> {
  return Number((await watcher.hget(`ol:{s:${subscription}}:m:${mailbox}`, 'ht')) ?? 0);
}

async function countingOf(node: DaemonProcess): Promise<string> {
  const health = await getOk<{ status: string; cluster?: { counting: string; node: string } }>(bridgeApi(node.dataDir), '/api/v1/health');
  return health.cluster?.counting ?? 'none';
}

/** Asks a node's policy service `count` times for `sender` on `connections` connections at once; returns the answers. */
async function askPolicy(node: DaemonProcess, sender: string, count: number, connections = 1): Promise<string[]> {
  const clients = await Promise.all(Array.from({ length: connections }, () => PolicyClient.connect(node.policySocket)));
  const answers: string[] = [];
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < count) {
        next++;
        answers.push(await client.request(endOfMessage({ sender })));
      }
      client.end();
    }),
  );
  return answers;
}

/** Sends `count` messages of `from` through a Postfix by SMTP, `parallel` at a time; returns how many were accepted. */
async function sendThrough(postfix: PostfixInstance, from: string, count: number, parallel: number): Promise<{ accepted: number; refusals: string[] }> {
  let accepted = 0;
  const refusals: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        const result = await postfix.sendMail({ from, to: ['someone@remote.test'], subject: `cluster ${next}` });
        if (result.accepted) accepted++;
        else refusals.push(`${result.code} ${result.enhanced} ${result.text}`);
      }
    }),
  );
  return { accepted, refusals };
}

describe('a cluster of three nodes on one Redis', () => {
  it('every node counts in the cluster, says so in its health, and every node lists all three', async () => {
    for (const node of Object.values(nodes)) expect(await countingOf(node)).toBe('cluster');
    await eventually(async () => {
      const listed = await getOk<{ mode: string; nodes: Array<{ node: string; state: string }> }>(bridgeApi(nodes.b.dataDir), '/api/v1/cluster');
      return listed.mode === 'cluster' && listed.nodes.map((n) => `${n.node} ${n.state}`).join(',') === 'node-a up,node-b up,node-c up';
    }, 'node B to list the three nodes up');
    const status = await cli(['cluster', 'status', '--cluster', url, '--json']);
    const listed = JSON.parse(status) as { nodes: Array<{ node: string; counting: string; version: string }> };
    expect(listed.nodes.map((n) => [n.node, n.counting])).toEqual([
      ['node-a', 'cluster'],
      ['node-b', 'cluster'],
      ['node-c', 'cluster'],
    ]);
  });

  it('a mailbox of limit 100 hammered through all nodes at once gets exactly 100 through', async () => {
    const [viaA, viaB, viaC] = await Promise.all([
      sendThrough(postfixA, 'alice@example.com', 45, 4),
      sendThrough(postfixB, 'alice@example.com', 45, 4),
      askPolicy(nodes.c, 'alice@example.com', 60, 8),
    ]);
    const acceptedByC = viaC.filter((answer) => answer === 'action=DUNNO').length;
    expect(viaA.accepted + viaB.accepted + acceptedByC).toBe(100);
    // Every refusal, on any node, is the cluster's limit of 100 (never a per-node one).
    for (const refusal of [...viaA.refusals, ...viaB.refusals]) {
      expect(refusal).toMatch(/^450 4\.7\.1 .*Outgoing limit of 100 messages\/hour for mailbox alice@example\.com reached/);
    }
    for (const answer of viaC.filter((a) => a !== 'action=DUNNO')) expect(answer).toMatch(DEFERRED);
    expect(await hourInRedis('example.com', 'alice@example.com')).toBe(100);
    // Every node's statistics are the cluster's (its charts, History and the volume signal read them): 100 on each.
    for (const node of Object.values(nodes)) {
      await eventually(async () => {
        const stats = await getOk<{ buckets: Array<{ sent: number }> }>(bridgeApi(node.dataDir), '/api/v1/stats?level=mailbox&name=alice@example.com&hours=2');
        return stats.buckets.reduce((sum, bucket) => sum + bucket.sent, 0) === 100;
      }, `${node.dataDir} to chart alice's 100`);
    }
    // Every node's API shows the cluster's usage, not its own share: one row, and a list sorted by use.
    for (const node of Object.values(nodes)) {
      const row = await getOk<{ used: number; blocked: boolean; freesInSeconds: number | null }>(bridgeApi(node.dataDir), '/api/v1/mailboxes/alice@example.com');
      expect(row).toMatchObject({ used: 100, blocked: true });
      expect(row.freesInSeconds).toBeGreaterThan(3000);
      const list = await getOk<{ items: Array<{ name: string; used: number }> }>(bridgeApi(node.dataDir), '/api/v1/mailboxes?sort=used&order=desc');
      expect(list.items[0]).toMatchObject({ name: 'alice@example.com', used: 100 });
    }
  }, 120_000);

  it('with Redis killed, each node goes on with its own counts and says so; back, the counts made alone add up', async () => {
    const hooks: Array<Record<string, unknown>> = [];
    const hookServer = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        hooks.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', () => resolve()));
    const webhook = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
    await nodes.c.change(['settings', 'set', '--webhook', webhook]);
    // Set on C, the cluster's: node A has it before Redis goes.
    await eventually(async () => JSON.stringify(await getOk(bridgeApi(nodes.a.dataDir), '/api/v1/settings')).includes(webhook), 'node A to take the webhook set on C');
    expect(await askPolicy(nodes.c, 'bob@example.com', 2)).toEqual(['action=DUNNO', 'action=DUNNO']);
    expect(await hourInRedis('example.com', 'bob@example.com')).toBe(2);

    await redis.kill();
    // Limits act per node meanwhile: bob's 5 on C and 5 on A, never everything and never nothing.
    const onC = await askPolicy(nodes.c, 'bob@example.com', 7);
    const onA = await askPolicy(nodes.a, 'bob@example.com', 7);
    for (const answers of [onC, onA]) {
      expect(answers.slice(0, 5)).toEqual(Array(5).fill('action=DUNNO'));
      expect(answers.slice(5).every((answer) => DEFERRED.test(answer) && answer.includes('limit of 5 messages/hour for mailbox bob@example.com'))).toBe(true);
    }
    expect(await countingOf(nodes.c)).toBe('alone');
    expect(await countingOf(nodes.a)).toBe('alone');
    expect(nodes.c.log).toContain('counting on this node alone');
    const doctor = await getOk<{ lines: Array<{ id: string; state: string; reason: string; found: string }> }>(bridgeApi(nodes.c.dataDir), '/api/v1/doctor');
    expect(doctor.lines.find((line) => line.id === 'cluster')).toMatchObject({ state: 'warning', reason: 'cluster.alone' });
    // The webhook set on node C is the cluster's: each node that counts alone says so once, however many
    // messages it decided alone.
    const aloneHooks = () => hooks.filter((hook) => hook.kind === 'cluster-alone');
    await eventually(() => aloneHooks().length >= 2, 'the notifications that nodes A and C count alone');
    expect(aloneHooks().map((hook) => hook.node).sort()).toEqual(['node-a', 'node-c']);
    expect(aloneHooks()[0]).toMatchObject({ kind: 'cluster-alone', address: url });

    await redis.restart();
    await eventually(async () => (await countingOf(nodes.c)) === 'cluster' && (await countingOf(nodes.a)) === 'cluster', 'nodes A and C to count in the cluster again', 15_000);
    // 2 counted in the cluster before, 5 alone on C, 5 alone on A.
    expect(await hourInRedis('example.com', 'bob@example.com')).toBe(12);
    // Node B never counted alone: once connected again, it sees the whole cluster's count and defers bob.
    await eventually(() => nodes.b.log.split('connected to Redis').length - 1 >= 2, 'node B to connect to Redis again', 15_000);
    const onB = await askPolicy(nodes.b, 'bob@example.com', 1);
    expect(onB[0]).toMatch(DEFERRED);
    expect(nodes.c.log).toContain('Redis is back: counting in the cluster again');
    const healed = await getOk<{ lines: Array<{ id: string; state: string; reason: string }> }>(bridgeApi(nodes.c.dataDir), '/api/v1/doctor');
    expect(healed.lines.find((line) => line.id === 'cluster')).toMatchObject({ state: 'ok', reason: 'cluster.counting' });
    expect(aloneHooks()).toHaveLength(2);
    hookServer.close();
  }, 120_000);
});
