import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBridgeSecret } from '../src/api/auth/bridge-secret.js';
import { BridgeClient } from '../src/api/bridge-client.js';
import { apiSocketPath } from '../src/api/server.js';
import { backupDir, listBackups } from '../src/store/backups.js';
import { databasePath } from '../src/store/database.js';
import { cli, CLI, DaemonProcess, eventually, runCli, tempDataDir } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import { sendMessages } from '../test-support/policy-client.js';
import { overwritePages, pagesOf } from '../test-support/store-damage.js';

const running: DaemonProcess[] = [];
const mounts: string[] = [];
const onCleanup: Array<() => Promise<void>> = [];
const umask = process.umask();
afterEach(async () => {
  for (const daemon of running.splice(0)) await daemon.kill();
  for (const cleanup of onCleanup.splice(0)) await cleanup();
  for (const mount of mounts.splice(0)) execFileSync('umount', ['-l', mount]);
  process.umask(umask);
});

async function preparedDataDir(dataDir = tempDataDir(), mailboxLimit = 100): Promise<string> {
  const file = path.join(os.tmpdir(), `oml-directory-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(exampleDirectory()));
  await cli(['directory', 'import', file, '--data-dir', dataDir]);
  await cli(['settings', 'set', '--data-dir', dataDir, '--mailbox-limit', String(mailboxLimit), '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited', '--over-limit-action', 'defer']);
  return dataDir;
}

async function start(dataDir: string, extraArgs: string[] = []): Promise<DaemonProcess> {
  const daemon = await DaemonProcess.start(dataDir, ['--no-milter', ...extraArgs]);
  running.push(daemon);
  return daemon;
}

/** Starts the daemon expecting it to stop by itself; a daemon that serves instead is killed at the deadline. */
function startExpectingExit(dataDir: string, timeoutMs = 20_000): Promise<{ code: number | null; output: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'daemon', '--data-dir', dataDir, '--policy', '127.0.0.1:0', '--no-milter'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      resolve({ code, output, killed });
    });
  });
}

function send(daemon: DaemonProcess, sender: string, count: number): Promise<string[]> {
  return sendMessages(daemon.policySocket, sender, count);
}

interface Health {
  status: string;
  store?: { ok: boolean; operation: string; error: string; since: string; failures: number };
}

async function health(dataDir: string): Promise<{ status: number; body: Health }> {
  const secret = readBridgeSecret(dataDir);
  if (!secret) throw new Error('no bridge secret');
  const response = await new BridgeClient(secret, { socketPath: apiSocketPath(dataDir) }).request('GET', '/api/v1/health');
  return { status: response.status, body: response.body as Health };
}

/** A local webhook receiver on a port the system picked. */
async function webhookReceiver(): Promise<{ url: string; bodies: unknown[]; close: () => Promise<void> }> {
  const bodies: unknown[] = [];
  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      bodies.push(JSON.parse(text) as unknown);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function linesOf(log: string, text: string): number {
  return log.split('\n').filter((line) => line.includes(text)).length;
}

function tmpfs(size: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-mount-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

describe('a damaged store', () => {
  it('stops the daemon at start with the file, the damage and the backup to restore', async () => {
    const dataDir = await preparedDataDir();
    const first = await start(dataDir);
    await first.waitForLog('store backed up and checked');
    await first.stop();
    const [newest] = listBackups(dataDir);
    expect(newest).toBeDefined();

    // What the issue reproduced: random bytes over pages 2-5.
    overwritePages(databasePath(dataDir), [2, 3, 4, 5]);
    const result = await startExpectingExit(dataDir);
    expect(result.killed).toBe(false);
    expect(result.code).toBe(3); // EXIT_STORE_DAMAGED: a service manager does not restart into the same refusal
    expect(result.output).toContain(`the store ${databasePath(dataDir)} is damaged; limits cannot be enforced from it`);
    expect(result.output).toMatch(/malformed|Page \d+|corrupt/);
    expect(result.output).toContain(`outgoing-limits store restore ${newest?.name} --data-dir ${dataDir}`);
    expect(result.output).not.toContain('policy service listening');
  });

  it('damaged under a running daemon: the limit of 100 still holds, health says so, one log line, the admin is told', async () => {
    const hook = await webhookReceiver();
    try {
      const dataDir = await preparedDataDir();
      await cli(['settings', 'set', '--data-dir', dataDir, '--webhook', hook.url]);
      const daemon = await start(dataDir);
      await daemon.waitForLog('store backed up and checked');
      expect((await send(daemon, 'alice@example.com', 50)).every((a) => a === 'action=DUNNO')).toBe(true);

      const file = databasePath(dataDir);
      overwritePages(file, pagesOf(file, 'mailboxes'));
      // Another process changes the directory: the daemon reloads it, and reading the mailboxes fails.
      const writer = new Database(file, { fileMustExist: true });
      writer.prepare("UPDATE revisions SET value = value + 1 WHERE name = 'directory'").run();
      writer.close();

      await eventually(async () => (await health(dataDir)).body.store?.ok === false, 'health to report the store failure');
      // Several retries (one each 250 ms) have failed by now.
      await eventually(async () => ((await health(dataDir)).body.store?.failures ?? 0) >= 8, 'eight failed reads');
      const { status, body } = await health(dataDir);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'degraded', store: { ok: false, operation: 'read', error: expect.stringMatching(/malformed/) as unknown } });

      const answers = await send(daemon, 'alice@example.com', 100);
      expect(answers.slice(0, 50).every((a) => a === 'action=DUNNO')).toBe(true);
      expect(answers.slice(50)).toEqual(Array.from({ length: 50 }, () => expect.stringMatching(/^action=DEFER_IF_PERMIT 4\.7\.1 Outgoing limit of 100 messages\/hour for mailbox alice@example.com reached/) as unknown));

      expect(linesOf(daemon.log, 'reading the store failed')).toBe(1);
      expect(linesOf(daemon.log, 'reloading settings and directory failed')).toBe(0);
      // The limit reached by alice is notified too; of the store failure there is exactly one notification.
      const storeFailures = () => hook.bodies.filter((body) => (body as { kind?: string }).kind === 'store-failure');
      await eventually(() => storeFailures().length > 0, 'the webhook notification of the store failure');
      expect(storeFailures()).toEqual([expect.objectContaining({ operation: 'read', file, error: expect.stringMatching(/malformed/) as unknown })]);
    } finally {
      await hook.close();
    }
  });

  it('a full disk: counts stay in memory and keep the limit, health and one log line say so, then all is written', async () => {
    const dataDir = await preparedDataDir(path.join(tmpfs('4m'), 'data'), 5);
    // The limit-reached notification records its period in the store: that write fails too, and must not matter.
    const hook = await webhookReceiver();
    onCleanup.push(hook.close);
    await cli(['settings', 'set', '--data-dir', dataDir, '--webhook', hook.url]);
    const daemon = await start(dataDir);
    await daemon.waitForLog('store backed up and checked');
    // Fill what is left of the file system.
    const filler = path.join(path.dirname(dataDir), 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with "No space left on device": that is the point
    }
    expect(await send(daemon, 'alice@example.com', 6)).toEqual([
      ...Array.from({ length: 5 }, () => 'action=DUNNO'),
      expect.stringMatching(/^action=DEFER_IF_PERMIT 4\.7\.1 Outgoing limit of 5 messages\/hour/) as unknown,
    ]);
    await eventually(async () => (await health(dataDir)).body.store?.operation === 'write', 'health to report the failed writes');
    await eventually(async () => ((await health(dataDir)).body.store?.failures ?? 0) >= 5, 'five failed flushes');
    expect(await send(daemon, 'alice@example.com', 1)).toEqual([expect.stringMatching(/^action=DEFER_IF_PERMIT/) as unknown]);
    expect(linesOf(daemon.log, 'writing to the store failed')).toBe(1);
    expect(linesOf(daemon.log, 'policy handler failed')).toBe(0);
    await eventually(() => hook.bodies.some((b) => (b as { kind?: string }).kind === 'limit-reached'), 'the limit-reached notification');

    rmSync(filler);
    await eventually(async () => (await health(dataDir)).body.status === 'ok', 'health to be ok again');
    expect(linesOf(daemon.log, 'writing to the store works again')).toBe(1);
    await daemon.stop();
    const usage = JSON.parse(await cli(['usage', '--json', '--data-dir', dataDir])) as Array<{ name: string; used: number }>;
    expect(usage.find((row) => row.name === 'alice@example.com')?.used).toBe(5);
  });
});

describe('recovery with the store command', () => {
  it('store check finds the damage; restore refuses under a running daemon, then brings back the backup', async () => {
    const dataDir = await preparedDataDir(undefined, 3);
    const daemon = await start(dataDir);
    await daemon.waitForLog('store backed up and checked');
    const refused = await runCli(['store', 'restore', listBackups(dataDir)[0]?.name ?? '', '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the daemon is running');
    await daemon.stop();

    expect((await runCli(['store', 'check', '--data-dir', dataDir])).stdout).toContain('ok:');
    const file = databasePath(dataDir);
    overwritePages(file, pagesOf(file, 'mailboxes'));
    const check = await runCli(['store', 'check', '--data-dir', dataDir]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`the store ${file} is damaged`);
    // The commands that open the store directly refuse it the same way.
    const usage = await runCli(['usage', '--data-dir', dataDir]);
    expect(usage.code).toBe(3); // EXIT_STORE_DAMAGED, as for the daemon
    expect(usage.stderr).toContain(`the store ${file} is damaged`);

    const listed = await cli(['store', 'backups', '--data-dir', dataDir]);
    const name = listBackups(dataDir)[0]?.name ?? 'none';
    expect(listed).toContain(name);
    const restored = await runCli(['store', 'restore', name, '--data-dir', dataDir]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`Restored ${file} from ${path.join(backupDir(dataDir), name)}`);
    expect(readdirSync(dataDir).some((entry) => entry.startsWith('outgoing-limits.sqlite.damaged-'))).toBe(true);
    expect((await runCli(['store', 'check', '--data-dir', dataDir])).code).toBe(0);

    const again = await start(dataDir);
    expect(await send(again, 'bob@example.com', 4)).toEqual(['action=DUNNO', 'action=DUNNO', 'action=DUNNO', expect.stringMatching(/^action=DEFER_IF_PERMIT 4\.7\.1 Outgoing limit of 3 /) as unknown]);
  });
});

describe('store files and directories', () => {
  it('are 0600 in a data directory that existed with mode 0777, under umask 0; 0640 with --api-group', async () => {
    process.umask(0);
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'oml-modes-')), 'data');
    mkdirSync(dataDir, { mode: 0o777 });
    const daemon = await start(dataDir);
    await daemon.waitForLog('store backed up and checked');
    await send(daemon, 'alice@example.com', 1);
    await eventually(() => existsSync(`${databasePath(dataDir)}-wal`), 'the -wal file');
    const file = databasePath(dataDir);
    const backup = listBackups(dataDir)[0]?.path ?? '';
    const modes = (files: string[]) => Object.fromEntries(files.map((f) => [f, (statSync(f).mode & 0o777).toString(8)]));
    const all = [file, `${file}-wal`, `${file}-shm`, backup];
    expect(modes(all)).toEqual(Object.fromEntries(all.map((f) => [f, '600'])));
    // Nobody else may write in the data directory either (they could swap the store or its -wal).
    expect(statSync(dataDir).mode & 0o022).toBe(0);
    await daemon.stop();

    const nogroup = Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]);
    const grouped = await start(dataDir, ['--api-group', 'nogroup']);
    await send(grouped, 'alice@example.com', 1);
    await eventually(() => existsSync(`${file}-wal`), 'the -wal file');
    const storeFiles = [file, `${file}-wal`, `${file}-shm`];
    expect(modes(storeFiles)).toEqual(Object.fromEntries(storeFiles.map((f) => [f, '640'])));
    expect(storeFiles.map((f) => statSync(f).gid)).toEqual(storeFiles.map(() => nogroup));
  });

  it('on a read-only file system, the start names the store and the cause', async () => {
    const mount = tmpfs('16m');
    const dataDir = await preparedDataDir(path.join(mount, 'data'));
    execFileSync('mount', ['-o', 'remount,ro', mount]);
    const withStore = await startExpectingExit(dataDir);
    expect(withStore.code).toBe(1);
    expect(withStore.output).toContain(`cannot open the store ${databasePath(dataDir)}: the directory ${dataDir} is on a read-only file system (EROFS)`);

    const empty = tmpfs('1m');
    execFileSync('mount', ['-o', 'remount,ro', empty]);
    const fresh = await startExpectingExit(empty);
    expect(fresh.code).toBe(1);
    expect(fresh.output).toContain(`cannot open the store ${databasePath(empty)}: the directory ${empty} is on a read-only file system (EROFS)`);
  });

  it('a read command where there is no store says so, exits 1 and creates nothing; a write creates the store asked for', async () => {
    const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'oml-absent-')), 'nothing-here');
    for (const command of [['usage'], ['settings', 'show'], ['user', 'list'], ['store', 'check']]) {
      const result = await runCli([...command, '--data-dir', dataDir]);
      expect({ command, code: result.code }).toEqual({ command, code: 1 });
      expect(result.stderr).toContain(`there is no store in ${dataDir}`);
      expect(result.stderr).toContain('--data-dir DIR or OUTGOING_LIMITS_DATA_DIR');
      expect(existsSync(dataDir)).toBe(false);
    }
    const viaEnvironment = await runCli(['usage'], { OUTGOING_LIMITS_DATA_DIR: dataDir });
    expect(viaEnvironment.code).toBe(1);
    expect(existsSync(dataDir)).toBe(false);

    await cli(['settings', 'set', '--mailbox-limit', '7', '--data-dir', dataDir]);
    expect(existsSync(databasePath(dataDir))).toBe(true);
    expect(await cli(['settings', 'show', '--json', '--data-dir', dataDir])).toContain('"mailbox": 7');
  });
});
