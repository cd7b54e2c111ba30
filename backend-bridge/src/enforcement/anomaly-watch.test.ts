import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { INITIAL_ANOMALY_SETTINGS, type AnomalyFigures, type AnomalySettings } from '../core/anomalies.js';
import { counterKey } from '../core/directory.js';
import { INITIAL_SETTINGS, type ServerSettings } from '../core/settings.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { AnomalyStore } from '../store/anomaly-store.js';
import { openDatabase } from '../store/database.js';
import { readDirectory, replaceDirectory } from '../store/directory-store.js';
import { watchAnomalies } from './anomaly-response.js';
import { Enforcer, HOUR_SECONDS } from './enforcer.js';
import type { HeldMail } from './held-mail.js';
import { atOnce } from '../../test-support/at-once.js';

const T0 = 1_800_000_000; // the start of a clock hour (a multiple of 3600)

/** The defaults without the surge, which any 21 messages of a mailbox without history would raise. */
const NO_SURGE: AnomalySettings = { ...INITIAL_ANOMALY_SETTINGS, volumeSurge: { threshold: null, autoCompromise: false } };

function setUp(anomalies: AnomalySettings = NO_SURGE, baselineReadsPerSecond?: number) {
  const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-anomaly-')));
  replaceDirectory(db, exampleDirectory({ 'alice@example.com': 'unlimited', 'example.com': 'unlimited', 'sub:example.com': 'unlimited' }));
  let nowMs = T0 * 1000;
  const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null, () => nowMs);
  const settings: ServerSettings = { ...INITIAL_SETTINGS, anomalies };
  enforcer.load(settings, readDirectory(db));
  const notified: Array<{ name: string; figures: AnomalyFigures; auto: boolean }> = [];
  const marked: Array<{ name: string; actor: string; figures: AnomalyFigures | null }> = [];
  const held = {
    compromisedEntry: () => null,
    markCompromised: (mailbox: { name: string }, actor: { login: string }, figures: AnomalyFigures | null) => {
      marked.push({ name: mailbox.name, actor: actor.login, figures });
      return Promise.resolve({ entry: {}, heldNow: 0 });
    },
  } as unknown as HeldMail;
  const watch = watchAnomalies({ db, enforcer, held, log: pino({ level: 'silent' }), notify: (m, figures, auto) => notified.push({ name: m.name, figures, auto }), nowMs: () => nowMs, baselineReadsPerSecond });
  enforcer.anomalyWatch = watch;
  const send = (facts: { sasl?: string; client?: string; recipients?: string[]; from?: string } = {}) =>
    atOnce(enforcer.check({ sender: facts.from ?? 'alice@example.com', saslUsername: facts.sasl, clientAddress: facts.client, recipientCount: facts.recipients?.length ?? 1, recipients: facts.recipients }));
  return { db, enforcer, watch, send, notified, marked, store: new AnomalyStore(db), advance: (seconds: number) => (nowMs += seconds * 1000) };
}

