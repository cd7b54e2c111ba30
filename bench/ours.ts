// Our daemon, driven only through its CLI contract: `directory import`, `settings set`, `daemon`.

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandLine, sleep, stopGroup, waitUntilAnswering } from './proc.js';
import { abandonStart, LogFile, makeTempDir, removeDir, type RunningServer } from './server.js';
import type { FeatureSet } from './features.js';
import { PER_SENDER_LIMIT, probeRequest, type DirectoryFile } from './workload.js';

const execFileAsync = promisify(execFile);

export interface OursOptions {
  /** Our command: bin/outgoing-limits, or a compiled main.js (see commandLine). */
  cli: string;
  label: string;
  directory: DirectoryFile;
  /** Which of the product's limits and signals are on (bench/features.ts). */
  features: FeatureSet;
  /** More `daemon` arguments (the cluster bench's `--cluster URL --node-name NAME`). */
  daemonArgs?: readonly string[];
}

export interface OursServer extends RunningServer {
  /** Wall time of `directory import` (ms), reported with the memory run. */
  readonly importMs: number;
  readonly pid: number;
  /** The daemon's --data-dir (api.sock and bridge.secret live there): the API stage talks to it. */
  readonly dataDir: string;
}

async function cli(cliPath: string, args: string[], timeoutMs: number): Promise<string> {
  try {
    const command = commandLine(cliPath, args);
    const { stdout } = await execFileAsync(command.file, command.args, {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message?: string };
    throw new Error(`outgoing-limits ${args.slice(0, 2).join(' ')} failed: ${e.message ?? ''}\n${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

export async function startOurs(opts: OursOptions): Promise<OursServer> {
  const t0 = Date.now();
  if (!existsSync(opts.cli)) throw new Error(`our daemon is not built: ${opts.cli} does not exist`);
  const dir = makeTempDir('ours');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const directoryFile = join(dir, 'directory.json');
  writeFileSync(directoryFile, JSON.stringify(opts.directory));
  const log = new LogFile(join(dir, 'daemon.log'));
  let pid = 0;
  const stop = async (): Promise<string> => {
    // The daemon is its own process group (detached); SIGTERM the daemon, SIGKILL the group if needed.
    const outcome = pid > 0 ? await stopGroup(pid, { termPid: pid, graceMs: 10_000 }) : 'not started';
    log.close();
    return outcome;
  };
  try {
    const tImport = Date.now();
    const imported = await cli(opts.cli, ['directory', 'import', directoryFile, '--data-dir', dataDir], 600_000);
    const importMs = Date.now() - tImport;
    const settingsArgs = [
      'settings', 'set', '--data-dir', dataDir, '--enabled', 'on',
      '--mailbox-limit', String(PER_SENDER_LIMIT), '--domain-limit', 'unlimited', '--subscription-limit', 'unlimited',
      // Like the peers, which answer 450 over the limit (holding records each message and is measured apart).
      '--over-limit-action', 'defer',
      ...opts.features.settingsArgs,
    ];
    await cli(opts.cli, settingsArgs, 60_000);
    // UNIX sockets, as Postfix reaches the daemon by default; in the bench's own directory (not the machine's
    // Postfix queue directory) so that runs never meet another daemon's sockets.
    const socket = join(dir, 'sockets', 'policy');
    const daemon = commandLine(opts.cli, ['daemon', '--data-dir', dataDir, '--policy', `unix:${socket}`, '--milter', `unix:${join(dir, 'sockets', 'milter')}`,
      ...(opts.daemonArgs ?? [])]);
    const child = spawn(daemon.file, daemon.args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', () => {
      exited = true;
    });
    pid = child.pid ?? 0;
    if (pid === 0) throw new Error('could not spawn the daemon');
    const probeAnswer = await waitUntilAnswering(socket, probeRequest(), 60_000, () => !exited);
    // pino writes asynchronously: the line may land a little after the first answer.
    for (let k = 0; k < 20 && !log.read().includes('"msg":"policy service listening"'); k++) await sleep(100);
    if (!log.read().includes('"msg":"policy service listening"')) {
      process.stderr.write('  note: the daemon answers but did not log "policy service listening"\n');
    }
    return {
      name: opts.label,
      endpoint: socket,
      pgid: pid,
      pid,
      excludeComm: [],
      command: [daemon.file, ...daemon.args].join(' '),
      config: `${imported}\nsettings: ${settingsArgs.slice(3).join(' ')}`,
      probeAnswer,
      startupMs: Date.now() - t0,
      importMs,
      dataDir,
      stop,
      logTail: (n) => log.tail(n),
      cleanup: () => removeDir(dir),
    };
  } catch (err) {
    return abandonStart(err, stop, dir, log);
  }
}
