// The cluster bench's figures from what it observed: Redis's INFO before and after the load (calls per message),
// the answers the hammered mailboxes got from both nodes (overshoot), the targets and the printed report.
// Pure functions: cluster.ts gathers the observations, the tests feed them directly.

import { COUNT_SCRIPT, READ_SCRIPT } from '../backend-bridge/src/counters/redis-counts.lua.js';
import { NO_ANSWER } from './load-generator.js';
import { fmt, median, OTHER_CPU_WARN_PERCENT, table, type ServerResult, type Target, type Verdict } from './report.js';

export const CLUSTER_TARGETS = {
  /** Per node, with both nodes loaded at once. */
  p99Ms: 10,
  /** Redis round trips per answered message, shown with two decimals. */
  roundTripsPerMessage: 1,
} as const;

/** INFO's "name:value" lines (every section asked for), section headers and blank lines left out. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** A numeric INFO field; a missing or unreadable one is an error, never 0. */
export function infoNumber(info: ReadonlyMap<string, string>, name: string): number {
  const text = info.get(name);
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(value)) throw new Error(`Redis INFO has no number ${name} (got ${JSON.stringify(text)})`);
  return value;
}

/** Calls per command from INFO commandstats (`cmdstat_evalsha:calls=12,usec=…`), by lower-case name. */
export function commandCalls(info: ReadonlyMap<string, string>): Map<string, number> {
  const calls = new Map<string, number>();
  for (const [name, value] of info) {
    if (!name.startsWith('cmdstat_')) continue;
    const match = /(?:^|,)calls=(\d+)(?:,|$)/.exec(value);
    if (!match) throw new Error(`Redis INFO commandstats line ${name}:${value} has no calls=`);
    calls.set(name.slice('cmdstat_'.length).toLowerCase(), Number(match[1]));
  }
  return calls;
}

