import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBridgeSecret } from '../src/api/auth/bridge-secret.js';
import { BridgeClient } from '../src/api/bridge-client.js';
import { apiSocketPath } from '../src/api/server.js';
import { cli, DaemonProcess, eventually, runCli, tempDataDir } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { sendMessages } from '../test-support/policy-client.js';

const running: DaemonProcess[] = [];
afterEach(async () => {
  for (const daemon of running.splice(0)) await daemon.kill();
});

async function preparedDataDir(): Promise<string> {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'directory.json');
  writeFileSync(file, JSON.stringify(exampleDirectory()));
  await cli(['directory', 'import', file, '--data-dir', dataDir]);
  await cli(['settings', 'set', '--data-dir', dataDir, '--mailbox-limit', '3', '--domain-limit', '5', '--subscription-limit', '8', '--over-limit-action', 'defer']);
  return dataDir;
}

async function start(dataDir: string, extraArgs: string[] = []): Promise<DaemonProcess> {
  const daemon = await DaemonProcess.start(dataDir, extraArgs);
  running.push(daemon);
  return daemon;
}

function send(daemon: DaemonProcess, sender: string, count: number): Promise<string[]> {
  return sendMessages(daemon.policySocket, sender, count);
}

interface UsageRow {
  level: string;
  name: string;
  used: number;
  limit: number | 'unlimited';
  blocked: boolean;
  freesInSeconds: number | null;
}

async function usage(dataDir: string): Promise<UsageRow[]> {
  return JSON.parse(await cli(['usage', '--json', '--data-dir', dataDir])) as UsageRow[];
}

