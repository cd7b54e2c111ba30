// The cluster bench's workload and per-sender answers against the real embedded daemon (built: run `npm run build`
// first): the hammered mailboxes get exactly their limit through one node, as they must through all nodes together.

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countHammered, overshootTarget } from './cluster-figures.js';
import { ALL_OFF } from './features.js';
import { runLoad } from './load-generator.js';
import { startOurs, type OursServer } from './ours.js';
import {
  buildDirectory,
  CLUSTER_HOT_SENDER_INDEXES,
  clusterWorkload,
  PER_SENDER_LIMIT,
  SENDERS_PER_DOMAIN,
  shuffledSenders,
  throughputWorkload,
} from './workload.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const senders = shuffledSenders(SENDERS_PER_DOMAIN);
const senderOf = (bytes: Buffer): string => /^sender=(.*)$/m.exec(bytes.toString('latin1'))?.[1] ?? '';

describe('cluster workload', () => {
  it('hammers ten mailboxes, 1 request in 25, and watches exactly those', () => {
    const workload = clusterWorkload();
    const hot = CLUSTER_HOT_SENDER_INDEXES.map((i) => senders[i]);
    for (let i = 0; i < 2000; i++) {
      const sender = senderOf(workload.templateAt(i).bytes);
      if (i % 25 === 24) {
        expect(sender).toBe(hot[Math.floor(i / 25) % hot.length]);
        expect(workload.watchedSenderAt?.(i)).toBe(sender);
      } else {
        expect(hot).not.toContain(sender);
        expect(workload.watchedSenderAt?.(i)).toBeNull();
      }
    }
  });

  it('leaves the throughput workload of `npm run bench` as it was: two hot senders, nothing watched', () => {
    const workload = throughputWorkload('END-OF-MESSAGE');
    expect(workload.watchedSenderAt).toBeUndefined();
    expect(senderOf(workload.templateAt(24).bytes)).toBe(senders[17]);
    expect(senderOf(workload.templateAt(49).bytes)).toBe(senders[4242]);
    expect(senderOf(workload.templateAt(74).bytes)).toBe(senders[17]);
    // Normal senders in shuffled order, the hot ones left out.
    const normal = senders.filter((_, i) => i !== 17 && i !== 4242);
    expect([0, 1, 23, 25].map((i) => senderOf(workload.templateAt(i).bytes))).toEqual([normal[0], normal[1], normal[23], normal[24]]);
  });
});

describe('hammered mailboxes through the embedded daemon', () => {
  let server: OursServer | undefined;

  beforeAll(async () => {
    server = await startOurs({ cli: join(root, 'bin/outgoing-limits'), label: 'embedded', directory: buildDirectory(SENDERS_PER_DOMAIN), features: ALL_OFF });
  });

  afterAll(async () => {
    await server?.stop();
    server?.cleanup();
  });

  it('accepts exactly the limit for each hammered mailbox, counted from the answers per sender', async () => {
    const endpoint = (server as OursServer).endpoint;
    // 40,000 requests: each hammered mailbox is sent 160 messages, 60 over its limit of 100.
    const load = await runLoad(clusterWorkload(), {
      endpoint,
      connections: 20,
      warmupSeconds: 0.2,
      measureSeconds: 600,
      maxRequests: 40_000,
      requestTimeoutMs: 10_000,
      connectConcurrency: 5,
      connectRetries: 20,
    });
    expect(load.stoppedByRequestCap).toBe(true);
    const hammered = countHammered(PER_SENDER_LIMIT, [{ name: 'embedded', bySender: load.bySender }]);
    expect(hammered.mailboxes.map((m) => [m.sender, m.sent, m.accepted, m.refused, m.unknown])).toEqual(
      CLUSTER_HOT_SENDER_INDEXES.map((i) => senders[i] as string).sort((a, b) => a.localeCompare(b)).map((s) => [s, 160, 100, 60, 0]),
    );
    expect(overshootTarget(hammered, PER_SENDER_LIMIT).verdict).toBe('PASS');
  });
});
