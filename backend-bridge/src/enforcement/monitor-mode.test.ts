import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { UNLIMITED_RECIPIENTS } from '../core/recipient-limits.js';
import { ANOMALIES_OFF } from '../core/anomalies.js';
import type { EarlyWarning } from '../core/early-warning.js';
import { INITIAL_NOTIFICATIONS, UNLIMITED_DAILY, type ServerSettings } from '../core/settings.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { openDatabase } from '../store/database.js';
import { readDirectory, replaceDirectory } from '../store/directory-store.js';
import type { RecordedOverLimitEvent } from '../store/over-limit-events.js';
import { DAY_SECONDS, Enforcer, HOUR_SECONDS } from './enforcer.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { atOnce } from '../../test-support/at-once.js';

const ENFORCED: ServerSettings = {
  enabled: true,
  monitorOnly: false,
  earlyWarningPercent: 80,
  defaults: { mailbox: 3, domain: 50, subscription: 80 },
  dailyDefaults: UNLIMITED_DAILY,
  recipientDefaults: UNLIMITED_RECIPIENTS,
  anomalies: ANOMALIES_OFF,
  countingUnit: 'messages',
  customersMayChangeLimits: true,
  overLimitAction: 'hold',
  notifications: INITIAL_NOTIFICATIONS,
};
const MONITORED: ServerSettings = { ...ENFORCED, monitorOnly: true };

function enforcerFor(settings: ServerSettings) {
  const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-monitor-')));
  replaceDirectory(db, exampleDirectory());
  let nowMs = 1_800_000_000_000;
  const events: RecordedOverLimitEvent[] = [];
  const warnings: EarlyWarning[] = [];
  const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, (e) => events.push(e), () => nowMs, new RollingWindowCounters(DAY_SECONDS, 60), (w) => warnings.push(w));
  enforcer.load(settings, readDirectory(db));
  db.close();
  const send = (sender: string, recipients = 1) => atOnce(enforcer.check({ sender, recipientCount: recipients }));
  return { enforcer, send, events, warnings, advance: (seconds: number) => (nowMs += seconds * 1000) };
}

