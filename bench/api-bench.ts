// The API stage of `npm run bench`: our daemon's bridge API with 100,000 mailboxes, called as the local
// administrator (LOCAL_ADMIN, signed) over the unix socket <data-dir>/api.sock, exactly as the
// `outgoing-limits` command and the Plesk layer call it. It measures
//   1. a page of 50 mailboxes with a search term (varied terms, pages and sort orders), sequential;
//   2. a set-limit round trip (PUT /mailboxes/<address>/limit) over many mailboxes and values, sequential;
//   3. how long a change takes to reach the policy decision: limit 0 through the API (and through the
//      `outgoing-limits limit set` command) while END-OF-MESSAGE requests for that mailbox are sent back to back
//      on a persistent policy connection, until the answer turns from DUNNO to DEFER_IF_PERMIT;
//   4. (1)-(3) again while the 50-connection policy load runs in a worker thread ("under policy load").
// The targets are judged on the quiet numbers.

import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { readBridgeSecret } from '../backend-bridge/src/api/auth/bridge-secret.js';
import { commandLine } from './proc.js';
import { BridgeClient, BridgeUnavailableError, LOCAL_ADMIN, type ApiResponse } from '../backend-bridge/src/api/bridge-client.js';
import { apiSocketPath } from '../backend-bridge/src/api/server.js';
import { PolicyClient } from '../backend-bridge/test-support/policy-client.js';
import type { LoadResult } from './load-generator.js';
import type { WorkerLoadOptions, WorkerMessage } from './load-worker.js';
import { groupUsage, sleep, systemBusyTicks, type PolicyEndpoint } from './proc.js';
import { prng, requestText, shuffledSenders } from './workload.js';

export const API_TARGETS = {
  searchP95Ms: 30,
  setLimitP95Ms: 10,
  propagationMaxMs: 1000,
} as const;

/** Sequential samples per measurement (after warm-up). */
const SEARCH_SAMPLES = 300;
const SEARCH_WARMUP = 48;
const SET_LIMIT_SAMPLES = 300;
const SET_LIMIT_WARMUP = 20;
const API_TRIALS = 30;
const COMMAND_TRIALS = 20;
const UNDER_LOAD_TRIALS = 20;
/** Under load a sample takes longer: these caps keep the stage near a minute even on a slow machine. */
const UNDER_LOAD_SEARCH_MAX_MS = 15_000;
const UNDER_LOAD_SET_LIMIT_MAX_MS = 6_000;
/** A trial that sees no DEFER within this long counts as failed (its time is reported as this bound). */
const TRIAL_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * While a command starts (~0.5 s), back-to-back polling would be ~10,000 requests per trial, a load that
 * competes with the command's start-up; a 1 ms pause between answer and next request still resolves ~2 ms.
 */
const COMMAND_POLL_GAP_MS = 1;
/** Own limit given to a trial's mailbox first, so that the polling itself can never reach a limit. */
const TRIAL_SETUP_LIMIT = 1_000_000;
const PAGE_SIZE = 50;

const API = '/api/v1';

/**
 * Search terms over the bench directory (user000..user099 @ d0000..d0999.example.com): from every mailbox to
 * one, local parts and domain fragments. The expected totals are counted from the generated directory.
 */
const SEARCH_TERMS = [
  'example.com', // every mailbox
  'user05', // a local-part prefix in every domain: 10 %
  '@d07', // a domain-name fragment: 100 domains
  'user042@', // one local part in every domain
  'd0999', // one domain
  '17@d04', // local part and domain fragment
  'user042@d0042.example.com', // one address
  'nobody', // no match
] as const;

const SORTS = [
  { sort: 'name', order: 'asc' },
  { sort: 'used', order: 'desc' },
  { sort: 'limit', order: 'asc' },
] as const;

