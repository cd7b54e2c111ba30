import { ANOMALIES_OFF } from '../core/anomalies.js';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import type { DirectoryFile } from '../core/directory-file.js';
import { INITIAL_NOTIFICATIONS, UNLIMITED_DAILY, type ServerSettings } from '../core/settings.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { openDatabase } from '../store/database.js';
import { readDirectory, replaceDirectory } from '../store/directory-store.js';
import type { OverLimitEvent } from '../store/over-limit-events.js';
import { Enforcer, HOUR_SECONDS } from './enforcer.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { atOnce } from '../../test-support/at-once.js';

const SETTINGS: ServerSettings = { enabled: true, defaults: { mailbox: 3, domain: 5, subscription: 8 }, dailyDefaults: UNLIMITED_DAILY, recipientDefaults: UNLIMITED_DAILY, countingUnit: 'messages', customersMayChangeLimits: true, overLimitAction: 'defer', notifications: INITIAL_NOTIFICATIONS, monitorOnly: false, earlyWarningPercent: 0, anomalies: ANOMALIES_OFF };

function enforcerFor(file: DirectoryFile, settings: ServerSettings = SETTINGS) {
  const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-enforcer-')));
  replaceDirectory(db, file);
  let nowMs = 1_800_000_000_000;
  const refused: OverLimitEvent[] = [];
  const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, (e) => refused.push(e), () => nowMs);
  enforcer.load(settings, readDirectory(db));
  db.close();
  const send = (sender: string, extra: { sasl?: string; recipients?: number } = {}) =>
    atOnce(enforcer.check({ sender, saslUsername: extra.sasl, recipientCount: extra.recipients ?? 1 }));
  return { enforcer, send, refused, advance: (seconds: number) => (nowMs += seconds * 1000) };
}

describe('Enforcer', () => {
  it('refuses the 4th message of a mailbox while another mailbox still sends', () => {
    const { send } = enforcerFor(exampleDirectory());
    for (let i = 0; i < 3; i++) expect(send('alice@example.com').decision.allowed).toBe(true);
    const fourth = send('alice@example.com').decision;
    expect(fourth.allowed).toBe(false);
    if (!fourth.allowed) expect(fourth.reason).toBe('Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; try again in 60 minutes');
    expect(send('bob@example.com').decision.allowed).toBe(true);
  });

  it('sums mailboxes into their domain and domains into their subscription', () => {
    const { send } = enforcerFor(exampleDirectory());
    for (const sender of ['alice', 'alice', 'alice', 'bob', 'bob']) expect(send(`${sender}@example.com`).decision.allowed).toBe(true);
    const domainTrip = send('carol@example.com').decision;
    expect(!domainTrip.allowed && domainTrip.tripped.level).toBe('domain');
    for (let i = 0; i < 3; i++) expect(send('erin@example.net').decision.allowed).toBe(true);
    // 8 accepted in subscription example.com now; the other subscription is untouched.
    const subscriptionTrip = send('erin@example.net').decision;
    expect(subscriptionTrip.allowed).toBe(false);
    expect(send('mallory@other.org').decision.allowed).toBe(true);
  });

  it('only accepted messages count: refusals do not push the window further', () => {
    const { send, advance } = enforcerFor(exampleDirectory());
    for (let i = 0; i < 3; i++) send('alice@example.com');
    advance(1800);
    for (let i = 0; i < 10; i++) expect(send('alice@example.com').decision.allowed).toBe(false);
    advance(1800);
    expect(send('alice@example.com').decision.allowed).toBe(true);
  });

  it('counts an authenticated user by login, not by the envelope sender', () => {
    const { send, enforcer } = enforcerFor(exampleDirectory());
    const verdict = send('bob@example.com', { sasl: 'alice@example.com' });
    expect(verdict.identity?.source).toBe('sasl-login');
    const window = enforcer.windowAt(Math.floor(1_800_000_000_000 / 1000));
    const alice = enforcer.directory.mailboxesByAddress.get('alice@example.com')!;
    const bob = enforcer.directory.mailboxesByAddress.get('bob@example.com')!;
    expect(window.used(alice, 'hour')).toBe(1);
    expect(window.used(bob, 'hour')).toBe(0);
  });

  it('unknown senders of a hosted domain count toward that domain; foreign senders pass uncounted', () => {
    const { send } = enforcerFor(exampleDirectory());
    const verdict = send('webmaster@example.com');
    expect(verdict.identity?.source).toBe('sender-domain');
    expect(verdict.identity?.chain.map((o) => o.level)).toEqual(['domain', 'subscription']);
    expect(send('someone@elsewhere.test').identity).toBeNull();
    expect(send('').identity).toBeNull();
  });

  it('unlimited and 0 behave as stated', () => {
    const { send } = enforcerFor(exampleDirectory({ 'alice@example.com': 'unlimited', 'example.com': 'unlimited', 'sub:example.com': 'unlimited', 'bob@example.com': 0 }));
    for (let i = 0; i < 20; i++) expect(send('alice@example.com').decision.allowed).toBe(true);
    const bob = send('bob@example.com').decision;
    expect(bob.allowed).toBe(false);
    if (!bob.allowed) expect(bob.reason).toMatch(/^Sending is not allowed for mailbox bob@example.com/);
  });

  it('switched off, everything passes but is still counted', () => {
    const { send, enforcer } = enforcerFor(exampleDirectory(), { ...SETTINGS, enabled: false });
    for (let i = 0; i < 10; i++) expect(send('alice@example.com').decision.allowed).toBe(true);
    const alice = enforcer.directory.mailboxesByAddress.get('alice@example.com')!;
    expect(enforcer.windowAt(1_800_000_000).used(alice, 'hour')).toBe(10);
  });

  it('counts recipients when the server counts recipients', () => {
    const { send } = enforcerFor(exampleDirectory(), { ...SETTINGS, countingUnit: 'recipients' });
    expect(send('alice@example.com', { recipients: 2 }).decision.allowed).toBe(true);
    expect(send('alice@example.com', { recipients: 2 }).decision.allowed).toBe(false);
    expect(send('alice@example.com', { recipients: 1 }).decision.allowed).toBe(true);
  });

  it('records each refusal with the level that tripped', () => {
    const { send, refused } = enforcerFor(exampleDirectory({ 'bob@example.com': 0 }));
    send('bob@example.com');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'mailbox', objectName: 'bob@example.com', action: 'defer', sender: 'bob@example.com' });
  });

  it('a re-imported directory keeps counts of objects that remain and forgets removed ones', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-enforcer-')));
    replaceDirectory(db, exampleDirectory());
    const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null, () => 1_800_000_000_000);
    enforcer.load(SETTINGS, readDirectory(db));
    atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 1 }));
    atOnce(enforcer.check({ sender: 'bob@example.com', recipientCount: 1 }));
    const withoutAlice = exampleDirectory();
    withoutAlice.subscriptions[0]!.domains[0]!.mailboxes.shift();
    replaceDirectory(db, withoutAlice);
    enforcer.load(SETTINGS, readDirectory(db));
    const window = enforcer.windowAt(1_800_000_000);
    expect(enforcer.directory.mailboxesByAddress.has('alice@example.com')).toBe(false);
    expect(window.used(enforcer.directory.mailboxesByAddress.get('bob@example.com')!, 'hour')).toBe(1);
    expect(window.used(enforcer.directory.domainsByName.get('example.com')!, 'hour')).toBe(2);
    expect(enforcer.counters.size).toBe(3);
    db.close();
  });
});
