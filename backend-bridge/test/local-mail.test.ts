import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient } from '../src/api/bridge-client.js';
import { encodeFrame } from '../src/postfix/milter-protocol.js';
import type { HeldMessage } from '../src/store/held-store.js';
import { bridgeApi, preparedDataDir } from '../test-support/prepared-store.js';
import { cli, DaemonProcess, eventually } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { PostfixInstance } from '../test-support/postfix-instance.js';
import { expectAccepted } from '../test-support/wired-postfix.js';

/**
 * Local mail (sendmail, as PHP's mail() sends it) through a real Postfix whose non_smtpd_milters is the daemon's
 * milter. Subscription other.org has system user www-data and a limit of 2 per hour.
 *
 * sendmail run by a user other than root may only use a config directory that the machine's default main.cf
 * lists in alternate_config_directories: the instance lives at a fixed path per checkout, and that path is added
 * to /etc/postfix/main.cf once (the machine's own, unused, Postfix instance; the line is harmless).
 */
const checkout = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASE_DIR = path.join(os.tmpdir(), `oml-local-mail-${createHash('sha256').update(checkout).digest('hex').slice(0, 8)}`);
const SYSTEM_MAIN_CF = '/etc/postfix';

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;
let wwwDataUid: number;

function allowConfigDirForUsers(configDir: string): void {
  const current = spawnSync('/usr/sbin/postconf', ['-c', SYSTEM_MAIN_CF, '-h', 'alternate_config_directories'], { encoding: 'utf8' });
  if (current.status !== 0) throw new Error(`postconf failed: ${current.stderr}`);
  const listed = current.stdout.trim().split(/[\s,]+/).filter(Boolean);
  if (listed.includes(configDir)) return;
  const set = spawnSync('/usr/sbin/postconf', ['-c', SYSTEM_MAIN_CF, '-e', `alternate_config_directories = ${[...listed, configDir].join(', ')}`], { encoding: 'utf8' });
  if (set.status !== 0) throw new Error(`postconf -e failed: ${set.stderr}`);
}

