import { describe, expect, it } from 'vitest';
import type { Identity } from '../api/identity.js';
import { checkHeldMailAction, checkLimitChange, holdsLimitPermission, limitCeiling, mayActOnHeldMail, mayChangeLimit } from './access.js';
import { DirectoryIndex, type ChargedObject } from './directory.js';
import type { Level } from './limits.js';
import { INITIAL_SETTINGS, type ServerSettings } from './settings.js';

const settings: ServerSettings = { ...INITIAL_SETTINGS, enabled: true, customersMayChangeLimits: true, defaults: { mailbox: 100, domain: 500, subscription: 1000 } };

// Customer jdoe owns a.example (domains a.example and shop.example) and b.example; its domain a.example is capped at 50.
const index = new DirectoryIndex(
  {
    subscriptions: [
      { id: 1, name: 'a.example', owner: 'jdoe', reseller: 'res1', systemUser: null, limit: null },
      { id: 2, name: 'b.example', owner: 'jdoe', reseller: 'res1', systemUser: null, limit: null },
    ],
    domains: [
      { id: 1, subscriptionId: 1, name: 'a.example', limit: 50 },
      { id: 2, subscriptionId: 1, name: 'shop.example', limit: null },
      { id: 3, subscriptionId: 2, name: 'b.example', limit: null },
    ],
    mailboxes: [
      { id: 1, domainId: 1, address: 'alice@a.example', limit: null },
      { id: 2, domainId: 2, address: 'sales@shop.example', limit: null },
      { id: 3, domainId: 3, address: 'bob@b.example', limit: null },
    ],
  },
  settings,
);

function object(level: Level, name: string): ChargedObject {
  const found = index.find(level, name);
  if (!found) throw new Error(`no ${level} ${name}`);
  return found;
}

/** jdoe signed in to Plesk with "Manage outgoing mail limits" on subscription a.example only. */
const jdoe: Identity = { login: 'jdoe', role: 'customer', userId: '20', via: 'plesk', permittedSubscriptions: new Set(['a.example']) };
const refusalFor = (subscription: string) =>
  `Your account may not manage outgoing mail limits of subscription ${subscription} (Plesk permission "Manage outgoing mail limits"). Ask your provider.`;

