// Runs the memory run's policy load in a worker thread, so that the API stage can measure API calls from the
// main thread while 50 connections keep the daemon busy: a closed-loop generator on the same event loop would
// delay the API client's own callbacks and inflate its latencies with the bench's queueing, not the daemon's.
//
// Protocol: workerData = WorkerLoadOptions; the parent posts 'stop'; the worker posts { kind: 'measuring' } when
// its warm-up is over, then { kind: 'done', result } or { kind: 'error', message }.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runLoad, type LoadResult } from './load-generator.js';
import { reportLoadTo } from './worker-report.js';
import type { PolicyEndpoint } from './proc.js';
import { MAX_REQUESTS_PER_RUN, memoryWorkload } from './workload.js';

export interface WorkerLoadOptions {
  endpoint: PolicyEndpoint;
  connections: number;
  warmupSeconds: number;
  /** Upper bound; the parent normally stops the load earlier with a 'stop' message. */
  maxSeconds: number;
}

export type WorkerMessage =
  | { kind: 'measuring' }
  | { kind: 'done'; result: LoadResult }
  | { kind: 'error'; message: string };

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const opts = workerData as WorkerLoadOptions;
  const stop = new AbortController();
  port.on('message', (message: unknown) => {
    if (message === 'stop') stop.abort();
  });
  const post = (message: WorkerMessage): void => port.postMessage(message);
  runLoad(memoryWorkload(), {
    endpoint: opts.endpoint,
    connections: opts.connections,
    warmupSeconds: opts.warmupSeconds,
    measureSeconds: opts.maxSeconds,
    maxRequests: MAX_REQUESTS_PER_RUN,
    requestTimeoutMs: 10_000,
    connectConcurrency: 10,
    connectRetries: 20,
    stop: stop.signal,
    onMeasureStart: () => post({ kind: 'measuring' }),
  }).then(...reportLoadTo(port));
}

