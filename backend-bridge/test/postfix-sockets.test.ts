import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBridgeSecret } from '../src/api/auth/bridge-secret.js';
import { BridgeClient } from '../src/api/bridge-client.js';
import { apiSocketPath } from '../src/api/server.js';
import { findParameter } from '../src/postfix/main-cf.js';
import { cli, DaemonProcess, eventually, tempDataDir } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * Only Postfix reaches the policy service and the milter: a real Postfix, with smtpd and cleanup chrooted (as
 * Debian runs them) and not, wired by `postfix wire` with its defaults, reaches the daemon's sockets in its
 * queue directory; another local user cannot even connect. carol@example.com has limit 0.
 */

const OUTSIDE = ['someone@remote.test'];
const ATTEMPTS_PER_WAVE = 2_500;

/**
 * Run as another local user: connects to both sockets again and again, 2,500 attempts a wave, keeps whatever
 * connects open, and reports after the first wave; stops when its stdin closes (bounded: 120 waves, 120 s).
 */
const ATTACKER = `
const net = require('node:net');
const [policy, milter, perWave] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const outcome = { attempts: 0, connected: 0, errors: {} };
const held = [];
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();
const deadline = Date.now() + 120000;
function attempt(path) {
  return new Promise((resolve) => {
    const socket = net.connect({ path });
    socket.once('connect', () => { outcome.connected++; held.push(socket); resolve(); });
    socket.once('error', (error) => { outcome.errors[error.code] = (outcome.errors[error.code] || 0) + 1; resolve(); });
  });
}
(async () => {
  for (let wave = 0; wave < 120 && !stop && Date.now() < deadline; wave++) {
    outcome.attempts += perWave;
    await Promise.all(Array.from({ length: perWave }, (_, i) => attempt(i % 2 ? milter : policy)));
    if (wave === 0) process.stdout.write('first wave done\\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.stdout.write(JSON.stringify(outcome) + '\\n');
  for (const socket of held) socket.destroy();
})();
`;

interface AttackOutcome {
  attempts: number;
  connected: number;
  errors: Record<string, number>;
}

function attackerScript(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-attacker-'));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'attacker.cjs');
  writeFileSync(file, ATTACKER, { mode: 0o644 });
  return file;
}