describe('Plesk permission "Manage outgoing mail limits" per subscription', () => {
  it('a Plesk customer holds it on the listed subscriptions, for their domains and mailboxes too', () => {
    for (const [level, name] of [['subscription', 'a.example'], ['domain', 'shop.example'], ['mailbox', 'sales@shop.example']] as const) {
      expect(holdsLimitPermission(jdoe, object(level, name)), name).toBe(true);
    }
    for (const [level, name] of [['subscription', 'b.example'], ['domain', 'b.example'], ['mailbox', 'bob@b.example']] as const) {
      expect(holdsLimitPermission(jdoe, object(level, name)), name).toBe(false);
    }
  });

  it('a Plesk customer without a list holds it nowhere: a missing list never grants rights', () => {
    const { permittedSubscriptions: _list, ...withoutList } = jdoe;
    expect(holdsLimitPermission(withoutList, object('mailbox', 'alice@a.example'))).toBe(false);
    expect(holdsLimitPermission({ ...jdoe, permittedSubscriptions: new Set() }, object('mailbox', 'alice@a.example'))).toBe(false);
  });

  it('administrators, resellers, standalone users and the local command are not subject to it', () => {
    const others: Identity[] = [
      { login: 'admin', role: 'admin', userId: '1', via: 'plesk' },
      { login: 'res1', role: 'reseller', userId: '10', via: 'plesk' },
      { login: 'jdoe', role: 'customer', userId: '3', via: 'session' },
      { login: 'root', role: 'admin', userId: null, via: 'local' },
    ];
    for (const identity of others) expect(holdsLimitPermission(identity, object('mailbox', 'bob@b.example')), identity.via + identity.role).toBe(true);
  });

  it('mayChangeLimit: no edit offered on the objects of a subscription without the permission', () => {
    expect(mayChangeLimit(jdoe, object('mailbox', 'alice@a.example'), settings)).toBe(true);
    expect(mayChangeLimit(jdoe, object('domain', 'shop.example'), settings)).toBe(true);
    expect(mayChangeLimit(jdoe, object('mailbox', 'bob@b.example'), settings)).toBe(false);
    expect(mayChangeLimit(jdoe, object('domain', 'b.example'), settings)).toBe(false);
    // A subscription's own limit is never the customer's, permission or not.
    expect(mayChangeLimit(jdoe, object('subscription', 'a.example'), settings)).toBe(false);
    expect(mayChangeLimit({ login: 'res1', role: 'reseller', userId: '10', via: 'plesk' }, object('mailbox', 'bob@b.example'), settings)).toBe(true);
  });

  it('checkLimitChange: 403 naming the subscription; allowed where the permission is on, within the ceiling', () => {
    expect(checkLimitChange(jdoe, object('mailbox', 'bob@b.example'), 5, settings)).toEqual({ status: 403, error: refusalFor('b.example'), code: 'noPermission', params: { subscription: 'b.example' } });
    expect(checkLimitChange(jdoe, object('domain', 'b.example'), 'unlimited', settings)).toEqual({ status: 403, error: refusalFor('b.example'), code: 'noPermission', params: { subscription: 'b.example' } });
    expect(checkLimitChange(jdoe, object('mailbox', 'alice@a.example'), 5, settings)).toBeNull();
    expect(checkLimitChange(jdoe, object('mailbox', 'alice@a.example'), 51, settings)).toEqual({
      status: 400,
      error: 'The value must be in the range 0...50. Only the administrator can raise it.',
      code: 'aboveCeiling',
      params: { max: 50 },
    });
  });

  it("the administrator's switch for all customers is said first; a subscription stays the reseller's", () => {
    const closed = { ...settings, customersMayChangeLimits: false };
    expect(checkLimitChange(jdoe, object('mailbox', 'bob@b.example'), 5, closed)?.error).toBe('The administrator does not allow customers to change outgoing mail limits.');
    expect(checkLimitChange(jdoe, object('subscription', 'a.example'), 5, settings)?.error).toBe('Only the administrator or the reseller can change the limit of a subscription.');
    expect(checkLimitChange(jdoe, object('subscription', 'b.example'), 5, settings)?.error).toBe(refusalFor('b.example'));
  });
});

