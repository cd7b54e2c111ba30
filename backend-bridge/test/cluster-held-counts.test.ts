import { describe, expect, it } from 'vitest';
import type { BridgeClient, SignedIdentity } from '../src/api/bridge-client.js';
import { eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi } from '../test-support/prepared-store.js';
import { twoWiredNodesForFile } from '../test-support/wired-cluster.js';
import { queueNameIn, sendAccepted } from '../test-support/wired-postfix.js';

/**
 * The held counts of a cluster: two daemons on one real Redis, each behind its own throwaway Postfix. Mail held
 * by node B's Postfix is counted on node A's rows (the mailbox, its domain and its subscription) and in what
 * node A's held list says each server holds.
 */
const LIMITS = exampleDirectory({ 'bob@example.com': 1, 'dave@example.com': 1 });
const SETTINGS = ['--over-limit-action', 'hold', '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited', '--mailbox-limit', '50'];
const ADMIN: SignedIdentity = { login: 'admin', userId: '1', role: 'admin' };
const JDOE: SignedIdentity = { login: 'jdoe', userId: '20', role: 'customer', permittedSubscriptions: ['example.com'] };
const MARY: SignedIdentity = { login: 'mary', userId: '21', role: 'customer', permittedSubscriptions: ['other.org'] };
const OUTSIDE = ['someone@remote.test'];

const cluster = twoWiredNodesForFile(LIMITS, SETTINGS);

const onA = (identity: SignedIdentity = ADMIN): BridgeClient => bridgeApi(cluster.nodeA.dataDir, identity);

async function heldCountOf(api: BridgeClient, path: string): Promise<number> {
  const response = await api.request('GET', `/api/v1/${path}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as { heldCount: number }).heldCount;
}

async function heldByNode(api: BridgeClient): Promise<Array<{ node: string; count: number }>> {
  const response = await api.request('GET', '/api/v1/held?limit=1');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as { cluster: { heldByNode: Array<{ node: string; count: number }> } }).cluster.heldByNode;
}

/** Sends two messages of a mailbox of limit 1 through `postfix`: the first leaves, the second is held there. */
async function heldThrough(postfix: PostfixInstance, from: string): Promise<string> {
  await sendAccepted(postfix, { from, to: OUTSIDE, subject: 'leaves' });
  const queueId = await sendAccepted(postfix, { from, to: OUTSIDE, subject: 'held' });
  expect(await queueNameIn(postfix, queueId)).toBe('hold');
  return queueId;
}

describe('held counts in a cluster of two nodes', () => {
  it('mail held on node B is counted on node A\'s rows and in what node A says each server holds', async () => {
    expect(await heldCountOf(onA(), 'mailboxes/bob@example.com')).toBe(0);
    await heldThrough(cluster.postfixB, 'bob@example.com');
    // Node A reads the other nodes' counts every second.
    await eventually(async () => (await heldCountOf(onA(), 'mailboxes/bob@example.com')) === 1, "node A's row of bob to count the mail held on node B");
    expect(await heldCountOf(onA(), 'domains/example.com')).toBe(1);
    expect(await heldCountOf(onA(), 'subscriptions/example.com')).toBe(1);
    expect(await heldCountOf(onA(JDOE), 'mailboxes/bob@example.com')).toBe(1);
    // The list's page of domain example.com's mailboxes says it too.
    const page = (await onA().request('GET', '/api/v1/mailboxes?domain=example.com')).body as { items: Array<{ name: string; heldCount: number }> };
    expect(page.items.find((row) => row.name === 'bob@example.com')?.heldCount).toBe(1);

    expect(await heldByNode(onA())).toEqual([
      { node: 'node-a', count: 0 },
      { node: 'node-b', count: 1 },
    ]);
    // Each counts only what it may see.
    expect(await heldByNode(onA(JDOE))).toEqual([
      { node: 'node-a', count: 0 },
      { node: 'node-b', count: 1 },
    ]);
    expect(await heldByNode(onA(MARY))).toEqual([
      { node: 'node-a', count: 0 },
      { node: 'node-b', count: 0 },
    ]);

    // Held on both: node A's own and node B's add up on the domain's and subscription's rows.
    await heldThrough(cluster.postfixA, 'dave@example.com');
    await eventually(async () => (await heldCountOf(onA(), 'subscriptions/example.com')) === 2, "node A's subscription row to count both servers' held mail");
    expect(await heldCountOf(onA(), 'mailboxes/dave@example.com')).toBe(1);
    expect(await heldCountOf(onA(), 'mailboxes/bob@example.com')).toBe(1);
    expect(await heldByNode(onA())).toEqual([
      { node: 'node-a', count: 1 },
      { node: 'node-b', count: 1 },
    ]);
    // Node B counts node A's the same way.
    const onB = bridgeApi(cluster.nodeB.dataDir, ADMIN);
    await eventually(async () => (await heldCountOf(onB, 'subscriptions/example.com')) === 2, "node B's subscription row to count both servers' held mail");
  }, 90_000);
});
