import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeClient } from '../src/api/bridge-client.js';
import { CONFIG_LOG_KEY } from '../src/cluster/config-log.js';
import { openDatabase } from '../src/store/database.js';
import { readSettings } from '../src/store/settings-store.js';
import { captureInstalled, readMembership } from '../src/store/shared-config.js';
import { cli, DaemonProcess, eventually, runCli } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { endOfMessage, PolicyClient } from '../test-support/policy-client.js';
import { bridgeApi, getOk, preparedDataDir } from '../test-support/prepared-store.js';
import { RedisServer } from '../test-support/redis-server.js';

/**
 * The configuration of a cluster has one source, the log in Redis: two daemons on one real Redis (the policy
 * service asked directly, no Postfix needed). A change made through one node's API acts on the other.
 */
const LIMITS = exampleDirectory({});
const SETTINGS = ['--over-limit-action', 'defer', '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited', '--mailbox-limit', '50'];

let redis: RedisServer;
let watcher: Redis;
let url: string;
let nodeA: DaemonProcess;
let nodeB: DaemonProcess;

function startNode(name: string, dataDir: string): Promise<DaemonProcess> {
  return DaemonProcess.start(dataDir, ['--cluster', url, '--node-name', name]);
}

beforeAll(async () => {
  redis = await RedisServer.start({ tcp: false, persistence: true });
  url = `redis+unix://${redis.socketPath}`;
  watcher = new Redis({ path: redis.socketPath as string, maxRetriesPerRequest: 1 });
  watcher.on('error', () => undefined);
  // Node B's store starts with other settings: joining, it takes the cluster's.
  nodeA = await startNode('node-a', await preparedDataDir(LIMITS, SETTINGS));
  nodeB = await startNode('node-b', await preparedDataDir(LIMITS, [...SETTINGS.slice(0, -1), '7']));
}, 120_000);

afterAll(async () => {
  await Promise.all([nodeA?.stop(), nodeB?.stop()]);
  watcher?.disconnect();
  await redis?.stop();
});

const onA = (): BridgeClient => bridgeApi(nodeA.dataDir);
const onB = (): BridgeClient => bridgeApi(nodeB.dataDir);

async function mailboxLimit(api: BridgeClient, address: string): Promise<number | string> {
  return (await getOk<{ effectiveLimit: number | string }>(api, `/api/v1/mailboxes/${address}`)).effectiveLimit;
}

async function askPolicy(node: DaemonProcess, sender: string, count: number): Promise<string[]> {
  const client = await PolicyClient.connect(node.policySocket);
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await client.request(endOfMessage({ sender })));
  client.end();
  return answers;
}