describe('login from many addresses', () => {
  it('10 distinct addresses in an hour raise nothing; the 11th raises it once, recorded with its figures', () => {
    const { send, notified, store } = setUp();
    for (let i = 1; i <= 10; i++) send({ sasl: 'alice@example.com', client: `127.0.0.${i}` });
    for (let i = 1; i <= 10; i++) send({ sasl: 'alice@example.com', client: `127.0.0.${i}` });
    expect(notified).toEqual([]);
    send({ sasl: 'alice@example.com', client: '127.0.0.11' });
    send({ sasl: 'alice@example.com', client: '127.0.0.12' });
    expect(notified).toEqual([{ name: 'alice@example.com', figures: { signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null }, auto: false }]);
    const recorded = store.list(0, 10);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ mailbox: 'alice@example.com', signal: 'loginAddresses', observed: 11, threshold: 10, hour: T0 / 3600, autoCompromised: false });
  });

  it('the addresses of the last hour are forgotten when the next begins', () => {
    const { send, notified, advance, watch } = setUp();
    for (let i = 1; i <= 10; i++) send({ sasl: 'alice@example.com', client: `127.0.0.${i}` });
    advance(3600);
    watch.sweep(T0 + 3600);
    expect(watch.size).toBe(0);
    send({ sasl: 'alice@example.com', client: '127.0.0.11' });
    expect(notified).toEqual([]);
  });

  it('switched on to mark compromised: the mark goes through HeldMail as the system, with the figures', () => {
    const { send, marked, notified } = setUp({ ...NO_SURGE, loginAddresses: { threshold: 2, autoCompromise: true } });
    for (let i = 1; i <= 3; i++) send({ sasl: 'alice@example.com', client: `10.0.0.${i}` });
    expect(notified[0]?.auto).toBe(true);
    expect(marked).toEqual([{ name: 'alice@example.com', actor: 'system', figures: { signal: 'loginAddresses', observed: 3, threshold: 2, baseline: null } }]);
  });

  it('a signal switched off keeps nothing for the mailbox', () => {
    const { send, watch, notified } = setUp({ ...NO_SURGE, loginAddresses: { threshold: null, autoCompromise: true } });
    for (let i = 1; i <= 50; i++) send({ sasl: 'alice@example.com', client: `10.0.0.${i}` });
    expect(notified).toEqual([]);
    expect(watch.size).toBe(0);
  });

  it('a raise already recorded this hour (before a restart) is not notified again', () => {
    const first = setUp({ ...NO_SURGE, loginAddresses: { threshold: 1, autoCompromise: false } });
    first.store.record('alice@example.com', T0 / 3600, { signal: 'loginAddresses', observed: 2, threshold: 1, baseline: null }, T0 * 1000);
    first.send({ sasl: 'alice@example.com', client: '10.0.0.1' });
    first.send({ sasl: 'alice@example.com', client: '10.0.0.2' });
    expect(first.notified).toEqual([]);
  });
});

describe('recipient domains', () => {
  it('101 distinct domains in an hour raise it, counted across messages', () => {
    const { send, notified } = setUp();
    for (let i = 0; i < 100; i += 4) send({ recipients: [0, 1, 2, 3].map((k) => `x@d${i + k}.example`) });
    expect(notified).toEqual([]);
    send({ recipients: ['y@d0.example', 'y@d100.example'] });
    expect(notified.map((n) => n.figures)).toEqual([{ signal: 'recipientDomains', observed: 101, threshold: 100, baseline: null }]);
  });
});

describe('an hour far above the usual', () => {
  it('uses max(20, 10 × p95) of the stored hours; the baseline is read only past 20 in the hour', () => {
    const { db, send, notified } = setUp(INITIAL_ANOMALY_SETTINGS);
    const key = counterKey('mailbox', (db.prepare("SELECT id FROM mailboxes WHERE address = 'alice@example.com'").get() as { id: number }).id);
    const put = db.prepare('INSERT INTO hourly_sent (counter_key, hour, amount) VALUES (?, ?, ?)');
    for (let h = 1; h <= 168; h++) put.run(key, T0 / 3600 - h, 3);
    for (let i = 0; i < 30; i++) send();
    expect(notified).toEqual([]);
    send();
    expect(notified.map((n) => n.figures)).toEqual([{ signal: 'volumeSurge', observed: 31, threshold: 30, baseline: 3 }]);
  });

  it('a mailbox with no history surges past the floor of 20', () => {
    const { send, notified } = setUp(INITIAL_ANOMALY_SETTINGS);
    for (let i = 0; i < 20; i++) send();
    expect(notified).toEqual([]);
    send();
    expect(notified.map((n) => n.figures)).toEqual([{ signal: 'volumeSurge', observed: 21, threshold: 20, baseline: 0 }]);
  });
});

