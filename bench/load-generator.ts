// Closed-loop load generator that behaves like Postfix smtpd: N persistent TCP connections, each with
// exactly one request in flight; the next request goes out when the answer arrives. Requests come from
// prebuilt templates (one memcpy + a 10-digit id patch per request) so the generator stays cheap.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { connectOptions, sleep, type PolicyEndpoint } from './proc.js';
import { patchId, type Workload } from './workload.js';

export interface LoadOptions {
  endpoint: PolicyEndpoint;
  connections: number;
  warmupSeconds: number;
  measureSeconds: number;
  /** Stop early once this many requests (warm-up included) were sent: keeps senders under their limit. */
  maxRequests: number;
  /** A request without an answer for this long counts as a timeout and its connection is dropped. */
  requestTimeoutMs: number;
  /** Concurrent connection attempts; policyd-rate-limit listens with a backlog of 5. */
  connectConcurrency: number;
  connectRetries: number;
  /** Called when the measured window opens and closes (server CPU accounting). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
  /** Ends the run early (warm-up or measured window) when aborted: load that runs until told to stop. */
  stop?: AbortSignal;
}

export interface LoadResult {
  connections: number;
  connectRetriesUsed: number;
  warmupRequests: number;
  measuredRequests: number;
  measuredSeconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  /** Completed requests per whole second of the measured window: shows how stable the rate was. */
  perSecond: number[];
  /** Answers by action verb (upper-cased first word after "action="), measured window and warm-up. */
  actions: Record<string, number>;
  /** First full answer seen for each verb. */
  sampleAnswers: Record<string, string>;
  /**
   * Only for a workload with watchedSenderAt: every request to a watched sender by answer verb (warm-up, measured
   * window and drain alike); a request that never got an answer counts as NO_ANSWER.
   */
  bySender?: Record<string, Record<string, number>>;
  malformed: number;
  malformedSamples: string[];
  timeouts: number;
  connectionErrors: number;
  stoppedByRequestCap: boolean;
  totalRequestsSent: number;
  /** CPU used by the bench process itself while measuring (user+system, % of one core). */
  generatorCpuPercent: number;
}

type Phase = 'warmup' | 'measure' | 'drain';

/** The verb of a watched request that got no answer (timed out, or its connection was lost). */
export const NO_ANSWER = '(no answer)';

class Conn {
  readonly scratch: Buffer;
  pending: Buffer | null = null;
  sentAt = 0;
  sentIndex = 0;
  sentPhase: Phase = 'warmup';
  busy = false;
  alive = true;
  answers = 0;

  constructor(
    readonly sock: net.Socket,
    readonly sink: ReadSink,
    maxRequestSize: number,
  ) {
    this.scratch = Buffer.allocUnsafe(maxRequestSize);
  }
}

/**
 * Where a socket's reads land: `onread` with a fixed buffer avoids allocating a Buffer per answer;
 * the handler is attached once the Conn exists (nothing arrives before the first request).
 */
interface ReadSink {
  buffer: Buffer;
  handler: ((bytes: number) => void) | null;
}

