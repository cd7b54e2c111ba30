// Turns measurements into the printed table, the target verdicts and test-output/bench.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { API_TARGETS, type ApiResult, type ApiRow, type LatencyStats, type PropagationResult, type SearchBreakdown } from './api-bench.js';
import type { LoadResult } from './load-generator.js';

export interface ServerResult {
  name: string;
  /** What the server does with this workload, shown under the table. */
  role: string;
  ok: boolean;
  error?: string;
  command?: string;
  config?: string;
  probeAnswer?: string;
  startupMs?: number;
  stopOutcome?: string;
  load?: LoadResult;
  /** Server CPU during the measured window, % of one core (sum over its processes). */
  serverCpuPercent?: number;
  /** CPU used by anything else on the machine meanwhile (kernel softirq, other people's jobs). */
  otherCpuPercent?: number;
  processes?: number;
  /** Runs made (a run disturbed by other processes is repeated; the least disturbed one is kept). */
  attempts?: number;
  otherCpuByAttempt?: number[];
  /** Errors of attempts that were not kept. */
  attemptErrors?: string[];
  /** Sum over the server's processes, max of samples taken every 0.5 s. */
  maxRssMb?: number;
  maxPssMb?: number;
  hwmMb?: number;
}

export interface MemoryResult {
  ok: boolean;
  error?: string;
  mailboxes: number;
  importMs?: number;
  idleRssMb?: number;
  maxRssMb?: number;
  hwmMb?: number;
  load?: LoadResult;
  stopOutcome?: string;
}

/** Above this, CPU used by other processes during a run makes its numbers unreliable. */
export const OTHER_CPU_WARN_PERCENT = 25;

export type Verdict = 'PASS' | 'FAIL' | 'N/A';

export interface Target {
  name: string;
  measured: string;
  required: string;
  verdict: Verdict;
  /** A run behind this verdict was disturbed by other processes (see "other CPU"): take it with salt. */
  disturbed: boolean;
}

export const TARGETS = {
  vsPostfwd2: 10,
  vsPolicyd: 2,
  p99Ms: 5,
  rssMb: 150,
  /** Every limit and signal on keeps at least this share of the throughput with them off. */
  allOnShare: 0.8,
} as const;

export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function ratio(a: ServerResult | undefined, b: ServerResult | undefined): number | undefined {
  const x = a?.load?.requestsPerSecond;
  const y = b?.load?.requestsPerSecond;
  return x !== undefined && y !== undefined && y > 0 ? x / y : undefined;
}