export interface LatencyStats {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SearchBreakdown {
  key: string;
  /** Mailboxes the term matches (the answer's total), for rows by term. */
  matches?: number;
  samples: number;
  p50: number;
  p95: number;
  max: number;
}

export interface PropagationResult {
  via: 'API PUT' | 'outgoing-limits limit set';
  trials: number;
  /** Trials whose mailbox answered DEFER_IF_PERMIT (limit 0) in time. */
  reached: number;
  /** From sending the change (PUT written / command spawned) to the first DEFER_IF_PERMIT answer. */
  msToDefer?: LatencyStats;
  /** From sending the change to its answer (PUT response / command exit). */
  msToReturn?: LatencyStats;
  /** Policy requests sent while waiting, all trials. */
  policyRequests: number;
  /** DUNNO answers to requests sent after the change had returned: the change was not in force yet. */
  dunnoAfterReturn: number;
  failures: string[];
}

export interface ApiRow {
  label: 'quiet' | 'under policy load';
  search?: LatencyStats;
  searchByTerm?: SearchBreakdown[];
  searchBySort?: SearchBreakdown[];
  setLimit?: LatencyStats;
  propagation?: PropagationResult;
  /** Requests that did not get the expected answer (status, total, page length; status, new limit). */
  searchErrors: number;
  setLimitErrors: number;
  errorSamples: string[];
  /** Daemon CPU and everything else on the machine meanwhile, % of one core. */
  daemonCpuPercent?: number;
  otherCpuPercent?: number;
  /** The policy load that ran meanwhile (under policy load only). */
  policyLoad?: LoadResult;
  /** Policy answers per second while each measurement ran (from the load's per-second counts). */
  loadPhases?: LoadPhase[];
  /** Measurements cut short by their time cap. */
  notes: string[];
}

export interface LoadPhase {
  name: string;
  /** Seconds since the policy load's measured window opened. */
  startS: number;
  endS: number;
  /** Weighted by how much of each counted second lies inside the phase; absent for phases under 0.3 s. */
  policyRequestsPerSecond?: number;
}

export interface ApiResult {
  ok: boolean;
  error?: string;
  mailboxes: number;
  daemon: string;
  identity: string;
  socketPath?: string;
  quiet?: ApiRow;
  underLoad?: ApiRow;
  command?: PropagationResult;
  stageSeconds?: number;
  stopOutcome?: string;
}

export interface ApiStageOptions {
  /** The compiled CLI, for the `limit set` trials. */
  cli: string;
  dataDir: string;
  /** Our daemon's policy socket. */
  policyEndpoint: PolicyEndpoint;
  /** Process group of the daemon (CPU accounting). */
  daemonPgid: number;
  /** Which daemon this is, for the report. */
  daemonLabel: string;
  mailboxesPerDomain: number;
  /** Connections of the policy load for the "under policy load" row; 0 skips that row. */
  loadConnections: number;
  log: (line: string) => void;
}

function stats(values: readonly number[]): LatencyStats {
  const s = Float64Array.from(values).sort();
  const at = (p: number): number =>
    s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number);
  let sum = 0;
  for (const v of s) sum += v;
  return { samples: s.length, p50: at(50), p95: at(95), p99: at(99), max: s.length > 0 ? (s[s.length - 1] as number) : Number.NaN, mean: s.length > 0 ? sum / s.length : Number.NaN };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const f1 = (n: number): string => n.toFixed(1);
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

interface Page {
  items: unknown[];
  total: number;
}

function isPage(body: unknown): body is Page {
  if (typeof body !== 'object' || body === null) return false;
  const b = body as { items?: unknown; total?: unknown };
  return Array.isArray(b.items) && typeof b.total === 'number';
}

function ownLimitOf(body: unknown): unknown {
  return typeof body === 'object' && body !== null ? (body as { ownLimit?: unknown }).ownLimit : undefined;
}

function describe(response: ApiResponse): string {
  return `${response.status} ${JSON.stringify(response.body).slice(0, 200)}`;
}

/** Everything one measurement needs: the signed client, a policy connection, mailboxes nobody else uses. */
class Stage {
  private requestId = 0;
  private readonly pools = new Map<string, { list: string[]; next: number }>();

  constructor(
    readonly client: BridgeClient,
    readonly policy: PolicyClient,
    readonly opts: ApiStageOptions,
    private readonly all: readonly string[],
  ) {}

