import { describe, expect, it } from 'vitest';
import {
  commandCalls,
  countHammered,
  evaluateClusterTargets,
  overshootTarget,
  parseInfo,
  redisCallsPerMessage,
  renderClusterReport,
  SCRIPT_COMMANDS,
  type ClusterResult,
} from './cluster-figures.js';
import { NO_ANSWER, type LoadResult } from './load-generator.js';
import type { ServerResult } from './report.js';

/** INFO as redis-server 7.0 prints it: CRLF, section headers, subcommands as cmdstat_a|b. */
function infoText(fields: { total: number; cpu: [number, number]; calls: Record<string, number> }): string {
  return [
    '# Stats',
    `total_commands_processed:${fields.total}`,
    'instantaneous_ops_per_sec:0',
    '',
    '# CPU',
    `used_cpu_sys:${fields.cpu[0]}`,
    `used_cpu_user:${fields.cpu[1]}`,
    '',
    '# Commandstats',
    ...Object.entries(fields.calls).map(([name, calls]) => `cmdstat_${name}:calls=${calls},usec=${calls * 3},usec_per_call=3.00,rejected_calls=0,failed_calls=0`),
    '',
  ].join('\r\n');
}

function load(overrides: Partial<LoadResult>): LoadResult {
  return {
    connections: 50,
    connectRetriesUsed: 0,
    warmupRequests: 1000,
    measuredRequests: 10_000,
    measuredSeconds: 2,
    requestsPerSecond: 5000,
    latencyMs: { p50: 2, p90: 4, p99: 8, p999: 12, max: 20, mean: 2.5 },
    perSecond: [5000, 5000],
    actions: { DUNNO: 10_500, DEFER_IF_PERMIT: 500 },
    sampleAnswers: {},
    malformed: 0,
    malformedSamples: [],
    timeouts: 0,
    connectionErrors: 0,
    stoppedByRequestCap: false,
    totalRequestsSent: 11_000,
    generatorCpuPercent: 40,
    ...overrides,
  };
}

function node(name: string, overrides: Partial<LoadResult>, extra: Partial<ServerResult> = {}): ServerResult {
  return { name, role: 'test', ok: true, load: load(overrides), otherCpuPercent: 5, ...extra };
}

describe('Redis INFO', () => {
  it('reads name:value lines of several sections and the calls of every command', () => {
    const info = parseInfo(infoText({ total: 42, cpu: [1.5, 2.25], calls: { evalsha: 7, 'client|setname': 1, hmget: 30 } }));
    expect(info.get('total_commands_processed')).toBe('42');
    expect(info.get('used_cpu_user')).toBe('2.25');
    expect([...commandCalls(info)]).toEqual([['evalsha', 7], ['client|setname', 1], ['hmget', 30]]);
  });

  it('refuses a commandstats line without calls= rather than reading it as 0', () => {
    expect(() => commandCalls(new Map([['cmdstat_evalsha', 'usec=3']]))).toThrow(/cmdstat_evalsha.*no calls=/);
  });

  it('knows the commands the counting scripts run inside Redis', () => {
    for (const name of ['time', 'hmget', 'hset', 'hincrby', 'expire']) expect(SCRIPT_COMMANDS.has(name)).toBe(true);
    expect(SCRIPT_COMMANDS.has('evalsha')).toBe(false);
    expect(SCRIPT_COMMANDS.has('get')).toBe(false);
  });
});

describe('Redis calls per message', () => {
  const before = parseInfo(infoText({ total: 100, cpu: [1, 1], calls: { info: 3, evalsha: 10, hmget: 50, time: 10 } }));

  it('counts one script call per message as one round trip, the scripts\' inner calls apart', () => {
    // 1,000 messages: 1,000 EVALSHA, each running 5 HMGET and a TIME inside Redis; plus the bench's first INFO.
    const after = parseInfo(infoText({ total: 100 + 1 + 1000 * 7, cpu: [1.5, 2], calls: { info: 4, evalsha: 1010, hmget: 5050, time: 1010 } }));
    const calls = redisCallsPerMessage(before, after, 1000, 1);
    expect(calls.sent).toEqual({ evalsha: 1000 });
    expect(calls.roundTripsPerMessage).toBe(1);
    expect(calls.evalshaPerMessage).toBe(1);
    expect(calls.commandsPerMessage).toBe(7);
    expect(calls.redisCpuSeconds).toBeCloseTo(1.5);
  });

  it('counts a command sent beside the script as a second round trip', () => {
    const after = parseInfo(infoText({ total: 100 + 1 + 1000 * 8, cpu: [1, 1], calls: { info: 4, evalsha: 1010, hmget: 5050, time: 1010, get: 1000 } }));
    const calls = redisCallsPerMessage(before, after, 1000, 1);
    expect(calls.sent).toEqual({ evalsha: 1000, get: 1000 });
    expect(calls.roundTripsPerMessage).toBe(2);
    expect(calls.evalshaPerMessage).toBe(1);
  });

  it('says when Redis counted fewer calls afterwards (a restart) instead of printing a negative rate', () => {
    const after = parseInfo(infoText({ total: 50, cpu: [1, 1], calls: { info: 1, evalsha: 2 } }));
    expect(() => redisCallsPerMessage(before, after, 10, 1)).toThrow(/fewer .* calls after the load than before/);
  });
});

