import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The built command: tests exercise exactly what `npm run build` ships. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/backend-bridge/src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Like runCli, but a non-zero exit is a test failure with the command's own words. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await runCli(args, env);
  if (result.code !== 0) throw new Error(`outgoing-limits ${args.join(' ')} exited ${result.code}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

export function tempDataDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'oml-data-'));
}

/** The address a daemon logged for a service (`unix:PATH` or `HOST:PORT`), or null if it did not serve it. */
function loggedAddress(log: string, message: string, field: 'policy' | 'milter'): string | null {
  for (const line of log.split('\n')) {
    if (!line.includes(message)) continue;
    const value = (JSON.parse(line) as Record<string, unknown>)[field];
    if (typeof value === 'string') return value;
  }
  return null;
}

/** A daemon child process, started from the built command, with its log kept for assertions and failures. */
export class DaemonProcess {
  log = '';
  private exited: Promise<number | null>;
  /** Where the policy service listens, as the daemon logged it: `unix:PATH` or `HOST:PORT`. */
  policyAddress = '';
  /** Where the milter listens, as logged; null when started with --no-milter. */
  milterAddress: string | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * `env` is added to this process's environment (e.g. the test-only OUTGOING_LIMITS_TEST_WINDOW_SECONDS).
   * With `--postfix-config-dir` of a test Postfix, the sockets are the defaults, in that instance's queue
   * directory where its smtpd and cleanup reach them. Without, the daemon gets sockets in a fresh private
   * directory (it must not touch the machine's Postfix); `--policy`/`--milter`/`--no-milter` in `extraArgs` win.
   */
  static async start(dataDir: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
    const ownSockets = !extraArgs.includes('--postfix-config-dir');
    const socketDir = ownSockets ? mkdtempSync(path.join(os.tmpdir(), 'oml-sockets-')) : '';
    const policyArgs = ownSockets && !extraArgs.includes('--policy') ? ['--policy', `unix:${path.join(socketDir, 'policy')}`] : [];
    const milterArgs = ownSockets && !extraArgs.some((a) => a === '--milter' || a === '--no-milter') ? ['--milter', `unix:${path.join(socketDir, 'milter')}`] : [];
    const child = spawn(process.execPath, [CLI, 'daemon', '--data-dir', dataDir, '--log-level', 'debug', ...policyArgs, ...milterArgs, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const daemon = new DaemonProcess(child, dataDir);
    await daemon.waitForLog('policy service listening', 15_000);
    daemon.policyAddress = loggedAddress(daemon.log, 'policy service listening', 'policy') ?? '';
    daemon.milterAddress = loggedAddress(daemon.log, 'milter listening', 'milter');
    return daemon;
  }

  /** The policy service's socket path (the daemon listens on a UNIX socket unless a test asked for TCP). */
  get policySocket(): string {
    return socketPathOf(this.policyAddress);
  }

  get milterSocket(): string {
    if (this.milterAddress === null) throw new Error('this daemon serves no milter');
    return socketPathOf(this.milterAddress);
  }

  async waitForLog(text: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.log.includes(text)) {
      if (this.child.exitCode !== null) throw new Error(`daemon exited (${this.child.exitCode}) before logging "${text}":\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`daemon did not log "${text}" within ${timeoutMs} ms:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /**
   * Runs a command against this daemon. While the daemon runs, the command goes through its API, which applies
   * the change before it answers: the next message already sees it. Fails if the command did not use the API.
   */
  async change(args: string[]): Promise<void> {
    const result = await runCli([...args, '--data-dir', this.dataDir]);
    if (result.code !== 0) throw new Error(`outgoing-limits ${args.join(' ')} exited ${result.code}: ${result.stderr || result.stdout}`);
    if (result.stderr.includes('daemon is not running')) throw new Error(`the command did not reach the daemon: ${result.stderr}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** SIGTERM: the daemon flushes and exits cleanly. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGKILL: what a crash looks like. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

function socketPathOf(address: string): string {
  if (!address.startsWith('unix:')) throw new Error(`not a UNIX socket address: ${address}`);
  return address.slice('unix:'.length);
}

/** Retries `probe` until it returns true; for effects that arrive asynchronously (reloads, deliveries). */
export async function eventually(probe: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
