import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../src/api/bridge-client.js';
import type { HeldMessage } from '../src/store/held-store.js';
import { DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * Held mail older than Postfix's queue lifetime: released with postsuper -r, it must be delivered (not bounced at
 * its first temporary failure), counted once, and its record must follow it to its new queue id. The queue
 * lifetime is 8 s and the window 20 s, so a message held until its sender's window frees is well past the
 * lifetime; the relay is down while the worker releases it, so a released message that kept its old queue file
 * would expire at once.
 */
const WINDOW_SECONDS = 20;
const QUEUE_LIFETIME = '8s';
const OUTSIDE = ['someone@remote.test'];

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;

beforeAll(async () => {
  postfix = await startWiredPostfix({ mainCf: { maximal_queue_lifetime: QUEUE_LIFETIME, bounce_queue_lifetime: QUEUE_LIFETIME } });
  dataDir = await preparedDataDir(exampleDirectory(), ['--mailbox-limit', '2', '--domain-limit', '50', '--subscription-limit', '100']);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir], {
    OUTGOING_LIMITS_TEST_WINDOW_SECONDS: String(WINDOW_SECONDS),
  });
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

function api(): BridgeClient {
  return bridgeApi(dataDir);
}

async function heldRecord(queueId: string): Promise<HeldMessage> {
  const response = await api().request('GET', `/api/v1/held/${queueId}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as HeldMessage;
}

async function subjectsDelivered(): Promise<string[]> {
  return (await postfix.deliveredMessages()).map((m) => m.subject ?? '');
}

async function setRelayhost(value: string): Promise<void> {
  await postfix.postconf(['-e', `relayhost = ${value}`]);
  await postfix.reload();
}

describe('held mail older than the queue lifetime', () => {
  it('is requeued under a new queue id, survives a temporary failure, is delivered once and counted once', async () => {
    for (const subject of ['alice 1', 'alice 2']) expectAccepted(await postfix.sendMail({ from: 'alice@example.com', to: OUTSIDE, subject }));
    const smtp = await postfix.sendMail({ from: 'alice@example.com', to: OUTSIDE, subject: 'alice held smtp' });
    expectAccepted(smtp);
    await postfix.sendLocalMail({ from: 'alice@example.com', to: OUTSIDE, subject: 'alice held local' });
    let held: string[] = [];
    await eventually(async () => {
      held = (await postfix.queue()).filter((q) => q.queue_name === 'hold').map((q) => q.queue_id);
      return held.length === 2;
    }, 'both messages over the limit in the hold queue', 20_000);
    expect(held).toContain(smtp.queueId);
    const local = held.find((id) => id !== smtp.queueId)!;
    expect(await heldRecord(local)).toMatchObject({ status: 'held', source: 'milter' });
    await eventually(async () => (await subjectsDelivered()).filter((s) => s === 'alice 1' || s === 'alice 2').length === 2, 'the two messages within the limit');

    // The relay goes down before the window frees: the released messages meet a temporary failure.
    const relayhost = (await postfix.postconf(['-h', 'relayhost'])).trim();
    await setRelayhost('[127.0.0.1]:1');
    // The record is released first, and given its new queue id once pickup has resubmitted the message.
    const followed = async (id: string) => (await heldRecord(id)).requeuedAs !== null;
    await eventually(async () => (await followed(smtp.queueId!)) && (await followed(local)), 'the worker to requeue both held messages', 40_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${daemon.log.split('\n').filter((l) => l.includes('requeue')).join('\n')}`);
    });
    const records = [await heldRecord(smtp.queueId!), await heldRecord(local)];
    for (const record of records) {
      expect(record).toMatchObject({ status: 'released', resolvedBy: 'worker' });
      expect(record.requeuedAs).toMatch(/^[0-9A-Za-z]+$/);
      expect(record.requeuedAs).not.toBe(record.queueId);
    }
    const newIds = records.map((r) => r.requeuedAs!);
    await eventually(async () => (await postfix.logTail()).includes(`${newIds[0]}: to=<someone@remote.test>`) && (await postfix.logTail()).includes(`${newIds[1]}: to=<someone@remote.test>`), 'a delivery attempt of both');
    const queued = await postfix.queue();
    // Still queued after the failure, not expired, not bounced: deferred, or already on its way to the next
    // attempt, which Postfix may route through incoming as well as active (seen: 'incoming' right after the
    // first failed attempt was logged).
    for (const id of newIds) expect(['deferred', 'incoming', 'active']).toContain(queued.find((q) => q.queue_id === id)?.queue_name);
    expect(queued.filter((q) => q.sender === '' || q.sender === 'MAILER-DAEMON')).toEqual([]);
    expect(await postfix.logTail()).not.toContain('status=expired');
    // Counted once each when released: neither the milter nor the policy service saw them again.
    const alice = (await api().request('GET', '/api/v1/mailboxes/alice@example.com')).body as { used: number };
    expect(alice.used).toBe(2);
    expect(((await api().request('GET', '/api/v1/held')).body as { items: HeldMessage[] }).items).toEqual([]);

    await setRelayhost(relayhost);
    await postfix.waitForDelivered(4, 30_000);
    const subjects = (await subjectsDelivered()).filter((s) => s.startsWith('alice held'));
    expect(subjects.sort()).toEqual(['alice held local', 'alice held smtp']);
  });
});