/** Starts the attacker as `nobody`; resolves once its first wave of attempts is done. */
async function startAttack(policy: string, milter: string): Promise<{ finish: () => Promise<AttackOutcome> }> {
  const child = spawn('runuser', ['-u', 'nobody', '--', process.execPath, attackerScript(), policy, milter, String(ATTEMPTS_PER_WAVE)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await eventually(() => output.includes('first wave done') || child.exitCode !== null, 'the first wave of connection attempts', 60_000);
  return {
    finish: async () => {
      child.stdin.end();
      await exited;
      const last = output.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(last) as AttackOutcome;
      } catch {
        throw new Error(`the attacker did not report: ${output}`);
      }
    },
  };
}

/** What `nobody` gets when it connects once to `socketPath`. */
function connectAsNobody(socketPath: string): string {
  const probe = `require('node:net').connect({ path: ${JSON.stringify(socketPath)} }).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
  const result = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { encoding: 'utf8', timeout: 30_000 });
  return result.stdout.trim() || result.stderr.trim();
}

describe.each([{ chroot: true }, { chroot: false }])('Postfix with smtpd and cleanup chroot=$chroot, wired with the default sockets', ({ chroot }) => {
  let postfix: PostfixInstance;
  let daemon: DaemonProcess;
  let dataDir: string;

  const api = () => new BridgeClient(readBridgeSecret(dataDir)!, { socketPath: apiSocketPath(dataDir) });
  const used = async (name: string) => ((await api().request('GET', `/api/v1/mailboxes/${name}`)).body as { used: number }).used;
  const delivered = async () => (await postfix.deliveredMessages()).map((m) => m.subject ?? '');
  const held = async (sender: string) => (await postfix.queue()).filter((q) => q.queue_name === 'hold' && q.sender === sender).length;

  async function sendmailAsRoot(from: string, subject: string): Promise<void> {
    const result = spawnSync('/usr/sbin/sendmail', ['-C', postfix.configDir, '-f', from, '-t', '-i'], {
      input: `From: ${from}\nTo: ${OUTSIDE[0]}\nSubject: ${subject}\n\nlocal mail\n`,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (result.status !== 0) throw new Error(`sendmail failed (${String(result.status)}): ${result.stderr}`);
  }

  beforeAll(async () => {
    postfix = await startWiredPostfix({ chroot });
    dataDir = tempDataDir();
    const file = path.join(dataDir, 'directory.json');
    writeFileSync(file, JSON.stringify(exampleDirectory({ 'carol@example.com': 0 })));
    await cli(['directory', 'import', file, '--data-dir', dataDir]);
    await cli(['settings', 'set', '--data-dir', dataDir, '--mailbox-limit', '50', '--domain-limit', '100', '--subscription-limit', '200', '--over-limit-action', 'hold']);
    daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
  });

  afterAll(async () => {
    await daemon?.stop();
    await postfix?.stop();
  });

  it('wires sockets relative to the queue directory, where the daemon listens; SMTP mail of a limit-0 mailbox is held, other mail passes', async () => {
    const mainCf = readFileSync(postfix.mainCfPath, 'utf8');
    expect(findParameter(mainCf, 'smtpd_end_of_data_restrictions')?.value).toBe('check_policy_service unix:outgoing-limits/policy');
    expect(findParameter(mainCf, 'non_smtpd_milters')?.value).toBe('unix:outgoing-limits/milter');
    expect(daemon.policyAddress).toBe(`unix:${postfix.queueDir}/outgoing-limits/policy`);
    expect(daemon.milterAddress).toBe(`unix:${postfix.queueDir}/outgoing-limits/milter`);
    const postfixGid = Number(execFileSync('getent', ['group', 'postfix'], { encoding: 'utf8' }).split(':')[2]);
    for (const [file, mode] of [['', 0o750], ['/policy', 0o660], ['/milter', 0o660]] as const) {
      const info = statSync(`${postfix.queueDir}/outgoing-limits${file}`);
      expect({ file, mode: info.mode & 0o777, gid: info.gid }).toEqual({ file, mode, gid: postfixGid });
    }

    expectAccepted(await postfix.sendMail({ from: 'carol@example.com', to: OUTSIDE, subject: 'carol smtp' }));
    expectAccepted(await postfix.sendMail({ from: 'alice@example.com', to: OUTSIDE, subject: 'alice smtp' }));
    await eventually(async () => (await delivered()).includes('alice smtp'), 'the normal message to be delivered', 20_000);
    expect(await held('carol@example.com')).toBe(1);
    expect(await used('alice@example.com')).toBe(1);
    expect(await postfix.logTail()).not.toMatch(/problem talking to server|milter.*(unavailable|connect)/i);
  });

  it('local sendmail mail reaches the milter: counted, and held at limit 0', async () => {
    const before = await used('alice@example.com');
    await sendmailAsRoot('alice@example.com', 'alice local');
    await sendmailAsRoot('carol@example.com', 'carol local');
    await eventually(async () => (await delivered()).includes('alice local'), 'the local message to be delivered', 30_000);
    await eventually(async () => (await held('carol@example.com')) === 2, 'the local message of carol to be held', 30_000);
    expect(await used('alice@example.com')).toBe(before + 1);
    expect(daemon.log).toMatch(/"sender":"carol@example\.com".*"action":"hold"/);
  });

  it('another local user cannot connect to either socket (EACCES); while it tries 2,500 times a wave, enforcement goes on', async () => {
    expect(connectAsNobody(daemon.policySocket)).toBe('EACCES');
    expect(connectAsNobody(daemon.milterSocket)).toBe('EACCES');

    const attack = await startAttack(daemon.policySocket, daemon.milterSocket);
    expectAccepted(await postfix.sendMail({ from: 'carol@example.com', to: OUTSIDE, subject: 'carol under attack' }));
    expectAccepted(await postfix.sendMail({ from: 'bob@example.com', to: OUTSIDE, subject: 'bob under attack' }));
    await sendmailAsRoot('carol@example.com', 'carol local under attack');
    await eventually(async () => (await delivered()).includes('bob under attack'), 'the normal message to be delivered during the attack', 30_000);
    await eventually(async () => (await held('carol@example.com')) === 4, 'both of carol’s messages to be held during the attack', 30_000);
    const outcome = await attack.finish();

    expect(outcome.attempts).toBeGreaterThanOrEqual(ATTEMPTS_PER_WAVE);
    expect(outcome.connected).toBe(0);
    expect(outcome.errors).toEqual({ EACCES: outcome.attempts });
    expect((await delivered()).filter((s) => s.startsWith('carol'))).toEqual([]);
  });
});
