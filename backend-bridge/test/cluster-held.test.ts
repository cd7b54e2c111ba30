import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeClient, SignedIdentity } from '../src/api/bridge-client.js';
import { cli, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { bridgeApi } from '../test-support/prepared-store.js';
import { twoWiredNodesForFile } from '../test-support/wired-cluster.js';
import { queueNameIn, sendAccepted } from '../test-support/wired-postfix.js';

/**
 * Held mail across a cluster: two daemons on one real Redis, each behind its own throwaway Postfix. Mail held by
 * node B's Postfix is listed on node A and released or deleted from node A's API by node B.
 */
const LIMITS = exampleDirectory({ 'bob@example.com': 1, 'dave@example.com': 1, 'carol@example.com': 1 });
const SETTINGS = ['--over-limit-action', 'hold', '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited', '--mailbox-limit', '50'];
const ADMIN: SignedIdentity = { login: 'admin', userId: '1', role: 'admin' };
const JDOE: SignedIdentity = { login: 'jdoe', userId: '20', role: 'customer', permittedSubscriptions: ['example.com'] };
const MARY: SignedIdentity = { login: 'mary', userId: '21', role: 'customer', permittedSubscriptions: ['other.org'] };
const OUTSIDE = ['someone@remote.test'];

interface ListedHeld {
  queueId: string;
  node?: string;
  status: string;
  sender: string | null;
  subject: string | null;
}

const cluster = twoWiredNodesForFile(LIMITS, SETTINGS);
let watcher: Redis;

beforeAll(() => {
  watcher = new Redis({ path: cluster.redis.socketPath as string, maxRetriesPerRequest: 1 });
});

afterAll(() => {
  watcher?.disconnect();
});

const onA = (identity: SignedIdentity = ADMIN): BridgeClient => bridgeApi(cluster.nodeA.dataDir, identity);
const onB = (identity: SignedIdentity = ADMIN): BridgeClient => bridgeApi(cluster.nodeB.dataDir, identity);

async function heldListed(api: BridgeClient): Promise<ListedHeld[]> {
  const response = await api.request('GET', '/api/v1/held');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as { items: ListedHeld[] }).items;
}

/** The cluster's count of a mailbox's last hour (the total field of its hash in Redis). */
async function hourInRedis(mailbox: string): Promise<number> {
  return Number((await watcher.hget(`ol:{s:example.com}:m:${mailbox}`, 'ht')) ?? 0);
}

/** Sends two messages of a mailbox of limit 1 through node B's Postfix: the first leaves, the second is held there. */
async function heldOnB(from: string, subject: string): Promise<string> {
  await sendAccepted(cluster.postfixB, { from, to: OUTSIDE, subject: `${subject} (sent)` });
  const queueId = await sendAccepted(cluster.postfixB, { from, to: OUTSIDE, subject });
  expect(await queueNameIn(cluster.postfixB, queueId)).toBe('hold');
  // Listed with its subject, which node B read from its queue file.
  await eventually(async () => (await heldListed(onA())).some((m) => m.queueId === queueId && m.subject === subject), `node A to list ${queueId} held on node B`);
  return queueId;
}

