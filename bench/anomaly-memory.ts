// What the anomaly signals keep in memory and cost per message: 100,000 mailboxes each sending within one hour
// with N client addresses and N recipient domains (N = 1, 3, 11), every signal on at its default threshold.
// Run after `npm run build`: node --expose-gc dist/bench/anomaly-memory.js

import { INITIAL_ANOMALY_SETTINGS } from '../backend-bridge/src/core/anomalies.js';
import type { ChargedObject } from '../backend-bridge/src/core/directory.js';
import { AnomalyWatch } from '../backend-bridge/src/enforcement/anomaly-watch.js';

const MAILBOXES = 100_000;
const HOUR_START = 1_800_000_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heapUsed = () => {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
};

const mailboxes = Array.from({ length: MAILBOXES }, (_, i) => ({ level: 'mailbox', id: i + 1, name: `user${i}@domain${i % 5000}.example` }) as unknown as ChargedObject);

function measure(each: number): void {
  // The texts come from the policy requests; they exist before the watch sees them, so they are made first.
  const addresses = mailboxes.map((m) => Array.from({ length: each }, (_, k) => `198.51.${k}.${m.id % 250}`));
  const recipients = Array.from({ length: each }, (_, k) => [`someone@d${k}.example`]);
  const fill = (watch: AnomalyWatch) => {
    for (let i = 0; i < MAILBOXES; i++) {
      for (let k = 0; k < each; k++) watch.observe(mailboxes[i]!, { saslUsername: 'login', clientAddress: addresses[i]![k], recipients: recipients[k] }, 1, INITIAL_ANOMALY_SETTINGS, HOUR_START);
    }
  };
  warmUp(fill);
  const before = heapUsed();
  const watch = new AnomalyWatch(() => [], () => undefined);
  fill(watch);
  const held = heapUsed() - before;
  const started = process.hrtime.bigint();
  for (let round = 0; round < 10; round++) fill(watch);
  const microseconds = Number(process.hrtime.bigint() - started) / 1000 / (10 * MAILBOXES * each);
  watch.sweep(HOUR_START + 3600);
  const afterHour = heapUsed() - before;
  console.log(
    `${MAILBOXES} mailboxes, ${each} address(es) and recipient domain(s) each: ${(held / 1e6).toFixed(1)} MB (${Math.round(held / MAILBOXES)} B per mailbox), ` +
      `${microseconds.toFixed(2)} µs per message; after the hour ${watch.size} entries, ${(afterHour / 1e6).toFixed(1)} MB`,
  );
}

/** Compiled and warm before measuring; in its own call, so nothing of it is still reachable afterwards. */
function warmUp(fill: (watch: AnomalyWatch) => void): void {
  fill(new AnomalyWatch(() => [], () => undefined));
}

for (const each of [1, 3, 11]) measure(each);
