import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { endOfMessage, PolicyClient } from '../test-support/policy-client.js';
import { bridgeApi, getOk, preparedDataDir } from '../test-support/prepared-store.js';
import { RedisSentinelGroup } from '../test-support/redis-server.js';

/** A node whose Redis is a Sentinel group (primary, replica, three sentinels): the primary dies mid-run. */
let group: RedisSentinelGroup;
let node: DaemonProcess;

beforeAll(async () => {
  group = await RedisSentinelGroup.start('limits');
  const url = `redis-sentinel://${group.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/limits`;
  const dataDir = await preparedDataDir(exampleDirectory({ 'bob@example.com': 10 }), ['--over-limit-action', 'defer']);
  node = await DaemonProcess.start(dataDir, ['--cluster', url, '--node-name', 'node-s']);
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await group?.stop();
});

async function ask(count: number): Promise<string[]> {
  const client = await PolicyClient.connect(node.policySocket);
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await client.request(endOfMessage({ sender: 'bob@example.com' })));
  client.end();
  return answers;
}

async function counting(): Promise<string | undefined> {
  return (await getOk<{ cluster?: { counting: string } }>(bridgeApi(node.dataDir), '/api/v1/health')).cluster?.counting;
}

async function hourOf(server: { port: number | null }): Promise<number> {
  const redis = new Redis({ host: '127.0.0.1', port: server.port as number, maxRetriesPerRequest: 1 });
  try {
    return Number((await redis.hget('ol:{s:example.com}:m:bob@example.com', 'ht')) ?? 0);
  } finally {
    redis.disconnect();
  }
}

describe('a node on Redis Sentinel', () => {
  it('counts on through a failover: what it counted while the primary was gone is added to the new one, and the limit holds exactly', async () => {
    expect(await counting()).toBe('cluster');
    expect(await ask(3)).toEqual(Array(3).fill('action=DUNNO'));
    // Replication is asynchronous: the test waits until the replica has the counts, as a failover would need.
    await eventually(async () => (await hourOf(group.replica)) === 3, 'the replica to have the first 3 counts');

    await group.primary.kill();
    // Whether each of these is decided alone (primary gone) or on the promoted replica, all four count.
    expect(await ask(4)).toEqual(Array(4).fill('action=DUNNO'));
    await eventually(async () => (await counting()) === 'cluster' && (await hourOf(group.replica)) === 7, 'the node to count on the promoted replica with all 7 counts', 40_000);

    // 3 of bob's 10 are left, whichever node asks.
    const last = await ask(4);
    expect(last.slice(0, 3)).toEqual(Array(3).fill('action=DUNNO'));
    expect(last[3]).toMatch(/^action=DEFER_IF_PERMIT 4\.7\.1 Outgoing limit of 10 messages\/hour for mailbox bob@example\.com reached/);
  }, 90_000);
});
