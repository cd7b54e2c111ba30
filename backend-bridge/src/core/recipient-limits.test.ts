import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { Enforcer } from '../enforcement/enforcer.js';
import { mailBody, mailSubject, type Notification } from '../notify/notification.js';
import type { RecordedOverLimitEvent } from '../store/over-limit-events.js';
import { DirectoryIndex, type DirectoryRecordStreams } from './directory.js';
import type { Level, Limit } from './limits.js';
import { decideRecipients, parseRecipientLimit, readRecipientDefaults, tightestRecipientMaximum, tooManyRecipientsReply } from './recipient-limits.js';
import { INITIAL_SETTINGS, type ServerSettings } from './settings.js';
import { atOnce } from '../../test-support/at-once.js';

type Own = { mailbox?: Limit | null; domain?: Limit | null; subscription?: Limit | null };

function records(own: Own = {}): DirectoryRecordStreams {
  return {
    subscriptions: [{ id: 1, name: 'example.com', owner: 'jdoe', reseller: null, systemUser: null, limit: null, recipientLimit: own.subscription ?? null }],
    domains: [{ id: 1, subscriptionId: 1, name: 'example.com', limit: null, recipientLimit: own.domain ?? null }],
    mailboxes: [
      { id: 1, domainId: 1, address: 'alice@example.com', limit: null, recipientLimit: own.mailbox ?? null },
      { id: 2, domainId: 1, address: 'bob@example.com', limit: null },
    ],
  };
}

const settingsWith = (recipientDefaults: Partial<Record<Level, Limit>> = {}): ServerSettings => ({
  ...INITIAL_SETTINGS,
  recipientDefaults: { ...INITIAL_SETTINGS.recipientDefaults, ...recipientDefaults },
});

function chainOf(own: Own, defaults: Partial<Record<Level, Limit>> = {}, address = 'alice@example.com') {
  const index = new DirectoryIndex(records(own), settingsWith(defaults));
  return index.chainFrom(index.find('mailbox', address)!);
}

