// Process and socket helpers: free ports, readiness polling, /proc accounting (RSS, CPU) and
// process-group shutdown. Servers are tracked by process group so that forked children (postfwd2
// prefork children, runuser's child) are measured and stopped together.

import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks the kernel for a free loopback port (tiny race until the server binds it; fine for a bench). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Where a policy server answers: a TCP port on 127.0.0.1 (the peers), or a UNIX socket path (ours). */
export type PolicyEndpoint = number | string;

export function connectOptions(endpoint: PolicyEndpoint): { host: string; port: number } | { path: string } {
  return typeof endpoint === 'string' ? { path: endpoint } : { host: '127.0.0.1', port: endpoint };
}

export function describeEndpoint(endpoint: PolicyEndpoint): string {
  return typeof endpoint === 'string' ? `socket ${endpoint}` : `port ${endpoint}`;
}

/** Sends one request on a fresh connection and returns the raw answer (up to the empty line). */
export function oneRequest(endpoint: PolicyEndpoint, request: Buffer, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(connectOptions(endpoint));
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('latin1');
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk: string) => {
      got += chunk;
      if (got.includes('\n\n')) {
        clearTimeout(timer);
        sock.end();
        resolve(got);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed before an answer'));
    });
  });
}

/**
 * Waits until the server answers a real policy request (a listening socket alone is not enough:
 * postfwd2's children and cache daemon start after the port is bound).
 */
export async function waitUntilAnswering(
  endpoint: PolicyEndpoint,
  probe: Buffer,
  timeoutMs: number,
  isAlive: () => boolean,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not tried';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`server exited before answering (last: ${lastError})`);
    try {
      const answer = await oneRequest(endpoint, probe, 3000);
      if (answer.startsWith('action=')) return answer.trim();
      lastError = `unexpected answer ${JSON.stringify(answer)}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`server did not answer within ${timeoutMs} ms (last: ${lastError})`);
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  comm: string;
  /** utime + stime in clock ticks (USER_HZ = 100 on Linux). */
  cpuTicks: number;
}

export function readStat(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm may contain spaces and parentheses: fields resume after the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    return {
      pid,
      comm: stat.slice(open + 1, close),
      state: rest[0] ?? '?',
      ppid: Number(rest[1]),
      pgrp: Number(rest[2]),
      cpuTicks: Number(rest[11]) + Number(rest[12]),
    };
  } catch {
    return null; // the process exited meanwhile
  }
}

export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info !== null) out.push(info);
  }
  return out;
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid: number): ProcInfo[] {
  return listProcesses().filter((p) => p.pgrp === pgid && p.state !== 'Z');
}

/** Proportional set size: shared pages (prefork children, libraries) split among their users. */
export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m?.[1] !== undefined ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] !== undefined ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Memory and CPU of a server: the sum over its process group, minus wrappers such as runuser. */
export interface GroupUsage {
  processes: number;
  rssKb: number;
  /** Only filled when asked for (reading smaps_rollup walks page tables: not free). */
  pssKb: number;
  hwmKb: number;
  cpuTicks: number;
}

export function groupUsage(pgid: number, excludeComm: readonly string[] = [], withPss = false): GroupUsage {
  const usage: GroupUsage = { processes: 0, rssKb: 0, pssKb: 0, hwmKb: 0, cpuTicks: 0 };
  for (const p of groupMembers(pgid)) {
    if (excludeComm.includes(p.comm)) continue;
    usage.processes++;
    usage.rssKb += statusKb(p.pid, 'VmRSS');
    usage.hwmKb += statusKb(p.pid, 'VmHWM');
    if (withPss) usage.pssKb += pssKb(p.pid);
    usage.cpuTicks += p.cpuTicks;
  }
  return usage;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone
  }
}

export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone
  }
}

export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (groupMembers(pgid).length === 0) return true;
    await sleep(100);
  }
  return groupMembers(pgid).length === 0;
}

/** SIGTERM (to `termTarget`, default the whole group), then SIGKILL the group if it lingers. */
export async function stopGroup(pgid: number, opts: { termPid?: number; graceMs?: number } = {}): Promise<string> {
  if (groupMembers(pgid).length === 0) return 'already exited';
  if (opts.termPid !== undefined) signalPid(opts.termPid, 'SIGTERM');
  else signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, opts.graceMs ?? 10_000)) return 'stopped by SIGTERM';
  signalGroup(pgid, 'SIGKILL');
  if (await waitGroupGone(pgid, 5000)) return 'killed (SIGKILL) after SIGTERM grace period';
  return `WARNING: processes still alive in group ${pgid}`;
}

/** Samples a group's RSS periodically; keeps the maximum (RSS is sampled, HWM is the kernel's peak). */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  maxRssKb = 0;
  maxPssKb = 0;
  maxHwmKb = 0;

  constructor(
    private readonly pgid: number,
    private readonly excludeComm: readonly string[] = [],
    private readonly withPss = false,
  ) {}

  sample(): GroupUsage {
    const u = groupUsage(this.pgid, this.excludeComm, this.withPss);
    this.maxRssKb = Math.max(this.maxRssKb, u.rssKb);
    this.maxPssKb = Math.max(this.maxPssKb, u.pssKb);
    this.maxHwmKb = Math.max(this.maxHwmKb, u.hwmKb);
    return u;
  }

  start(intervalMs: number): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }
}

/**
 * Busy CPU ticks of the whole machine (all cores, from /proc/stat). Compared with what the server and
 * the bench used, it shows how much other processes (other people's builds, tests) disturbed a run.
 */
export function systemBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user/nice)
  const at = (i: number): number => f[i] ?? 0;
  return at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
}

/**
 * How to run our command: the installed launcher (bin/outgoing-limits, which sets the daemon's V8 options) is
 * executed directly; a bare .js build (BENCH_OURS_CLI) runs under this node.
 */
export function commandLine(cli: string, args: string[]): { file: string; args: string[] } {
  return cli.endsWith('.js') ? { file: process.execPath, args: [cli, ...args] } : { file: cli, args };
}