describe('the recipient stage of SMTP mail', () => {
  it('domains seen at RCPT (hashed, bounded per transaction) count at END-OF-MESSAGE; a store that fails never changes the answer', async () => {
    const { RecipientStageDomains, MAX_TRANSACTIONS } = await import('../postfix/recipient-stage-domains.js');
    const stage = new RecipientStageDomains();
    for (let i = 0; i < 5000; i++) stage.add('tx1', `x@d${i}.example`, 4);
    expect(stage.take('tx1')).toHaveLength(4);
    expect(stage.take('tx1')).toBeUndefined();
    for (let i = 0; i < MAX_TRANSACTIONS + 10; i++) stage.add(`tx${i}`, 'x@a.example', 4);
    expect(stage.size).toBe(MAX_TRANSACTIONS);

    const { db, enforcer, notified } = setUp({ ...NO_SURGE, recipientDomains: { threshold: 3, autoCompromise: false } });
    for (const domain of ['a', 'b', 'c', 'd']) stage.add('tx-alice', `r@${domain}.example`, 4);
    db.close(); // every store read and write fails from here on
    const verdict = atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 4, recipientDomainHashes: stage.take('tx-alice') }));
    expect(verdict.decision.allowed).toBe(true);
    expect(notified.map((n) => n.figures)).toEqual([{ signal: 'recipientDomains', observed: 4, threshold: 3, baseline: null }]);
  });
});

describe('the 7-day baselines read in one second', () => {
  it('are capped: a mailbox past the floor beyond the cap is judged at its next message in a later second', () => {
    const { send, notified, advance } = setUp(INITIAL_ANOMALY_SETTINGS, 1);
    for (let i = 0; i < 21; i++) send({ from: 'alice@example.com' });
    for (let i = 0; i < 21; i++) send({ from: 'bob@example.com' });
    expect(notified.map((n) => n.name)).toEqual(['alice@example.com']);
    advance(1);
    send({ from: 'bob@example.com' });
    expect(notified.map((n) => [n.name, n.figures.signal, n.figures.observed])).toEqual([
      ['alice@example.com', 'volumeSurge', 21],
      ['bob@example.com', 'volumeSurge', 22],
    ]);
  });
});

describe('signals of a node of a cluster', () => {
  /** The cluster's sets, as Redis keeps them, with other nodes' members in them already; `down` fails every call. */
  function sharedSignals(othersSaw: string[]) {
    const sets = new Map<string, Set<string>>();
    const raised = new Set<string>();
    const calls: string[][] = [];
    const state = { down: false };
    const shared = {
      addDistinct: (subscription: string, mailbox: string, signal: string, hour: number, members: readonly string[], threshold: number) => {
        calls.push([...members]);
        if (state.down) return Promise.reject(new Error('Redis away'));
        const key = `${subscription}:${mailbox}:${signal}:${hour}`;
        const set = sets.get(key) ?? new Set(othersSaw);
        sets.set(key, set);
        for (const m of members) if (set.size <= threshold) set.add(m);
        const raiseHere = set.size > threshold && !raised.has(key);
        if (raiseHere) raised.add(key);
        return Promise.resolve({ seen: set.size, raiseHere });
      },
      claim: () => Promise.resolve(!state.down),
    };
    return { shared, calls, state };
  }

  it('judges on what every node saw: 5 addresses here and 6 elsewhere raise it here, sending each address once', async () => {
    const { send, watch, notified } = setUp();
    const { shared, calls } = sharedSignals(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    watch.shared = shared;
    for (let round = 0; round < 3; round++) for (let i = 1; i <= 4; i++) send({ sasl: 'alice@example.com', client: `127.0.0.${i}` });
    await Promise.resolve();
    expect(notified).toEqual([]);
    // Only what was new to this node went to the cluster.
    expect(calls).toEqual([['127.0.0.1'], ['127.0.0.2'], ['127.0.0.3'], ['127.0.0.4']]);
    send({ sasl: 'alice@example.com', client: '127.0.0.5' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(notified.map((n) => n.figures)).toEqual([{ signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null }]);
  });

  it('with Redis away it judges on its own addresses, as a single server', async () => {
    const { send, watch, notified } = setUp();
    const { shared, state } = sharedSignals([]);
    state.down = true;
    watch.shared = shared;
    for (let i = 1; i <= 10; i++) send({ sasl: 'alice@example.com', client: `127.0.0.${i}` });
    await new Promise((resolve) => setImmediate(resolve));
    expect(notified).toEqual([]);
    send({ sasl: 'alice@example.com', client: '127.0.0.11' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(notified.map((n) => n.figures.observed)).toEqual([11]);
  });
});
