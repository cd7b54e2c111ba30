import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBridgeSecret } from '../../backend-bridge/src/api/auth/bridge-secret.js';
import { BridgeClient } from '../../backend-bridge/src/api/bridge-client.js';
import { apiSocketPath } from '../../backend-bridge/src/api/server.js';
import { PostfixInstance } from '../../backend-bridge/test-support/postfix-instance.js';
import { expectAccepted } from '../../backend-bridge/test-support/wired-postfix.js';
import { unpackedPackage } from './unpacked-package.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STAND_IN_BIN = path.join(ROOT, 'packaging/test-support');
const FIXTURE = path.join(ROOT, 'plib-tests/install-fixture.php');
const PHP = execFileSync('sh', ['-c', 'command -v php'], { encoding: 'utf8' }).trim();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface PleskCall {
  args: string[];
  mainCfWired: boolean;
}

/**
 * post-install and pre-uninstall of the packed extension, run as Plesk runs them (PHP, as root) against a
 * recording stand-in for the `plesk` command and a real throwaway Postfix. There is no systemd here: the test
 * starts the daemon with the unit file's ExecStart line, as systemd would.
 */
describe('install and uninstall', () => {
  let extension: string;
  let postfix: PostfixInstance;
  let work: string;
  let daemon: ChildProcess | null = null;

  beforeAll(async () => {
    // Unpacked inside the checkout: its node_modules hold the pinned runtime packages, so post-install finds
    // them installed and does not run npm ci.
    extension = unpackedPackage({ inCheckout: true });
    postfix = await PostfixInstance.start();
  });

  afterAll(async () => {
    daemon?.kill('SIGTERM');
    await postfix?.stop();
    if (extension) rmSync(path.dirname(extension), { recursive: true, force: true });
  });

  /** No OML_POLICY: the daemon and `postfix wire` both use the default sockets in the instance's queue directory. */
  function environment(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${STAND_IN_BIN}:${process.env.PATH ?? ''}`,
      PLESK_STANDIN_STATE: path.join(work, 'plesk-state.json'),
      PLESK_STANDIN_LOG: path.join(work, 'plesk-calls.jsonl'),
      PLESK_STANDIN_WATCH: postfix.mainCfPath,
      OML_TEST_PLIB_DIR: path.join(extension, 'plib'),
      OML_TEST_VAR_DIR: path.join(work, 'var'),
      OML_SYSTEMD_UNIT_DIR: path.join(work, 'systemd'),
      OML_POSTFIX_CONFIG_DIR: postfix.configDir,
      OML_KEPT_DATA_DIR: path.join(work, 'kept'),
      OML_API_GROUP: 'nogroup',
    };
  }

  function runScript(script: string, env: NodeJS.ProcessEnv, whileRunning?: () => Promise<void>): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(PHP, ['-d', `auto_prepend_file=${FIXTURE}`, path.join(extension, 'plib/scripts', script)], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      const helper = whileRunning ? whileRunning() : Promise.resolve();
      child.on('exit', (code) => helper.then(() => resolve({ code, stdout, stderr }), reject));
    });
  }

  /** Plays systemd: waits for the unit file, then starts its ExecStart line. */
  async function startLikeSystemd(unitFile: string): Promise<void> {
    for (let i = 0; i < 600 && !existsSync(unitFile); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(unitFile)) return; // post-install failed before writing it; its output says why
    const execStart = /^ExecStart=(.+)$/m.exec(readFileSync(unitFile, 'utf8'))?.[1];
    if (!execStart) throw new Error(`no ExecStart in ${unitFile}`);
    const [command, ...args] = execStart.split(' ');
    daemon = spawn(command!, args, { stdio: 'ignore' });
  }

  function pleskCalls(): PleskCall[] {
    return readFileSync(path.join(work, 'plesk-calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as PleskCall);
  }

  function bridge(): BridgeClient {
    const dataDir = path.join(work, 'var');
    const socketPath = apiSocketPath(dataDir);
    const secret = readBridgeSecret(dataDir, { group: statSync(socketPath).gid });
    if (!secret) throw new Error('no bridge secret');
    return new BridgeClient(secret, { socketPath }, { login: 'admin', userId: '1', role: 'admin' });
  }

  it('takes over from Plesk\'s own limits, enforces them in Postfix, and gives everything back at uninstall', async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'oml-install-'));
    mkdirSync(path.join(work, 'var'));
    writeFileSync(
      path.join(work, 'plesk-state.json'),
      JSON.stringify({
        misc: { outgoing_antispam: 'true', outgoing_messages_mbox_limit: '50', outgoing_messages_domain_limit: '200', outgoing_messages_subscription_limit: '-1' },
        mailboxes: { 'alice@jdoe.example': '2', 'ghost@gone.example': '3' },
      }),
    );
    const originalMainCf = readFileSync(postfix.mainCfPath);
    const env = environment();
    const unitFile = path.join(work, 'systemd/outgoing-mail-limits.service');

    const installed = await runScript('post-install.php', env, () => startLikeSystemd(unitFile));
    expect(installed.code, `${installed.stdout}\n${installed.stderr}`).toBe(0);
    expect(installed.stdout).toContain('systemd is not running on this machine: the service was not started');
    expect(installed.stdout).toContain("Plesk's limit of ghost@gone.example was not imported");

    const unit = readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`${path.join(extension, 'plib/bridge/dist/backend-bridge/src/cli/main.js')} daemon --data-dir ${path.join(work, 'var')} --postfix-config-dir ${postfix.configDir} --api-group nogroup`);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=3$/m);

    // Plesk's settings were read first, and its own enforcement switched off only once Postfix was wired to ours.
    const calls = pleskCalls();
    expect(calls.map((c) => c.args.slice(0, 3).join(' '))).toEqual(['db -Ne ' + calls[0]!.args[2], 'db -Ne ' + calls[1]!.args[2], 'bin mailserver --disable-outgoing-antispam']);
    expect(calls[2]!.mainCfWired).toBe(true);
    expect(calls[0]!.mainCfWired).toBe(false);
    expect(readFileSync(postfix.mainCfPath, 'utf8')).toContain('check_policy_service unix:outgoing-limits/policy');

    const api = bridge();
    const settings = (await api.request('GET', '/api/v1/settings')).body as { enabled: boolean; defaults: Record<string, unknown> };
    expect(settings.enabled).toBe(true);
    expect(settings.defaults).toEqual({ mailbox: 50, domain: 200, subscription: 'unlimited' });
    const alice = (await api.request('GET', '/api/v1/mailboxes/alice@jdoe.example')).body as { ownLimit: unknown; subscription: string };
    expect(alice).toMatchObject({ ownLimit: 2, subscription: 'jdoe.example' });

    // The imported limit governs real mail.
    await postfix.reload();
    expectAccepted(await postfix.sendMail({ from: 'alice@jdoe.example', to: ['x@remote.example'] }));
    expectAccepted(await postfix.sendMail({ from: 'alice@jdoe.example', to: ['x@remote.example'] }));
    // Over the limit, the message is held (the default over-limit action), never refused or dropped.
    const third = await postfix.sendMail({ from: 'alice@jdoe.example', to: ['x@remote.example'] });
    expectAccepted(third);
    const held = (await postfix.queue()).find((entry) => entry.queue_id === third.queueId);
    expect(held?.queue_name).toBe('hold');

    // An upgrade runs post-install again: Plesk's settings are not read again (its switch is off by now; the
    // first record is what uninstall gives back), and its own enforcement stays off.
    const upgraded = await runScript('post-install.php', env);
    expect(upgraded.code, `${upgraded.stdout}\n${upgraded.stderr}`).toBe(0);
    expect(pleskCalls().slice(3)).toEqual([{ args: ['bin', 'mailserver', '--disable-outgoing-antispam'], mainCfWired: true }]);

    const uninstalled = await runScript('pre-uninstall.php', env);
    expect(uninstalled.code, `${uninstalled.stdout}\n${uninstalled.stderr}`).toBe(0);
    expect(readFileSync(postfix.mainCfPath)).toEqual(originalMainCf);
    expect(pleskCalls().slice(4).map((c) => c.args.join(' '))).toEqual([
      'bin mailserver --set-outgoing-messages-mbox-limit 50',
      'bin mailserver --set-outgoing-messages-domain-limit 200',
      'bin mailserver --set-outgoing-messages-subscription-limit -1',
      'bin mailserver --enable-outgoing-antispam',
    ]);
    const state = JSON.parse(readFileSync(path.join(work, 'plesk-state.json'), 'utf8')) as { misc: Record<string, string> };
    expect(state.misc).toEqual({ outgoing_antispam: 'true', outgoing_messages_mbox_limit: '50', outgoing_messages_domain_limit: '200', outgoing_messages_subscription_limit: '-1' });
    expect(existsSync(unitFile)).toBe(false);
    expect(existsSync(path.join(work, 'kept/outgoing-limits.sqlite'))).toBe(true);
    expect(uninstalled.stdout).toContain(`Data kept in ${path.join(work, 'kept')}`);
  });

  it('without Node.js 20 says what to do and changes nothing', async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'oml-install-'));
    writeFileSync(path.join(work, 'plesk-state.json'), JSON.stringify({ misc: { outgoing_antispam: 'true' }, mailboxes: {} }));
    writeFileSync(path.join(work, 'plesk-calls.jsonl'), '');
    const oldNode = path.join(work, 'node');
    writeFileSync(oldNode, '#!/bin/sh\necho 18.19.1\n');
    chmodSync(oldNode, 0o755);
    const before = readFileSync(postfix.mainCfPath);
    const env = { ...environment(), OML_NODE: oldNode, PATH: STAND_IN_BIN };
    const result = await runScript('post-install.php', env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Outgoing Mail Limits needs Node.js 20 or newer (found: ${oldNode} is 18.19.1)`);
    expect(result.stderr).toContain('Extensions → Node.js');
    expect(readFileSync(postfix.mainCfPath)).toEqual(before);
    expect(readFileSync(path.join(work, 'plesk-calls.jsonl'), 'utf8')).toBe('');
    expect(existsSync(path.join(work, 'systemd'))).toBe(false);
  });
});
