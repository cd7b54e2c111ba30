import { Redis } from 'ioredis';
import net from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClusterNodes, ClusterNodesError, startNodeHeartbeat, type NodeFacts } from '../src/cluster/cluster-nodes.js';
import { FORGET_AFTER_MS, MAX_NODES, SILENT_AFTER_MS } from '../src/core/cluster-nodes.js';
import { ADMIN, ApiHarness, JDOE, RES1 } from '../test-support/api-harness.js';
import { eventually, runCli } from '../test-support/daemon-process.js';
import { RedisServer } from '../test-support/redis-server.js';

let server: RedisServer;
const clients: Redis[] = [];

/** A connection of its own, as each node has; connection errors reach the test through the rejected commands. */
function connect(options: Record<string, unknown> = {}): Redis {
  const client = new Redis({ ...server.connection, maxRetriesPerRequest: 1, ...options });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

function facts(node: string, extra: Partial<NodeFacts> = {}): NodeFacts {
  return { node, version: '0.1.0', startedAtMs: 1_893_456_000_000, counting: 'cluster', heldMessages: 0, wiring: 'wired', ...extra };
}

async function redisMs(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

beforeAll(async () => {
  server = await RedisServer.start();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.stop();
});

beforeEach(async () => {
  if (!server.running) await server.restart();
  const admin = connect();
  await eventually(async () => (await admin.ping().catch(() => null)) === 'PONG', 'Redis to answer');
  await admin.flushall();
});

describe('the nodes of a cluster in Redis', () => {
  it('two nodes on their own connections see each other; lastSeen is Redis clock, not the node', async () => {
    const a = new ClusterNodes(connect());
    const b = new ClusterNodes(connect());
    const before = await redisMs(connect());
    await a.report(facts('mx1.example.com', { heldMessages: 3 }));
    await b.report(facts('mx2.example.com', { counting: 'alone', wiring: 'not-wired', version: '0.2.0' }));
    const after = await redisMs(connect());
    for (const nodes of [a, b]) {
      const listed = await nodes.list();
      expect(listed.map((n) => n.node)).toEqual(['mx1.example.com', 'mx2.example.com']);
      expect(listed[0]).toMatchObject({ state: 'up', heldMessages: 3, counting: 'cluster', wiring: 'wired', version: '0.1.0', startedAtMs: 1_893_456_000_000 });
      expect(listed[1]).toMatchObject({ state: 'up', heldMessages: 0, counting: 'alone', wiring: 'not-wired', version: '0.2.0' });
      for (const node of listed) {
        expect(node.lastSeenMs).toBeGreaterThanOrEqual(before);
        expect(node.lastSeenMs).toBeLessThanOrEqual(after);
      }
    }
    // A report replaces the node's facts; still one entry.
    await a.report(facts('mx1.example.com', { heldMessages: 0 }));
    expect((await b.list()).filter((n) => n.node === 'mx1.example.com')).toEqual([expect.objectContaining({ heldMessages: 0 })]);
    // The keys live under the prefix, in their own hash tag, apart from the counts' {s:…} keys.
    expect((await connect().keys('*')).sort()).toEqual(['ol:{nodes}:facts', 'ol:{nodes}:seen']);
  });

  it('a node that stops reporting turns silent after 10 s, is listed until forgotten, and is dropped after 7 days', async () => {
    let now = 1_893_456_000_000;
    const clockMs = () => now;
    const a = new ClusterNodes(connect(), { clockMs });
    const b = new ClusterNodes(connect(), { clockMs });
    await a.report(facts('mx1'));
    await b.report(facts('mx2'));
    now += SILENT_AFTER_MS;
    expect((await b.list()).map((n) => [n.node, n.state])).toEqual([['mx1', 'up'], ['mx2', 'up']]);
    now += 1;
    await b.report(facts('mx2'));
    expect((await b.list()).map((n) => [n.node, n.state, n.lastSeenMs])).toEqual([
      ['mx1', 'silent', 1_893_456_000_000],
      ['mx2', 'up', now],
    ]);
    // Back again: up.
    await a.report(facts('mx1'));
    expect((await b.list()).map((n) => n.state)).toEqual(['up', 'up']);

    // A node silent for 7 days left without saying so: dropped, from Redis too.
    const lastOfMx1 = now;
    now = lastOfMx1 + FORGET_AFTER_MS;
    await b.report(facts('mx2'));
    expect((await b.list()).map((n) => n.node)).toEqual(['mx1', 'mx2']);
    now += 1;
    expect((await b.list()).map((n) => n.node)).toEqual(['mx2']);
    expect(await connect().hexists('ol:{nodes}:facts', 'mx1')).toBe(0);
    expect(await connect().zscore('ol:{nodes}:seen', 'mx1')).toBeNull();

    // cluster leave: gone at once; forgetting again says it was not there.
    expect(await a.forget('mx2')).toBe(true);
    expect(await a.forget('mx2')).toBe(false);
    expect(await b.list()).toEqual([]);
  });

  it('refuses a bad node name, and writes nothing', async () => {
    const nodes = new ClusterNodes(connect());
    for (const name of ['', 'has space', '../etc', '-dash-first', 'a'.repeat(254), '\u001b[2Jx', 'name\n', 'ünïcode', 'a:b']) {
      await expect(nodes.report(facts(name))).rejects.toThrow(ClusterNodesError);
      await expect(nodes.forget(name)).rejects.toThrow(ClusterNodesError);
      expect(() => startNodeHeartbeat(nodes, () => facts(name), pino({ level: 'silent' }))).toThrow(/--node-name: a node name/);
    }
    await expect(nodes.report(facts('has space'))).rejects.toThrow('a node name is letters, digits, ".", "-" and "_", starting with a letter or digit, not "has space"');
    await expect(nodes.report(facts('a'.repeat(254)))).rejects.toThrow('a node name is at most 253 characters (this one has 254)');
    // The other facts are checked too: nothing a caller gets wrong is stored.
    await expect(nodes.report(facts('mx1', { heldMessages: -1 }))).rejects.toThrow(/heldMessages -1 is not a count/);
    await expect(nodes.report(facts('mx1', { wiring: 'x'.repeat(100) }))).rejects.toThrow(/wiring .* is not a short word/);
    await expect(nodes.report(facts('mx1', { version: '1.0\u001b[2J' }))).rejects.toThrow(/version "1.0\?\[2J" is not a version/);
    await nodes.report(facts('a'.repeat(253)));
    expect((await nodes.list()).map((n) => n.node.length)).toEqual([253]);
    expect(await connect().hlen('ol:{nodes}:facts')).toBe(1);
  });

  it('skips entries it did not write (damage, another program) instead of failing the list', async () => {
    const raw = connect();
    const nodes = new ClusterNodes(raw);
    await nodes.report(facts('mx1'));
    await raw.hset('ol:{nodes}:facts', 'mx2', 'not json', 'mx3', JSON.stringify({ version: '1', startedAtMs: 1, counting: 'everything', heldMessages: 0, wiring: 'wired' }), 'bad name', '{}', 'mx4', 'x'.repeat(10_000), 'mx5', JSON.stringify(facts('mx5')));
    await raw.zadd('ol:{nodes}:seen', Date.now(), 'mx2', Date.now(), 'mx3', Date.now(), 'bad name', Date.now(), 'mx4', Date.now(), 'only-seen');
    // mx5 has facts but was never seen: half-written, left out too.
    expect((await nodes.list()).map((n) => n.node)).toEqual(['mx1']);
  });

  it(`lists at most ${MAX_NODES} nodes: a new one beyond is refused with a clear error, those listed go on reporting`, async () => {
    const nodes = new ClusterNodes(connect());
    for (let i = 0; i < MAX_NODES; i++) await nodes.report(facts(`node-${String(i).padStart(3, '0')}`));
    await expect(nodes.report(facts('one-too-many'))).rejects.toThrow(`the cluster already lists ${MAX_NODES} nodes; remove those that left (cluster leave)`);
    await expect(nodes.report(facts('one-too-many'))).rejects.toThrow(ClusterNodesError);
    await nodes.report(facts('node-000', { heldMessages: 7 }));
    const listed = await nodes.list();
    expect(listed).toHaveLength(MAX_NODES);
    expect(listed[0]).toMatchObject({ node: 'node-000', heldMessages: 7 });
  });

  it('gets its scripts back after Redis lost them (restart, failover)', async () => {
    const nodes = new ClusterNodes(connect());
    await nodes.report(facts('mx1'));
    await connect().script('FLUSH');
    await nodes.report(facts('mx2'));
    await connect().script('FLUSH');
    expect((await nodes.list()).map((n) => n.node)).toEqual(['mx1', 'mx2']);
  });
});

describe('the heartbeat', () => {
  it('reports every interval; a Redis that goes away never throws out of it: one line, one summary, one line when back', async () => {
    const lines: Array<{ level: number; msg: string; repeated?: number; error?: string; failedReports?: number }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
    // As the daemon would: commands fail at once while the connection is down, and it reconnects by itself.
    const client = connect({ enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 20 });
    await eventually(() => client.status === 'ready', 'the connection');
    const nodes = new ClusterNodes(client);
    const reader = new ClusterNodes(connect());
    let asked = 0;
    const heartbeat = startNodeHeartbeat(nodes, () => ({ ...facts('mx1'), heldMessages: asked++ }), log, 20);
    try {
      await eventually(async () => ((await reader.list())[0]?.heldMessages ?? 0) >= 3, 'three reports');

      await server.kill();
      const askedAtKill = asked;
      await eventually(() => asked >= askedAtKill + 50, '50 reports while Redis is away');
      await server.restart();
      const seenBefore = asked;
      await eventually(async () => ((await reader.list().catch(() => []))[0]?.heldMessages ?? -1) >= seenBefore, 'a report after Redis came back', 20_000);
    } finally {
      await heartbeat.stop();
    }
    const warnings = lines.filter((l) => l.level === 40);
    // The first failure whole, then one summary (written at stop) of all the others.
    expect(warnings[0]).toMatchObject({ msg: 'reporting this node to the cluster failed; enforcing goes on, retrying every interval' });
    expect(warnings[0]?.error).toEqual(expect.any(String));
    expect(warnings).toHaveLength(2);
    expect(warnings[1]?.repeated).toBeGreaterThanOrEqual(49);
    expect(lines.filter((l) => l.msg === 'reporting this node to the cluster again')).toEqual([expect.objectContaining({ level: 30, failedReports: (warnings[1]?.repeated ?? 0) + 1 })]);
  });

  it('facts that cannot be read are a failed report like any other, never an exception out of the heartbeat', async () => {
    const lines: Array<{ level: number; msg: string; error?: string }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
    let calls = 0;
    const heartbeat = startNodeHeartbeat(new ClusterNodes(connect()), () => {
      if (++calls <= 3) throw new Error('the held mail cannot be counted now');
      return facts('mx1');
    }, log, 10);
    try {
      await eventually(async () => (await new ClusterNodes(connect()).list()).length === 1, 'a report once the facts can be read');
    } finally {
      await heartbeat.stop();
    }
    expect(lines[0]).toMatchObject({ level: 40, error: 'the held mail cannot be counted now' });
    expect(lines.find((l) => l.msg === 'reporting this node to the cluster again')).toBeDefined();
  });

  it('a report that waits for its answer is not sent twice; stop() does not wait for a Redis that does not answer', async () => {
    const lines: Array<{ msg: string; error?: string }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const frozen = connect();
    await frozen.ping();
    // CLIENT PAUSE holds every write of every client: the report waits for its answer.
    await connect().call('CLIENT', 'PAUSE', '60000', 'WRITE');
    let asked = 0;
    const heartbeat = startNodeHeartbeat(new ClusterNodes(frozen), () => (asked++, facts('mx1')), log, 10);
    try {
      await eventually(() => lines.length >= 1, 'the first failure');
      expect(lines[0]?.error).toBe("still waiting for Redis's answer to the previous report");
      expect(asked).toBe(2); // the first call checked the name; the second is the one report under way
    } finally {
      await heartbeat.stop();
      await connect().call('CLIENT', 'UNPAUSE');
    }
  });
});

describe('outgoing-limits cluster status (the built command)', () => {
  it('prints one line per node, up or silent, from Redis directly; --json the same facts', async () => {
    const nodes = new ClusterNodes(connect());
    await nodes.report(facts('mx1.example.com', { heldMessages: 12 }));
    await nodes.report(facts('mx2.example.com', { counting: 'alone', wiring: 'not-wired' }));
    // mx3 last reported a minute ago, on the cluster's clock.
    await new ClusterNodes(connect(), { clockMs: () => Date.now() - 60_000 }).report(facts('mx3.example.com'));

    const result = await runCli(['cluster', 'status', '--cluster', server.url]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Cluster ${server.url}`);
    expect(lines[1]).toMatch(/^NODE +STATE +LAST SEEN +VERSION +COUNTING +HELD +WIRING$/);
    expect(lines[2]).toMatch(/^mx1\.example\.com +up +\d s ago +0\.1\.0 +cluster +12 +wired$/);
    expect(lines[3]).toMatch(/^mx2\.example\.com +up +\d s ago +0\.1\.0 +alone +0 +not-wired$/);
    expect(lines[4]).toMatch(/^mx3\.example\.com +silent +(59|60|61) s ago +0\.1\.0 +cluster +0 +wired$/);
    expect(lines).toHaveLength(5);

    const json = await runCli(['cluster', 'status', '--cluster', `redis+unix://${server.socketPath}`, '--json']);
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout) as { address: string; nodes: Array<Record<string, unknown>> };
    expect(answer.address).toBe(`redis+unix://${server.socketPath}`);
    expect(answer.nodes.map((n) => [n.node, n.state, n.heldMessages])).toEqual([
      ['mx1.example.com', 'up', 12],
      ['mx2.example.com', 'up', 0],
      ['mx3.example.com', 'silent', 0],
    ]);
  });

  it('an empty cluster says so', async () => {
    const result = await runCli(['cluster', 'status', '--cluster', server.url]);
    expect(result).toMatchObject({ code: 0, stdout: `Cluster ${server.url}\nNo node has reported to this cluster.\n` });
  });

  it('exits 1 with a clear message when Redis is gone, and at once (no endless retry)', async () => {
    await new ClusterNodes(connect()).report(facts('mx1'));
    await server.kill();
    const result = await runCli(['cluster', 'status', '--cluster', server.url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`outgoing-limits: cannot reach the cluster's Redis at ${server.url}: connect ECONNREFUSED 127.0.0.1:${server.port}\n`);
  });

  it('a Redis that accepts the connection and then never answers (hung): exits 1 saying so, and does not hang', async () => {
    const held: net.Socket[] = [];
    // Accepts, reads, never answers, never closes: what a stopped or wedged Redis looks like from outside.
    const hung = net.createServer((socket) => void held.push(socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const { port } = hung.address() as net.AddressInfo;
    try {
      const result = await runCli(['cluster', 'status', '--cluster', `redis://127.0.0.1:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`outgoing-limits: cannot reach the cluster's Redis at redis://127.0.0.1:${port}: no answer within 2 s\n`);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  it('a bad address or a wrong password exits 1 naming the address, never the password', async () => {
    const guarded = await RedisServer.start({ unixSocket: false, config: { requirepass: 'right-s3cret' } });
    try {
      // A password comes through the environment: on the command line every local user could read it in ps.
      const onCommandLine = await runCli(['cluster', 'status', '--cluster', `redis://:right-s3cret@127.0.0.1:${guarded.port}`]);
      expect(onCommandLine.code).toBe(1);
      expect(onCommandLine.stderr).toContain('carries a password, which every local user can read in the process list; give the address in the environment variable OUTGOING_LIMITS_CLUSTER');
      expect(onCommandLine.stderr).not.toContain('right-s3cret');
      const ok = await runCli(['cluster', 'status'], { OUTGOING_LIMITS_CLUSTER: `redis://:right-s3cret@127.0.0.1:${guarded.port}` });
      expect(ok).toMatchObject({ code: 0, stdout: `Cluster redis://:***@127.0.0.1:${guarded.port}\nNo node has reported to this cluster.\n` });
      const wrong = await runCli(['cluster', 'status'], { OUTGOING_LIMITS_CLUSTER: `redis://default:wr0ng-s3cret@127.0.0.1:${guarded.port}` });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(new RegExp(`^outgoing-limits: cannot reach the cluster's Redis at redis://default:\\*\\*\\*@127\\.0\\.0\\.1:${guarded.port}: WRONGPASS`));
      expect(wrong.stderr).not.toContain('wr0ng');
    } finally {
      await guarded.stop();
    }
    for (const url of ['http://admin:s3cret@10.0.0.5', 'redis://admin:s3/cret@10.0.0.5', 'redis://admin:s3cret@10.0.0.5:99999/0']) {
      const result = await runCli(['cluster', 'status', '--cluster', url]);
      expect(result.code, url).toBe(1);
      expect(result.stderr, url).toMatch(/^outgoing-limits: --cluster: .*admin:\*\*\*@/);
      expect(result.stderr, url).not.toMatch(/s3\/?cret/);
    }
    const missing = await runCli(['cluster', 'status']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("required option '--cluster <url>' not specified");
  });
});

describe('GET /api/v1/cluster', () => {
  it('standalone says so; in a cluster the admin gets the address without its password and the nodes; others 403', async () => {
    const standalone = await ApiHarness.start();
    try {
      const answer = await standalone.get(ADMIN, '/api/v1/cluster');
      expect([answer.statusCode, answer.json()]).toEqual([200, { mode: 'standalone' }]);
    } finally {
      await standalone.close();
    }

    const nodes = new ClusterNodes(connect(), { url: `redis://limits:s3cret@127.0.0.1:${server.port}/0` });
    await nodes.report(facts('mx2', { heldMessages: 4 }));
    await nodes.report(facts('mx1', { counting: 'alone' }));
    const h = await ApiHarness.start({ clusterNodes: nodes });
    try {
      const answer = await h.get(ADMIN, '/api/v1/cluster');
      expect(answer.statusCode, answer.body).toBe(200);
      expect(answer.body).not.toContain('s3cret');
      const body = answer.json() as { mode: string; address: string; nodes: Array<Record<string, unknown>> };
      expect(body.mode).toBe('cluster');
      expect(body.address).toBe(`redis://limits:***@127.0.0.1:${server.port}/0`);
      expect(body.nodes.map((n) => [n.node, n.state, n.counting, n.heldMessages])).toEqual([
        ['mx1', 'up', 'alone', 0],
        ['mx2', 'up', 'cluster', 4],
      ]);
      expect(Object.keys(body.nodes[0] ?? {}).sort()).toEqual(['counting', 'heldMessages', 'lastSeenMs', 'node', 'startedAtMs', 'state', 'version', 'wiring']);
      for (const caller of [RES1, JDOE]) {
        const refused = await h.get(caller, '/api/v1/cluster');
        expect([refused.statusCode, refused.json()]).toEqual([403, { error: 'Only the administrator can see the nodes of the cluster.' }]);
      }
    } finally {
      await h.close();
    }
  });

  it("503 with a clear error when the cluster's Redis does not answer, and the nodes again once it is back", async () => {
    // The daemon's connection queues commands while it reconnects: the route must not wait for it.
    const nodes = new ClusterNodes(connect({ maxRetriesPerRequest: null }));
    await nodes.report(facts('mx1'));
    const h = await ApiHarness.start({ clusterNodes: nodes });
    try {
      await server.kill();
      const answer = await h.get(ADMIN, '/api/v1/cluster');
      expect(answer.statusCode).toBe(503);
      const address = `redis+unix://${server.socketPath}`;
      expect(answer.json()).toEqual({
        error: `The cluster's Redis at ${address} does not answer: no answer within 2 s`,
        code: 'clusterUnreachable',
        params: { address, reason: 'no answer within 2 s' },
      });
      await server.restart();
      await eventually(async () => (await h.get(ADMIN, '/api/v1/cluster')).statusCode === 200, 'the nodes again', 20_000);
    } finally {
      await h.close();
    }
  });
});