  /**
   * Disjoint slices of one shuffled mailbox list, so that set-limit samples and trials never touch the same
   * mailbox twice (a trial needs a mailbox that still sends).
   */
  take(pool: string, n: number): string[] {
    let p = this.pools.get(pool);
    if (p === undefined) {
      const offset = this.pools.size * 2_000;
      p = { list: this.all.slice(offset, offset + 2_000), next: 0 };
      this.pools.set(pool, p);
    }
    const out = p.list.slice(p.next, p.next + n);
    p.next += n;
    if (out.length < n) throw new Error(`bench bug: mailbox pool ${pool} exhausted`);
    return out;
  }

  call(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return withTimeout(this.client.request(method, path, body), REQUEST_TIMEOUT_MS, `${method} ${path}`);
  }

  /** The END-OF-MESSAGE request the load generator sends, for this mailbox, with a fresh queue id. */
  policyRequest(address: string): Promise<string> {
    const id = (++this.requestId + 0xa00000).toString(16).toUpperCase().padStart(10, '0');
    return withTimeout(this.policy.sendRaw(requestText(address, this.requestId, 'END-OF-MESSAGE', id)), REQUEST_TIMEOUT_MS, 'policy request');
  }
}

interface SearchCase {
  term: string;
  matches: number;
  sort: (typeof SORTS)[number];
}

function searchCases(addresses: readonly string[]): SearchCase[] {
  const cases: SearchCase[] = [];
  for (const term of SEARCH_TERMS) {
    let matches = 0;
    for (const a of addresses) if (a.includes(term)) matches++;
    for (const sort of SORTS) cases.push({ term, matches, sort });
  }
  return cases;
}

function recordError(row: ApiRow, kind: 'search' | 'setLimit', text: string): void {
  if (kind === 'search') row.searchErrors++;
  else row.setLimitErrors++;
  if (row.errorSamples.length < 5) row.errorSamples.push(text);
}

/** (1): sequential pages of 50 over every term × sort, half on page 1 (what the list shows first), half deeper. */
async function measureSearch(
  stage: Stage,
  row: ApiRow,
  cases: readonly SearchCase[],
  seed: number,
  maxMs: number,
): Promise<void> {
  const rnd = prng(seed);
  const times: number[] = [];
  const byTerm = new Map<string, number[]>();
  const bySort = new Map<string, number[]>();
  const t0 = performance.now();
  const total = SEARCH_WARMUP + SEARCH_SAMPLES;
  for (let i = 0; i < total; i++) {
    if (i >= SEARCH_WARMUP && performance.now() - t0 > maxMs) {
      row.notes.push(`search: stopped after ${times.length} samples at the ${maxMs / 1000} s cap`);
      break;
    }
    const c = cases[i % cases.length] as SearchCase;
    const pages = Math.max(1, Math.ceil(c.matches / PAGE_SIZE));
    const page = rnd() < 0.5 ? 1 : 1 + Math.floor(rnd() * pages);
    const path = `${API}/mailboxes?search=${encodeURIComponent(c.term)}&sort=${c.sort.sort}&order=${c.sort.order}` +
      `&page=${page}&pageSize=${PAGE_SIZE}`;
    const start = performance.now();
    const response = await stage.call('GET', path);
    const ms = performance.now() - start;
    const expectedItems = Math.min(PAGE_SIZE, Math.max(0, c.matches - (page - 1) * PAGE_SIZE));
    if (response.status !== 200 || !isPage(response.body)) recordError(row, 'search', `GET ${path}: ${describe(response)}`);
    else if (response.body.total !== c.matches || response.body.items.length !== expectedItems) {
      recordError(row, 'search', `GET ${path}: total ${response.body.total} / ${response.body.items.length} items, expected ${c.matches} / ${expectedItems}`);
    }
    if (i < SEARCH_WARMUP) continue;
    times.push(ms);
    const termKey = c.term;
    const sortKey = `${c.sort.sort} ${c.sort.order}`;
    byTerm.set(termKey, (byTerm.get(termKey) ?? []).concat(ms));
    bySort.set(sortKey, (bySort.get(sortKey) ?? []).concat(ms));
  }
  row.search = stats(times);
  const breakdown = (m: Map<string, number[]>, matches?: (key: string) => number): SearchBreakdown[] =>
    [...m.entries()].map(([key, v]) => {
      const s = stats(v);
      return { key, ...(matches ? { matches: matches(key) } : {}), samples: s.samples, p50: s.p50, p95: s.p95, max: s.max };
    });
  row.searchByTerm = breakdown(byTerm, (key) => cases.find((c) => c.term === key)?.matches ?? Number.NaN);
  row.searchBySort = breakdown(bySort);
}

/** (2): sequential PUT .../limit, each on another mailbox with another value. */
async function measureSetLimit(stage: Stage, row: ApiRow, pool: string, seed: number, maxMs: number): Promise<void> {
  const rnd = prng(seed);
  const mailboxes = stage.take(pool, SET_LIMIT_WARMUP + SET_LIMIT_SAMPLES);
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < mailboxes.length; i++) {
    if (i >= SET_LIMIT_WARMUP && performance.now() - t0 > maxMs) {
      row.notes.push(`set-limit: stopped after ${times.length} samples at the ${maxMs / 1000} s cap`);
      break;
    }
    const address = mailboxes[i] as string;
    const limit = 1 + Math.floor(rnd() * 5_000);
    const path = `${API}/mailboxes/${encodeURIComponent(address)}/limit`;
    const start = performance.now();
    const response = await stage.call('PUT', path, { limit });
    const ms = performance.now() - start;
    if (response.status !== 200 || ownLimitOf(response.body) !== limit) recordError(row, 'setLimit', `PUT ${path} ${limit}: ${describe(response)}`);
    if (i >= SET_LIMIT_WARMUP) times.push(ms);
  }
  row.setLimit = stats(times);
}

