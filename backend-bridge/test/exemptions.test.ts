import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeClient } from '../src/api/bridge-client.js';
import type { ExemptionView } from '../src/core/exemptions.js';
import type { AuditRow } from '../src/store/audit-store.js';
import type { HeldMessage } from '../src/store/held-store.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { queueNameIn, sendAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * A temporary exemption ending by itself, with a real Postfix. alice's hourly limit is 2, raised to 5 for ten
 * minutes: 4 messages pass. The daemon's clock (OUTGOING_LIMITS_TEST_CLOCK_FILE, an offset in ms) is then moved
 * past the end, with no wait: the 5th message is held by the normal limit of 2, and the end is audited.
 */
const OUTSIDE = ['someone@remote.test'];

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;
let clockFile: string;

beforeAll(async () => {
  postfix = await startWiredPostfix();
  dataDir = await preparedDataDir(exampleDirectory(), ['--mailbox-limit', '2', '--domain-limit', '50', '--subscription-limit', '100']);
  clockFile = path.join(dataDir, 'clock-offset-ms');
  writeFileSync(clockFile, '0');
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir], { OUTGOING_LIMITS_TEST_CLOCK_FILE: clockFile });
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

function api(): BridgeClient {
  return bridgeApi(dataDir, PLESK_ADMIN);
}

const queueNameOf = (queueId: string) => queueNameIn(postfix, queueId);
const send = (subject: string) => sendAccepted(postfix, { from: 'alice@example.com', to: OUTSIDE, subject });

async function exemptionAudit(): Promise<AuditRow[]> {
  const response = await api().request('GET', '/api/v1/audit?limit=20');
  expect(response.status).toBe(200);
  return (response.body as { items: AuditRow[] }).items.filter((row) => row.action.startsWith('exemption.'));
}

describe('temporary exemptions with a real Postfix', () => {
  it('a mailbox of limit 2 raised to 5 sends 4; past the end the next is held by the limit of 2, and the end is audited', async () => {
    const set = await cli(['exempt', 'set', 'mailbox', 'alice@example.com', '--hourly', '5', '--until', '+10m', '--data-dir', dataDir]);
    expect(set).toMatch(/^Exempted mailbox alice@example\.com: raised to 5 per hour until .+Z\.\n$/);
    const listed = (await api().request('GET', '/api/v1/exemptions')).body as { items: ExemptionView[] };
    expect(listed.items).toMatchObject([{ level: 'mailbox', name: 'alice@example.com', hourly: 5, daily: null, setBy: 'root' }]);
    const endsAtMs = Date.parse(listed.items[0]!.endsAt);

    for (const n of [1, 2, 3, 4]) expect(await queueNameOf(await send(`alice ${n}`))).not.toBe('hold');
    await eventually(async () => (await postfix.deliveredMessages()).filter((m) => m.subject?.startsWith('alice ')).length === 4, 'the four exempted messages to be delivered', 60_000);

    // The daemon's clock one second past the end; nothing else changes.
    writeFileSync(clockFile, String(endsAtMs - Date.now() + 1000));
    const fifth = await send('alice 5');
    expect(await queueNameOf(fifth)).toBe('hold');
    const held = (await api().request('GET', `/api/v1/held/${fifth}`)).body as HeldMessage;
    expect(held).toMatchObject({ status: 'held', chargedName: 'alice@example.com', trippedLevel: 'mailbox' });
    expect(held.reason).toMatch(/^Outgoing limit of 2 messages\/hour for mailbox alice@example\.com reached; message held/);

    await eventually(async () => (await exemptionAudit()).some((row) => row.action === 'exemption.end'), 'the end of the exemption to be audited', 15_000);
    const [ended, started] = await exemptionAudit();
    expect(started).toMatchObject({ actorLogin: 'root', actorRole: 'admin', action: 'exemption.set', level: 'mailbox', objectName: 'alice@example.com', newValue: { hourly: 5, daily: null } });
    expect(ended).toMatchObject({ actorLogin: 'system', actorRole: 'system', action: 'exemption.end', level: 'mailbox', objectName: 'alice@example.com', newValue: { reason: 'endTime' } });
    expect(await cli(['exempt', 'list', '--data-dir', dataDir])).toBe('No exemptions in force.\n');
  });
});
