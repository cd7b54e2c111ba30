import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeClient } from '../src/api/bridge-client.js';
import type { ObjectRow } from '../src/core/object-query.js';
import type { UsageRow } from '../src/core/usage.js';
import type { HeldMessage } from '../src/store/held-store.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { queueNameIn, sendAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * The daily cap holding mail past the hourly one, with a real Postfix. The hourly window is the real hour; the
 * daily one is the test-only 20 seconds (OUTGOING_LIMITS_TEST_DAY_SECONDS) so the test sees it free. alice has
 * an hourly limit of 5 and a daily limit of 3: the 4th message has hourly room and no daily room.
 */
const DAY_SECONDS = 20;
const OUTSIDE = ['someone@remote.test'];

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;

beforeAll(async () => {
  postfix = await startWiredPostfix();
  dataDir = await preparedDataDir(exampleDirectory(), ['--mailbox-limit', '5', '--domain-limit', '50', '--subscription-limit', '100']);
  expect(await cli(['limit', 'set', 'mailbox', 'alice@example.com', '3', '--daily', '--data-dir', dataDir])).toBe('Daily limit of mailbox alice@example.com set to 3 per day.\n');
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir], { OUTGOING_LIMITS_TEST_DAY_SECONDS: String(DAY_SECONDS) });
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

function api(): BridgeClient {
  return bridgeApi(dataDir, PLESK_ADMIN);
}

async function heldRecord(queueId: string): Promise<HeldMessage> {
  const response = await api().request('GET', `/api/v1/held/${queueId}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as HeldMessage;
}

const queueNameOf = (queueId: string) => queueNameIn(postfix, queueId);
const send = (subject: string) => sendAccepted(postfix, { from: 'alice@example.com', to: OUTSIDE, subject });

describe('daily limits with a real Postfix', () => {
  it('the daily cap holds mail past the hourly one, names the daily window, and releases it when the day has room', async () => {
    for (const n of [1, 2, 3]) expect(await queueNameOf(await send(`alice ${n}`))).not.toBe('hold');
    const fourth = await send('alice 4');
    expect(await queueNameOf(fourth)).toBe('hold');
    const record = await heldRecord(fourth);
    expect(record).toMatchObject({ status: 'held', chargedName: 'alice@example.com', trippedLevel: 'mailbox' });
    expect(record.reason).toMatch(/^Outgoing daily limit of 3 messages for mailbox alice@example\.com reached; message held, sent automatically in about \d+ seconds$/);
    expect(await postfix.logTail()).toMatch(new RegExp(`${fourth}: hold: END-OF-MESSAGE from .*Outgoing daily limit of 3 messages for mailbox alice@example\\.com reached`));

    // The row says which window is full: 3 of 5 this hour, 3 of 3 today, holding because of the daily limit.
    const row = (await api().request('GET', '/api/v1/mailboxes/alice@example.com')).body as ObjectRow;
    expect(row).toMatchObject({ used: 3, effectiveLimit: 5, daily: { ownLimit: 3, effectiveLimit: 3, limitSource: 'own', used: 3, blocked: true } });
    expect(row.sending).toMatchObject({ state: 'holding', level: 'mailbox', window: 'day', limit: 3 });

    await eventually(async () => (await postfix.deliveredMessages()).some((m) => m.subject === 'alice 4'), 'the message held by the daily limit to be delivered', 60_000);
    expect(await queueNameOf(fourth)).toBeNull();
    expect(await heldRecord(fourth)).toMatchObject({ status: 'released', resolvedBy: 'worker' });

    // Every message counted in the hour, the release too: 4 of 5.
    const usage = JSON.parse(await cli(['usage', '--json', '--data-dir', dataDir], { OUTGOING_LIMITS_TEST_DAY_SECONDS: String(DAY_SECONDS) })) as UsageRow[];
    expect(usage.find((u) => u.name === 'alice@example.com')).toMatchObject({ used: 4, limit: 5, day: { limit: 3 } });
  });
});