/** Runs the CLI and resolves with its outcome (never rejects). */
function runCommand(cli: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const command = commandLine(cli, args);
    execFile(command.file, command.args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err !== null && code === -1 ? err.message : '') });
    });
  });
}

/**
 * (3): per trial a mailbox that sends (DUNNO), then limit 0 through the API or the command; END-OF-MESSAGE
 * requests for it go out one at a time (back to back, or `pollGapMs` apart) from the moment the change is sent
 * until one answers DEFER_IF_PERMIT.
 * The polling counts messages while the answer is DUNNO, so each trial's mailbox first gets a high own limit.
 */
async function measurePropagation(
  stage: Stage,
  via: PropagationResult['via'],
  trials: number,
  pool: string,
  pollGapMs: number,
): Promise<PropagationResult> {
  const result: PropagationResult = { via, trials, reached: 0, policyRequests: 0, dunnoAfterReturn: 0, failures: [] };
  const toDefer: number[] = [];
  const toReturn: number[] = [];
  const fail = (text: string): void => {
    if (result.failures.length < 10) result.failures.push(text);
  };
  for (const address of stage.take(pool, trials)) {
    const path = `${API}/mailboxes/${encodeURIComponent(address)}/limit`;
    const setup = await stage.call('PUT', path, { limit: TRIAL_SETUP_LIMIT });
    if (setup.status !== 200) {
      fail(`${address}: setting up limit ${TRIAL_SETUP_LIMIT}: ${describe(setup)}`);
      continue;
    }
    const before = await stage.policyRequest(address);
    if (!before.startsWith('action=DUNNO')) {
      fail(`${address}: answered ${JSON.stringify(before)} before the change, not DUNNO`);
      continue;
    }
    // Written by the change's callbacks while the loop below runs.
    const change: { returnedAt: number | null; error: string | null } = { returnedAt: null, error: null };
    const t0 = performance.now();
    const sent: Promise<void> = via === 'API PUT'
      ? stage.call('PUT', path, { limit: 0 }).then((r) => {
        if (r.status !== 200 || ownLimitOf(r.body) !== 0) change.error = `PUT limit 0: ${describe(r)}`;
      })
      : runCommand(stage.opts.cli, ['limit', 'set', 'mailbox', address, '0', '--data-dir', stage.opts.dataDir]).then((r) => {
        if (r.code !== 0) change.error = `limit set exited ${r.code}: ${r.stderr.trim()}`;
        // Without the daemon's API the command writes the store itself: then this is not the path measured.
        else if (r.stderr.includes('not running')) change.error = `limit set did not go through the API: ${r.stderr.trim()}`;
      });
    const settled = sent.then(
      () => {
        change.returnedAt = performance.now();
      },
      (err: unknown) => {
        change.returnedAt = performance.now();
        change.error = errorText(err);
      },
    );
    let deferAt: number | null = null;
    let unexpected = false;
    while (performance.now() - t0 < TRIAL_TIMEOUT_MS && change.error === null) {
      const sentAt = performance.now();
      const answer = await stage.policyRequest(address);
      result.policyRequests++;
      if (answer.startsWith('action=DEFER_IF_PERMIT')) {
        // Only the new limit may refuse it (own limit 0; domain and subscription are unlimited in the bench).
        if (answer.includes(`mailbox ${address} (outgoing limit 0 `)) deferAt = performance.now();
        else {
          fail(`${address}: deferred for another reason: ${answer}`);
          unexpected = true;
        }
        break;
      }
      if (!answer.startsWith('action=DUNNO')) {
        fail(`${address}: unexpected answer ${JSON.stringify(answer)}`);
        unexpected = true;
        break;
      }
      if (change.returnedAt !== null && sentAt > change.returnedAt) result.dunnoAfterReturn++;
      if (pollGapMs > 0) await sleep(pollGapMs);
    }
    await settled;
    if (change.returnedAt !== null) toReturn.push(change.returnedAt - t0);
    if (change.error !== null) {
      fail(`${address}: ${change.error}`);
      continue;
    }
    if (unexpected) continue;
    if (deferAt === null) {
      fail(`${address}: still DUNNO ${TRIAL_TIMEOUT_MS} ms after the change`);
      toDefer.push(TRIAL_TIMEOUT_MS);
      continue;
    }
    result.reached++;
    toDefer.push(deferAt - t0);
  }
  if (toDefer.length > 0) result.msToDefer = stats(toDefer);
  if (toReturn.length > 0) result.msToReturn = stats(toReturn);
  return result;
}

