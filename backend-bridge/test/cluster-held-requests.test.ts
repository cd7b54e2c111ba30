import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Identity } from '../src/api/identity.js';
import { ClusterHeld, NodeUnansweredError, type HeldRequest } from '../src/cluster/cluster-held.js';
import type { HeldMessage } from '../src/store/held-store.js';
import { eventually } from '../test-support/daemon-process.js';
import { RedisServer } from '../test-support/redis-server.js';

/** The publication of held mail and the requests between nodes, against a real redis-server. */
let server: RedisServer;
let redis: Redis;
const log = pino({ level: 'silent' });
const started: ClusterHeld[] = [];

const JDOE: Identity = { login: 'jdoe', role: 'customer', userId: '20', via: 'plesk', permittedSubscriptions: new Set(['example.com']) };

function record(i: number): HeldMessage {
  return {
    id: i,
    queueId: `ABCDEF${String(i).padStart(4, '0')}`,
    heldAtMs: 1_000 + i,
    source: 'smtpd',
    sender: 'bob@example.com',
    saslUsername: null,
    chargedLevel: 'mailbox',
    chargedName: 'bob@example.com',
    trippedLevel: 'mailbox',
    trippedName: 'bob@example.com',
    trippedLimit: 1,
    trippedUsed: 1,
    trippedWindow: 'hour',
    weight: 1,
    recipientCount: 1,
    recipients: ['someone@remote.test'],
    reason: 'limit',
    status: 'held',
    resolvedAtMs: null,
    resolvedBy: null,
    requeuedAs: null,
    subject: 'subject',
    summaryRead: true,
  };
}

function node(name: string, options: { maxPublished?: number; requestTimeoutMs?: number } = {}): ClusterHeld {
  const held = new ClusterHeld(redis, name, log, options);
  started.push(held);
  return held;
}

const envelope = (id: string, request: HeldRequest) =>
  JSON.stringify({ id, from: 'node-a', identity: { login: 'admin', role: 'admin', userId: '1', via: 'plesk' }, request });

beforeAll(async () => {
  server = await RedisServer.start({ tcp: false });
  redis = new Redis({ path: server.socketPath as string, maxRetriesPerRequest: 1 });
});

beforeEach(async () => {
  await redis.flushall();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((held) => held.stop()));
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('held mail published by each node', () => {
  it('a node publishes at most its cap, newest first, and says how many it holds; others list them with its name', async () => {
    const b = node('node-b', { maxPublished: 10 });
    const held = Array.from({ length: 50 }, (_, i) => record(50 - i));
    await b.publish(held, 50);
    const seen = await node('node-a').othersHeld();
    expect(seen.nodes).toEqual([{ node: 'node-b', total: 50, published: 10 }]);
    expect(seen.messages.map((m) => m.message.queueId).sort()).toEqual(held.slice(0, 10).map((m) => m.queueId).sort());
    expect(seen.messages.every((m) => m.node === 'node-b')).toBe(true);
    // Published again: replaced whole, never added to.
    await b.publish(held.slice(0, 3), 3);
    expect((await node('node-c').othersHeld()).messages).toHaveLength(3);
    // Recipients are cut to the first ten (the count stays): a hostile sender picks many long ones.
    const many = { ...record(99), recipientCount: 100, recipients: Array.from({ length: 100 }, (_, i) => `${'x'.repeat(300)}${i}@remote.test`) };
    await b.publish([many], 1);
    const listed = (await node('node-d').othersHeld()).messages[0]!.message;
    expect(listed.recipients).toEqual(many.recipients.slice(0, 10));
    expect(listed.recipientCount).toBe(100);
    // A node does not list its own publication as another's.
    expect((await b.othersHeld()).messages).toEqual([]);
  });

  it('an entry the daemon did not write is left out of the list rather than shown or failing it', async () => {
    await node('node-b').publish([record(1)], 1);
    await redis.hset('ol:{held}:node:node-b', 'XYZXYZ1', 'not json', 'XYZXYZ2', JSON.stringify({ queueId: 'XYZXYZ2' }));
    await redis.hset('ol:{held}:published', 'node-x', 'garbage');
    const seen = await node('node-a').othersHeld();
    expect(seen.messages.map((m) => m.message.queueId)).toEqual([record(1).queueId]);
    expect(seen.nodes.map((n) => n.node)).toEqual(['node-b']);
  });
});

describe('requests between nodes', () => {
  it('the holding node carries out a request with the identity the asker carried, and the asker gets its answer', async () => {
    const asked: Array<{ identity: Identity; request: HeldRequest; from: string }> = [];
    node('node-b').serve(async (identity, request, from) => {
      asked.push({ identity, request, from });
      return { ok: false, status: 409, error: 'no room', refusal: { code: 'noRoom', params: { inSeconds: 60 } } };
    });
    const reply = await node('node-a').ask('node-b', JDOE, { action: 'release', queueId: 'ABCDEF0001', force: false });
    expect(reply).toEqual({ ok: false, status: 409, error: 'no room', refusal: { code: 'noRoom', params: { inSeconds: 60 } } });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.from).toBe('node-a');
    expect(asked[0]!.identity).toEqual(JDOE);
    expect(asked[0]!.identity.permittedSubscriptions).toBeInstanceOf(Set);
  });

  it('a silent node: the asker gives up with the node named, and the request is withdrawn so it never runs late', async () => {
    const asker = node('node-a', { requestTimeoutMs: 300 });
    const failure = await asker.ask('node-b', JDOE, { action: 'delete', queueId: 'ABCDEF0001' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(NodeUnansweredError);
    expect((failure as NodeUnansweredError).message).toContain('node-b');
    expect((failure as NodeUnansweredError).taken).toBe(false);
    expect(await redis.llen('ol:{held}:requests:node-b')).toBe(0);
  });

  it('a request id is carried out once: a repeat and a request cancelled by its asker are not carried out', async () => {
    const ran: string[] = [];
    const request: HeldRequest = { action: 'delete', queueId: 'ABCDEF0001' };
    const cancelled = '00000000-0000-4000-8000-000000000001';
    const repeated = '00000000-0000-4000-8000-000000000002';
    const last = '00000000-0000-4000-8000-000000000003';
    await redis.set(`ol:{held}:claim:${cancelled}`, 'cancelled by node-a');
    await redis.rpush('ol:{held}:requests:node-b', envelope(cancelled, request), envelope(repeated, request), envelope(repeated, request), 'not a request', envelope(last, request));
    node('node-b').serve(async (_identity, _request) => {
      ran.push('ran');
      return { ok: true, body: { n: ran.length } };
    });
    // Requests are taken in order: once the last is answered, every one before it was taken.
    await eventually(async () => (await redis.get(`ol:{held}:reply:${last}`)) !== null, 'the answer to the last request');
    expect(ran).toHaveLength(2);
    expect(await redis.get(`ol:{held}:reply:${cancelled}`)).toBeNull();
    expect(JSON.parse((await redis.get(`ol:{held}:reply:${repeated}`))!)).toEqual({ ok: true, body: { n: 1 } });
  });
});