describe('overshoot of the hammered mailboxes', () => {
  const a = { 'h1@x': { DUNNO: 60, DEFER_IF_PERMIT: 200 }, 'h2@x': { DUNNO: 45, DEFER_IF_PERMIT: 210 } };
  const b = { 'h1@x': { DUNNO: 40, DEFER_IF_PERMIT: 190 }, 'h2@x': { DUNNO: 55, DEFER_IF_PERMIT: 205 } };

  it('adds up the accepted answers of both nodes per mailbox and passes at exactly the limit', () => {
    const hammered = countHammered(100, [{ name: 'bench-a', bySender: a }, { name: 'bench-b', bySender: b }]);
    expect(hammered.mailboxes.map((m) => [m.sender, m.accepted, m.acceptedByNode, m.sent])).toEqual([
      ['h1@x', 100, { 'bench-a': 60, 'bench-b': 40 }, 490],
      ['h2@x', 100, { 'bench-a': 45, 'bench-b': 55 }, 515],
    ]);
    expect(hammered.overshoot).toBe(0);
    expect(overshootTarget(hammered, 100)).toMatchObject({ verdict: 'PASS', measured: '0 over: 2 mailboxes at exactly 100' });
  });

  it('fails when the nodes together let more through than the limit (each counting alone)', () => {
    const alone = { 'h1@x': { DUNNO: 100, DEFER_IF_PERMIT: 150 } };
    const hammered = countHammered(100, [{ name: 'bench-a', bySender: alone }, { name: 'bench-b', bySender: alone }]);
    expect(hammered.overshoot).toBe(100);
    expect(overshootTarget(hammered, 100)).toMatchObject({ verdict: 'FAIL', measured: '100 over (h1@x 200)' });
  });

  it('fails when a mailbox was refused below its limit', () => {
    const hammered = countHammered(100, [{ name: 'bench-a', bySender: { 'h1@x': { DUNNO: 99, DEFER_IF_PERMIT: 300 } } }]);
    expect(overshootTarget(hammered, 100)).toMatchObject({ verdict: 'FAIL', measured: '0 over, but refused below the limit (h1@x 99)' });
  });

  it('does not claim 0 over when it could not tell: unanswered requests, or mailboxes never sent past the limit', () => {
    const lost = countHammered(100, [{ name: 'bench-a', bySender: { 'h1@x': { DUNNO: 99, DEFER_IF_PERMIT: 300, [NO_ANSWER]: 1 } } }]);
    expect(overshootTarget(lost, 100)).toMatchObject({ verdict: 'N/A', measured: '1 requests unanswered: cannot tell' });
    const few = countHammered(100, [{ name: 'bench-a', bySender: { 'h1@x': { DUNNO: 80 } } }]);
    expect(overshootTarget(few, 100)).toMatchObject({ verdict: 'N/A' });
    expect(overshootTarget(undefined, 100)).toMatchObject({ verdict: 'N/A', measured: '-' });
  });
});