describe('daemon', () => {
  it('keeps its counts across a clean restart', async () => {
    const dataDir = await preparedDataDir();
    const first = await start(dataDir);
    expect(await send(first, 'alice@example.com', 3)).toEqual(['action=DUNNO', 'action=DUNNO', 'action=DUNNO']);
    await first.stop();
    const second = await start(dataDir);
    const [answer] = await send(second, 'alice@example.com', 1);
    expect(answer).toMatch(/^action=DEFER_IF_PERMIT 4\.7\.1 Outgoing limit of 3 messages\/hour for mailbox alice@example.com reached; try again in \d+ minutes$/);
  });

  it('after kill -9, counts older than the flush interval survive', async () => {
    const dataDir = await preparedDataDir();
    const first = await start(dataDir);
    await send(first, 'bob@example.com', 2);
    // The daemon promises at most one second of loss; wait for its journal to show both, then crash it.
    await eventually(async () => (await usage(dataDir)).some((r) => r.name === 'bob@example.com' && r.used === 2), 'the journal to hold 2 messages of bob');
    await first.kill();
    const second = await start(dataDir);
    expect(await send(second, 'bob@example.com', 2)).toEqual(['action=DUNNO', expect.stringMatching(/^action=DEFER_IF_PERMIT 4\.7\.1 /)]);
  });

  it('shows usage per object with limit and when it frees', async () => {
    const dataDir = await preparedDataDir();
    const daemon = await start(dataDir);
    await send(daemon, 'carol@example.com', 4);
    await daemon.stop();
    const rows = await usage(dataDir);
    expect(rows.find((r) => r.name === 'carol@example.com')).toMatchObject({ level: 'mailbox', used: 3, limit: 3, blocked: true });
    expect(rows.find((r) => r.name === 'carol@example.com')?.freesInSeconds).toBeGreaterThan(3500);
    expect(rows.find((r) => r.level === 'domain' && r.name === 'example.com')).toMatchObject({ used: 3, limit: 5, blocked: false, freesInSeconds: null });
    const table = await cli(['usage', '--data-dir', dataDir]);
    expect(table).toMatch(/mailbox\s+carol@example.com\s+3\s+3\s+server default\s+3\s+Unlimited\s+Not sending\s+60 minutes/);
  });

  it('a change made with the command while the daemon runs governs the next messages', async () => {
    const dataDir = await preparedDataDir();
    const daemon = await start(dataDir);
    expect(await send(daemon, 'dave@example.com', 1)).toEqual(['action=DUNNO']);
    await cli(['limit', 'set', 'mailbox', 'dave@example.com', '0', '--data-dir', dataDir]);
    await eventually(async () => (await send(daemon, 'dave@example.com', 1))[0]!.startsWith('action=DEFER_IF_PERMIT 4.7.1 Sending is not allowed'), 'limit 0 to apply');
    await cli(['settings', 'set', '--enabled', 'off', '--data-dir', dataDir]);
    await eventually(async () => (await send(daemon, 'dave@example.com', 1))[0] === 'action=DUNNO', 'switching limits off to apply');
  });

  it('a re-import keeps counts of objects that remain', async () => {
    const dataDir = await preparedDataDir();
    const daemon = await start(dataDir);
    await send(daemon, 'erin@example.net', 3);
    const smaller = exampleDirectory();
    smaller.subscriptions[0]!.domains[0]!.mailboxes = [];
    const file = path.join(dataDir, 'smaller.json');
    writeFileSync(file, JSON.stringify(smaller));
    expect(await cli(['directory', 'import', file, '--data-dir', dataDir])).toMatch(/removed 4 objects/);
    await daemon.waitForLog('"mailboxes":2');
    expect((await send(daemon, 'erin@example.net', 1))[0]).toMatch(/^action=DEFER_IF_PERMIT 4\.7\.1 .*mailbox erin@example.net/);
  });

  it('the command goes through the daemon API while it runs (audited), and says so when it writes the store itself', async () => {
    const dataDir = await preparedDataDir();
    const daemon = await start(dataDir);
    const viaApi = await runCli(['limit', 'set', 'mailbox', 'bob@example.com', '7', '--data-dir', dataDir]);
    expect(viaApi).toMatchObject({ code: 0, stderr: '' });
    const unknown = await runCli(['limit', 'set', 'mailbox', 'ghost@example.com', '7', '--data-dir', dataDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Mailbox ghost@example.com not found');
    const secret = readBridgeSecret(dataDir)!;
    const audit = await new BridgeClient(secret, { socketPath: apiSocketPath(dataDir) }).request('GET', '/api/v1/audit?level=mailbox&name=bob@example.com');
    expect(audit.body).toMatchObject({ items: [{ actorLogin: 'root', action: 'limit.set', oldValue: 'default', newValue: 7 }] });
    await daemon.stop();
    const direct = await runCli(['limit', 'set', 'mailbox', 'bob@example.com', '8', '--data-dir', dataDir]);
    expect(direct.code).toBe(0);
    expect(direct.stderr).toContain('The daemon is not running: changed the store directly');
  });

  it('says clearly when it cannot listen on TCP, and warns that any local user can reach a TCP port', async () => {
    const dataDir = await preparedDataDir();
    const daemon = await start(dataDir, ['--policy', '127.0.0.1:0']);
    expect(daemon.policyAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(daemon.log).toContain('the policy service listens on TCP: every local user can connect to it');
    const clash = await runCli(['daemon', '--data-dir', dataDir, '--policy', daemon.policyAddress, '--no-milter']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain(`cannot listen for policy requests on ${daemon.policyAddress}`);
  });
});

describe('the policy and milter sockets', () => {
  const postfixGid = Number(execFileSync('getent', ['passwd', execFileSync('postconf', ['-h', 'mail_owner'], { encoding: 'utf8' }).trim()], { encoding: 'utf8' }).split(':')[3]);

  function socketDir(): string {
    return mkdtempSync(path.join(os.tmpdir(), 'oml-sock-'));
  }

  it('are owned by the daemon, group Postfix, mode 0660, in a directory it creates 0750', async () => {
    const dir = path.join(socketDir(), 'made');
    const daemon = await start(await preparedDataDir(), ['--policy', `unix:${dir}/policy`, '--milter', `unix:${dir}/milter`]);
    expect(daemon.policyAddress).toBe(`unix:${dir}/policy`);
    expect(daemon.milterAddress).toBe(`unix:${dir}/milter`);
    expect(daemon.log).not.toContain('listens on TCP');
    for (const [file, mode] of [[dir, 0o750], [`${dir}/policy`, 0o660], [`${dir}/milter`, 0o660]] as const) {
      const info = statSync(file);
      expect({ file, mode: info.mode & 0o777, uid: info.uid, gid: info.gid }).toEqual({ file, mode, uid: process.getuid!(), gid: postfixGid });
    }
    expect(await send(daemon, 'alice@example.com', 1)).toEqual(['action=DUNNO']);
  });

  it('a socket another daemon serves is not taken; one left by a killed daemon is replaced', async () => {
    const dir = socketDir();
    const dataDir = await preparedDataDir();
    const first = await start(dataDir, ['--policy', `unix:${dir}/policy`, '--milter', `unix:${dir}/milter`]);
    const clash = await runCli(['daemon', '--data-dir', await preparedDataDir(), '--policy', `unix:${dir}/policy`, '--no-milter']);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain(`cannot listen for policy requests on unix:${dir}/policy: ${dir}/policy is served by another running process`);
    // The first daemon still answers on its socket.
    expect(await send(first, 'alice@example.com', 1)).toEqual(['action=DUNNO']);
    await first.kill();
    expect(statSync(`${dir}/policy`).isSocket()).toBe(true);
    const second = await start(dataDir, ['--policy', `unix:${dir}/policy`, '--milter', `unix:${dir}/milter`]);
    expect(await send(second, 'alice@example.com', 1)).toEqual(['action=DUNNO']);
  });

  it.each([
    ['a relative path', ['--policy', 'unix:policy'], 2, /a unix: socket path must be absolute/],
    ['a path too long for a socket', ['--policy', `unix:/tmp/${'x'.repeat(120)}`], 2, /socket path \/tmp\/x+ is 125 bytes long; a UNIX socket path may have at most 107/],
    ['a directory every user may enter', ['--policy', 'unix:/tmp/oml-policy'], 1, /socket directory \/tmp is not safe: its mode 0777 lets every user in/],
    ['a directory whose parent is missing', ['--milter', 'unix:/nonexistent-oml/sockets/milter'], 1, /cannot create socket directory \/nonexistent-oml\/sockets: ENOENT/],
  ])('refuse to start on %s, naming the path and the cause', async (_what, args, code, message) => {
    const dir = socketDir();
    const result = await runCli(['daemon', '--data-dir', await preparedDataDir(), '--policy', `unix:${dir}/policy`, '--milter', `unix:${dir}/milter`, ...args]);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
  });

  it('a path that is not a socket is left alone', async () => {
    const dir = socketDir();
    writeFileSync(`${dir}/policy`, 'keep me');
    const result = await runCli(['daemon', '--data-dir', await preparedDataDir(), '--policy', `unix:${dir}/policy`, '--no-milter']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${dir}/policy exists and is not a socket`);
    expect(readFileSync(`${dir}/policy`, 'utf8')).toBe('keep me');
  });

  it('an existing directory of another group that group members may enter is refused, not changed', async () => {
    const dir = socketDir();
    chmodSync(dir, 0o750);
    chownSync(dir, 0, Number(execFileSync('getent', ['group', 'users'], { encoding: 'utf8' }).split(':')[2]));
    const result = await runCli(['daemon', '--data-dir', await preparedDataDir(), '--policy', `unix:${dir}/policy`, '--no-milter']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`socket directory ${dir} is not safe: its group \\d+ is not Postfix's group ${postfixGid}`));
    expect(statSync(dir).mode & 0o777).toBe(0o750);
  });
});

describe('the installed command', () => {
  it('bin/outgoing-limits runs the built command (with the daemon V8 options)', async () => {
    const dataDir = await preparedDataDir();
    const launcher = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/outgoing-limits');
    const { stdout } = await promisify(execFile)(launcher, ['settings', 'show', '--json', '--data-dir', dataDir]);
    expect(JSON.parse(stdout)).toMatchObject({ enabled: true, defaults: { mailbox: 3, domain: 5, subscription: 8 } });
  });
});

describe('command-line input', () => {
  it('postfix wire and unwire take --data-dir like every command; --help says the risk of TCP', async () => {
    const configDir = mkdtempSync(path.join(os.tmpdir(), 'oml-wire-cli-'));
    const mainCf = 'myhostname = mx.example.com\n';
    writeFileSync(path.join(configDir, 'main.cf'), mainCf);
    writeFileSync(path.join(configDir, 'master.cf'), 'smtp inet n - y - - smtpd\ncleanup unix n - y - 0 cleanup\n');
    const dataDir = tempDataDir();
    await cli(['postfix', 'wire', '--config-dir', configDir, '--data-dir', dataDir, '--no-reload']);
    expect(readFileSync(path.join(configDir, 'main.cf'), 'utf8')).toContain('check_policy_service unix:outgoing-limits/policy');
    await cli(['postfix', 'unwire', '--config-dir', configDir, '--data-dir', dataDir, '--no-reload']);
    expect(readFileSync(path.join(configDir, 'main.cf'), 'utf8')).toBe(mainCf);
    for (const command of [['daemon'], ['postfix', 'wire']]) {
      const help = await runCli([...command, '--help']);
      expect(help.stdout.replace(/\s+/g, ' ')).toContain('every local user can connect to a TCP port and forge requests');
    }
  });


  it('rejects a bad directory file whole, naming the field, with nothing imported', async () => {
    const dataDir = await preparedDataDir();
    const bad = exampleDirectory();
    (bad.subscriptions[1]!.domains[0]!.mailboxes[0] as { limit: unknown }).limit = 'lots';
    bad.subscriptions[0]!.domains[0]!.mailboxes.push({ address: 'new@example.com', limit: null });
    const file = path.join(dataDir, 'bad.json');
    writeFileSync(file, JSON.stringify(bad));
    const result = await runCli(['directory', 'import', file, '--data-dir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('was not imported; nothing changed');
    expect(result.stderr).toContain('subscriptions[1].domains[0].mailboxes[0].limit: expected a whole number');
    const rows = JSON.parse(await cli(['usage', '--all', '--json', '--data-dir', dataDir])) as UsageRow[];
    expect(rows.some((r) => r.name === 'new@example.com')).toBe(false);

    writeFileSync(file, '{"subscriptions": [');
    const broken = await runCli(['directory', 'import', file, '--data-dir', dataDir]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/cannot read .*bad\.json/);
  });

  it.each([
    [['settings', 'set', '--mailbox-limit', '-1'], /argument '-1' is invalid\. expected a whole number/],
    [['settings', 'set', '--mailbox-limit', '2.5'], /argument '2\.5' is invalid/],
    [['settings', 'set', '--enabled', 'maybe'], /expected on or off/],
    [['settings', 'set', '--count', 'bytes'], /expected messages or recipients/],
    [['settings', 'set'], /nothing to change/],
    [['limit', 'set', 'planet', 'x', '3'], /expected one of mailbox, domain, subscription/],
    [['limit', 'set', 'mailbox', 'ghost@example.com', '3'], /no mailbox named ghost@example.com/],
    [['limit', 'set', 'mailbox', 'alice@example.com', 'many'], /expected a whole number from 0 to 1000000000, "unlimited" or "default"/],
    [['daemon', '--policy', 'localhost'], /expected unix:\/ABSOLUTE\/PATH or HOST:PORT/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('outgoing-limits %j exits non-zero and says why', async (args, message) => {
    const dataDir = await preparedDataDir();
    const result = await runCli([...args, '--data-dir', dataDir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
