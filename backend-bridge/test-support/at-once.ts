/**
 * A value a single server works out at once (no cluster: no round trip to Redis). A promise here means the
 * code under test went through the cluster's path: a fault of the test's setup, said plainly.
 */
export function atOnce<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) throw new Error('expected an answer at once, got a promise (is a cluster configured?)');
  return value;
}