describe('cluster targets and report', () => {
  const embedded = node('ours embedded (no --cluster)', { requestsPerSecond: 10_000 });
  const nodes = [node('ours bench-a', { requestsPerSecond: 4_800 }), node('ours bench-b', { requestsPerSecond: 5_200, latencyMs: { p50: 3, p90: 6, p99: 12.5, p999: 20, max: 30, mean: 3 } })];
  const hammered = countHammered(100, [
    { name: 'bench-a', bySender: { 'h1@x': { DUNNO: 70, DEFER_IF_PERMIT: 10 } } },
    { name: 'bench-b', bySender: { 'h1@x': { DUNNO: 30, DEFER_IF_PERMIT: 10 } } },
  ]);
  const before = parseInfo(infoText({ total: 0, cpu: [0, 0], calls: {} }));
  const after = parseInfo(infoText({ total: 1 + 20_000 * 25 + 3, cpu: [2, 3], calls: { info: 1, evalsha: 20_000, hmget: 20_000 * 24, ping: 3 } }));
  const calls = redisCallsPerMessage(before, after, 20_000, 1);

  it('judges p99 per node, the overshoot and the round trips', () => {
    const targets = evaluateClusterTargets(nodes, 50, 100, hammered, calls);
    expect(targets.map((t) => [t.name, t.measured, t.verdict])).toEqual([
      ['p99 latency ours bench-a at 50 connections, both nodes loaded', '8.00 ms', 'PASS'],
      ['p99 latency ours bench-b at 50 connections, both nodes loaded', '12.50 ms', 'FAIL'],
      ['overshoot: hammered mailboxes (limit 100/h) from all nodes at once', '0 over: 1 mailbox at exactly 100', 'PASS'],
      // 3 pings of heartbeats over 20,000 messages stay within the printed 1.00.
      ['Redis round trips per message', '1.00', 'PASS'],
    ]);
    // Sessions answered together share a call: fewer round trips than messages pass; more than one fails.
    const shared = redisCallsPerMessage(before, parseInfo(infoText({ total: 1 + 20_000 * 25 + 3, cpu: [2, 3], calls: { info: 1, evalsha: 4_000, hmget: 20_000 * 24, ping: 3 } })), 20_000, 1);
    expect(evaluateClusterTargets(nodes, 50, 100, hammered, shared).at(-1)).toMatchObject({ measured: '0.20', verdict: 'PASS' });
    const doubled = redisCallsPerMessage(before, parseInfo(infoText({ total: 1 + 20_000 * 26 + 3, cpu: [2, 3], calls: { info: 1, evalsha: 20_000, get: 20_000, hmget: 20_000 * 24, ping: 3 } })), 20_000, 1);
    expect(evaluateClusterTargets(nodes, 50, 100, hammered, doubled).at(-1)).toMatchObject({ measured: '2.00', verdict: 'FAIL' });
  });

  it('has no verdict for a node that was not measured', () => {
    const targets = evaluateClusterTargets([{ name: 'ours bench-a', role: 'x', ok: false, error: 'did not start' }], 50, 100, undefined, undefined);
    expect(targets.map((t) => t.verdict)).toEqual(['N/A', 'N/A', 'N/A']);
  });

  it('prints requests/s per node with the ratio to embedded, the cluster total, the calls and the hammered mailboxes', () => {
    const result: ClusterResult = {
      ok: true,
      connections: 50,
      redis: { version: '7.0.15', address: 'redis://127.0.0.1:6390', cpuPercent: 35, usedMemoryMb: 3.2, keys: 900 },
      embedded,
      nodes,
      nodeNames: ['bench-a', 'bench-b'],
      hammered,
      calls,
      targets: evaluateClusterTargets(nodes, 50, 100, hammered, calls),
    };
    const text = renderClusterReport(result);
    const row = (name: string): string => text.split('\n').find((line) => line.startsWith(name)) ?? '';
    expect(row('ours embedded (no --cluster)')).toMatch(/10,000\s+1\.00×\s+2\.00\s+8\.00/);
    expect(row('ours bench-a ')).toMatch(/4,800\s+0\.48×\s+2\.00\s+8\.00/);
    expect(row('ours bench-b ')).toMatch(/5,200\s+0\.52×\s+3\.00\s+12\.50/);
    expect(row('cluster, all nodes')).toMatch(/10,000\s+1\.00×/);
    expect(text).toContain('per message 1.00 round trips (sent by the nodes: evalsha 1.0000, ping 0.0002); EVALSHA 1.00; 25.0 commands');
    expect(text).toContain('  h1@x: 70 + 30 = 100 of 120');
    expect(text).toMatch(/Redis round trips per message\s+1\.00\s+≤ 1\.00\s+PASS/);
    expect(text).toMatch(/p99 latency ours bench-b .*12\.50 ms\s+≤ 10 ms\s+\*\*\* FAIL \*\*\*/);
  });
});
