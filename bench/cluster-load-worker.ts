// One policy load of the cluster bench (bench/cluster.ts) in a worker thread: both nodes are loaded at the same
// time, each by its own closed-loop generator, so neither generator's event loop delays the other's answers.
//
// Protocol: workerData = ClusterLoadOptions; the worker posts { kind: 'measuring' } and { kind: 'measured' } when
// its measured window opens and closes, then { kind: 'done', result } or { kind: 'error', message }.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runLoad, type LoadResult } from './load-generator.js';
import { reportLoadTo } from './worker-report.js';
import type { PolicyEndpoint } from './proc.js';
import { clusterWorkload } from './workload.js';

export interface ClusterLoadOptions {
  endpoint: PolicyEndpoint;
  connections: number;
  warmupSeconds: number;
  measureSeconds: number;
  maxRequests: number;
}

export type ClusterLoadMessage =
  | { kind: 'measuring' }
  | { kind: 'measured' }
  | { kind: 'done'; result: LoadResult }
  | { kind: 'error'; message: string };

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const opts = workerData as ClusterLoadOptions;
  const post = (message: ClusterLoadMessage): void => port.postMessage(message);
  runLoad(clusterWorkload(), {
    ...opts,
    requestTimeoutMs: 10_000,
    connectConcurrency: 5,
    connectRetries: 20,
    onMeasureStart: () => post({ kind: 'measuring' }),
    onMeasureEnd: () => post({ kind: 'measured' }),
  }).then(...reportLoadTo(port));
}
