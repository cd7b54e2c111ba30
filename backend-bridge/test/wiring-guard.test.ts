import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../src/api/bridge-client.js';
import { findParameter } from '../src/postfix/main-cf.js';
import { STATE_FILE } from '../src/postfix/wiring.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * The daemon keeps its entries in a real Postfix's main.cf: another program (Plesk's mail repair) removes them with
 * `postconf -e`, the daemon puts them back and reloads Postfix, and the limits act on real mail again. Mailbox
 * carol@example.com has a limit of 0, so while the wiring is in place every message of hers is held.
 */
const OUTSIDE = ['someone@remote.test'];
const POLICY_ENTRY = 'check_policy_service unix:outgoing-limits/policy';
const MILTER_ENTRY = 'unix:outgoing-limits/milter';

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;
let webhook: { url: string; bodies: Array<Record<string, unknown>>; close: () => Promise<void> };
const immutable: string[] = [];

async function webhookReceiver(): Promise<typeof webhook> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function startDaemon(): Promise<DaemonProcess> {
  return DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
}

function api(): BridgeClient {
  return bridgeApi(dataDir, PLESK_ADMIN);
}

async function checkNow(): Promise<Record<string, unknown>> {
  const response = await api().request('POST', '/api/v1/postfix/wiring/check');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as Record<string, unknown>;
}

function parameter(name: string): string | null {
  return findParameter(readFileSync(postfix.mainCfPath, 'utf8'), name)?.value ?? null;
}

function wiringPresent(): boolean {
  return (parameter('smtpd_end_of_data_restrictions') ?? '').includes(POLICY_ENTRY) && (parameter('non_smtpd_milters') ?? '').includes(MILTER_ENTRY);
}

/**
 * What Plesk's rewrite of main.cf does to us: both lists set to its own values. (Whether they were gone is told by
 * the daemon's notification: a running daemon may put them back before this process reads main.cf.)
 */
async function removeEntries(): Promise<void> {
  await postfix.postconf(['-e', 'smtpd_end_of_data_restrictions = reject_unauth_pipelining', 'non_smtpd_milters =']);
}

function logLines(text: string): number {
  return daemon.log.split('\n').filter((line) => line.includes(text)).length;
}

async function heldFromCarol(): Promise<string[]> {
  return (await postfix.queue()).filter((entry) => entry.queue_name === 'hold' && entry.sender === 'carol@example.com').map((entry) => entry.queue_id);
}

beforeAll(async () => {
  postfix = await startWiredPostfix();
  webhook = await webhookReceiver();
  dataDir = await preparedDataDir(exampleDirectory({ 'carol@example.com': 0 }), ['--webhook', webhook.url]);
  daemon = await startDaemon();
});

afterAll(async () => {
  for (const file of immutable) execFileSync('chattr', ['-i', file]);
  await daemon?.stop();
  await postfix?.stop();
  await webhook?.close();
});

describe('the daemon keeps Postfix wired', () => {
  it('puts back the policy service and the milter removed with postconf -e, reloads Postfix, and the limit acts again', async () => {
    await removeEntries();
    await postfix.reload();
    await eventually(wiringPresent, 'the policy service and the milter back in main.cf', 40_000);
    expect(parameter('smtpd_end_of_data_restrictions')).toBe(`reject_unauth_pipelining, ${POLICY_ENTRY}`);
    expect(parameter('non_smtpd_milters')).toBe(MILTER_ENTRY);
    expect(parameter('milter_default_action')).toBe('accept');
    await daemon.waitForLog('put back and Postfix reloaded');

    // SMTP mail: an old smtpd may still serve one connection with the settings from before the reload.
    let heldQueueId: string | null = null;
    await eventually(
      async () => {
        const result = await postfix.sendMail({ from: 'carol@example.com', to: OUTSIDE, subject: 'carol over SMTP' });
        expect(result.accepted, result.transcript).toBe(true);
        if ((await heldFromCarol()).includes(result.queueId ?? '')) heldQueueId = result.queueId;
        return heldQueueId !== null;
      },
      'mail of a mailbox with limit 0 to be held again',
      40_000,
    );
    // Local mail (sendmail, PHP) passes the milter again, which holds it too.
    const before = await heldFromCarol();
    await postfix.sendLocalMail({ from: 'carol@example.com', to: OUTSIDE, subject: 'carol by sendmail' });
    await eventually(async () => (await heldFromCarol()).length > before.length, 'local mail of carol held by the milter', 20_000);

    await eventually(() => webhook.bodies.some((body) => body.kind === 'wiring-restored'), 'the wiring-restored notification');
    expect(webhook.bodies.find((body) => body.kind === 'wiring-restored')).toMatchObject({
      kind: 'wiring-restored',
      mainCf: postfix.mainCfPath,
      missing: [`smtpd_end_of_data_restrictions: ${POLICY_ENTRY}`, `non_smtpd_milters: ${MILTER_ENTRY}`],
      error: null,
    });
    // One removal, one line; the daemon's own write of main.cf does not start another repair.
    expect(await checkNow()).toEqual({ outcome: 'intact' });
    expect(logLines('put back and Postfix reloaded')).toBe(1);
  });

  it('an unwritable main.cf: notified and logged once, retried at each check, the daemon still answers; repaired once writable', async () => {
    await daemon.stop();
    await removeEntries();
    expect(wiringPresent()).toBe(false);
    const state = readFileSync(path.join(postfix.configDir, STATE_FILE), 'utf8');
    execFileSync('chattr', ['+i', postfix.mainCfPath]);
    immutable.push(postfix.mainCfPath);
    const notified = webhook.bodies.length;
    daemon = await startDaemon();

    await eventually(() => webhook.bodies.length > notified, 'the wiring-repair-failed notification', 20_000);
    for (let i = 0; i < 3; i++) expect(await checkNow()).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/cannot write .*main\.cf: EPERM/) });
    expect(logLines('cannot check or repair the outgoing limits entries')).toBe(1);
    expect(webhook.bodies.slice(notified)).toEqual([
      expect.objectContaining({
        kind: 'wiring-repair-failed',
        missing: [`smtpd_end_of_data_restrictions: ${POLICY_ENTRY}`, `non_smtpd_milters: ${MILTER_ENTRY}`],
        stage: 'repair',
        error: expect.stringMatching(/EPERM/),
      }),
    ]);
    // Nothing half-done: main.cf as the other program left it, the state file as it was.
    expect(wiringPresent()).toBe(false);
    expect(readFileSync(path.join(postfix.configDir, STATE_FILE), 'utf8')).toBe(state);
    expect((await api().request('GET', '/api/v1/health')).status).toBe(200);
    expect((await api().request('GET', '/api/v1/mailboxes/carol@example.com')).status).toBe(200);

    execFileSync('chattr', ['-i', postfix.mainCfPath]);
    immutable.pop();
    expect(await checkNow()).toMatchObject({ outcome: 'restored', reloaded: true });
    expect(wiringPresent()).toBe(true);
    await daemon.waitForLog('the Postfix wiring can be checked and repaired again');
  });

  it('after postfix unwire, changes to main.cf never wire it again', async () => {
    const repairsBefore = logLines('put back');
    await cli(['postfix', 'unwire', '--config-dir', postfix.configDir]);
    expect(wiringPresent()).toBe(false);
    const unwired = readFileSync(postfix.mainCfPath, 'utf8');
    expect(await checkNow()).toEqual({ outcome: 'not-wired' });
    await postfix.postconf(['-e', 'message_size_limit = 20480000']);
    const changed = readFileSync(postfix.mainCfPath, 'utf8');
    expect(changed).not.toBe(unwired);
    // Checks are serialised: this one runs after the one the change set off.
    expect(await checkNow()).toEqual({ outcome: 'not-wired' });
    expect(readFileSync(postfix.mainCfPath, 'utf8')).toBe(changed);
    expect(logLines('put back')).toBe(repairsBefore);
  });
});