function connectOnce(endpoint: PolicyEndpoint, timeoutMs: number): Promise<{ sock: net.Socket; sink: ReadSink }> {
  return new Promise((resolve, reject) => {
    const sink: ReadSink = { buffer: Buffer.allocUnsafe(16 * 1024), handler: null };
    const sock = net.connect({
      ...connectOptions(endpoint),
      onread: {
        buffer: sink.buffer,
        callback: (bytes: number): boolean => {
          sink.handler?.(bytes);
          return true; // keep reading
        },
      },
    });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve({ sock, sink });
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function connectAll(opts: LoadOptions): Promise<{ socks: { sock: net.Socket; sink: ReadSink }[]; retries: number }> {
  const socks: { sock: net.Socket; sink: ReadSink }[] = [];
  let retries = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.connections) {
      next++;
      for (let attempt = 0; ; attempt++) {
        try {
          socks.push(await connectOnce(opts.endpoint, 5000));
          break;
        } catch (err) {
          if (attempt >= opts.connectRetries) throw err;
          retries++;
          await sleep(100 + 100 * attempt);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.connectConcurrency) }, worker));
  } catch (err) {
    for (const s of socks) s.sock.destroy();
    throw err;
  }
  return { socks, retries };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

const ACTION_PREFIX = Buffer.from('action=', 'latin1');

export async function runLoad(workload: Workload, opts: LoadOptions): Promise<LoadResult> {
  const { socks, retries } = await connectAll(opts);
  const conns = socks.map((s) => new Conn(s.sock, s.sink, workload.maxRequestSize + 64));

  let phase: Phase = 'warmup';
  let nextIndex = 0;
  let warmupRequests = 0;
  let measured = 0;
  let latencies = new Float64Array(1 << 20);
  const actions = new Map<string, number>();
  const sampleAnswers: Record<string, string> = {};
  const malformedSamples: string[] = [];
  let malformed = 0;
  let timeouts = 0;
  let connectionErrors = 0;
  let stoppedByRequestCap = false;
  let measureStart = 0;
  let measureEnd = 0;
  const perSecond: number[] = [];
  let cpuAtStart: NodeJS.CpuUsage = process.cpuUsage();
  const watchedSenderAt = workload.watchedSenderAt?.bind(workload);
  const bySender = new Map<string, Map<string, number>>();
  const tally = (requestIndex: number, verb: string): void => {
    const sender = watchedSenderAt?.(requestIndex) ?? null;
    if (sender === null) return;
    let verbs = bySender.get(sender);
    if (verbs === undefined) bySender.set(sender, (verbs = new Map()));
    verbs.set(verb, (verbs.get(verb) ?? 0) + 1);
  };

  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const checkDone = (): void => {
    if (phase === 'drain' && conns.every((c) => !c.busy || !c.alive)) resolveDone();
  };

  const send = (c: Conn): void => {
    if (phase === 'drain' || !c.alive) {
      checkDone();
      return;
    }
    if (nextIndex >= opts.maxRequests) {
      stoppedByRequestCap = true;
      endMeasurement();
      checkDone();
      return;
    }
    const i = nextIndex++;
    const t = workload.templateAt(i);
    t.bytes.copy(c.scratch, 0);
    patchId(c.scratch, t.idOffsets, i);
    c.busy = true;
    c.sentIndex = i;
    c.sentPhase = phase;
    c.sentAt = performance.now();
    // The scratch buffer is reused only after the answer arrived, i.e. after this write completed.
    c.sock.write(c.scratch.subarray(0, t.bytes.length));
  };

  // Answers seen before, so that the usual ones are classified by one byte comparison, no string.
  const known: { bytes: Buffer; verb: string }[] = [];
  const classify = (answer: Buffer): string => {
    for (const k of known) if (k.bytes.length === answer.length && k.bytes.equals(answer)) return k.verb;
    // Well-formed: "action=<text>\n\n" with exactly one line.
    const nl = answer.indexOf(0x0a);
    let verb: string;
    if (answer.length > ACTION_PREFIX.length + 2 && answer.subarray(0, ACTION_PREFIX.length).equals(ACTION_PREFIX) &&
        nl === answer.length - 2) {
      let end = answer.indexOf(0x20, ACTION_PREFIX.length);
      if (end < 0 || end > nl) end = nl;
      verb = answer.toString('latin1', ACTION_PREFIX.length, end).toUpperCase();
      if (sampleAnswers[verb] === undefined) sampleAnswers[verb] = answer.toString('latin1', 0, nl);
      if (known.length < 16) known.push({ bytes: Buffer.from(answer), verb });
    } else {
      verb = '(malformed)';
      malformed++;
      if (malformedSamples.length < 5) malformedSamples.push(answer.toString('latin1').slice(0, 300));
    }
    return verb;
  };

  const countAnswer = (c: Conn, answer: Buffer): void => {
    const now = performance.now();
    c.busy = false;
    c.answers++;
    const verb = classify(answer);
    actions.set(verb, (actions.get(verb) ?? 0) + 1);
    if (watchedSenderAt !== undefined) tally(c.sentIndex, verb);
    if (c.sentPhase === 'measure' && phase === 'measure') {
      if (measured === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[measured++] = now - c.sentAt;
      const second = Math.floor((now - measureStart) / 1000);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
    } else if (c.sentPhase === 'warmup') {
      warmupRequests++;
    }
    send(c);
  };

  for (const c of conns) {
    c.sock.setNoDelay(true);
    c.sink.handler = (bytes: number): void => {
      let buf = c.sink.buffer.subarray(0, bytes);
      if (c.pending !== null) {
        buf = Buffer.concat([c.pending, buf]);
        c.pending = null;
      }
      const end = buf.indexOf('\n\n', 0, 'latin1');
      if (end < 0) {
        c.pending = Buffer.from(buf); // the read buffer is reused by the next read
        return;
      }
      if (end + 2 !== buf.length) {
        // More than one answer for one request: a protocol error; count it and keep the first.
        malformed++;
        if (malformedSamples.length < 5) malformedSamples.push(`extra data: ${buf.toString('latin1').slice(0, 300)}`);
      }
      countAnswer(c, buf.subarray(0, end + 2));
    };
    c.sock.on('error', () => {
      if (c.alive) connectionErrors++;
      c.alive = false;
      checkDone();
    });
    c.sock.on('close', () => {
      if (c.alive && phase !== 'drain') connectionErrors++;
      c.alive = false;
      checkDone();
    });
  }

  // Resolved when the run ends early (request cap reached, every connection lost).
  let resolveEnded: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    resolveEnded = resolve;
  });
  function endMeasurement(): void {
    if (phase === 'drain') return;
    if (phase === 'measure') {
      measureEnd = performance.now();
      opts.onMeasureEnd?.();
    }
    phase = 'drain';
    resolveEnded();
  }

  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const c of conns) {
      if (c.alive && c.busy && now - c.sentAt > opts.requestTimeoutMs) {
        timeouts++;
        c.alive = false;
        c.sock.destroy();
      }
    }
    if (conns.every((c) => !c.alive)) endMeasurement();
    checkDone();
  }, 1000);

  const onStop = (): void => endMeasurement();
  if (opts.stop?.aborted === true) onStop();
  opts.stop?.addEventListener('abort', onStop, { once: true });

  for (const c of conns) send(c);

  // Warm-up, then the measured window. Timers fire between I/O callbacks of the busy loop.
  await Promise.race([sleep(opts.warmupSeconds * 1000), ended]);
  if (phase === 'warmup') {
    const idle = conns.filter((c) => c.alive && c.answers === 0).length;
    if (idle > 0) process.stderr.write(`  note: ${idle} connection(s) got no answer during warm-up\n`);
    phase = 'measure';
    opts.onMeasureStart?.();
    measureStart = performance.now();
    cpuAtStart = process.cpuUsage();
    await Promise.race([sleep(opts.measureSeconds * 1000), ended]);
    endMeasurement();
  }
  const cpu = process.cpuUsage(cpuAtStart);
  checkDone();
  await Promise.race([done, sleep(opts.requestTimeoutMs + 1000)]);
  clearInterval(watchdog);
  opts.stop?.removeEventListener('abort', onStop);
  for (const c of conns) c.sock.destroy();
  if (watchedSenderAt !== undefined) for (const c of conns) if (c.busy) tally(c.sentIndex, NO_ANSWER);

  if (measureEnd === 0) measureEnd = performance.now();
  const seconds = measureStart > 0 ? (measureEnd - measureStart) / 1000 : 0;
  const sorted = latencies.slice(0, measured).sort();
  let sum = 0;
  for (let k = 0; k < sorted.length; k++) sum += sorted[k] as number;
  const fullSeconds = Math.floor(seconds);

  return {
    connections: conns.length,
    connectRetriesUsed: retries,
    warmupRequests,
    measuredRequests: measured,
    measuredSeconds: seconds,
    requestsPerSecond: seconds > 0 ? measured / seconds : 0,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
      mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
    },
    perSecond: Array.from({ length: fullSeconds }, (_, k) => perSecond[k] ?? 0),
    actions: Object.fromEntries([...actions.entries()].sort((a, b) => b[1] - a[1])),
    sampleAnswers,
    ...(watchedSenderAt === undefined ? {} : {
      bySender: Object.fromEntries([...bySender.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([sender, verbs]) => [sender, Object.fromEntries(verbs)])),
    }),
    malformed,
    malformedSamples,
    timeouts,
    connectionErrors,
    stoppedByRequestCap,
    totalRequestsSent: nextIndex,
    generatorCpuPercent: seconds > 0 ? ((cpu.user + cpu.system) / 1e6 / seconds) * 100 : 0,
  };
}