export function evaluateTargets(
  ours: ServerResult | undefined,
  postfwd2: ServerResult | undefined,
  policydCounting: ServerResult | undefined,
  policydEom: ServerResult | undefined,
  memory: MemoryResult | undefined,
  connections: number,
): Target[] {
  const verdict = (value: number | undefined, ok: (v: number) => boolean): Verdict =>
    value === undefined || Number.isNaN(value) ? 'N/A' : ok(value) ? 'PASS' : 'FAIL';
  const r1 = ratio(ours, postfwd2);
  const r2 = ratio(ours, policydCounting);
  const r3 = ratio(ours, policydEom);
  const p99 = ours?.load?.latencyMs.p99;
  const rss = memory?.ok ? Math.max(memory.hwmMb ?? 0, memory.maxRssMb ?? 0) : undefined;
  const disturbed = (...runs: (ServerResult | undefined)[]): boolean =>
    runs.some((r) => (r?.otherCpuPercent ?? 0) > OTHER_CPU_WARN_PERCENT);
  return [
    {
      name: 'req/s ours / postfwd2',
      measured: r1 === undefined ? '-' : `${fmt(r1, 1)}×`,
      required: `≥ ${TARGETS.vsPostfwd2}×`,
      verdict: verdict(r1, (v) => v >= TARGETS.vsPostfwd2),
      disturbed: disturbed(ours, postfwd2),
    },
    {
      name: `req/s ours / ${policydCounting?.name ?? 'policyd-rate-limit (RCPT)'}`,
      measured: r2 === undefined ? '-' : `${fmt(r2, 1)}×`,
      required: `≥ ${TARGETS.vsPolicyd}×`,
      verdict: verdict(r2, (v) => v >= TARGETS.vsPolicyd),
      disturbed: disturbed(ours, policydCounting),
    },
    {
      name: `req/s ours / ${policydEom?.name ?? 'policyd-rate-limit (EOM)'}`,
      measured: r3 === undefined ? '-' : `${fmt(r3, 1)}×`,
      required: `≥ ${TARGETS.vsPolicyd}× (stricter: it does no work at EOM)`,
      verdict: verdict(r3, (v) => v >= TARGETS.vsPolicyd),
      disturbed: disturbed(ours, policydEom),
    },
    {
      name: `p99 latency ours at ${connections} connections`,
      measured: p99 === undefined ? '-' : `${fmt(p99, 2)} ms`,
      required: `≤ ${TARGETS.p99Ms} ms`,
      verdict: verdict(p99, (v) => v <= TARGETS.p99Ms),
      disturbed: disturbed(ours),
    },
    {
      name: `RSS ours all on with ${fmt(memory?.mailboxes)} mailboxes that all sent (peak)`,
      measured: rss === undefined ? '-' : `${fmt(rss, 1)} MB`,
      required: `≤ ${TARGETS.rssMb} MB`,
      verdict: verdict(rss, (v) => v <= TARGETS.rssMb),
      disturbed: false,
    },
  ];
}

/** The cost of the product's limits and signals: the run with all of them on against the plain hourly limit. */
export function evaluateFeatureTargets(allOff: ServerResult | undefined, allOn: ServerResult | undefined, connections: number): Target[] {
  const share = ratio(allOn, allOff);
  const p99 = allOn?.load?.latencyMs.p99;
  const disturbed = [allOff, allOn].some((r) => (r?.otherCpuPercent ?? 0) > OTHER_CPU_WARN_PERCENT);
  const verdict = (value: number | undefined, ok: (v: number) => boolean): Verdict =>
    value === undefined || Number.isNaN(value) ? 'N/A' : ok(value) ? 'PASS' : 'FAIL';
  return [
    {
      name: 'req/s ours all on / all off',
      measured: share === undefined ? '-' : `${fmt(share * 100, 0)} %`,
      required: `≥ ${fmt(TARGETS.allOnShare * 100, 0)} %`,
      verdict: verdict(share, (v) => v >= TARGETS.allOnShare),
      disturbed,
    },
    {
      name: `p99 latency ours all on at ${connections} connections`,
      measured: p99 === undefined ? '-' : `${fmt(p99, 2)} ms`,
      required: `≤ ${TARGETS.p99Ms} ms`,
      verdict: verdict(p99, (v) => v <= TARGETS.p99Ms),
      disturbed: (allOn?.otherCpuPercent ?? 0) > OTHER_CPU_WARN_PERCENT,
    },
  ];
}

const disturbedRow = (row: ApiRow | undefined): boolean => (row?.otherCpuPercent ?? 0) > OTHER_CPU_WARN_PERCENT;

