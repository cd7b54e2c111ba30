import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeClient } from '../src/api/bridge-client.js';
import type { ObjectRow } from '../src/core/object-query.js';
import type { OverLimitEvent } from '../src/store/over-limit-events.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * The maximum of recipients per message with a real Postfix: alice@example.com may put at most 3 recipients in
 * one message. Over SMTP (policy service at END-OF-DATA) 4 get the permanent 554 5.5.3 answer, 3 pass; by
 * sendmail (milter in non_smtpd_milters) 4 come back to the sender as a bounce that says why.
 */
const FOUR = ['a@remote.test', 'b@remote.test', 'c@remote.test', 'd@remote.test'];
const THREE = FOUR.slice(0, 3);
const REASON = 'Too many recipients: at most 3 per message for mailbox alice@example.com';

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;

beforeAll(async () => {
  postfix = await startWiredPostfix();
  dataDir = await preparedDataDir(exampleDirectory());
  const settings = await cli(['settings', 'set', '--data-dir', dataDir, '--mailbox-limit', '100', '--domain-limit', '1000', '--subscription-limit', '1000', '--domain-recipient-limit', '10']);
  expect(settings).toContain('Most recipients per message from a domain:       10 recipients');
  expect(settings).toContain('Most recipients per message from a mailbox:      Unlimited');
  expect(await cli(['limit', 'set', 'mailbox', 'alice@example.com', '3', '--recipients', '--data-dir', dataDir])).toBe('Maximum recipients of mailbox alice@example.com set to 3 per message.\n');
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

function api(): BridgeClient {
  return bridgeApi(dataDir, PLESK_ADMIN);
}

async function events(): Promise<OverLimitEvent[]> {
  const response = await api().request('GET', '/api/v1/events?limit=50');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (response.body as { items: OverLimitEvent[] }).items;
}

async function aliceUsed(): Promise<number> {
  return ((await api().request('GET', '/api/v1/mailboxes/alice@example.com')).body as ObjectRow).used;
}

describe('recipients per message with a real Postfix', () => {
  it('over SMTP: 4 recipients get the permanent 554 5.5.3 answer naming the maximum and the level, 3 pass; the refusal is an event and costs no budget', async () => {
    const refused = await postfix.sendMail({ from: 'alice@example.com', to: FOUR, subject: 'four recipients' });
    expect(refused.accepted, refused.transcript).toBe(false);
    expect(refused.stage).toBe('END-OF-DATA');
    expect(refused.code).toBe(554);
    expect(refused.enhanced).toBe('5.5.3');
    expect(refused.text).toBe(`<END-OF-MESSAGE>: End-of-data rejected: ${REASON}`);
    expect(await postfix.logTail()).toContain(`reject: END-OF-MESSAGE from`);

    const passed = await postfix.sendMail({ from: 'alice@example.com', to: THREE, subject: 'three recipients' });
    expectAccepted(passed);
    await eventually(async () => (await postfix.deliveredMessages()).some((m) => m.subject === 'three recipients'), 'the message with 3 recipients to be delivered', 30_000);
    expect((await postfix.deliveredMessages()).some((m) => m.subject === 'four recipients')).toBe(false);

    const event = (await events()).find((e) => e.recipientCount === 4 && e.action === 'reject');
    expect(event).toMatchObject({ level: 'mailbox', objectName: 'alice@example.com', recipientMaximum: 3, sender: 'alice@example.com', reason: REASON });
    // Only the message that left counts.
    expect(await aliceUsed()).toBe(1);

    const row = (await api().request('GET', '/api/v1/mailboxes/alice@example.com')).body as ObjectRow;
    // The domain's default of 10 is looser than alice's own 3: hers is in force.
    expect(row.recipients).toEqual({ ownLimit: 3, effectiveLimit: 3, limitSource: 'own', defaultLimit: 'unlimited', tightest: { level: 'mailbox', name: 'alice@example.com', maximum: 3 } });
    expect(await cli(['limit', 'set', 'mailbox', 'alice@example.com', '0', '--recipients', '--data-dir', dataDir]).catch((error: Error) => error.message)).toContain('invalid maximum of recipients');
  });

  it('by sendmail: 4 recipients are not sent; the sender gets a bounce that carries the reason; 3 pass', async () => {
    await postfix.sendLocalMail({ from: 'alice@example.com', to: FOUR, subject: 'four by sendmail' });
    await postfix.sendLocalMail({ from: 'alice@example.com', to: THREE, subject: 'three by sendmail' });
    await eventually(async () => (await postfix.deliveredMessages()).some((m) => m.subject === 'three by sendmail'), 'the local message with 3 recipients to be delivered', 30_000);

    // Measured: Postfix's cleanup turns the milter's 554 5.5.3 for a local message into a non-delivery report
    // to the envelope sender (relayed to the sink here), with the reply text as the diagnostic.
    const bounceOf = async () => (await postfix.deliveredMessages()).find((m) => m.recipients.includes('alice@example.com') && m.raw.includes('four by sendmail'));
    await eventually(async () => (await bounceOf()) !== undefined, 'the bounce of the local message with 4 recipients to reach its sender', 30_000);
    const bounce = (await bounceOf())!;
    expect(bounce.mailFrom).toBe('');
    // One DSN status per recipient, the reason in its diagnostic (folded over lines in the report).
    const report = bounce.raw.replace(/\r?\n[ \t]+/g, ' ');
    expect(report.match(/^Status: 5\.5\.3$/gm)).toHaveLength(4);
    expect(report).toContain(`Diagnostic-Code: X-Postfix; ${REASON}`);
    expect((await postfix.deliveredMessages()).some((m) => m.subject === 'four by sendmail')).toBe(false);
    expect((await postfix.queue()).filter((q) => q.queue_name === 'hold')).toEqual([]);

    const local = (await events()).filter((e) => e.action === 'reject' && e.recipientCount === 4);
    expect(local).toHaveLength(2);
    expect(await aliceUsed()).toBe(2);
  });
});