function uidOf(user: string): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user} on this machine`);
  return Number(line.split(':')[2]);
}

/** `sendmail -t` as www-data, the way a PHP script's mail() submits: recipients from the headers, no -f. */
function sendmailAsWwwData(subject: string): void {
  const message = `To: someone@remote.test\nSubject: ${subject}\n\nsent by a script\n`;
  const result = spawnSync('/usr/sbin/sendmail', ['-C', postfix.configDir, '-t', '-i'], {
    input: message,
    uid: wwwDataUid,
    gid: wwwDataUid,
    encoding: 'utf8',
    env: { PATH: '/usr/sbin:/usr/bin:/bin' },
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`sendmail as www-data failed (${String(result.status)}): ${result.stderr}`);
}

function api(): BridgeClient {
  return bridgeApi(dataDir);
}

async function used(collection: string, name: string): Promise<number> {
  const response = await api().request('GET', `/api/v1/${collection}/${name}`);
  return (response.body as { used: number }).used;
}

async function subjectsDelivered(): Promise<string[]> {
  return (await postfix.deliveredMessages()).map((m) => m.subject ?? '');
}

beforeAll(async () => {
  wwwDataUid = uidOf('www-data');
  postfix = await PostfixInstance.start({ baseDir: BASE_DIR });
  allowConfigDirForUsers(postfix.configDir);
  await cli(['postfix', 'wire', '--config-dir', postfix.configDir]);
  await postfix.reload();
  const directory = exampleDirectory({ 'sub:other.org': 2 });
  const otherOrg = directory.subscriptions.find((s) => s.name === 'other.org')!;
  otherOrg.systemUser = 'www-data';
  dataDir = await preparedDataDir(directory);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

describe('local mail through the milter', () => {
  it('sendmail -t as www-data is counted against the subscription of that system user and held over its limit', async () => {
    sendmailAsWwwData('script 1');
    sendmailAsWwwData('script 2');
    await postfix.waitForDelivered(2, 20_000);
    sendmailAsWwwData('script 3');
    const held = await eventually(async () => (await postfix.queue()).some((q) => q.queue_name === 'hold'), 'the third message in the hold queue', 20_000).then(
      async () => (await postfix.queue()).find((q) => q.queue_name === 'hold')!,
    );
    expect(held.sender).toBe(`www-data@${postfix.hostname}`);
    const record = (await api().request('GET', `/api/v1/held/${held.queue_id}`)).body as HeldMessage;
    expect(record).toMatchObject({ source: 'milter', chargedLevel: 'subscription', chargedName: 'other.org', trippedLevel: 'subscription', recipients: ['someone@remote.test'] });
    expect(record.reason).toMatch(/^Outgoing limit of 2 messages\/hour for subscription other\.org reached; message held, sent automatically in about (59|60) minutes$/);
    expect(await postfix.logTail()).toContain(`${held.queue_id}: milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers HOLD action`);
    expect(daemon.log).toMatch(/"queueId":"\w+","sender":"www-data@[^"]+","uid":\d+,"systemUser":"www-data","identifiedBy":"system-user","allowed":false/);
    expect(await used('subscriptions', 'other.org')).toBe(2);
    expect((await subjectsDelivered()).filter((s) => s.startsWith('script'))).toEqual(['script 1', 'script 2']);
  });

  it('mail over SMTP counts once, in the policy service, not again in the milter', async () => {
    expectAccepted(await postfix.sendMail({ from: 'alice@example.com', to: ['someone@remote.test'], subject: 'smtp once' }));
    await eventually(async () => (await subjectsDelivered()).includes('smtp once'), 'the SMTP message to be delivered');
    expect(await used('mailboxes', 'alice@example.com')).toBe(1);
    expect(await used('domains', 'example.com')).toBe(1);
  });

  it('bad milter input never crashes the daemon nor blocks other mail', async () => {
    const milterSocket = daemon.milterSocket;
    const closedBy = (send: (socket: net.Socket) => void) =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(milterSocket, () => send(socket));
        socket.on('error', () => undefined);
        socket.on('close', () => resolve());
        socket.setTimeout(15_000, () => reject(new Error('the milter kept a bad connection open')));
      });
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(100 * 1024 * 1024, 0);
    huge.write('B', 4, 'latin1');
    // Refused on the length alone: the connection closes although the 100 MB never come.
    await closedBy((s) => s.write(huge));
    await closedBy((s) => s.write(encodeFrame('Z', Buffer.from('no such command'))));
    await closedBy((s) => s.write(Buffer.alloc(4)));
    // Short frame and a connection cut in the middle of a message: we close it ourselves.
    await closedBy((s) => {
      s.write(Buffer.concat([encodeFrame('M', Buffer.from('<x@example.com>\0')), encodeFrame('R', Buffer.from('<y@remote.test>\0')).subarray(0, 7)]));
      setTimeout(() => s.destroy(), 100);
    });
    // A connection left hanging inside a packet does not hold up the others.
    const hanging = net.connect(milterSocket, () => hanging.write(encodeFrame('M', Buffer.from('<x@example.com>\0')).subarray(0, 6)));
    hanging.on('error', () => undefined);

    sendmailAsWwwData('after bad input');
    await eventually(async () => (await postfix.queue()).filter((q) => q.queue_name === 'hold').length === 2, 'the next script message to be held as well', 20_000);
    expect(daemon.log).toContain('milter connection closed');
    expect(daemon.log).toMatch(/milter packet of 104857600 bytes refused/);
    expect(daemon.log).toMatch(/unknown milter command/);
    hanging.destroy();
    // Still alive and answering.
    expect((await api().request('GET', '/api/v1/health')).status).toBe(200);
    expectAccepted(await postfix.sendMail({ from: 'bob@example.com', to: ['someone@remote.test'], subject: 'smtp after bad input' }));
  });
});