/** The commands the counting scripts run inside Redis (commandstats counts those calls too). */
export const SCRIPT_COMMANDS: ReadonlySet<string> = new Set(
  [COUNT_SCRIPT, READ_SCRIPT].flatMap((source) => [...source.matchAll(/redis\.call\('([A-Za-z]+)'/g)].map((m) => (m[1] as string).toLowerCase())),
);

export interface RedisCalls {
  /** Answers the load generators got (warm-up, measured window and drain) between the two INFO snapshots. */
  messages: number;
  evalsha: number;
  /** total_commands_processed, less the bench's own INFO: the scripts' inner calls are in it. */
  commands: number;
  /** Script calls and every command no script runs, by name: what the nodes sent Redis. */
  sent: Record<string, number>;
  /** sent, summed, per message: the round trips (a command the scripts also run would hide among theirs). */
  roundTripsPerMessage: number;
  evalshaPerMessage: number;
  commandsPerMessage: number;
  /** Redis's own CPU (used_cpu_user + used_cpu_sys) between the snapshots, seconds. */
  redisCpuSeconds: number;
}

/**
 * Calls per message from INFO (stats, commandstats, cpu) taken before and after the load. `benchInfoCalls` is how
 * many INFO commands of the bench itself ran in between (the first snapshot counts once it has run).
 */
export function redisCallsPerMessage(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
  messages: number,
  benchInfoCalls: number,
): RedisCalls {
  const callsBefore = commandCalls(before);
  const callsAfter = commandCalls(after);
  const sent: Record<string, number> = {};
  for (const [name, count] of callsAfter) {
    const delta = count - (callsBefore.get(name) ?? 0) - (name === 'info' ? benchInfoCalls : 0);
    if (delta < 0) throw new Error(`Redis counted fewer ${name} calls after the load than before (was it restarted?)`);
    if (delta > 0 && !SCRIPT_COMMANDS.has(name)) sent[name] = delta;
  }
  const total = infoNumber(after, 'total_commands_processed') - infoNumber(before, 'total_commands_processed') - benchInfoCalls;
  const evalsha = sent['evalsha'] ?? 0;
  const roundTrips = Object.values(sent).reduce((a, b) => a + b, 0);
  const cpu = (info: ReadonlyMap<string, string>): number => infoNumber(info, 'used_cpu_user') + infoNumber(info, 'used_cpu_sys');
  const per = (n: number): number => (messages > 0 ? n / messages : Number.NaN);
  return {
    messages,
    evalsha,
    commands: total,
    sent,
    roundTripsPerMessage: per(roundTrips),
    evalshaPerMessage: per(evalsha),
    commandsPerMessage: per(total),
    redisCpuSeconds: cpu(after) - cpu(before),
  };
}

/** Answers that let the message through (an early warning's PREPEND included); the rest held it back or were lost. */
const ACCEPTED_VERBS: ReadonlySet<string> = new Set(['DUNNO', 'OK', 'PREPEND']);
/** No answer, or one that could not be read: whether the message was counted is unknown. */
const UNKNOWN_VERBS: ReadonlySet<string> = new Set([NO_ANSWER, '(malformed)']);

export interface HammeredMailbox {
  sender: string;
  sent: number;
  accepted: number;
  /** Accepted per node (report row name → DUNNO answers). */
  acceptedByNode: Record<string, number>;
  refused: number;
  unknown: number;
}

export interface Hammered {
  limit: number;
  mailboxes: HammeredMailbox[];
  /** Accepted beyond the limit, summed over the mailboxes. */
  overshoot: number;
  /** Refused while under the limit, summed over the mailboxes that were sent more than their limit. */
  undershoot: number;
}

/** Adds up the watched senders' answers from every node (LoadResult.bySender). */
export function countHammered(limit: number, nodes: readonly { name: string; bySender: Record<string, Record<string, number>> | undefined }[]): Hammered {
  const bySender = new Map<string, HammeredMailbox>();
  for (const node of nodes) {
    for (const [sender, verbs] of Object.entries(node.bySender ?? {})) {
      let box = bySender.get(sender);
      if (box === undefined) bySender.set(sender, (box = { sender, sent: 0, accepted: 0, acceptedByNode: {}, refused: 0, unknown: 0 }));
      for (const [verb, count] of Object.entries(verbs)) {
        box.sent += count;
        if (ACCEPTED_VERBS.has(verb)) {
          box.accepted += count;
          box.acceptedByNode[node.name] = (box.acceptedByNode[node.name] ?? 0) + count;
        } else if (UNKNOWN_VERBS.has(verb)) box.unknown += count;
        else box.refused += count;
      }
    }
  }
  const mailboxes = [...bySender.values()].sort((a, b) => a.sender.localeCompare(b.sender));
  return {
    limit,
    mailboxes,
    overshoot: mailboxes.reduce((sum, m) => sum + Math.max(0, m.accepted - limit), 0),
    undershoot: mailboxes.reduce((sum, m) => sum + (m.sent > limit && m.unknown === 0 ? Math.max(0, limit - m.accepted) : 0), 0),
  };
}

/**
 * Overshoot 0 is shown only where it was tested: every hammered mailbox was sent more than its limit and every one
 * of its requests was answered. Refusing below the limit fails too (the counts would be wrong the other way).
 */
export function overshootTarget(hammered: Hammered | undefined, limit: number): Target {
  const base = { name: `overshoot: hammered mailboxes (limit ${fmt(limit)}/h) from all nodes at once`, required: '0 over, each at its limit', disturbed: false };
  if (hammered === undefined || hammered.mailboxes.length === 0) return { ...base, measured: '-', verdict: 'N/A' };
  const { mailboxes } = hammered;
  const over = mailboxes.filter((m) => m.accepted > limit);
  if (over.length > 0) return { ...base, measured: `${fmt(hammered.overshoot)} over (${examples(over)})`, verdict: 'FAIL' };
  const unknown = mailboxes.reduce((sum, m) => sum + m.unknown, 0);
  if (unknown > 0) return { ...base, measured: `${fmt(unknown)} requests unanswered: cannot tell`, verdict: 'N/A' };
  const short = mailboxes.filter((m) => m.sent <= limit);
  if (short.length > 0) return { ...base, measured: `${fmt(short.length)} of ${fmt(mailboxes.length)} mailboxes not sent past the limit`, verdict: 'N/A' };
  if (hammered.undershoot > 0) {
    const under = mailboxes.filter((m) => m.accepted < limit);
    return { ...base, measured: `0 over, but refused below the limit (${examples(under)})`, verdict: 'FAIL' };
  }
  return { ...base, measured: `0 over: ${fmt(mailboxes.length)} mailbox${mailboxes.length === 1 ? '' : 'es'} at exactly ${fmt(limit)}`, verdict: 'PASS' };
}

/** "3 mailboxes, e.g. a@x 200, b@x 199": a verdict's line stays short; the full list is printed above it. */
function examples(boxes: readonly HammeredMailbox[]): string {
  const shown = boxes.slice(0, 2).map((m) => `${m.sender} ${fmt(m.accepted)}`).join(', ');
  return boxes.length > 2 ? `${fmt(boxes.length)} mailboxes, e.g. ${shown}` : shown;
}

const disturbed = (r: ServerResult | undefined): boolean => (r?.otherCpuPercent ?? 0) > OTHER_CPU_WARN_PERCENT;

export function evaluateClusterTargets(
  nodes: readonly ServerResult[],
  connections: number,
  limit: number,
  hammered: Hammered | undefined,
  calls: RedisCalls | undefined,
): Target[] {
  const verdict = (value: number | undefined, ok: (v: number) => boolean): Verdict =>
    value === undefined || Number.isNaN(value) ? 'N/A' : ok(value) ? 'PASS' : 'FAIL';
  const anyDisturbed = nodes.some(disturbed);
  const roundTrips = calls?.roundTripsPerMessage;
  return [
    ...nodes.map((node): Target => {
      const p99 = node.ok ? node.load?.latencyMs.p99 : undefined;
      return {
        name: `p99 latency ${node.name} at ${connections} connections, both nodes loaded`,
        measured: p99 === undefined ? '-' : `${fmt(p99, 2)} ms`,
        required: `≤ ${CLUSTER_TARGETS.p99Ms} ms`,
        verdict: verdict(p99, (v) => v <= CLUSTER_TARGETS.p99Ms),
        disturbed: disturbed(node),
      };
    }),
    overshootTarget(hammered, limit),
    {
      name: 'Redis round trips per message',
      measured: roundTrips === undefined || Number.isNaN(roundTrips) ? '-' : fmt(roundTrips, 2),
      required: `≤ ${fmt(CLUSTER_TARGETS.roundTripsPerMessage, 2)}`,
      // At most one, as printed (two decimals): sessions answered together share a call, and a few background
      // calls of the nodes (heartbeats) over the run stay below 0.005.
      verdict: verdict(roundTrips, (v) => Number(fmt(v, 2)) <= CLUSTER_TARGETS.roundTripsPerMessage),
      disturbed: anyDisturbed,
    },
  ];
}

export interface RedisFacts {
  version: string;
  /** Where the nodes reach it (no password in it). */
  address: string;
  usedMemoryMb?: number;
  keys?: number;
  /** Redis's CPU over the loaded time between the snapshots (warm-up included), % of one core. */
  cpuPercent?: number;
}

export interface ClusterResult {
  ok: boolean;
  error?: string;
  /** Connections per node. */
  connections: number;
  redis?: RedisFacts;
  /** The same daemon without --cluster, alone, with the same load. */
  embedded?: ServerResult;
  embeddedHammered?: Hammered;
  /** The cluster nodes, loaded at the same time; nodeNames[k] is the --node-name of nodes[k]. */
  nodes: ServerResult[];
  nodeNames: string[];
  hammered?: Hammered;
  calls?: RedisCalls;
  targets: Target[];
}

/** Requests/s of a run over the embedded node's, e.g. "0.48×". */
function ratioText(run: ServerResult | undefined, embedded: ServerResult | undefined): string {
  const x = run?.ok ? run.load?.requestsPerSecond : undefined;
  const y = embedded?.ok ? embedded.load?.requestsPerSecond : undefined;
  return x !== undefined && y !== undefined && y > 0 ? `${fmt(x / y, 2)}×` : '-';
}

function runRow(s: ServerResult, embedded: ServerResult | undefined): string[] {
  const l = s.load;
  if (!s.ok || l === undefined) return [s.name, 'ERROR', '-', '-', '-', '-', '-', '-', '-', '-'];
  const ps = l.perSecond;
  return [
    s.name,
    fmt(l.requestsPerSecond),
    ratioText(s, embedded),
    fmt(l.latencyMs.p50, 2),
    fmt(l.latencyMs.p99, 2),
    fmt(l.latencyMs.max, 1),
    ps.length > 0 ? `${fmt(Math.min(...ps))}/${fmt(median(ps))}/${fmt(Math.max(...ps))}` : '-',
    s.serverCpuPercent === undefined ? '-' : `${fmt(s.serverCpuPercent)}%`,
    s.otherCpuPercent === undefined ? '-' : `${fmt(s.otherCpuPercent)}%`,
    s.maxRssMb === undefined ? '-' : fmt(s.maxRssMb, 1),
  ];
}

function hammeredLines(title: string, hammered: Hammered, nodeNames: readonly string[]): string[] {
  const out = [`${title}: ${fmt(hammered.mailboxes.length)} mailboxes of limit ${fmt(hammered.limit)}/h; accepted ` +
    `(${nodeNames.length > 1 ? `${nodeNames.join(' + ')} = total` : 'total'}) of sent:`];
  for (const m of hammered.mailboxes) {
    const parts = nodeNames.length > 1 ? `${nodeNames.map((n) => fmt(m.acceptedByNode[n] ?? 0)).join(' + ')} = ${fmt(m.accepted)}` : fmt(m.accepted);
    out.push(`  ${m.sender}: ${parts} of ${fmt(m.sent)}${m.unknown > 0 ? `, ${fmt(m.unknown)} unanswered` : ''}`);
  }
  return out;
}

export function renderClusterReport(result: ClusterResult): string {
  const out: string[] = [];
  const r = result.redis;
  out.push(`cluster: ${fmt(result.nodes.length)} node${result.nodes.length === 1 ? '' : 's'} on one Redis${r === undefined ? '' : ` (redis-server ${r.version} at ${r.address})`}, ` +
    `${fmt(result.connections)} connections each, loaded at the same time; the embedded node (no --cluster) alone with the same load`);
  if (result.error !== undefined) out.push(`  ERROR: ${result.error}`);
  const runs = [...(result.embedded === undefined ? [] : [result.embedded]), ...result.nodes];
  if (runs.length > 0) {
    const rows = runs.map((s) => runRow(s, result.embedded));
    const measured = result.nodes.filter((n) => n.ok && n.load !== undefined);
    if (measured.length === result.nodes.length && measured.length > 1) {
      const total = measured.reduce((sum, n) => sum + (n.load?.requestsPerSecond ?? 0), 0);
      const base = result.embedded?.ok ? result.embedded.load?.requestsPerSecond : undefined;
      rows.push(['cluster, all nodes', fmt(total), base !== undefined && base > 0 ? `${fmt(total / base, 2)}×` : '-', '', '', '', '', '', '', '']);
    }
    out.push(table(['run', 'req/s', 'vs embedded', 'p50 ms', 'p99 ms', 'max ms', 'req/s per 1 s min/med/max', 'node CPU', 'other CPU', 'RSS MB'], rows));
  }
  for (const s of runs) {
    if (!s.ok || s.load === undefined) {
      out.push(`${s.name}: ERROR: ${s.error ?? 'no result'}`);
      continue;
    }
    const l = s.load;
    const problems: string[] = [];
    if (l.malformed > 0) problems.push(`${fmt(l.malformed)} MALFORMED answers, e.g. ${JSON.stringify(l.malformedSamples[0] ?? '')}`);
    if (l.timeouts > 0) problems.push(`${fmt(l.timeouts)} timeouts`);
    if (l.connectionErrors > 0) problems.push(`${fmt(l.connectionErrors)} connection errors`);
    if (l.stoppedByRequestCap) problems.push('stopped early at the request cap');
    if (disturbed(s)) problems.push(`other processes used ${fmt(s.otherCpuPercent)}% CPU meanwhile: numbers are disturbed`);
    out.push(`${s.name}: answers ${Object.entries(l.actions).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}; measured ${fmt(l.measuredRequests)} ` +
      `in ${fmt(l.measuredSeconds, 1)} s; p90 ${fmt(l.latencyMs.p90, 2)} ms, p99.9 ${fmt(l.latencyMs.p999, 2)} ms; stop: ${s.stopOutcome ?? '?'}` +
      (problems.length > 0 ? `\n  ! ${problems.join('; ')}` : ''));
    if ((s.attempts ?? 1) > 1) {
      out.push(`  measured ${fmt(s.attempts)} times (other CPU ${(s.otherCpuByAttempt ?? []).map((v) => `${fmt(v)}%`).join(', ')}); kept the least disturbed`);
    }
  }
  if (r !== undefined && (r.cpuPercent !== undefined || r.usedMemoryMb !== undefined)) {
    out.push(`Redis while both nodes were loaded: CPU ${fmt(r.cpuPercent)}% of a core (warm-up included); afterwards used_memory ` +
      `${fmt(r.usedMemoryMb, 1)} MB, ${fmt(r.keys)} keys`);
  }
  const c = result.calls;
  if (c !== undefined) {
    const sent = Object.entries(c.sent).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${fmt(n / c.messages, 4)}`).join(', ');
    out.push(`Redis calls: ${fmt(c.messages)} messages answered by the nodes; per message ${fmt(c.roundTripsPerMessage, 2)} round trips ` +
      `(sent by the nodes: ${sent === '' ? 'nothing' : sent}); EVALSHA ${fmt(c.evalshaPerMessage, 2)}; ${fmt(c.commandsPerMessage, 1)} commands ` +
      '(total_commands_processed: the scripts\' own calls included)');
  }
  const nodeNames = result.nodeNames;
  if (result.hammered !== undefined) out.push(...hammeredLines('hammered by both nodes', result.hammered, nodeNames));
  if (result.embeddedHammered !== undefined && result.embedded !== undefined) {
    const e = result.embeddedHammered;
    const exact = e.mailboxes.filter((m) => m.accepted === e.limit).length;
    out.push(`the same mailboxes on the embedded node: ${fmt(exact)} of ${fmt(e.mailboxes.length)} accepted exactly ${fmt(e.limit)}` +
      (exact === e.mailboxes.length ? '' : ` (${e.mailboxes.map((m) => `${m.sender} ${fmt(m.accepted)}`).join(', ')})`));
  }
  out.push('');
  out.push('cluster targets:');
  out.push(table(['target', 'measured', 'required', 'verdict'], result.targets.map((t) => [
    t.name,
    t.measured,
    t.required,
    `${t.verdict === 'FAIL' ? '*** FAIL ***' : t.verdict}${t.disturbed ? ' (disturbed run)' : ''}`,
  ])));
  return out.join('\n');
}