/** The API stage's targets, judged on the quiet row. */
export function evaluateApiTargets(api: ApiResult): Target[] {
  const q = api.quiet;
  const latency = (name: string, s: LatencyStats | undefined, errors: number, limitMs: number): Target => ({
    name,
    measured: s === undefined || s.samples === 0 ? '-' : `${fmt(s.p95, 1)} ms${errors > 0 ? ` (${fmt(errors)} wrong answers)` : ''}`,
    required: `≤ ${limitMs} ms`,
    verdict: s === undefined || s.samples === 0 ? 'N/A' : errors === 0 && s.p95 <= limitMs ? 'PASS' : 'FAIL',
    disturbed: disturbedRow(q),
  });
  const propagation = (name: string, p: PropagationResult | undefined, disturbed: boolean): Target => {
    const t = p?.msToDefer;
    const missed = p === undefined ? 0 : p.trials - p.reached;
    return {
      name: `${name}${p === undefined ? '' : `, max of ${p.trials} trials`}`,
      measured: t === undefined ? '-' : `${fmt(t.max, 1)} ms${missed > 0 ? ` (${missed} trials failed)` : ''}`,
      required: `≤ ${API_TARGETS.propagationMaxMs} ms`,
      verdict: t === undefined ? 'N/A' : missed === 0 && t.max <= API_TARGETS.propagationMaxMs ? 'PASS' : 'FAIL',
      disturbed,
    };
  };
  return [
    latency(`API: page of 50 of ${fmt(api.mailboxes)} mailboxes with a search, p95`, q?.search, q?.searchErrors ?? 0, API_TARGETS.searchP95Ms),
    latency('API: set-limit round trip, p95', q?.setLimit, q?.setLimitErrors ?? 0, API_TARGETS.setLimitP95Ms),
    propagation('API change reaches the policy decision', q?.propagation, disturbedRow(q)),
    propagation('`limit set` command reaches the policy decision (node start-up included)', api.command, false),
  ];
}

function renderApi(api: ApiResult): string[] {
  const out: string[] = [];
  out.push(`api: ours with ${fmt(api.mailboxes)} mailboxes (${api.daemon}); ${api.identity}, over ${api.socketPath ?? 'api.sock'}` +
    `; stage took ${fmt(api.stageSeconds, 1)} s`);
  if (!api.ok) out.push(`  ERROR: ${api.error ?? 'no result'}`);
  const rows: string[][] = [];
  const latencyRow = (what: string, row: ApiRow | undefined, s: LatencyStats | undefined, errors: number): void => {
    if (row === undefined || s === undefined) return;
    rows.push([`${what} (${row.label})`, fmt(s.samples), fmt(s.p50, 2), fmt(s.p95, 2), fmt(s.p99, 2), fmt(s.max, 1), errors > 0 ? fmt(errors) : '']);
  };
  const propagationRow = (what: string, label: string, p: PropagationResult | undefined): void => {
    if (p === undefined) return;
    const t = p.msToDefer;
    rows.push([`${what} (${label})`, `${fmt(p.reached)}/${fmt(p.trials)}`, fmt(t?.p50, 1), fmt(t?.p95, 1), fmt(t?.p99, 1), fmt(t?.max, 1),
      p.failures.length > 0 ? fmt(p.trials - p.reached) : '']);
  };
  for (const row of [api.quiet, api.underLoad]) latencyRow('page of 50 with a search', row, row?.search, row?.searchErrors ?? 0);
  for (const row of [api.quiet, api.underLoad]) latencyRow('set-limit round trip', row, row?.setLimit, row?.setLimitErrors ?? 0);
  for (const row of [api.quiet, api.underLoad]) if (row !== undefined) propagationRow('API PUT limit 0 → first DEFER', row.label, row.propagation);
  propagationRow('`limit set` command → first DEFER', 'quiet', api.command);
  if (rows.length > 0) out.push(table(['measurement', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'wrong'], rows));
  const breakdown = (items: SearchBreakdown[] | undefined): string =>
    (items ?? []).map((b) => `${b.key}${b.matches === undefined ? '' : ` [${fmt(b.matches)}]`} ${fmt(b.p50, 1)}/${fmt(b.p95, 1)}/${fmt(b.max, 1)}`).join(', ');
  if (api.quiet?.searchByTerm !== undefined) {
    out.push(`  search by term [matches] p50/p95/max ms (quiet): ${breakdown(api.quiet.searchByTerm)}`);
    out.push(`  search by sort p50/p95/max ms (quiet): ${breakdown(api.quiet.searchBySort)}`);
  }
  const propagationNotes = (label: string, p: PropagationResult | undefined): void => {
    if (p === undefined) return;
    const back = p.msToReturn;
    out.push(`  ${label}: the change answered after p50 ${fmt(back?.p50, 1)} ms / max ${fmt(back?.max, 1)} ms; ` +
      `${fmt(p.policyRequests)} policy requests sent while waiting; DUNNO after the change had returned: ${fmt(p.dunnoAfterReturn)}`);
    if (p.dunnoAfterReturn > 0) out.push('  ! the change was not in force when it returned (the API promises it is)');
    for (const f of p.failures) out.push(`  ! ${f}`);
  };
  propagationNotes('API PUT (quiet)', api.quiet?.propagation);
  propagationNotes('API PUT (under policy load)', api.underLoad?.propagation);
  propagationNotes('`limit set` command', api.command);
  for (const row of [api.quiet, api.underLoad]) {
    if (row === undefined) continue;
    const load = row.policyLoad;
    const parts = [`daemon CPU ${fmt(row.daemonCpuPercent)}%`, `other CPU ${fmt(row.otherCpuPercent)}%`];
    if (load !== undefined) {
      const byPhase = (row.loadPhases ?? []).map((p) => `${p.name} ${fmt(p.policyRequestsPerSecond)}`).join(', ');
      parts.unshift(`policy load meanwhile ${fmt(load.requestsPerSecond)} req/s on ${fmt(load.connections)} connections, ` +
        `p99 ${fmt(load.latencyMs.p99, 2)} ms, max ${fmt(load.latencyMs.max, 1)} ms (req/s during ${byPhase})`);
    }
    out.push(`  ${row.label}: ${parts.join('; ')}`);
    for (const n of row.notes) out.push(`  ! ${n}`);
    for (const e of row.errorSamples) out.push(`  ! wrong answer: ${e}`);
    if (disturbedRow(row)) out.push(`  ! other processes used ${fmt(row.otherCpuPercent)}% CPU meanwhile: numbers are disturbed`);
  }
  out.push(`  stop: ${api.stopOutcome ?? '-'}`);
  return out;
}