describe('recipients per message: the maximum in force', () => {
  it('is unlimited by default at every level: no message is refused for its recipients', () => {
    expect(INITIAL_SETTINGS.recipientDefaults).toEqual({ mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' });
    expect(tightestRecipientMaximum(chainOf({}))).toBeNull();
    expect(decideRecipients(chainOf({}), 100_000)).toBeNull();
  });

  it("an object's own value wins over the server default of its level", () => {
    const chain = chainOf({ mailbox: 3 }, { mailbox: 50 });
    expect(chain[0]!.recipients.effective).toEqual({ limit: 3, source: 'own' });
    expect(chainOf({}, { mailbox: 50 })[0]!.recipients.effective).toEqual({ limit: 50, source: 'default' });
    expect(chainOf({ mailbox: 'unlimited' }, { mailbox: 50 })[0]!.recipients.effective).toEqual({ limit: 'unlimited', source: 'own' });
  });

  it('the tightest of mailbox, domain and subscription applies, whichever level it is', () => {
    const bySubscription = tightestRecipientMaximum(chainOf({ mailbox: 100, domain: 'unlimited', subscription: 20 }));
    expect(bySubscription).toMatchObject({ maximum: 20, object: { level: 'subscription', name: 'example.com' } });
    // A mailbox's own higher value does not lift its domain's lower one.
    expect(tightestRecipientMaximum(chainOf({ mailbox: 500 }, { domain: 10 }))).toMatchObject({ maximum: 10, object: { level: 'domain' } });
    // A tie names the innermost level: the one its owner can change first.
    expect(tightestRecipientMaximum(chainOf({ mailbox: 10, domain: 10 }))).toMatchObject({ maximum: 10, object: { level: 'mailbox' } });
  });

  it('is the minimum over the chain for any values (property)', () => {
    const value = fc.oneof(fc.constant<Limit | null>(null), fc.constant<Limit | null>('unlimited'), fc.integer({ min: 1, max: 1000 }));
    fc.assert(
      fc.property(value, value, value, fc.integer({ min: 1, max: 1000 }), (mailbox, domain, subscription, count) => {
        const chain = chainOf({ mailbox, domain, subscription });
        const numbers = [mailbox, domain, subscription].filter((v): v is number => typeof v === 'number');
        const expected = numbers.length === 0 ? null : Math.min(...numbers);
        expect(tightestRecipientMaximum(chain)?.maximum ?? null).toBe(expected);
        expect(decideRecipients(chain, count) !== null).toBe(expected !== null && count > expected);
      }),
    );
  });
});

describe('recipients per message: the decision', () => {
  it('lets the maximum through and refuses one more, naming the maximum and the level', () => {
    const chain = chainOf({ mailbox: 3 });
    expect(decideRecipients(chain, 3)).toBeNull();
    const refused = decideRecipients(chain, 4)!;
    expect(refused).toMatchObject({ maximum: 3, recipients: 4, tripped: { level: 'mailbox', name: 'alice@example.com' } });
    expect(refused.reason).toBe('Too many recipients: at most 3 per message for mailbox alice@example.com');
    expect(tooManyRecipientsReply(refused)).toBe('554 5.5.3 Too many recipients: at most 3 per message for mailbox alice@example.com');
  });

  it('never refuses a request without a real count (0, negative, not a number): the rate decision counts it as one', () => {
    const chain = chainOf({ mailbox: 1 });
    for (const count of [0, -5, Number.NaN, 1.5]) expect(decideRecipients(chain, count)).toBeNull();
  });
});

describe('recipients per message: values as written', () => {
  it('takes 1 and more, "unlimited" and (for objects) "default"; refuses 0 and anything else with a sentence', () => {
    expect(parseRecipientLimit(1, { allowDefault: false })).toEqual({ ok: true, value: 1 });
    expect(parseRecipientLimit('50', { allowDefault: false })).toEqual({ ok: true, value: 50 });
    expect(parseRecipientLimit('unlimited', { allowDefault: false })).toEqual({ ok: true, value: 'unlimited' });
    expect(parseRecipientLimit('default', { allowDefault: true })).toEqual({ ok: true, value: null });
    for (const bad of [0, '0', -1, 2.5, 'many', '', 2_000_000_000]) {
      const parsed = parseRecipientLimit(bad, { allowDefault: true });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(/^expected a whole number of recipients from 1 to 1000000000/);
    }
    expect(parseRecipientLimit('default', { allowDefault: false }).ok).toBe(false);
  });

  it('server defaults read back per level; an unreadable one stays unlimited on its own', () => {
    const stored: Record<string, unknown> = { mailbox: 25, domain: 'nonsense' };
    expect(readRecipientDefaults((level) => stored[level])).toEqual({ mailbox: 25, domain: 'unlimited', subscription: 'unlimited' });
  });
});

describe('recipients per message in the enforcer', () => {
  function enforcerWith(own: Own, settings: Partial<ServerSettings> = {}) {
    const events: RecordedOverLimitEvent[] = [];
    const enforcer = new Enforcer(new RollingWindowCounters(3600), null, (event) => events.push(event), () => 1_800_000_000_000);
    enforcer.load({ ...settingsWith(), defaults: { mailbox: 2, domain: 100, subscription: 100 }, ...settings }, records(own));
    return { enforcer, events };
  }

  it('refuses a message over the maximum before the rate decision, counts nothing and records a "reject" event', () => {
    const { enforcer, events } = enforcerWith({ mailbox: 3 });
    const verdict = atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 4, queueId: 'Q1' }));
    expect(verdict.tooManyRecipients).toMatchObject({ maximum: 3, recipients: 4 });
    // Not allowed either way, and never released by itself: a caller that looked only at decision holds it for good.
    expect(verdict.decision).toMatchObject({ allowed: false, retryAfterSeconds: null });
    const alice = enforcer.directory.find('mailbox', 'alice@example.com')!;
    expect(enforcer.counters.used(alice.counterKey, 1_800_000_000)).toBe(0);
    expect(events).toEqual([
      expect.objectContaining({ level: 'mailbox', objectName: 'alice@example.com', action: 'reject', recipientMaximum: 3, recipientCount: 4, queueId: 'Q1', reason: 'Too many recipients: at most 3 per message for mailbox alice@example.com' }),
    ]);
    // The hourly budget of 2 is still whole: two messages within the maximum pass, the third is over the rate.
    expect(atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 3 })).decision.allowed).toBe(true);
    expect(atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 1 })).decision.allowed).toBe(true);
    const third = atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 1 }));
    expect(third.tooManyRecipients).toBeNull();
    expect(third.decision.allowed).toBe(false);
    expect(events.at(-1)).toMatchObject({ recipientMaximum: null, action: 'hold' });
  });

  it('refuses for recipients even when the rate budget is used up: the permanent answer is the one that helps', () => {
    const { enforcer } = enforcerWith({ mailbox: 3 });
    atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 1 }));
    atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 1 }));
    expect(atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 9 })).tooManyRecipients).not.toBeNull();
  });

  it('follows a changed own value at once, and limits switched off refuse nothing', () => {
    const { enforcer } = enforcerWith({});
    expect(atOnce(enforcer.check({ sender: 'bob@example.com', recipientCount: 40 })).tooManyRecipients).toBeNull();
    enforcer.directory.setOwnRecipientLimit(enforcer.directory.find('mailbox', 'bob@example.com')!, 10);
    expect(atOnce(enforcer.check({ sender: 'bob@example.com', recipientCount: 40 })).tooManyRecipients).toMatchObject({ maximum: 10 });
    enforcer.applySettings({ ...enforcer.currentSettings, enabled: false });
    expect(atOnce(enforcer.check({ sender: 'bob@example.com', recipientCount: 40 })).tooManyRecipients).toBeNull();
  });

  it('new server defaults apply to objects without their own value', () => {
    const { enforcer } = enforcerWith({ mailbox: 'unlimited' });
    enforcer.applySettings({ ...enforcer.currentSettings, recipientDefaults: { mailbox: 5, domain: 'unlimited', subscription: 'unlimited' } });
    expect(atOnce(enforcer.check({ sender: 'bob@example.com', recipientCount: 6 })).tooManyRecipients).toMatchObject({ maximum: 5 });
    expect(atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 6 })).tooManyRecipients).toBeNull();
  });
});

describe('recipients per message in notifications', () => {
  it('say a message was refused for good and the maximum, not a limit reached or when budget frees', () => {
    const notification: Notification = {
      kind: 'too-many-recipients',
      wouldHaveBeen: null,
      atMs: 0,
      level: 'mailbox',
      name: 'alice@example.com',
      window: 'hour',
      limit: 100,
      unit: 'messages',
      sent: 1,
      held: 0,
      topRecipientDomains: [],
      reason: 'Too many recipients: at most 3 per message for mailbox alice@example.com',
      freesInSeconds: null,
      recipientMaximum: 3,
      link: 'https://example.test/held',
    };
    expect(mailSubject(notification)).toBe('Message refused: more than 3 recipients for mailbox alice@example.com');
    const body = mailBody(notification, '1h');
    expect(body).toContain('Most recipients per message: 3');
    expect(body).toContain('Too many recipients: at most 3 per message for mailbox alice@example.com');
    expect(body).not.toMatch(/Budget frees|Sent in the last/);
  });
});