function newRow(label: ApiRow['label']): ApiRow {
  return { label, searchErrors: 0, setLimitErrors: 0, errorSamples: [], notes: [] };
}

/** CPU of the daemon and of everything else over a window, % of one core (ticks are 1/100 s). */
class CpuWindow {
  private readonly sys = systemBusyTicks();
  private readonly daemon: number;
  private readonly bench = process.cpuUsage();
  private readonly t = performance.now();

  constructor(private readonly pgid: number) {
    this.daemon = groupUsage(pgid).cpuTicks;
  }

  end(row: ApiRow): void {
    const seconds = (performance.now() - this.t) / 1000;
    if (seconds <= 0) return;
    const daemon = groupUsage(this.pgid).cpuTicks - this.daemon;
    const b = process.cpuUsage(this.bench);
    const other = systemBusyTicks() - this.sys - daemon - (b.user + b.system) / 10_000;
    row.daemonCpuPercent = (daemon / 100 / seconds) * 100;
    row.otherCpuPercent = Math.max(0, (other / 100 / seconds) * 100);
  }
}

/**
 * Policy answers per second over [startS, endS): the load counts answers per whole second, so each second
 * weighs by how much of it lies inside the phase. Phases under 0.3 s get no figure.
 */
function perSecondMean(perSecond: readonly number[], startS: number, endS: number): { policyRequestsPerSecond?: number } {
  let answers = 0;
  let covered = 0;
  for (let k = Math.max(0, Math.floor(startS)); k < Math.min(perSecond.length, Math.ceil(endS)); k++) {
    const overlap = Math.min(endS, k + 1) - Math.max(startS, k);
    if (overlap <= 0) continue;
    answers += (perSecond[k] ?? 0) * overlap;
    covered += overlap;
  }
  return covered < 0.3 ? {} : { policyRequestsPerSecond: answers / covered };
}