describe('held mail: acting on it needs the permission on its subscription; seeing it does not', () => {
  const heldRefusal = (action: string, subscription: string) =>
    `Your account may not ${action} held messages of subscription ${subscription} (Plesk permission "Manage outgoing mail limits"). Ask your provider.`;

  it('a Plesk customer releases and deletes held mail of its permitted subscription only; 403 names the other', () => {
    for (const action of ['release', 'delete'] as const) {
      expect(checkHeldMailAction(jdoe, object('mailbox', 'alice@a.example'), action)).toBeNull();
      expect(checkHeldMailAction(jdoe, object('domain', 'shop.example'), action)).toBeNull();
      expect(checkHeldMailAction(jdoe, object('mailbox', 'bob@b.example'), action)).toEqual({ status: 403, error: heldRefusal(action, 'b.example'), code: 'noPermission', params: { subscription: 'b.example' } });
      expect(checkHeldMailAction(jdoe, object('subscription', 'b.example'), action)).toEqual({ status: 403, error: heldRefusal(action, 'b.example'), code: 'noPermission', params: { subscription: 'b.example' } });
      expect(mayActOnHeldMail(jdoe, object('mailbox', 'alice@a.example'), action)).toBe(true);
      expect(mayActOnHeldMail(jdoe, object('mailbox', 'bob@b.example'), action)).toBe(false);
    }
  });

  it('without a list nothing; the admin switch for limit changes does not apply, since neither action changes a limit', () => {
    const { permittedSubscriptions: _list, ...withoutList } = jdoe;
    expect(checkHeldMailAction(withoutList, object('mailbox', 'alice@a.example'), 'delete')).toEqual({ status: 403, error: heldRefusal('delete', 'a.example'), code: 'noPermission', params: { subscription: 'a.example' } });
    // The switch lives in the settings, which this rule does not read: a permitted customer acts either way.
    expect(mayChangeLimit(jdoe, object('mailbox', 'alice@a.example'), { ...settings, customersMayChangeLimits: false })).toBe(false);
    expect(mayActOnHeldMail(jdoe, object('mailbox', 'alice@a.example'), 'release')).toBe(true);
  });

  it('administrators, resellers and standalone customers act on what they see; mail charged to nobody is the administrator\'s', () => {
    const admin: Identity = { login: 'admin', role: 'admin', userId: '1', via: 'plesk' };
    const res1: Identity = { login: 'res1', role: 'reseller', userId: '10', via: 'plesk' };
    const standalone: Identity = { login: 'jdoe', role: 'customer', userId: '3', via: 'session' };
    for (const identity of [admin, res1, standalone]) expect(checkHeldMailAction(identity, object('mailbox', 'bob@b.example'), 'release'), identity.login).toBeNull();
    expect(checkHeldMailAction(admin, undefined, 'delete')).toBeNull();
    for (const identity of [res1, standalone, jdoe]) {
      expect(checkHeldMailAction(identity, undefined, 'delete'), identity.login).toEqual({
        status: 403,
        error: 'Only the administrator can delete held messages that count against none of your mailboxes, domains or subscriptions.',
        code: 'heldOfNobody',
        params: { action: 'delete' },
      });
    }
    // Another reseller's objects: not theirs to act on (the API says "not found" before asking).
    const res2: Identity = { login: 'res2', role: 'reseller', userId: '11', via: 'plesk' };
    expect(mayActOnHeldMail(res2, object('mailbox', 'bob@b.example'), 'release')).toBe(false);
  });

  describe('limitCeiling: the smallest effective limit of every level above', () => {
    // Subscription capped at 25 over an unlimited domain: the mailbox is capped by the subscription.
    const capped = new DirectoryIndex(
      {
        subscriptions: [{ id: 1, name: 'shop.example', owner: 'jdoe', reseller: null, systemUser: null, limit: 25 }],
        domains: [
          { id: 1, subscriptionId: 1, name: 'shop.example', limit: 'unlimited' },
          { id: 2, subscriptionId: 1, name: 'tight.example', limit: 10 },
          { id: 3, subscriptionId: 1, name: 'even.example', limit: 25 },
        ],
        mailboxes: [
          { id: 1, domainId: 1, address: 'sales@shop.example', limit: null },
          { id: 2, domainId: 2, address: 'info@tight.example', limit: null },
          { id: 3, domainId: 3, address: 'info@even.example', limit: null },
        ],
      },
      settings,
    );
    const find = (level: Level, name: string) => capped.find(level, name)!;
    const owner: Identity = { login: 'jdoe', role: 'customer', userId: '20', via: 'plesk', permittedSubscriptions: new Set(['shop.example']) };

    it('a mailbox under an unlimited domain is capped by its subscription, which the reason names', () => {
      expect(limitCeiling(owner, find('mailbox', 'sales@shop.example'))).toEqual({ max: 25, reason: 'The subscription shop.example may send at most 25 per hour.', level: 'subscription', name: 'shop.example' });
      expect(checkLimitChange(owner, find('mailbox', 'sales@shop.example'), 500, settings)).toEqual({
        status: 400,
        error: 'The value must be in the range 0...25. Only the administrator can raise it.',
        code: 'aboveCeiling',
        params: { max: 25 },
      });
    });

    it('the tighter of domain and subscription caps; on a tie the nearer level is named', () => {
      expect(limitCeiling(owner, find('mailbox', 'info@tight.example'))).toEqual({ max: 10, reason: 'The domain tight.example may send at most 10 per hour.', level: 'domain', name: 'tight.example' });
      expect(limitCeiling(owner, find('mailbox', 'info@even.example'))).toEqual({ max: 25, reason: 'The domain even.example may send at most 25 per hour.', level: 'domain', name: 'even.example' });
      expect(limitCeiling(owner, find('domain', 'shop.example'))).toEqual({ max: 25, reason: 'The subscription shop.example may send at most 25 per hour.', level: 'subscription', name: 'shop.example' });
    });

    it('no cap for the administrator, nor where every level above is unlimited', () => {
      expect(limitCeiling({ login: 'admin', role: 'admin', userId: '1', via: 'plesk' }, find('mailbox', 'sales@shop.example'))).toBeNull();
      expect(limitCeiling(owner, find('subscription', 'shop.example'))).toBeNull();
    });
  });
});
