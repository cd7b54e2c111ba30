import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness } from '../../test-support/api-harness.js';
import { counterKey } from '../core/directory.js';
import { AMOUNT_PART_TRIPLES, AMOUNT_PARTS_PER_BATCH, amountParts, ClusterStatsStore, hourAmountsOf, type HourAmounts } from './cluster-stats-store.js';
import { hourlyStats, STATS_PERIODS, bucketedStats } from './hourly-stats.js';
import { monitoredCounts, recentOverLimitEvents, type RecordedOverLimitEvent } from './over-limit-events.js';

/** Two stores with the same directory, as two nodes of a cluster have: A records, B takes in what A sent. */
describe('over-limit events and statistics shared between nodes', () => {
  let a: ApiHarness;
  let b: ApiHarness;
  let sharedA: ClusterStatsStore;
  let sharedB: ClusterStatsStore;
  beforeEach(async () => {
    [a, b] = await Promise.all([ApiHarness.start(), ApiHarness.start()]); // mailbox limit 3
    b.nowMs = a.nowMs;
    sharedA = new ClusterStatsStore(a.db);
    sharedB = new ClusterStatsStore(b.db);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  /** What A has not sent yet, taken in by B as one stream entry; A then counts it sent. */
  function carry(position: string): { events: number; sent: number } {
    const events = sharedA.pending('events', 1000);
    const sent = sharedA.pending('sent', 1000);
    const added = {
      events: sharedB.takeIn('ol:stats:events', position, { node: 'node-a', kind: 'events', ...events }),
      sent: sharedB.takeIn('ol:stats:sent', position, { node: 'node-a', kind: 'sent', ...sent }),
    };
    if (events.rowsRead > 0) sharedA.markSent('events', events.generation, events.upto, events.lastMark);
    if (sent.rowsRead > 0) sharedA.markSent('sent', sent.generation, sent.upto, sent.lastMark);
    return added;
  }

  const charts = (h: ApiHarness) => {
    const alice = { level: 'mailbox' as const, id: h.enforcer.directory.find('mailbox', 'alice@example.com')!.id };
    return { alice: hourlyStats(h.db, alice, h.nowMs, 24), server: bucketedStats(h.db, null, h.nowMs, STATS_PERIODS['31d']) };
  };

  it("B lists A's refusals and charts A's sending as its own, and a second take-in adds nothing", () => {
    expect(a.sendMany('alice@example.com', 5)).toBe(3);
    a.flush();
    expect(carry('1-0')).toEqual({ events: 2, sent: 1 });

    const listA = recentOverLimitEvents(a.db, 50);
    expect(listA).toHaveLength(2);
    expect(recentOverLimitEvents(b.db, 50)).toEqual(listA);
    expect(charts(b)).toEqual(charts(a));
    expect(charts(b).alice.at(-1)).toMatchObject({ sent: 3, held: 2 });

    // The same entries read again (a node restarting between its read and its position): nothing added twice.
    const again = { events: sharedA.pending('events', 1000), sent: sharedA.pending('sent', 1000) };
    expect(again.events.items).toEqual([]);
    const resent = { node: 'node-a', kind: 'events' as const, generation: 1, items: [{ id: 1, item: { ...listA[0]!, mailboxId: 1, domainId: 1, subscriptionId: 1 } as RecordedOverLimitEvent }] };
    expect(sharedB.takeIn('ol:stats:events', '2-0', resent)).toBe(0);
    expect(recentOverLimitEvents(b.db, 50)).toHaveLength(2);
    expect(charts(b)).toEqual(charts(a));
  });

  it('B adds its own sending and refusals to what A sent: the charts of both nodes are the sum', () => {
    expect(a.sendMany('alice@example.com', 2)).toBe(2);
    a.flush();
    carry('1-0');
    // B's own: alice's last slot (3 - 2 elsewhere is not B's business: it counts alone here) and one of bob.
    expect(b.sendMany('bob@example.com', 1)).toBe(1);
    b.flush();
    const own = new ClusterStatsStore(b.db).pending('sent', 10);
    expect(own.items).toHaveLength(1);
    const total = charts(b).server.at(-1)!;
    expect(total.sent).toBe(3);
  });

  it("B's own events are not sent as A's, and only what was recorded after joining is sent", () => {
    expect(b.sendMany('alice@example.com', 4)).toBe(3);
    b.flush();
    // A store that joins afterwards (no send position yet) sends nothing of before.
    b.db.exec('DELETE FROM cluster_stats_sent');
    const joinedLate = new ClusterStatsStore(b.db);
    expect(joinedLate.pending('events', 10).items).toEqual([]);
    // Events taken in from A are not sent again by B.
    a.sendMany('alice@example.com', 4);
    a.flush();
    carry('1-0');
    expect(b.sendMany('mallory@other.org', 4)).toBe(3);
    b.flush();
    expect(joinedLate.pending('events', 10).items.map((e) => e.item.sender)).toEqual(['mallory@other.org']);
    expect(recentOverLimitEvents(b.db, 50)).toHaveLength(3);
  });

  it('monitor-mode counts ("would have been held") cover every node', () => {
    a.sendMany('alice@example.com', 5);
    a.flush();
    carry('1-0');
    expect(monitoredCounts(b.db, 0)).toEqual(monitoredCounts(a.db, 0));
  });

  it('ids that start again after every row was pruned start a new generation, taken in as new', () => {
    a.sendMany('alice@example.com', 4);
    a.flush();
    carry('1-0');
    a.db.exec('DELETE FROM over_limit_events');
    // A month later: the reused id 1 is another event.
    a.advance(40 * 86_400);
    b.nowMs = a.nowMs;
    a.sendMany('alice@example.com', 4);
    a.flush();
    const again = sharedA.pending('events', 10);
    expect(again.generation).toBe(2);
    expect(again.items.map((e) => e.id)).toEqual([1]);
    expect(carry('2-0').events).toBe(1);
    expect(recentOverLimitEvents(b.db, 50)).toHaveLength(2);
    // A late entry of the older generation is not taken in again.
    expect(sharedB.takeIn('ol:stats:events', '3-0', { node: 'node-a', kind: 'events', generation: 1, items: [{ id: 5, item: { ...recentOverLimitEvents(a.db, 1)[0]!, mailboxId: 1, domainId: 1, subscriptionId: 1 } }] })).toBe(0);
  });

  it("B shows A's released held mail as released, not as sent", async () => {
    await Promise.all([a.close(), b.close()]);
    [a, b] = await Promise.all([ApiHarness.start({ heldWithoutPostfix: true }), ApiHarness.start({ heldWithoutPostfix: true })]);
    b.nowMs = a.nowMs;
    sharedA = new ClusterStatsStore(a.db);
    sharedB = new ClusterStatsStore(b.db);
    expect(a.sendMany('alice@example.com', 4)).toBe(3); // the 4th is held
    a.recordHeld('AAAAAA1', 'alice@example.com');
    a.flush();
    a.advance(3600 + 60);
    b.nowMs = a.nowMs;
    // Released an hour later: counted like a new message, the record closed as released.
    const record = a.held!.store.stillHeld()[0]!;
    a.enforcer.chargeAnyway(a.held!.chainOf(record), record.weight);
    expect(a.held!.store.resolve(record.id, 'released', 'worker', a.nowMs)).toBe(true);
    a.flush();
    const released = sharedA.pending('released', 10);
    expect(released.items.map((r) => r.item)).toEqual([{ resolvedAtMs: a.nowMs, weight: 1, chargedLevel: 'mailbox', chargedName: 'alice@example.com' }]);
    sharedB.takeIn('ol:stats:released', '1-0', { node: 'node-a', kind: 'released', ...released });
    carry('1-0');
    expect(charts(b)).toEqual(charts(a));
    expect(charts(b).alice.slice(-2).map(({ sent, held, released: out }) => ({ sent, held, released: out }))).toEqual([
      { sent: 3, held: 1, released: 0 },
      { sent: 0, held: 0, released: 1 },
    ]);
  });

  it('keeps the read position with what it took in', () => {
    expect(sharedB.readPosition('ol:stats:events')).toBe('0-0');
    carry('1700000000000-3');
    expect(sharedB.readPosition('ol:stats:events')).toBe('1700000000000-3');
  });

  it('a node stopped between the parts of an entry reads it again and adds each part once', () => {
    const hour = Math.floor(a.nowMs / 3_600_000);
    const amounts = Array.from({ length: AMOUNT_PART_TRIPLES + 10 }, (_, i) => [counterKey('mailbox', 100_001 + i), hour, 2]).flat();
    const parts = amountParts(7, amounts);
    expect(parts.map((part) => [part.id, part.item.length / 3])).toEqual([[7 * AMOUNT_PARTS_PER_BATCH, AMOUNT_PART_TRIPLES], [7 * AMOUNT_PARTS_PER_BATCH + 1, 10]]);
    const entry = { node: 'node-a', kind: 'sent' as const, generation: 1 };

    // The first part in, the read position still before the entry: then the node stops.
    expect(sharedB.takeIn('ol:stats:sent', '1-0', { ...entry, items: parts.slice(0, 1) })).toBe(1);
    expect(sharedB.readPosition('ol:stats:sent')).toBe('1-0');
    // Started again, it reads the whole entry.
    expect(sharedB.takeIn('ol:stats:sent', '2-0', { ...entry, items: parts })).toBe(1);
    expect(sharedB.readPosition('ol:stats:sent')).toBe('2-0');
    const total = b.db.prepare('SELECT COUNT(*) AS keys, SUM(amount) AS amount FROM hourly_sent WHERE counter_key > ?').get(counterKey('mailbox', 100_000)) as { keys: number; amount: number };
    expect(total).toEqual({ keys: AMOUNT_PART_TRIPLES + 10, amount: 2 * (AMOUNT_PART_TRIPLES + 10) });
  });
});

describe('hourAmountsOf', () => {
  it('sums a batch per counter key and clock hour and leaves out what sums to nothing', () => {
    const key = counterKey('mailbox', 7);
    const other = counterKey('subscription', 2);
    const rows = Float64Array.from([key, 7200, 1, key, 7201, 2, other, 7200, 3, key, 10800, 1, other, 7300, -3]);
    const sums: HourAmounts = hourAmountsOf(rows);
    expect(sums).toEqual([key, 2, 3, key, 3, 1]);
  });
});