/** Starts the memory run's policy load in a worker thread; resolves once its warm-up is over. */
async function startPolicyLoad(endpoint: PolicyEndpoint, connections: number): Promise<{ measuringAt: number; stop: () => Promise<LoadResult> }> {
  const options: WorkerLoadOptions = { endpoint, connections, warmupSeconds: 1, maxSeconds: 120 };
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: options });
  let onMessage: (m: WorkerMessage) => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const result = new Promise<LoadResult>((resolve, reject) => {
    failed = reject;
    onMessage = (m) => {
      if (m.kind === 'done') resolve(m.result);
      else if (m.kind === 'error') reject(new Error(`policy load: ${m.message}`));
    };
  });
  result.catch(() => undefined); // observed by stop() or by the race below
  const measuring = new Promise<void>((resolve) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'measuring') resolve();
      onMessage(m);
    });
  });
  worker.on('error', (err) => failed(err));
  worker.on('exit', (code) => failed(new Error(`policy load worker exited with code ${code}`)));
  await Promise.race([measuring, result.then(() => undefined)]);
  return {
    measuringAt: performance.now(),
    stop: async () => {
      worker.postMessage('stop');
      try {
        return await withTimeout(result, 20_000, 'stopping the policy load');
      } finally {
        await worker.terminate();
      }
    },
  };
}

async function connectApi(dataDir: string): Promise<BridgeClient> {
  const socketPath = apiSocketPath(dataDir);
  const deadline = Date.now() + 15_000;
  let last = 'not tried';
  while (Date.now() < deadline) {
    try {
      const secret = readBridgeSecret(dataDir);
      if (secret !== null) {
        const client = new BridgeClient(secret, { socketPath }, LOCAL_ADMIN);
        const r = await withTimeout(client.request('GET', `${API}/settings`), REQUEST_TIMEOUT_MS, 'GET /settings');
        if (r.status === 200) return client;
        throw new Error(`GET ${API}/settings as ${LOCAL_ADMIN.login}: ${describe(r)}`);
      }
      last = 'no bridge.secret yet';
    } catch (err) {
      if (!(err instanceof BridgeUnavailableError)) throw err;
      last = err.message;
    }
    await sleep(100);
  }
  throw new Error(`the API on ${socketPath} did not answer within 15 s (${last})`);
}

function logRow(log: (line: string) => void, row: ApiRow): void {
  const s = row.search;
  const l = row.setLimit;
  const p = row.propagation;
  if (s) log(`   -> page of 50 with a search: p50 ${f1(s.p50)} ms, p95 ${f1(s.p95)} ms, p99 ${f1(s.p99)} ms (${s.samples} samples)`);
  if (l) log(`   -> set-limit round trip: p50 ${f1(l.p50)} ms, p95 ${f1(l.p95)} ms, p99 ${f1(l.p99)} ms (${l.samples} samples)`);
  if (p?.msToDefer) log(`   -> API change → DEFER: p50 ${f1(p.msToDefer.p50)} ms, p95 ${f1(p.msToDefer.p95)} ms, max ${f1(p.msToDefer.max)} ms (${p.reached}/${p.trials} trials)`);
  const errors = row.searchErrors + row.setLimitErrors;
  if (errors > 0) log(`   ! ${errors} unexpected API answers, e.g. ${row.errorSamples[0] ?? ''}`);
  for (const f of p?.failures ?? []) log(`   ! ${f}`);
}

