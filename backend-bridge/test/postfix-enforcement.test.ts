import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, DaemonProcess, tempDataDir } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { PostfixInstance, type SmtpResult } from '../test-support/postfix-instance.js';
import { expectDeferred } from '../test-support/wired-postfix.js';

/**
 * The product as a mail server sees it: a real Postfix on loopback, wired with `outgoing-limits postfix wire`
 * to a real daemon, relaying to a real SMTP sink. Defaults: mailbox 3, domain 5, subscription 8 per hour.
 */
const ALICE = { login: 'alice@example.com', password: 'alice-secret' };
const OUTSIDE = ['someone@remote.test'];

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let pristineMainCf: string;

async function freshDaemon(): Promise<DaemonProcess> {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'directory.json');
  writeFileSync(file, JSON.stringify(exampleDirectory()));
  await cli(['directory', 'import', file, '--data-dir', dataDir]);
  await cli(['settings', 'set', '--data-dir', dataDir, '--enabled', 'on', '--mailbox-limit', '3', '--domain-limit', '5', '--subscription-limit', '8', '--over-limit-action', 'defer']);
  return DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
}

async function send(from: string, options: { auth?: typeof ALICE } = {}): Promise<SmtpResult> {
  return postfix.sendMail({ from, to: OUTSIDE, subject: `from ${from}`, ...options });
}

async function sendMany(from: string, count: number): Promise<SmtpResult[]> {
  const results: SmtpResult[] = [];
  for (let i = 0; i < count; i++) results.push(await send(from));
  return results;
}

beforeAll(async () => {
  postfix = await PostfixInstance.start({ saslUsers: [ALICE] });
  pristineMainCf = readFileSync(postfix.mainCfPath, 'utf8');
  await cli(['postfix', 'wire', '--config-dir', postfix.configDir]);
  await postfix.reload();
});

afterAll(async () => {
  await postfix?.stop();
});

beforeEach(async () => {
  daemon = await freshDaemon();
});

afterEach(async () => {
  await daemon.kill();
});

describe('limits enforced by a real Postfix', () => {
  it('the 4th message of a mailbox gets 450 4.7.1 at end of data while another mailbox still sends', async () => {
    const before = (await postfix.deliveredMessages()).length;
    const results = await sendMany('alice@example.com', 4);
    expect(results.slice(0, 3).map((r) => r.code)).toEqual([250, 250, 250]);
    expectDeferred(results[3]!, /Outgoing limit of 3 messages\/hour for mailbox alice@example\.com reached; try again in (59|60) minutes/);
    expect((await send('bob@example.com')).accepted).toBe(true);
    const delivered = await postfix.waitForDelivered(before + 4);
    expect(delivered.filter((m) => m.subject === 'from alice@example.com')).toHaveLength(3);
  });

  it('the domain limit holds across mailboxes, and the subscription limit across domains', async () => {
    await sendMany('alice@example.com', 3);
    await sendMany('bob@example.com', 2);
    expectDeferred(await send('carol@example.com'), /Outgoing limit of 5 messages\/hour for domain example\.com reached/);
    await daemon.change(['limit', 'set', 'mailbox', 'erin@example.net', 'unlimited']);
    expect((await sendMany('erin@example.net', 3)).every((r) => r.accepted)).toBe(true);
    expectDeferred(await send('erin@example.net'), /Outgoing limit of 8 messages\/hour for subscription example\.com reached/);
    expect((await send('mallory@other.org')).accepted).toBe(true);
  });

  it('a SASL-authenticated user is counted by login, not by envelope sender', async () => {
    for (let i = 0; i < 3; i++) expect((await send('bob@example.com', { auth: ALICE })).accepted).toBe(true);
    expectDeferred(await send('bob@example.com', { auth: ALICE }), /mailbox alice@example\.com reached/);
    // bob himself has sent nothing yet.
    expect((await send('bob@example.com')).accepted).toBe(true);
  });

  it('unlimited lets a mailbox send on; 0 stops it from the first message', async () => {
    await daemon.change(['limit', 'set', 'mailbox', 'dave@example.com', 'unlimited']);
    await daemon.change(['limit', 'set', 'domain', 'example.com', 'unlimited']);
    await daemon.change(['limit', 'set', 'subscription', 'example.com', 'unlimited']);
    expect((await sendMany('dave@example.com', 10)).every((r) => r.accepted)).toBe(true);
    await daemon.change(['limit', 'set', 'mailbox', 'carol@example.com', '0']);
    expectDeferred(await send('carol@example.com'), 'Sending is not allowed for mailbox carol@example.com (outgoing limit 0 messages/hour)');
  });

  it('switching limits off lets everything through', async () => {
    await daemon.change(['settings', 'set', '--enabled', 'off']);
    expect((await sendMany('alice@example.com', 6)).every((r) => r.accepted)).toBe(true);
    await daemon.change(['settings', 'set', '--enabled', 'on']);
    expectDeferred(await send('alice@example.com'), /mailbox alice@example\.com reached/);
  });

  it('a daemon restart keeps the counts', async () => {
    await sendMany('alice@example.com', 3);
    await daemon.stop();
    daemon = await DaemonProcess.start(daemon.dataDir, ['--postfix-config-dir', postfix.configDir]);
    expectDeferred(await send('alice@example.com'), /mailbox alice@example\.com reached/);
  });

  it('with the daemon stopped, mail still flows (fail-open wiring)', async () => {
    await daemon.kill();
    const before = (await postfix.deliveredMessages()).length;
    const results = await sendMany('alice@example.com', 4);
    expect(results.map((r) => r.code)).toEqual([250, 250, 250, 250]);
    await postfix.waitForDelivered(before + 4);
    expect(await postfix.logTail()).toMatch(/problem talking to server outgoing-limits\/policy/);
  });
});

describe('postfix unwire', () => {
  it('restores the instance main.cf byte for byte, and mail then bypasses the policy service', async () => {
    await cli(['postfix', 'unwire', '--config-dir', postfix.configDir]);
    expect(readFileSync(postfix.mainCfPath, 'utf8')).toBe(pristineMainCf);
    await daemon.change(['limit', 'set', 'mailbox', 'alice@example.com', '0']);
    expect((await send('alice@example.com')).accepted).toBe(true);
    await cli(['postfix', 'wire', '--config-dir', postfix.configDir]);
    await postfix.reload();
    expectDeferred(await send('alice@example.com'), /Sending is not allowed for mailbox alice@example\.com/);
  });
});
