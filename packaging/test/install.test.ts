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
 * post-install and pre-uninstall of the packed extension, run as Plesk runs them (PHP, as root) against Plesk
 * played by the XML API stand-in (pm_ApiRpc) and a recording stand-in for the `plesk` command, which share one
 * state file, and a real throwaway Postfix. There is no systemd here: the test
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

  /**
   * A Plesk server with outgoing values at every place: the server (switch on, three defaults), a service plan,
   * a customized subscription, an add-on domain and mailboxes ("default" is Plesk's "inherit").
   */
  function pleskServer(components: Record<string, string> = { postfix: '3.7.11-0+deb12u1', dovecot: '2.3.19.1' }): unknown {
    return {
      server: { outgoing_antispam: 'true', outgoing_messages_mbox_limit: '50', outgoing_messages_domain_limit: '200', outgoing_messages_subscription_limit: '-1' },
      components,
      plans: { 'guid-gold': { id: 3, name: 'Gold', owner: 'admin', mbox: '30', domain: '150', subscription: '400' } },
      subscriptionPlans: { 100: 'guid-gold' },
      subscriptionLimits: { 100: { subscription: '250' } },
      domainLimits: { 101: '40' },
      domains: {
        100: { name: 'jdoe.example', client: 20, webspace: 0, sysUser: 'jdoe_ftp' },
        101: { name: 'shop.example', client: 20, webspace: 100 },
      },
      mail: {
        1: { name: 'alice', domainId: 100, limit: '2' },
        2: { name: 'bob', domainId: 100, limit: 'default' },
        3: { name: 'sales', domainId: 101, limit: 'unlimited' },
      },
    };
  }

  function pleskState(): Record<string, unknown> {
    return JSON.parse(readFileSync(path.join(work, 'plesk-state.json'), 'utf8')) as Record<string, unknown>;
  }

  it('takes over Plesk\'s own values at every level, enforces them in Postfix, and gives every value back at uninstall', async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'oml-install-'));
    mkdirSync(path.join(work, 'var'));
    writeFileSync(path.join(work, 'plesk-state.json'), JSON.stringify(pleskServer()));
    writeFileSync(path.join(work, 'plesk-calls.jsonl'), '');
    const before = pleskState();
    const originalMainCf = readFileSync(postfix.mainCfPath);
    const env = environment();
    const unitFile = path.join(work, 'systemd/outgoing-mail-limits.service');

    const installed = await runScript('post-install.php', env, () => startLikeSystemd(unitFile));
    expect(installed.code, `${installed.stdout}\n${installed.stderr}`).toBe(0);
    expect(installed.stdout).toContain('systemd is not running on this machine: the service was not started');
    expect(installed.stdout).toContain('Mail server: Postfix on this host.');
    expect(pleskState().scheduledTasks).toEqual([{ cmd: 'resync.php', schedule: ['0', '*', '*', '*', '*'] }]);

    const unit = readFileSync(unitFile, 'utf8');
    expect(unit).toContain(`${path.join(extension, 'plib/bridge/dist/backend-bridge/src/cli/main.js')} daemon --data-dir ${path.join(work, 'var')} --postfix-config-dir ${postfix.configDir} --api-group nogroup`);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^RestartPreventExitStatus=3$/m);

    // Plesk's values are read through the XML API; its own enforcement is switched off only once Postfix is
    // wired to ours, and that is the only call of the `plesk` command.
    expect(pleskCalls()).toEqual([{ args: ['bin', 'mailserver', '--disable-outgoing-antispam'], mainCfWired: true }]);
    expect(readFileSync(postfix.mainCfPath, 'utf8')).toContain('check_policy_service unix:outgoing-limits/policy');

    // Every value of Plesk's is the bridge's: server defaults, the plan, and the own values of the customized
    // subscription, the add-on domain and the mailboxes.
    const api = bridge();
    const get = async (url: string) => (await api.request('GET', `/api/v1${url}`)).body as Record<string, unknown>;
    const settings = await get('/settings');
    expect(settings.enabled).toBe(true);
    expect(settings.defaults).toEqual({ mailbox: 50, domain: 200, subscription: 'unlimited' });
    expect(await get('/subscriptions/jdoe.example')).toMatchObject({ ownLimit: 250, effectiveLimit: 250, limitSource: 'own' });
    expect(await get('/domains/jdoe.example')).toMatchObject({ ownLimit: 'default', effectiveLimit: 150, limitSource: 'plan' });
    expect(await get('/domains/shop.example')).toMatchObject({ ownLimit: 40, subscription: 'jdoe.example' });
    expect(await get('/mailboxes/alice@jdoe.example')).toMatchObject({ ownLimit: 2, subscription: 'jdoe.example' });
    expect(await get('/mailboxes/bob@jdoe.example')).toMatchObject({ ownLimit: 'default', effectiveLimit: 30, limitSource: 'plan' });
    expect(await get('/mailboxes/sales@shop.example')).toMatchObject({ ownLimit: 'unlimited' });
    // Install told the bridge that Plesk's own limiting is off and its mail server is Postfix: the health view says so.
    const health = (await get('/doctor')) as { lines: { id: string; state: string; reason: string }[] };
    expect(health.lines.find((l) => l.id === 'plesk')).toMatchObject({ state: 'ok', reason: 'plesk.off' });

    // The imported limit governs real mail.
    await postfix.reload();
    expectAccepted(await postfix.sendMail({ from: 'alice@jdoe.example', to: ['x@remote.example'] }));
    expectAccepted(await postfix.sendMail({ from: 'alice@jdoe.example', to: ['x@remote.example'] }));
    // Over the limit, the message is held (the default over-limit action), never refused or dropped.
    const third = await postfix.sendMail({ from: 'alice@jdoe.example', to: ['x@remote.example'] });
    expectAccepted(third);
    const held = (await postfix.queue()).find((entry) => entry.queue_id === third.queueId);
    expect(held?.queue_name).toBe('hold');

    // An upgrade runs post-install again: the first record stays what uninstall gives back, Plesk's switch is
    // off already, and nothing changed in Plesk is taken again. Upgraded from a version that kept no record of
    // the values seen: a value set here since install stays, although Plesk has another one.
    expect((await api.request('PUT', '/api/v1/mailboxes/sales@shop.example/limit', { limit: 11 })).status).toBe(200);
    rmSync(path.join(work, 'var/plesk-values-seen.json'));
    const upgraded = await runScript('post-install.php', env);
    expect(upgraded.code, `${upgraded.stdout}\n${upgraded.stderr}`).toBe(0);
    expect(upgraded.stdout).toContain("Installed before: this extension's values stay");
    expect(upgraded.stdout).toContain('0 value(s) taken over');
    expect(await get('/mailboxes/sales@shop.example')).toMatchObject({ ownLimit: 11 });
    expect(pleskCalls()).toHaveLength(1);
    expect(pleskState().scheduledTasks, 'scheduled once').toHaveLength(1);

    // A value changed in this product after install goes to Plesk at uninstall; everything else round-trips.
    expect((await api.request('PUT', '/api/v1/mailboxes/bob@jdoe.example/limit', { limit: 7 })).status).toBe(200);

    const uninstalled = await runScript('pre-uninstall.php', env);
    expect(uninstalled.code, `${uninstalled.stdout}\n${uninstalled.stderr}`).toBe(0);
    expect(readFileSync(postfix.mainCfPath)).toEqual(originalMainCf);
    expect(pleskCalls().slice(1).map((c) => c.args.join(' '))).toEqual([
      'bin mail --update bob@jdoe.example -outgoing-messages-mbox-limit 7',
      'bin mail --update sales@shop.example -outgoing-messages-mbox-limit 11',
      'bin mailserver --enable-outgoing-antispam',
    ]);
    const expected = structuredClone(before) as { mail: Record<string, { limit: string }>; scheduledTasks?: unknown[] };
    expected.mail['2']!.limit = '7';
    expected.mail['3']!.limit = '11';
    expected.scheduledTasks = [];
    expect(pleskState()).toEqual(expected);
    expect(uninstalled.stdout).toContain('2 value(s) written back');
    expect(existsSync(unitFile)).toBe(false);
    expect(existsSync(path.join(work, 'kept/outgoing-limits.sqlite'))).toBe(true);
    expect(uninstalled.stdout).toContain(`Data kept in ${path.join(work, 'kept')}`);
  });

  it.each([
    ['qmail', { qmail: '1.03', postfix: '' }, 'Plesk uses qmail as its mail server'],
    ['no mail server', { dovecot: '2.3.19.1' }, 'Plesk has no mail server component installed'],
  ])('with %s refuses clearly and changes nothing', async (_what, components, found) => {
    work = mkdtempSync(path.join(os.tmpdir(), 'oml-install-'));
    mkdirSync(path.join(work, 'var'));
    writeFileSync(path.join(work, 'plesk-state.json'), JSON.stringify(pleskServer(components)));
    writeFileSync(path.join(work, 'plesk-calls.jsonl'), '');
    const before = pleskState();
    const mainCf = readFileSync(postfix.mainCfPath);
    const result = await runScript('post-install.php', environment());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(found);
    expect(result.stderr).toContain('Nothing was changed');
    expect(result.stderr).toContain('switch Plesk\'s mail server to Postfix');
    expect(readFileSync(postfix.mainCfPath)).toEqual(mainCf);
    expect(pleskState()).toEqual(before);
    expect(readFileSync(path.join(work, 'plesk-calls.jsonl'), 'utf8')).toBe('');
    expect(existsSync(path.join(work, 'systemd'))).toBe(false);
    expect(existsSync(path.join(work, 'var/plesk-native-settings.json'))).toBe(false);
  });

  it('when Plesk\'s XML API refuses, says so and changes nothing', async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'oml-install-'));
    mkdirSync(path.join(work, 'var'));
    writeFileSync(path.join(work, 'plesk-state.json'), JSON.stringify({ ...(pleskServer() as object), systemError: 'Access to API is disabled' }));
    writeFileSync(path.join(work, 'plesk-calls.jsonl'), '');
    const mainCf = readFileSync(postfix.mainCfPath);
    const result = await runScript('post-install.php', environment());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Plesk's outgoing mail settings could not be read through its XML API: Plesk's XML API refused the request: 1006 Access to API is disabled");
    expect(result.stderr).toContain('Nothing was changed');
    expect(readFileSync(postfix.mainCfPath)).toEqual(mainCf);
    expect(readFileSync(path.join(work, 'plesk-calls.jsonl'), 'utf8')).toBe('');
    expect(existsSync(path.join(work, 'systemd'))).toBe(false);
  });

  it('without Node.js 20 says what to do and changes nothing', async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'oml-install-'));
    writeFileSync(path.join(work, 'plesk-state.json'), JSON.stringify(pleskServer()));
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