/** The whole stage against a running daemon. Never throws: a failure is the result's error. */
export async function runApiStage(opts: ApiStageOptions): Promise<ApiResult> {
  const t0 = performance.now();
  const addresses = shuffledSenders(opts.mailboxesPerDomain);
  const result: ApiResult = {
    ok: false,
    mailboxes: addresses.length,
    daemon: opts.daemonLabel,
    identity: `LOCAL_ADMIN (login ${LOCAL_ADMIN.login}, role ${LOCAL_ADMIN.role}), signed with bridge.secret`,
  };
  const log = opts.log;
  let policy: PolicyClient | undefined;
  try {
    result.socketPath = apiSocketPath(opts.dataDir);
    const client = await connectApi(opts.dataDir);
    policy = await PolicyClient.connect(opts.policyEndpoint);
    const stage = new Stage(client, policy, opts, shuffledSenders(opts.mailboxesPerDomain, 7));
    const cases = searchCases(addresses);

    log(`   quiet: ${SEARCH_SAMPLES} searches, ${SET_LIMIT_SAMPLES} set-limits, ${API_TRIALS} API change trials ...`);
    const quiet = newRow('quiet');
    result.quiet = quiet;
    const cpu = new CpuWindow(opts.daemonPgid);
    await measureSearch(stage, quiet, cases, 1, Number.POSITIVE_INFINITY);
    await measureSetLimit(stage, quiet, 'set-limit quiet', 2, Number.POSITIVE_INFINITY);
    quiet.propagation = await measurePropagation(stage, 'API PUT', API_TRIALS, 'trials quiet', 0);
    cpu.end(quiet);
    logRow(log, quiet);

    log(`   ${COMMAND_TRIALS} trials with \`outgoing-limits limit set\` (a node process each) ...`);
    result.command = await measurePropagation(stage, 'outgoing-limits limit set', COMMAND_TRIALS, 'trials command', COMMAND_POLL_GAP_MS);
    const c = result.command;
    if (c.msToDefer) {
      log(`   -> command change → DEFER: p50 ${f1(c.msToDefer.p50)} ms, p95 ${f1(c.msToDefer.p95)} ms, max ${f1(c.msToDefer.max)} ms ` +
        `(${c.reached}/${c.trials} trials; command exits after p50 ${f1(c.msToReturn?.p50 ?? Number.NaN)} ms)`);
    }
    for (const f of c.failures) log(`   ! ${f}`);

    if (opts.loadConnections > 0) {
      log(`   under policy load (${opts.loadConnections} connections, worker thread): the same again ...`);
      const row = newRow('under policy load');
      result.underLoad = row;
      const load = await startPolicyLoad(opts.policyEndpoint, opts.loadConnections);
      const cpuLoad = new CpuWindow(opts.daemonPgid);
      const phases: LoadPhase[] = [];
      const phase = async (name: string, run: () => Promise<void>): Promise<void> => {
        const startS = (performance.now() - load.measuringAt) / 1000;
        try {
          await run();
        } finally {
          phases.push({ name, startS, endS: (performance.now() - load.measuringAt) / 1000 });
        }
      };
      try {
        await phase('searches', () => measureSearch(stage, row, cases, 3, UNDER_LOAD_SEARCH_MAX_MS));
        await phase('set-limits', () => measureSetLimit(stage, row, 'set-limit under load', 4, UNDER_LOAD_SET_LIMIT_MAX_MS));
        await phase('change trials', async () => {
          row.propagation = await measurePropagation(stage, 'API PUT', UNDER_LOAD_TRIALS, 'trials under load', 0);
        });
        // The same load with no API calls, for comparison.
        await phase('no API calls', () => sleep(2_000));
      } finally {
        cpuLoad.end(row);
        row.policyLoad = await load.stop();
        row.loadPhases = phases.map((p) => ({ ...p, ...perSecondMean(row.policyLoad?.perSecond ?? [], p.startS, p.endS) }));
      }
      logRow(log, row);
      const pl = row.policyLoad;
      log(`   -> policy load meanwhile: ${Math.round(pl.requestsPerSecond).toLocaleString('en-US')} req/s, p99 ${pl.latencyMs.p99.toFixed(2)} ms`);
    }
    result.ok = true;
  } catch (err) {
    result.error = errorText(err);
    log(`   ERROR: ${result.error}`);
  } finally {
    policy?.end();
    result.stageSeconds = (performance.now() - t0) / 1000;
  }
  return result;
}
