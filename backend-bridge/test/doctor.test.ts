import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBridgeSecret } from '../src/api/auth/bridge-secret.js';
import { BridgeClient } from '../src/api/bridge-client.js';
import { apiSocketPath } from '../src/api/server.js';
import type { HealthLine, HealthReport } from '../src/core/health-check.js';
import { listBackups } from '../src/store/backups.js';
import { databasePath } from '../src/store/database.js';
import { DaemonProcess, eventually, runCli, tempDataDir, type CliResult } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { overwritePages, pagesOf } from '../test-support/store-damage.js';
import { preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * `outgoing-limits doctor` and GET /doctor against a real daemon and a real Postfix (smtpd and cleanup chrooted,
 * as Debian runs them), wired by `postfix wire`: all ok, then each part broken as it breaks in life.
 */

let postfix: PostfixInstance;
let daemon: DaemonProcess | null = null;
let dataDir: string;

async function doctor(format: 'json' | 'text' = 'json'): Promise<CliResult> {
  return runCli(['doctor', '--data-dir', dataDir, '--postfix-config-dir', postfix.configDir, ...(format === 'json' ? ['--json'] : [])]);
}

async function doctorReport(): Promise<{ code: number; report: HealthReport; line: (id: string) => HealthLine }> {
  const result = await doctor();
  const report = JSON.parse(result.stdout) as HealthReport;
  return { code: result.code, report, line: (id) => report.lines.find((l) => l.id === id) as HealthLine };
}

function states(report: HealthReport): Record<string, string> {
  return Object.fromEntries(report.lines.map((l) => [l.id, `${l.state} ${l.reason}`]));
}

beforeAll(async () => {
  postfix = await startWiredPostfix({ chroot: true });
  dataDir = await preparedDataDir(exampleDirectory());
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
  // The daemon takes its first backup right after it starts.
  await eventually(() => listBackups(dataDir).length > 0, 'the first backup');
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

describe('outgoing-limits doctor with a running daemon and a wired Postfix', () => {
  it('says all ok and exits 0, and tells how Postfix is wired', async () => {
    const { code, report, line } = await doctorReport();
    expect(states(report)).toEqual({
      daemon: 'ok daemon.running',
      postfix: 'ok postfix.wired',
      plesk: 'ok plesk.none',
      directory: 'ok directory.synced',
      held: 'ok held.none',
      store: 'ok store.ok',
      backup: 'ok backup.recent',
    });
    expect(code).toBe(0);
    const how = line('postfix').found;
    expect(how).toMatch(/policy service in smtpd_end_of_data_restrictions \(unix:outgoing-limits\/policy, UNIX socket, smtpd chrooted \(\S+\/inet\)\)/);
    expect(how).toMatch(/milter in non_smtpd_milters \(unix:outgoing-limits\/milter, UNIX socket, cleanup chrooted \(cleanup\/unix\)\)/);
    expect(how).toContain('fail-open');
    expect(line('directory').found).toContain('loaded from a file');
  });

  it('GET /doctor of the daemon answers the same lines', async () => {
    const secret = readBridgeSecret(dataDir);
    if (!secret) throw new Error('no bridge secret');
    const response = await new BridgeClient(secret, { socketPath: apiSocketPath(dataDir) }).request('GET', '/api/v1/doctor');
    expect(response.status).toBe(200);
    const fromApi = response.body as HealthReport;
    const { report } = await doctorReport();
    expect(states(fromApi)).toEqual(states(report));
  });

  it('counts mail held by a real Postfix', async () => {
    await daemon?.change(['limit', 'set', 'mailbox', 'carol@example.com', '0']);
    expectAccepted(await postfix.sendMail({ from: 'carol@example.com', to: ['someone@remote.test'], subject: 'held' }));
    const { code, line } = await doctorReport();
    expect(line('held')).toMatchObject({ state: 'ok', reason: 'held.waiting' });
    expect(line('held').found).toMatch(/^1 held message\(s\) waiting/);
    expect(code).toBe(0);
  });

  it('a policy service removed behind its back is put back by the running daemon, and the doctor is ok again', async () => {
    await postfix.postconf(['-e', 'smtpd_end_of_data_restrictions=']);
    // The daemon's wiring guard repairs main.cf once it has stayed the same for a second; until then, or if the
    // repair fails, the doctor names the gap.
    await eventually(async () => (await doctorReport()).line('postfix').state === 'ok', 'the wiring put back and the doctor ok again', 40_000);
    expect(await postfix.postconf(['-h', 'smtpd_end_of_data_restrictions'])).toContain('check_policy_service unix:outgoing-limits/policy');
  });

  it("finds its milter among others', also written with options in braces", async () => {
    const before = await postfix.postconf(['-h', 'non_smtpd_milters']);
    // Plesk writes its own milter list with a leading comma; Postfix allows per-milter options in braces.
    await postfix.postconf(['-e', 'non_smtpd_milters=, inet:127.0.0.1:12768, { unix:outgoing-limits/milter, default_action=accept }']);
    try {
      const line = (await doctorReport()).line('postfix');
      expect(line).toMatchObject({ state: 'ok', reason: 'postfix.wired' });
      expect(line.found).toContain('milter in non_smtpd_milters (unix:outgoing-limits/milter,');
    } finally {
      await postfix.postconf(['-e', `non_smtpd_milters=${before.trim()}`]);
    }
  });

});

describe('outgoing-limits doctor when an entry is gone and the daemon cannot put it back', () => {
  /**
   * A running daemon puts removed entries back within seconds (its wiring guard), so the gap is made where it
   * cannot: the entry is removed while the daemon is stopped and main.cf made immutable before it starts again.
   */
  async function withUnrepairableMainCf(parameter: string, check: () => Promise<void>): Promise<void> {
    const before = (await postfix.postconf(['-h', parameter])).trim();
    await daemon?.stop();
    await postfix.postconf(['-e', `${parameter}=`]);
    execFileSync('chattr', ['+i', postfix.mainCfPath]);
    try {
      daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
      await check();
    } finally {
      execFileSync('chattr', ['-i', postfix.mainCfPath]);
      await daemon?.stop();
      await postfix.postconf(['-e', `${parameter}=${before}`]);
      daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
    }
  }

  it('finds the policy service gone when main.cf is rewritten behind its back, exits 2 and says how to wire it again', async () => {
    await withUnrepairableMainCf('smtpd_end_of_data_restrictions', async () => {
      const { code, line } = await doctorReport();
      expect(line('postfix')).toMatchObject({ state: 'problem', reason: 'postfix.policyMissing', advice: `Wire it again: outgoing-limits postfix wire --config-dir ${postfix.configDir}` });
      expect(code).toBe(2);
      const text = await doctor('text');
      expect(text.code).toBe(2);
      expect(text.stdout).toMatch(/^\[PROBLEM\] Postfix wired +Postfix in .* does not ask the policy service/m);
      expect(text.stdout).toMatch(/^ +What to do: Wire it again: outgoing-limits postfix wire --config-dir /m);
      expect(text.stdout.trimEnd().split('\n').at(-1)).toBe('1 problem.');
    });
    expect((await doctorReport()).line('postfix').state).toBe('ok');
  });

  it('with the milter wired but removed, local mail is uncounted: a problem', async () => {
    await withUnrepairableMainCf('non_smtpd_milters', async () => {
      expect((await doctorReport()).line('postfix')).toMatchObject({ state: 'problem', reason: 'postfix.milterLost' });
    });
  });
});

describe('outgoing-limits doctor with the daemon stopped', () => {
  beforeAll(async () => {
    await daemon?.stop();
    daemon = null;
  });

  it('says the daemon is down and Postfix asks sockets nobody serves, checks the store itself, and exits 2', async () => {
    const { code, line } = await doctorReport();
    expect(line('daemon')).toMatchObject({ state: 'problem', reason: 'daemon.down' });
    expect(line('daemon').advice).toContain('systemctl start outgoing-mail-limits');
    expect(line('postfix')).toMatchObject({ state: 'problem', reason: 'postfix.socketMissing' });
    expect(line('store')).toMatchObject({ state: 'ok', found: expect.stringContaining("SQLite's integrity check, run now") });
    expect(line('held').found).toMatch(/^1 held message\(s\) waiting/);
    expect(code).toBe(2);
  });

  it('finds a damaged store and says how to restore the last backup', async () => {
    overwritePages(databasePath(dataDir), pagesOf(databasePath(dataDir), 'mailboxes'));
    const { code, line } = await doctorReport();
    expect(line('store')).toMatchObject({ state: 'problem', reason: 'store.damaged' });
    expect(line('store').advice).toContain(`outgoing-limits store restore NAME --data-dir ${dataDir}`);
    // What the damaged store holds is not read: no line claims to know it.
    expect(line('plesk')).toMatchObject({ state: 'warning', reason: 'plesk.unknown' });
    expect(line('directory')).toMatchObject({ state: 'warning', reason: 'directory.unknown' });
    expect(code).toBe(2);
  });

  it('says there is no store in a directory without one', async () => {
    const empty = tempDataDir();
    const result = await runCli(['doctor', '--data-dir', empty, '--postfix-config-dir', postfix.configDir, '--json']);
    const report = JSON.parse(result.stdout) as HealthReport;
    expect(report.lines.find((l) => l.id === 'store')).toMatchObject({ state: 'problem', reason: 'store.missing' });
    expect(result.code).toBe(2);
  });
});