describe('monitor mode in the enforcer', () => {
  it('lets every message through, counts it, and records what enforcing would have done', () => {
    const { enforcer, send, events } = enforcerFor(MONITORED);
    const verdicts = Array.from({ length: 5 }, () => send('alice@example.com'));
    expect(verdicts.every((v) => v.decision.allowed)).toBe(true);
    expect(verdicts.map((v) => v.monitored !== undefined && !v.monitored.allowed)).toEqual([false, false, false, true, true]);
    const alice = enforcer.directory.find('mailbox', 'alice@example.com')!;
    expect(enforcer.windowAt(1_800_000_000).used(alice, 'hour')).toBe(5);
    expect(events.map((e) => e.action)).toEqual(['would-hold', 'would-hold']);
    expect(events[0]!.reason).toMatch(/^Monitor only: this message would have been held \(Outgoing limit of 3 messages\/hour for mailbox alice@example.com reached/);
  });

  it('records "would-defer" when the over-limit action is defer, and "hold" when enforced', () => {
    const monitored = enforcerFor({ ...MONITORED, overLimitAction: 'defer' });
    for (let i = 0; i < 4; i++) monitored.send('alice@example.com');
    expect(monitored.events.map((e) => e.action)).toEqual(['would-defer']);

    const enforced = enforcerFor(ENFORCED);
    for (let i = 0; i < 4; i++) enforced.send('alice@example.com');
    expect(enforced.events.map((e) => e.action)).toEqual(['hold']);
  });

  it('lets a message over its maximum of recipients through in monitor mode, recorded as "would-reject"', () => {
    const capped: ServerSettings = { ...MONITORED, recipientDefaults: { mailbox: 3, domain: 'unlimited', subscription: 'unlimited' } };
    const monitored = enforcerFor(capped);
    const verdict = monitored.send('alice@example.com', 4);
    expect(verdict.decision.allowed).toBe(true);
    expect(verdict.tooManyRecipients).toBeNull();
    expect(monitored.events).toEqual([expect.objectContaining({ action: 'would-reject', recipientMaximum: 3, recipientCount: 4 })]);
    expect(monitored.events[0]!.reason).toMatch(/^Monitor only: this message would have been refused \(/);

    const enforced = enforcerFor({ ...capped, monitorOnly: false });
    const refused = enforced.send('alice@example.com', 4);
    expect(refused.decision.allowed).toBe(false);
    expect(refused.tooManyRecipients).toMatchObject({ maximum: 3 });
    expect(enforced.events.map((e) => e.action)).toEqual(['reject']);
  });

  it('releases held mail in monitor mode as with limits off: it holds nothing', async () => {
    const { enforcer, send } = enforcerFor(MONITORED);
    for (let i = 0; i < 3; i++) send('alice@example.com');
    const alice = enforcer.directory.find('mailbox', 'alice@example.com')!;
    expect((await enforcer.chargeIfRoom(enforcer.directory.chainFrom(alice), 1)).receipt).not.toBeNull();
    enforcer.applySettings(ENFORCED);
    expect((await enforcer.chargeIfRoom(enforcer.directory.chainFrom(alice), 1)).receipt).toBeNull();
  });
});

describe('early warning in the enforcer', () => {
  it('warns once when a mailbox crosses 80 % of its hourly limit, and not again within the hour', async () => {
    const sent = enforcerFor({ ...ENFORCED, defaults: { mailbox: 10, domain: 'unlimited', subscription: 'unlimited' } });
    const { send, warnings, advance } = sent;
    for (let i = 0; i < 7; i++) send('alice@example.com');
    expect(warnings).toHaveLength(0);
    send('alice@example.com');
    expect(warnings).toEqual([{ atMs: 1_800_000_000_000, level: 'mailbox', objectId: expect.any(Number), objectName: 'alice@example.com', window: 'hour', percent: 80, limit: 10, used: 8 }]);
    send('alice@example.com');
    // A refund (a held message Postfix did not release after all) takes the count back under the line: crossing
    // it again within the hour gives no second warning.
    const { enforcer } = sent;
    const alice = enforcer.directory.find('mailbox', 'alice@example.com')!;
    await enforcer.refund(enforcer.directory.chainFrom(alice), { second: 1_800_000_000, inCluster: false }, 3);
    for (let i = 0; i < 2; i++) send('alice@example.com');
    expect(warnings).toHaveLength(1);
    // After the hour every count left the window, and the next crossing warns again.
    advance(3600);
    for (let i = 0; i < 8; i++) send('alice@example.com');
    expect(warnings).toHaveLength(2);
  });

  it('warns of the daily limit once a day, of each level on its own, and also in monitor mode', () => {
    const { send, warnings, advance } = enforcerFor({
      ...MONITORED,
      defaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
      dailyDefaults: { mailbox: 5, domain: 10, subscription: 'unlimited' },
    });
    for (let i = 0; i < 4; i++) send('alice@example.com');
    expect(warnings.map((w) => `${w.level}:${w.window}`)).toEqual(['mailbox:day']);
    for (let i = 0; i < 4; i++) send('bob@example.com');
    expect(warnings.map((w) => `${w.level}:${w.objectName}`)).toEqual(['mailbox:alice@example.com', 'mailbox:bob@example.com', 'domain:example.com']);
    advance(2 * 3600);
    for (let i = 0; i < 10; i++) send('alice@example.com');
    expect(warnings).toHaveLength(3);
  });

  it('gives no warnings at 0 %, with limits off, or for what an administrator releases', () => {
    const none = enforcerFor({ ...ENFORCED, earlyWarningPercent: 0 });
    for (let i = 0; i < 3; i++) none.send('alice@example.com');
    expect(none.warnings).toHaveLength(0);
    const off = enforcerFor({ ...ENFORCED, enabled: false });
    for (let i = 0; i < 3; i++) off.send('alice@example.com');
    expect(off.warnings).toHaveLength(0);
    const released = enforcerFor(ENFORCED);
    const alice = released.enforcer.directory.find('mailbox', 'alice@example.com')!;
    for (let i = 0; i < 3; i++) released.enforcer.chargeAnyway(released.enforcer.directory.chainFrom(alice), 1);
    expect(released.warnings).toHaveLength(0);
  });

  it('does not repeat a warning remembered from before a restart', () => {
    const { enforcer, send, warnings } = enforcerFor(ENFORCED);
    const alice = enforcer.directory.find('mailbox', 'alice@example.com')!;
    enforcer.rememberWarning('mailbox', alice.id, 'hour', 1_800_000_000 - 600);
    for (let i = 0; i < 3; i++) send('alice@example.com');
    expect(warnings).toHaveLength(0);
  });
});