export function renderReport(servers: ServerResult[], memory: MemoryResult | undefined, targets: Target[], api?: ApiResult): string {
  const out: string[] = [];
  const rows = servers.map((s) => {
    const l = s.load;
    if (!s.ok || l === undefined) return [s.name, 'ERROR', '-', '-', '-', '-', '-', '-', '-', '-'];
    const ps = l.perSecond;
    const stability = ps.length > 0 ? `${fmt(Math.min(...ps))}/${fmt(median(ps))}/${fmt(Math.max(...ps))}` : '-';
    return [
      s.name,
      fmt(l.requestsPerSecond),
      fmt(l.latencyMs.p50, 2),
      fmt(l.latencyMs.p99, 2),
      fmt(l.latencyMs.max, 1),
      stability,
      s.serverCpuPercent === undefined ? '-' : `${fmt(s.serverCpuPercent)}%`,
      `${fmt(l.generatorCpuPercent)}%`,
      s.otherCpuPercent === undefined ? '-' : `${fmt(s.otherCpuPercent)}%`,
      s.maxRssMb === undefined ? '-' : `${fmt(s.maxRssMb, 1)} / ${fmt(s.maxPssMb, 1)} (${s.processes ?? '?'})`,
    ];
  });
  if (servers.length > 0) {
    out.push(table(
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'req/s per 1 s min/med/max', 'server CPU', 'bench CPU', 'other CPU', 'RSS / PSS MB (procs)'],
      rows,
    ));
    out.push(`CPU: % of one core over the measured window (${cpus().length} cores = ${cpus().length * 100}%); "other" is everything ` +
      'else on the machine, kernel networking and other people\'s jobs included. RSS/PSS: peak sum over the server\'s processes.');
    out.push('');
  }
  for (const s of servers) {
    out.push(`${s.name}: ${s.role}`);
    if (!s.ok || s.load === undefined) {
      out.push(`  ERROR: ${s.error ?? 'no result'}`);
      continue;
    }
    const l = s.load;
    const actions = Object.entries(l.actions).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
    out.push(`  answers (warm-up + measured): ${actions}`);
    for (const [verb, text] of Object.entries(l.sampleAnswers)) out.push(`    e.g. ${verb}: ${text}`);
    out.push(`  measured ${fmt(l.measuredRequests)} requests in ${fmt(l.measuredSeconds, 1)} s after ${fmt(l.warmupRequests)} warm-up requests; ` +
      `p90 ${fmt(l.latencyMs.p90, 2)} ms, p99.9 ${fmt(l.latencyMs.p999, 2)} ms, mean ${fmt(l.latencyMs.mean, 2)} ms`);
    const problems: string[] = [];
    if (l.malformed > 0) problems.push(`${l.malformed} MALFORMED answers, e.g. ${JSON.stringify(l.malformedSamples[0] ?? '')}`);
    if (l.timeouts > 0) problems.push(`${l.timeouts} timeouts`);
    if (l.connectionErrors > 0) problems.push(`${l.connectionErrors} connection errors`);
    if (l.connections < 50) problems.push(`only ${l.connections} connections`);
    if (l.connectRetriesUsed > 0) problems.push(`${l.connectRetriesUsed} connect retries`);
    if ((s.otherCpuPercent ?? 0) > OTHER_CPU_WARN_PERCENT) {
      problems.push(`other processes used ${fmt(s.otherCpuPercent)}% CPU meanwhile: numbers are disturbed, re-run on a quiet machine`);
    }
    if (l.stoppedByRequestCap) problems.push('stopped early at the request cap (senders would exceed their limit)');
    if (problems.length > 0) out.push(`  ! ${problems.join('; ')}`);
    if ((s.attempts ?? 1) > 1) {
      out.push(`  measured ${s.attempts} times (other CPU ${(s.otherCpuByAttempt ?? []).map((v) => `${fmt(v)}%`).join(', ')}); kept the least disturbed`);
    }
    for (const e of s.attemptErrors ?? []) out.push(`  ! a discarded attempt failed: ${e.split('\n')[0] ?? ''}`);
    out.push(`  started in ${fmt(s.startupMs)} ms; stop: ${s.stopOutcome ?? '?'}`);
  }
  if (memory !== undefined) {
    out.push('');
    out.push(`memory: ours with ${fmt(memory.mailboxes)} mailboxes`);
    if (!memory.ok) out.push(`  ERROR: ${memory.error ?? 'no result'}`);
    else {
      out.push(`  import ${fmt(memory.importMs)} ms; RSS idle after start ${fmt(memory.idleRssMb, 1)} MB, ` +
        `max sampled under load ${fmt(memory.maxRssMb, 1)} MB, VmHWM ${fmt(memory.hwmMb, 1)} MB`);
      if (memory.load !== undefined) {
        const a = Object.entries(memory.load.actions).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
        out.push(`  load: ${fmt(memory.load.requestsPerSecond)} req/s, p99 ${fmt(memory.load.latencyMs.p99, 2)} ms; answers: ${a}`);
      }
      out.push(`  stop: ${memory.stopOutcome ?? '?'}`);
    }
  }
  if (api !== undefined) {
    out.push('');
    out.push(...renderApi(api));
  }
  out.push('');
  out.push('targets:');
  out.push(table(['target', 'measured', 'required', 'verdict'], targets.map((t) => [
    t.name,
    t.measured,
    t.required,
    `${t.verdict === 'FAIL' ? '*** FAIL ***' : t.verdict}${t.disturbed ? ' (disturbed run)' : ''}`,
  ])));
  if (targets.some((t) => t.disturbed)) {
    out.push('(disturbed run: other processes used over ' + `${OTHER_CPU_WARN_PERCENT}% of a core meanwhile; re-run when the machine is quiet)`);
  }
  return out.join('\n');
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
