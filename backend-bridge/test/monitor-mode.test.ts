import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MonitoringAnswer } from '../src/api/routes/monitor-routes.js';
import type { ObjectRow } from '../src/core/object-query.js';
import type { OverLimitEvent } from '../src/store/over-limit-events.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, getOk, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * Monitor only mode with a real Postfix: alice has a limit of 2 per hour; she sends 4 messages, by SMTP and by
 * the local sendmail in turn. All 4 reach the sink and none is held; the 2 over the limit are recorded as "would
 * have been held", and the administrator gets one early warning (80 % of 2 is crossed by the 2nd message).
 */
const OUTSIDE = ['someone@remote.test'];
const ADMIN_ADDRESS = 'admin@notify.test';

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;

beforeAll(async () => {
  postfix = await startWiredPostfix();
  dataDir = await preparedDataDir(exampleDirectory());
  const described = await cli(['settings', 'set', '--data-dir', dataDir, '--mode', 'monitor', '--mailbox-limit', '2', '--domain-limit', '50', '--subscription-limit', '100', '--notify-admin', ADMIN_ADDRESS]);
  expect(described).toContain('Limitations on outgoing email messages: monitor only');
  expect(described).toContain('Early warning at: 80 % of a limit');
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

/** A GET of the bridge API as the Plesk administrator; it must answer 200. */
const get = <T>(url: string) => getOk<T>(bridgeApi(dataDir, PLESK_ADMIN), url);

const subjectsDelivered = async () => (await postfix.deliveredMessages()).map((m) => m.subject);

/** Sends one message and waits until the sink has it, so the next is decided after it. */
async function sendAndDeliver(how: 'smtp' | 'sendmail', subject: string): Promise<void> {
  if (how === 'smtp') expectAccepted(await postfix.sendMail({ from: 'alice@example.com', to: OUTSIDE, subject }));
  else await postfix.sendLocalMail({ from: 'alice@example.com', to: OUTSIDE, subject });
  await eventually(async () => (await subjectsDelivered()).includes(subject), `"${subject}" to reach the sink`, 20_000);
}

describe('monitor only mode with a real Postfix', () => {
  it('delivers everything, holds nothing, records what would have been held, and warns once at 80 %', async () => {
    await sendAndDeliver('smtp', 'alice 1 smtp');
    await sendAndDeliver('sendmail', 'alice 2 sendmail');
    await sendAndDeliver('smtp', 'alice 3 smtp');
    await sendAndDeliver('sendmail', 'alice 4 sendmail');
    expect((await postfix.queue()).filter((q) => q.queue_name === 'hold')).toEqual([]);
    expect((await get<{ items: unknown[] }>('/api/v1/held')).items).toEqual([]);

    // The 3rd (policy service) and 4th (milter) would have been held; both were sent.
    const events = (await get<{ items: OverLimitEvent[] }>('/api/v1/events?name=alice@example.com')).items;
    expect(events.map((e) => e.action)).toEqual(['would-hold', 'would-hold']);
    for (const event of events) expect(event.reason).toMatch(/^Monitor only: this message would have been held \(Outgoing limit of 2 messages\/hour for mailbox alice@example\.com reached/);
    expect(await postfix.logTail()).not.toMatch(/: hold: /);

    // What the overview shows: 2 would have been held, by the mailbox level; the row says what would happen.
    const monitoring = await get<MonitoringAnswer>('/api/v1/monitoring');
    expect(monitoring).toMatchObject({ mode: 'monitor', wouldHaveBeenHeld: 2, wouldHaveBeenDeferred: 0, byLevel: { mailbox: 2, domain: 0, subscription: 0 } });
    expect(monitoring.objects).toMatchObject([{ level: 'mailbox', name: 'alice@example.com', wouldHaveBeenHeld: 2, windows: ['hour'] }]);
    const row = await get<ObjectRow>('/api/v1/mailboxes/alice@example.com');
    expect(row.used).toBe(4);
    expect(row.sending).toMatchObject({ state: 'wouldHold', level: 'mailbox', limit: 2 });

    // One early warning, recorded and mailed; the limit-reached notification says "would have been held".
    expect(monitoring.earlyWarnings.map((w) => [w.level, w.objectName, w.window, w.percent, w.used, w.limit])).toEqual([['mailbox', 'alice@example.com', 'hour', 80, 2, 2]]);
    const notifications = async () => (await postfix.deliveredMessages()).filter((m) => m.recipients.includes(ADMIN_ADDRESS));
    await eventually(async () => (await notifications()).length === 2, 'the early warning and the monitor only notification', 20_000);
    const subjects = (await notifications()).map((m) => m.subject).sort();
    expect(subjects).toEqual([
      'Monitor only: Outgoing limit reached: mailbox alice@example.com (2 messages per hour); mail would have been held',
      'Outgoing mail: mailbox alice@example.com reached 80 % of its hourly limit (2 of 2 messages)',
    ]);
    const limitMail = (await notifications()).find((m) => m.subject?.startsWith('Monitor only'))!;
    expect(limitMail.body).toContain('with limits on they would have been held');

    // Once per window: more mail within the hour raises no second warning.
    await sendAndDeliver('smtp', 'alice 5 smtp');
    expect((await get<MonitoringAnswer>('/api/v1/monitoring')).earlyWarnings).toHaveLength(1);
    expect((await get<MonitoringAnswer>('/api/v1/monitoring')).wouldHaveBeenHeld).toBe(3);
  });
});
