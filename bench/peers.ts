// The peers we compare against, started fresh for each run with the configs from DESIGN.md
// ("Peers for the benchmark"): postfwd2 (Perl, Net::Server prefork + cache daemon) and
// policyd-rate-limit (Python, single-threaded select loop, SQLite).

import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADDRESS_IN_USE, launchOnFreePort, loopbackListenerOwner, PortTakenError } from '../backend-bridge/test-support/loopback-listeners.js';
import { freePort, groupMembers, listProcesses, sleep, stopGroup, waitUntilAnswering } from './proc.js';
import { abandonStart, LogFile, lookupId, makeTempDir, removeDir, type RunningServer } from './server.js';
import { PER_SENDER_LIMIT, probeRequest } from './workload.js';

export const POSTFWD2_RULE =
  `id=RATE ; protocol_state==END-OF-MESSAGE ; sender=~/./ ; action=rate(sender/${PER_SENDER_LIMIT}/3600/450 4.7.1 limit)`;

/** Processes whose command line mentions `needle` (our unique temp path): a fallback to find strays. */
function pgidsByCmdline(needle: string): number[] {
  const pgids = new Set<number>();
  for (const p of listProcesses()) {
    try {
      if (readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').includes(needle)) pgids.add(p.pgrp);
    } catch {
      // exited meanwhile
    }
  }
  return [...pgids];
}

/**
 * Waits until the server's process group holds the listener on 127.0.0.1:port. Neither peer can bind port 0 and
 * report it, so the port was picked free a moment before: if another program listens there, or the server died
 * saying the address is in use, it lost the race (PortTakenError, and the caller starts it on another port).
 * Someone else's listener is final: neither peer retries its bind.
 */
async function waitForOwnListener(port: number, pgid: number, log: LogFile, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const members = groupMembers(pgid).map((p) => p.pid);
    const owner = await loopbackListenerOwner(port, members);
    if (owner === 'ours') return;
    if (owner === 'other') throw new PortTakenError('another program listens there');
    if (members.length === 0) {
      if (ADDRESS_IN_USE.test(log.read())) throw new PortTakenError(log.tail(3));
      throw new Error(`the server exited before it listened on 127.0.0.1:${port}`);
    }
    if (Date.now() > deadline) throw new Error(`the server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Stops and removes a start attempt that lost its port; anything else is abandoned with the server's log. */
async function abandonAttempt(err: unknown, stop: () => Promise<unknown>, dir: string, log: LogFile): Promise<never> {
  if (!(err instanceof PortTakenError)) return abandonStart(err, stop, dir, log);
  await stop();
  removeDir(dir);
  throw err;
}

export async function startPostfwd2(opts: { connections: number }): Promise<RunningServer> {
  return launchOnFreePort('postfwd2', await freePort(), freePort, (port) => startPostfwd2On(port, opts));
}

/** Starts postfwd2 on `port`; PortTakenError if another program has it. */
export async function startPostfwd2On(port: number, opts: { connections: number }): Promise<RunningServer> {
  const t0 = Date.now();
  const dir = makeTempDir('postfwd2');
  // postfwd2 drops to nobody before writing its pid file and the cache daemon's socket.
  chownSync(dir, lookupId('/etc/passwd', 'nobody'), lookupId('/etc/group', 'nogroup'));
  chmodSync(dir, 0o755);
  const rules = join(dir, 'postfwd2.cf');
  writeFileSync(rules, POSTFWD2_RULE + '\n', { mode: 0o644 });
  const pidFile = join(dir, 'postfwd2.pid');
  // Net::Server::PreFork: every persistent smtpd connection pins one child, so start enough children
  // up front and keep them (max_spare ≥ connections) instead of letting the pool shrink and regrow.
  const children = opts.connections + 10;
  const args = [
    '-f', rules, '-i', '127.0.0.1', '-p', String(port), '-u', 'nobody', '-g', 'nogroup',
    '--pidfile', pidFile, '--cache=0', '--nodns',
    '--min_servers', String(children), '--max_servers', String(children + 40),
    '--min_spare_servers', '5', '--max_spare_servers', String(children),
    // Own cache-daemon socket (default /var/tmp/postfwd2-cache.socket would clash with a system
    // postfwd2). Note: --cache_socket unix:PATH does not work (its parser puts PATH in the host field).
    '--cache_proto', 'unix', '--cache_port', join(dir, 'cache.sock'),
  ];
  const log = new LogFile(join(dir, 'postfwd2.log'));
  // postfwd2 always daemonizes (--nodaemon disables rate()): the launcher exits, the master
  // becomes a session leader, so its pid is also the process group of the whole daemon.
  const launcher = spawn('/usr/sbin/postfwd2', args, { stdio: ['ignore', log.fd, log.fd] });
  const launcherExit = new Promise<number | null>((resolve) => {
    launcher.once('exit', (code) => resolve(code));
    launcher.once('error', () => resolve(-1));
  });

  let masterPid = 0;
  const stop = async (): Promise<string> => {
    const pgids = new Set<number>(pgidsByCmdline(rules));
    if (masterPid > 0) pgids.add(masterPid);
    const outcomes: string[] = [];
    for (const pgid of pgids) {
      // The master's TERM handler kills its own process group (cache daemon, policy server, children).
      outcomes.push(await stopGroup(pgid, { termPid: pgid, graceMs: 10_000 }));
    }
    log.close();
    return outcomes.join('; ') || 'not running';
  };

  try {
    const code = await Promise.race([launcherExit, sleep(15_000).then(() => 'timeout' as const)]);
    if (code !== 0) throw new Error(`postfwd2 launcher exited with ${String(code)}: ${log.tail()}`);
    for (let k = 0; k < 100 && masterPid === 0; k++) {
      if (existsSync(pidFile)) masterPid = Number(readFileSync(pidFile, 'latin1').trim()) || 0;
      if (masterPid === 0) await sleep(100);
    }
    if (masterPid === 0) throw new Error(`postfwd2 wrote no pid file: ${log.tail()}`);
    // Its policy server child dies silently when the port is taken (master and cache daemon stay up).
    await waitForOwnListener(port, masterPid, log, 20_000);
    const probeAnswer = await waitUntilAnswering(port, probeRequest(), 20_000, () => groupMembers(masterPid).length > 0);
    // Give the prefork pool a moment to reach min_servers before the 50 connections arrive.
    for (let k = 0; k < 50 && groupMembers(masterPid).length < children; k++) await sleep(100);
    return {
      name: 'postfwd2',
      endpoint: port,
      pgid: masterPid,
      excludeComm: [],
      command: `postfwd2 ${args.join(' ')}`,
      config: POSTFWD2_RULE,
      probeAnswer,
      startupMs: Date.now() - t0,
      stop,
      logTail: (n) => log.tail(n),
      cleanup: () => removeDir(dir),
    };
  } catch (err) {
    return abandonAttempt(err, stop, dir, log);
  }
}

export function policydRateLimitConfig(port: number, pidFile: string): string {
  // Keys as in /etc/policyd-rate-limit.yaml; `debug: False` because True writes every request to stderr.
  return [
    'debug: False',
    'user: "policyd-rate-limit"',
    'group: "policyd-rate-limit"',
    `pidfile: "${pidFile}"`,
    'backend: 0',
    'sqlite_config:',
    '    database: ":memory:"',
    `SOCKET: ["127.0.0.1", ${port}]`,
    'limits:',
    `    - [${PER_SENDER_LIMIT}, 3600]`,
    'limits_by_id: {}',
    'limit_by_sasl: False',
    'limit_by_sender: True',
    'limit_by_ip: False',
    'limited_networks: []',
    'success_action: "dunno"',
    'fail_action: "defer_if_permit Rate limit reach, retry later"',
    'db_error_action: "dunno"',
    'report: False',
    'delay_to_close: 300',
    '',
  ].join('\n');
}

export async function startPolicydRateLimit(opts: { label: string }): Promise<RunningServer> {
  return launchOnFreePort(opts.label, await freePort(), freePort, (port) => startPolicydRateLimitOn(port, opts));
}

/** Starts policyd-rate-limit on `port`; PortTakenError if another program has it. */
export async function startPolicydRateLimitOn(port: number, opts: { label: string }): Promise<RunningServer> {
  const t0 = Date.now();
  const dir = makeTempDir('policyd-rate-limit');
  // It runs as its own user (started through runuser, so it never runs its root-only setup code).
  chownSync(dir, lookupId('/etc/passwd', 'policyd-rate-limit'), lookupId('/etc/group', 'policyd-rate-limit'));
  chmodSync(dir, 0o755);
  const configPath = join(dir, 'policyd-rate-limit.yaml');
  const config = policydRateLimitConfig(port, join(dir, 'policyd-rate-limit.pid'));
  writeFileSync(configPath, config, { mode: 0o644 });
  const log = new LogFile(join(dir, 'policyd-rate-limit.log'));
  const argv = ['-u', 'policyd-rate-limit', '--', '/usr/bin/policyd-rate-limit', '-f', configPath];
  // detached: own process group (runuser + python), so stop() can signal and account for both.
  const child = spawn('runuser', argv, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', () => {
    exited = true;
  });
  const pgid = child.pid ?? 0;
  const stop = async (): Promise<string> => {
    // SIGTERM to the whole group: Python dies at once; runuser alone would wait ~2 s before killing it.
    const outcome = pgid > 0 ? await stopGroup(pgid, { graceMs: 10_000 }) : 'not started';
    log.close();
    return outcome;
  };
  try {
    if (pgid === 0) throw new Error('could not spawn runuser');
    // A taken port: Python exits with "[Errno 98] Address already in use".
    await waitForOwnListener(port, pgid, log, 20_000);
    const probeAnswer = await waitUntilAnswering(port, probeRequest(), 20_000, () => !exited);
    return {
      name: opts.label,
      endpoint: port,
      pgid,
      excludeComm: ['runuser'],
      command: `runuser ${argv.join(' ')}`,
      config,
      probeAnswer,
      startupMs: Date.now() - t0,
      stop,
      logTail: (n) => log.tail(n),
      cleanup: () => removeDir(dir),
    };
  } catch (err) {
    return abandonAttempt(err, stop, dir, log);
  }
}
