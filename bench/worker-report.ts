import type { MessagePort } from 'node:worker_threads';
import type { LoadResult } from './load-generator.js';

/** Ends a load worker: its result (or why it failed) to the parent, then the port closes. */
export function reportLoadTo(port: MessagePort): [(result: LoadResult) => void, (err: unknown) => void] {
  return [
    (result) => {
      port.postMessage({ kind: 'done', result });
      port.close();
    },
    (err) => {
      port.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      port.close();
    },
  ];
}