describe('the configuration of a cluster', () => {
  it('a node joining takes the cluster\'s settings; a limit set on node A acts on node B, audited there too', async () => {
    expect(await mailboxLimit(onB(), 'alice@example.com')).toBe(50);
    expect(await mailboxLimit(onA(), 'alice@example.com')).toBe(50);

    const reloads = (node: DaemonProcess) => node.log.split('\n').filter((line) => line.includes('settings and directory loaded')).length;
    const reloadsBefore = [reloads(nodeA), reloads(nodeB)];
    const set = await onA().request('PUT', '/api/v1/mailboxes/alice@example.com/limit', { limit: 2 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const setAtMs = Date.now();
    await eventually(async () => (await mailboxLimit(onB(), 'alice@example.com')) === 2, 'node B to show the limit set on node A', 5_000);
    const seenAfterMs = Date.now() - setAtMs;
    process.stdout.write(`node B showed the limit set on node A after ${seenAfterMs} ms\n`);
    // Both nodes changed alice in place, as a single server does: no reload of the whole directory.
    await nodeA.waitForLog("the cluster's configuration changes applied in place");
    expect([reloads(nodeA), reloads(nodeB)]).toEqual(reloadsBefore);

    // Enforced on B: its policy service lets 2 through and defers the third.
    const answers = await askPolicy(nodeB, 'alice@example.com', 3);
    expect(answers.slice(0, 2)).toEqual(['action=DUNNO', 'action=DUNNO']);
    expect(answers[2]).toMatch(/^action=DEFER/);

    const audit = await getOk<{ items: Array<{ action: string; objectName: string; newValue: unknown }> }>(onB(), '/api/v1/audit?name=alice@example.com');
    expect(audit.items.map((e) => [e.action, e.newValue])).toContainEqual(['limit.set', 2]);
    // One entry per change in the log, after the snapshot the first node wrote.
    expect(await watcher.xlen(CONFIG_LOG_KEY)).toBeGreaterThanOrEqual(2);
  });

  it('settings changed on B act on A; with Redis away a change is refused with a clear error and nothing is written', async () => {
    const changed = await onB().request('PATCH', '/api/v1/settings', { earlyWarningPercent: 70 });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    await eventually(async () => (await getOk<{ earlyWarningPercent: number }>(onA(), '/api/v1/settings')).earlyWarningPercent === 70, 'node A to take the settings changed on B');

    await redis.kill();
    const refused = await onA().request('PATCH', '/api/v1/settings', { earlyWarningPercent: 60 });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'clusterConfigUnavailable', error: expect.stringContaining('nothing was changed') });
    expect((await getOk<{ earlyWarningPercent: number }>(onA(), '/api/v1/settings')).earlyWarningPercent).toBe(70);
    const limitRefused = await onB().request('PUT', '/api/v1/mailboxes/bob@example.com/limit', { limit: 1 });
    expect(limitRefused.status).toBe(503);

    // Node B restarted while Redis is away starts from the configuration it last saw, and says so.
    await nodeB.stop();
    nodeB = await startNode('node-b', nodeB.dataDir);
    expect(nodeB.log).toContain('starting from the configuration last seen from the cluster');
    expect(await mailboxLimit(onB(), 'alice@example.com')).toBe(2);

    await redis.restart();
    await eventually(async () => (await onA().request('PATCH', '/api/v1/settings', { earlyWarningPercent: 60 })).status === 200, 'changes to be taken again once Redis is back', 20_000);
    await eventually(async () => (await getOk<{ earlyWarningPercent: number }>(onB(), '/api/v1/settings')).earlyWarningPercent === 60, 'node B to take the change made on A after Redis came back');
  });

  it('a login used from 6 addresses on node A and 5 on node B raises the anomaly once, listed on both nodes', async () => {
    const login = 'dave@example.com';
    const fromAddresses = async (node: DaemonProcess, first: number, count: number) => {
      const client = await PolicyClient.connect(node.policySocket);
      for (let i = first; i < first + count; i++) expect(await client.request({ ...endOfMessage({ sender: login, sasl: login }), client_address: `10.0.0.${i}` })).toBe('action=DUNNO');
      client.end();
    };
    const anomaliesOn = async (api: BridgeClient) => (await getOk<{ items: Array<{ signal: string; observed: number; threshold: number }> }>(api, `/api/v1/anomalies?name=${login}`)).items;
    await fromAddresses(nodeA, 1, 6);
    await fromAddresses(nodeB, 7, 4);
    // 10 addresses in all: nothing yet, on either node.
    expect(await anomaliesOn(onA())).toEqual([]);
    await fromAddresses(nodeB, 11, 1);
    for (const api of [onA, onB]) {
      await eventually(async () => (await anomaliesOn(api())).length > 0, 'the anomaly to be listed on both nodes');
      expect(await anomaliesOn(api())).toEqual([expect.objectContaining({ signal: 'loginAddresses', observed: 11, threshold: 10 })]);
    }
    // Raised by node B alone, once; a 12th address on A adds nothing.
    await fromAddresses(nodeA, 12, 1);
    expect(nodeB.log).toContain(`unusual sending: mailbox ${login} logged in from 11 addresses`);
    expect(nodeA.log).not.toContain(`unusual sending: mailbox ${login}`);
    expect(await anomaliesOn(onA())).toHaveLength(1);
  });

  it('a store with another directory is refused at start, saying how to replace the cluster\'s', async () => {
    const directory = exampleDirectory({});
    directory.subscriptions = directory.subscriptions.slice(1);
    const other = await preparedDataDir(directory, SETTINGS);
    await expect(startNode('node-c', other)).rejects.toThrow(/differs from this store's.*--replace/s);
  });

  it('cluster join refuses another directory unless --replace, which every node then takes; cluster leave keeps the configuration', async () => {
    const directory = exampleDirectory({});
    directory.subscriptions = directory.subscriptions.slice(1);
    const other = await preparedDataDir(directory, SETTINGS);
    const join = ['cluster', 'join', '--cluster', url, '--data-dir', other, '--node-name', 'node-c'];
    const refused = await runCli(join);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("the cluster's directory (2 subscriptions");
    // Refused before anything was written: this store is still no node's.
    expect(readMembership(openDatabase(other))).toBeNull();

    expect(await cli([...join, '--replace'])).toContain("this store's configuration replaced the cluster's, for every node");
    for (const api of [onA, onB]) {
      await eventually(async () => (await api().request('GET', '/api/v1/mailboxes/alice@example.com')).status === 404, 'the running nodes to take the replaced directory');
    }
    expect((await onA().request('GET', '/api/v1/subscriptions')).body).toMatchObject({ items: [expect.objectContaining({ name: directory.subscriptions[0]?.name })] });

    expect(await cli(['cluster', 'leave', '--data-dir', other])).toContain('Left the cluster');
    const left = openDatabase(other);
    expect(readMembership(left)).toBeNull();
    expect(captureInstalled(left)).toBe(false);
    expect(readSettings(left).defaults.mailbox).toBe(50);
    left.close();
    // The daemon of a node refuses to join or leave under a running daemon.
    const underDaemon = await runCli(['cluster', 'leave', '--data-dir', nodeA.dataDir]);
    expect(underDaemon.code).toBe(1);
    expect(underDaemon.stderr).toContain('is running: stop it, leave, then start it again');
  });

  it('an entry a node cannot apply (a newer node\'s column) is shown in health until it can; the node keeps deciding', async () => {
    const poison = await watcher.xadd(CONFIG_LOG_KEY, '*', 'node', 'node-new', 'entry', JSON.stringify({ kind: 'changes', changes: [{ table: 'mailboxes', op: 'put', row: { id: 1, color: 'red' } }] }));
    const health = async () => getOk<{ status: string; cluster: { configProblem: string | null } }>(onB(), '/api/v1/health');
    await eventually(async () => (await health()).cluster.configProblem !== null, 'node B to report the entry it cannot apply');
    expect((await health()).cluster.configProblem).toContain('names column color, which this store does not have');
    const doctor = await getOk<{ lines: Array<{ id: string; state: string; reason: string; found: string }> }>(onB(), '/api/v1/doctor');
    expect(doctor.lines.find((line) => line.id === 'cluster')).toMatchObject({ state: 'warning', reason: 'cluster.configStuck' });
    // Still deciding with what it has.
    expect((await askPolicy(nodeB, 'mallory@other.org', 1))[0]).toBe('action=DUNNO');

    await watcher.xdel(CONFIG_LOG_KEY, poison as string);
    await eventually(async () => (await health()).cluster.configProblem === null, 'node B to apply the log again');
    const changed = await onA().request('PATCH', '/api/v1/settings', { earlyWarningPercent: 65 });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    await eventually(async () => (await getOk<{ earlyWarningPercent: number }>(onB(), '/api/v1/settings')).earlyWarningPercent === 65, 'node B to take changes again');
  });
});
