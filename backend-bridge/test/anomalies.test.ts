import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectRow } from '../src/core/object-query.js';
import type { RecordedAnomaly } from '../src/store/anomaly-store.js';
import type { AuditRow } from '../src/store/audit-store.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, getOk, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * A SASL login used from 11 client addresses in an hour, with a real Postfix: smtpd (cyrus sasldb) reports
 * sasl_username and client_address at END-OF-MESSAGE; each message connects from another loopback address
 * (127.0.0.1 … 127.0.0.11, all in the instance's mynetworks). Limits are far above what is sent, so only the
 * signal can act.
 */
const ALICE = { login: 'alice@example.com', password: 'alice-secret' };
const BOB = { login: 'bob@example.com', password: 'bob-secret' };
const OUTSIDE = ['someone@remote.test'];

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;

beforeAll(async () => {
  postfix = await startWiredPostfix({ saslUsers: [ALICE, BOB] });
  dataDir = await preparedDataDir(exampleDirectory(), ['--mailbox-limit', '100', '--domain-limit', '1000', '--subscription-limit', '1000']);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

/** A GET of the bridge API as the Plesk administrator; it must answer 200. */
const get = <T>(url: string) => getOk<T>(bridgeApi(dataDir, PLESK_ADMIN), url);

/** One authenticated message from each of `count` loopback addresses; each is accepted (nothing is over a limit). */
async function sendFromAddresses(user: typeof ALICE, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const result = await postfix.sendMail({ from: user.login, to: OUTSIDE, auth: user, subject: `${user.login} from 127.0.0.${i}`, localAddress: `127.0.0.${i}` });
    expectAccepted(result);
    ids.push(result.queueId!);
  }
  return ids;
}

const anomaliesOf = async (mailbox: string) => (await get<{ items: RecordedAnomaly[] }>(`/api/v1/anomalies?name=${encodeURIComponent(mailbox)}`)).items;

describe('a login from many addresses, with a real Postfix', () => {
  it('10 addresses raise nothing; the 11th raises the anomaly once, with its figures, on the list and the row', async () => {
    await sendFromAddresses(ALICE, 10);
    expect(await anomaliesOf('alice@example.com')).toEqual([]);
    // The client address the policy service heard is the one the message came from.
    expect(await postfix.logTail(200)).toMatch(/client=\S*\[127\.0\.0\.10\]/);

    const result = await postfix.sendMail({ from: ALICE.login, to: OUTSIDE, auth: ALICE, subject: 'alice from 127.0.0.11', localAddress: '127.0.0.11' });
    expectAccepted(result);
    await eventually(async () => (await anomaliesOf('alice@example.com')).length === 1, 'the anomaly of alice to be recorded');
    const [anomaly] = await anomaliesOf('alice@example.com');
    expect(anomaly).toMatchObject({ mailbox: 'alice@example.com', signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null, autoCompromised: false });
    expect(daemon.log).toContain('unusual sending: mailbox alice@example.com logged in from 11 addresses in an hour (threshold 10)');

    // Once per mailbox, signal and hour: a 12th address adds nothing.
    expectAccepted(await postfix.sendMail({ from: ALICE.login, to: OUTSIDE, auth: ALICE, localAddress: '127.0.0.12' }));
    const row = await get<ObjectRow>('/api/v1/mailboxes/alice@example.com');
    expect(row.anomaly).toMatchObject({ signal: 'loginAddresses', observed: 11, threshold: 10 });
    expect(row.compromised).toBe(false);
    expect(await anomaliesOf('alice@example.com')).toHaveLength(1);
    // The command lists it from the store.
    expect(await cli(['anomalies', '--data-dir', dataDir])).toMatch(/^\S+Z {2}alice@example\.com {2}logged in from 11 addresses in an hour \(threshold 10\)\n$/);
    await expect(cli(['anomalies', '--hours', '0', '--data-dir', dataDir])).rejects.toThrow('expected a whole number of hours from 1 to 744, got "0"');
  });

  it('switched on to mark compromised: the mailbox is marked as the system, and its next message is held', async () => {
    expect(await cli(['settings', 'set', '--data-dir', dataDir, '--auto-compromise-logins', 'on'])).toContain(
      'Unusual sending, logins from many addresses: more than 10 client addresses of one login in an hour; marks the mailbox compromised automatically',
    );
    await sendFromAddresses(BOB, 11);
    await eventually(async () => (await get<ObjectRow>('/api/v1/mailboxes/bob@example.com')).compromised, 'bob to be marked compromised');
    const [anomaly] = await anomaliesOf('bob@example.com');
    expect(anomaly).toMatchObject({ signal: 'loginAddresses', observed: 11, threshold: 10 });
    await eventually(async () => (await anomaliesOf('bob@example.com'))[0]?.autoCompromised === true, 'the anomaly to say it marked bob');

    const audit = await get<{ items: AuditRow[] }>('/api/v1/audit?level=mailbox&name=bob@example.com');
    expect(audit.items.find((a) => a.action === 'mailbox.compromised')).toMatchObject({
      actorLogin: 'system',
      oldValue: 'default',
      newValue: { limit: 0, automatically: { signal: 'loginAddresses', observed: 11, threshold: 10 } },
    });

    // Its next message waits in the hold queue, as mail of any compromised mailbox does.
    const next = await postfix.sendMail({ from: BOB.login, to: OUTSIDE, auth: BOB, subject: 'bob after the mark', localAddress: '127.0.0.1' });
    expectAccepted(next);
    await eventually(async () => (await postfix.queue()).find((q) => q.queue_id === next.queueId)?.queue_name === 'hold', 'bob’s next message to be held');
    // alice raised her anomaly before the switch: she stays unmarked.
    expect((await get<ObjectRow>('/api/v1/mailboxes/alice@example.com')).compromised).toBe(false);
  });

  it('recipient domains of SMTP mail: wired with --recipient-domains, one message to 4 domains passes a threshold of 3', async () => {
    await cli(['settings', 'set', '--data-dir', dataDir, '--anomaly-domains', '3']);
    const to = ['a@one.test', 'b@two.test', 'c@three.test', 'd@four.test'];
    // Without the recipient stage, END-OF-MESSAGE names no recipient of a message with several: nothing is seen.
    expectAccepted(await postfix.sendMail({ from: 'carol@example.com', to, subject: 'four domains, unwired' }));
    expect(await anomaliesOf('carol@example.com')).toEqual([]);

    expect(await cli(['postfix', 'wire', '--config-dir', postfix.configDir, '--recipient-domains'])).toMatch(/wired/);
    expect(readFileSync(postfix.mainCfPath, 'utf8')).toMatch(/^smtpd_recipient_restrictions = check_policy_service unix:outgoing-limits\/policy/m);
    expectAccepted(await postfix.sendMail({ from: 'carol@example.com', to, subject: 'four domains' }));
    await eventually(async () => (await anomaliesOf('carol@example.com')).length === 1, 'the recipient-domains anomaly of carol');
    expect((await anomaliesOf('carol@example.com'))[0]).toMatchObject({ signal: 'recipientDomains', observed: 4, threshold: 3 });
    // Observe only: every message was accepted and delivered.
    await eventually(async () => (await postfix.deliveredMessages()).filter((m) => m.subject === 'four domains').length === 1, 'the message to be delivered');
  });
});