describe('held mail in a cluster of two nodes', () => {
  it('mail held on node B is listed on node A with its node, released from A by B, delivered by B and counted once', async () => {
    const queueId = await heldOnB('bob@example.com', 'held on b');
    expect(await hourInRedis('bob@example.com')).toBe(1);
    const listed = (await heldListed(onA())).find((m) => m.queueId === queueId);
    expect(listed).toMatchObject({ node: 'node-b', status: 'held', sender: 'bob@example.com', subject: 'held on b' });
    const one = await onA().request('GET', `/api/v1/held/${queueId}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ queueId, node: 'node-b', mayRelease: true });
    // Node B lists its own mail with its own name.
    expect((await heldListed(onB())).find((m) => m.queueId === queueId)).toMatchObject({ node: 'node-b' });

    // The same access rules as on one server: a customer of another subscription does not see it; its owner does.
    expect((await heldListed(onA(MARY))).map((m) => m.queueId)).not.toContain(queueId);
    expect((await onA(MARY).request('GET', `/api/v1/held/${queueId}`)).status).toBe(404);
    expect((await onA(MARY).request('POST', `/api/v1/held/${queueId}/release`, { force: true })).status).toBe(404);
    expect((await onA(MARY).request('DELETE', `/api/v1/held/${queueId}`)).status).toBe(404);
    expect((await heldListed(onA(JDOE))).map((m) => m.queueId)).toContain(queueId);
    // Only the administrator releases beyond the limit, wherever the message is held.
    expect((await onA(JDOE).request('POST', `/api/v1/held/${queueId}/release`, { force: true })).body).toMatchObject({ code: 'forceAdminOnly' });

    // Within the budget: node B finds none left in the cluster's count, and says so through node A.
    const refused = await onA().request('POST', `/api/v1/held/${queueId}/release`);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body).toMatchObject({ code: 'noRoom' });
    expect(await queueNameIn(cluster.postfixB, queueId)).toBe('hold');
    expect(await hourInRedis('bob@example.com')).toBe(1);

    const released = await onA().request('POST', `/api/v1/held/${queueId}/release`, { force: true });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(released.body).toMatchObject({ queueId, node: 'node-b', status: 'released', resolvedBy: 'admin' });
    expect(await queueNameIn(cluster.postfixB, queueId)).not.toBe('hold');
    const delivered = await cluster.postfixB.waitForDelivered(2);
    expect(delivered.map((m) => m.subject)).toContain('held on b');
    expect(await hourInRedis('bob@example.com')).toBe(2);
    // Node B carried it out, recorded and audited it under the asker's name.
    const record = await onB().request('GET', `/api/v1/held/${queueId}?node=node-b`);
    expect(record.body).toMatchObject({ status: 'released', resolvedBy: 'admin', node: 'node-b' });
    const audit = (await onB().request('GET', '/api/v1/audit?name=bob@example.com')).body as { items: Array<{ action: string; actorLogin: string }> };
    expect(audit.items.map((e) => `${e.action} ${e.actorLogin}`)).toEqual(['held.release admin']);
    // The audit log is the cluster's: node B's line reaches node A too, once.
    await eventually(async () => ((await onA().request('GET', '/api/v1/audit?name=bob@example.com')).body as { items: unknown[] }).items.length > 0, "node B's audit line to reach node A");
    const auditOnA = (await onA().request('GET', '/api/v1/audit?name=bob@example.com')).body as { items: Array<{ action: string; actorLogin: string }> };
    expect(auditOnA.items.map((e) => `${e.action} ${e.actorLogin}`)).toEqual(['held.release admin']);
    // Published again before the answer: node A lists it no longer.
    expect((await heldListed(onA())).map((m) => m.queueId)).not.toContain(queueId);
    // Released once: asked again, node A finds it no more.
    expect((await onA().request('POST', `/api/v1/held/${queueId}/release`, { force: true })).status).toBe(404);
    expect(await hourInRedis('bob@example.com')).toBe(2);
  }, 60_000);

  it('a delete from node A, single or in bulk, removes the messages from node B\'s hold queue', async () => {
    const dave = await heldOnB('dave@example.com', 'dave held');
    const deleted = await onA(JDOE).request('DELETE', `/api/v1/held/${dave}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(deleted.body).toMatchObject({ queueId: dave, node: 'node-b', status: 'deleted', resolvedBy: 'jdoe' });
    expect(await queueNameIn(cluster.postfixB, dave)).toBeNull();

    const carol = await heldOnB('carol@example.com', 'carol held');
    const bulk = await onA().request('POST', '/api/v1/held/bulk', { action: 'delete', queueIds: [carol, 'AAAAAAAAAA'] });
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(200);
    const results = (bulk.body as { results: Array<{ queueId: string; ok: boolean; node?: string; httpStatus?: number }> }).results;
    expect(results.find((r) => r.queueId === carol)).toMatchObject({ ok: true, node: 'node-b', status: 'deleted' });
    expect(results.find((r) => r.queueId === 'AAAAAAAAAA')).toMatchObject({ ok: false, httpStatus: 404 });
    expect(await queueNameIn(cluster.postfixB, carol)).toBeNull();
    expect(await hourInRedis('dave@example.com')).toBe(1);

    // The command goes through node A's API: it lists node B's mail with its node, and deletes it there.
    const again = await sendAccepted(cluster.postfixB, { from: 'dave@example.com', to: OUTSIDE, subject: 'dave again' });
    await eventually(async () => (await heldListed(onA())).some((m) => m.queueId === again), 'node A to list the held message');
    expect(await cli(['held', 'list', '--data-dir', cluster.nodeA.dataDir])).toMatch(new RegExp(`^NODE +QUEUE ID[^\n]*\nnode-b +${again} `));
    expect(await cli(['held', 'delete', again, '--node', 'node-b', '--data-dir', cluster.nodeA.dataDir])).toBe(`Deleted ${again}.\n`);
    expect(await queueNameIn(cluster.postfixB, again)).toBeNull();
  }, 60_000);

  it('a mailbox marked compromised on node A has the mail it has waiting in node B\'s queue held by node B', async () => {
    // Node B's relay is down: erin's message waits in B's queue, deferred.
    const relayhost = (await cluster.postfixB.postconf(['-h', 'relayhost'])).trim();
    await cluster.postfixB.postconf(['-e', 'relayhost = [127.0.0.1]:1']);
    await cluster.postfixB.reload();
    try {
      let sent: string | null = null;
      await eventually(async () => {
        const state = sent === null ? null : await queueNameIn(cluster.postfixB, sent);
        // None sent yet, or delivered by a delivery agent that still had the relay from before the reload: another.
        if (state === null) sent = await sendAccepted(cluster.postfixB, { from: 'erin@example.net', to: OUTSIDE, subject: 'erin waiting on b' });
        return state === 'deferred';
      }, "a message of erin's to wait deferred in node B's queue", 30_000);
      const waiting = sent as string | null;
      if (waiting === null) throw new Error('no message of erin waits');

      const marked = await onA().request('POST', '/api/v1/mailboxes/erin@example.net/compromised');
      expect(marked.status, JSON.stringify(marked.body)).toBe(201);
      // Node A's own queue has none of erin's mail; node B holds its waiting message.
      expect(marked.body).toMatchObject({ heldNow: 0 });
      await eventually(async () => (await queueNameIn(cluster.postfixB, waiting)) === 'hold', "node B to hold erin's waiting message", 10_000);
      const record = await onB().request('GET', `/api/v1/held/${waiting}?node=node-b`);
      expect(record.body).toMatchObject({ status: 'held', source: 'compromised', node: 'node-b' });
      // The mark is the cluster's: node B shows it and holds erin's next message itself.
      expect(((await onB().request('GET', '/api/v1/compromised')).body as { items: Array<{ address: string }> }).items.map((c) => c.address)).toContain('erin@example.net');
    } finally {
      await cluster.postfixB.postconf(['-e', `relayhost = ${relayhost}`]);
      await cluster.postfixB.reload();
    }
  }, 60_000);

  it('with node B stopped, a release from node A answers 503 naming node-b, and nothing is done later', async () => {
    // A message of bob's, held (bob is at his limit): to be released by force.
    const queueId = await sendAccepted(cluster.postfixB, { from: 'bob@example.com', to: OUTSIDE, subject: 'while b is down' });
    await eventually(async () => (await heldListed(onA())).some((m) => m.queueId === queueId), 'node A to list the held message');
    await cluster.nodeB.stop();
    const refused = await onA().request('POST', `/api/v1/held/${queueId}/release`, { force: true });
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(refused.body).toMatchObject({ code: 'nodeUnanswered', params: { node: 'node-b' } });
    expect((refused.body as { error: string }).error).toContain('node-b');
    const bulk = await onA().request('POST', '/api/v1/held/bulk', { action: 'release', queueIds: [queueId], force: true });
    expect((bulk.body as { results: unknown[] }).results).toEqual([expect.objectContaining({ queueId, ok: false, httpStatus: 503, node: 'node-b' })]);
    // The request was cancelled, not left waiting: B, started again, does not carry it out late.
    expect(await watcher.llen('ol:{held}:requests:node-b')).toBe(0);
    expect(await queueNameIn(cluster.postfixB, queueId)).toBe('hold');
    expect(await hourInRedis('bob@example.com')).toBe(2);
  }, 60_000);
});
