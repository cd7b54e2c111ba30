import { describe, expect, it } from 'vitest';
import type { Identity } from '../api/identity.js';
import { checkLimitChange, limitChoices, mayChangeLimit } from './access.js';
import { DirectoryIndex, type ChargedObject } from './directory.js';
import { isLockedFor, lockAfterChange, lockRefusal, lockRequestRefusal } from './limit-locks.js';
import type { Level } from './limits.js';
import { INITIAL_SETTINGS, type ServerSettings } from './settings.js';

const settings: ServerSettings = { ...INITIAL_SETTINGS, enabled: true, customersMayChangeLimits: true, defaults: { mailbox: 3, domain: 100, subscription: 1000 } };
const admin: Identity = { login: 'admin', role: 'admin', userId: '1', via: 'session' };
const res1: Identity = { login: 'res1', role: 'reseller', userId: '10', via: 'session' };
const mary: Identity = { login: 'mary', role: 'customer', userId: '21', via: 'session' };

// mary owns shop.test (unlimited): the administrator blocked its domain shop.test and left carts.test open.
const index = new DirectoryIndex(
  {
    subscriptions: [{ id: 1, name: 'shop.test', owner: 'mary', reseller: 'res1', systemUser: null, limit: 'unlimited' }],
    domains: [
      { id: 1, subscriptionId: 1, name: 'shop.test', limit: 0, lock: { login: 'admin', role: 'admin' } },
      { id: 2, subscriptionId: 1, name: 'carts.test', limit: 50 },
      { id: 3, subscriptionId: 1, name: 'cups.test', limit: 40, lock: { login: 'res1', role: 'reseller' } },
    ],
    mailboxes: [{ id: 1, domainId: 2, address: 'orders@carts.test', limit: null }],
  },
  settings,
);

function object(level: Level, name: string): ChargedObject {
  const found = index.find(level, name);
  if (!found) throw new Error(`no ${level} ${name}`);
  return found;
}

describe('locks on limit values', () => {
  it("the issue's case: a customer may not raise, nor return to the default, a domain the administrator set to 0", () => {
    const shop = object('domain', 'shop.test');
    const refusal = {
      status: 403,
      error: 'The limit of domain shop.test was set and locked by the administrator admin; only they (or a higher role) can change it.',
      code: 'locked',
      params: { level: 'domain', name: 'shop.test', role: 'admin', login: 'admin' },
    };
    expect(checkLimitChange(mary, shop, 1000, settings)).toEqual(refusal);
    expect(checkLimitChange(mary, shop, null, settings)).toEqual(refusal);
    expect(checkLimitChange(mary, shop, 0, settings)).toEqual(refusal);
    expect(mayChangeLimit(mary, shop, settings)).toBe(false);
  });

  it('a lock stops only the roles below the one who set it', () => {
    const adminLock = { login: 'admin', role: 'admin' } as const;
    const resellerLock = { login: 'res1', role: 'reseller' } as const;
    expect([isLockedFor(mary, adminLock), isLockedFor(res1, adminLock), isLockedFor(admin, adminLock)]).toEqual([true, true, false]);
    expect([isLockedFor(mary, resellerLock), isLockedFor(res1, resellerLock), isLockedFor(admin, resellerLock)]).toEqual([true, false, false]);
    expect(isLockedFor(mary, null)).toBe(false);
    expect(checkLimitChange(res1, object('domain', 'shop.test'), 5, settings)?.status).toBe(403);
    expect(checkLimitChange(admin, object('domain', 'shop.test'), 5, settings)).toBeNull();
    expect(checkLimitChange(res1, object('domain', 'cups.test'), 5, settings)).toBeNull();
    expect(lockRefusal(mary, object('domain', 'cups.test'))?.error).toBe(
      'The limit of domain cups.test was set and locked by the reseller res1; only they (or a higher role) can change it.',
    );
  });

  it('an open value stays the customer’s to change within the ceiling', () => {
    expect(checkLimitChange(mary, object('domain', 'carts.test'), 20, settings)).toBeNull();
    expect(lockRefusal(mary, object('mailbox', 'orders@carts.test'))).toBeNull();
  });

  it('without an explicit choice 0 is locked and any other value left open, and a lock already there stays; customers never lock', () => {
    const resellerLock = { login: 'res1', role: 'reseller' } as const;
    expect(lockAfterChange(admin, 0, undefined, null)).toEqual({ login: 'admin', role: 'admin' });
    expect(lockAfterChange(admin, 50, undefined, null)).toBeNull();
    expect(lockAfterChange(admin, 'unlimited', undefined, null)).toBeNull();
    expect(lockAfterChange(admin, 50, undefined, resellerLock)).toEqual(resellerLock);
    expect(lockAfterChange(admin, 50, false, resellerLock)).toBeNull();
    expect(lockAfterChange(admin, 50, true, resellerLock)).toEqual({ login: 'admin', role: 'admin' });
    expect(lockAfterChange(res1, 50, true, null)).toEqual(resellerLock);
    expect(lockAfterChange(res1, 0, false, null)).toBeNull();
    expect(lockAfterChange(mary, 0, undefined, null)).toBeNull();
    expect(lockRequestRefusal(mary, true)).toEqual({ status: 403, error: 'Only the administrator or a reseller can lock a limit.', code: 'lockNotForCustomers', params: {} });
    expect(lockRequestRefusal(mary, false)).toBeNull();
    expect(lockRequestRefusal(res1, true)).toBeNull();
  });
});

describe('limitChoices: what the dialog may offer', () => {
  it('under a ceiling, Unlimited is never offered, and the default only when it fits', () => {
    const capped = new DirectoryIndex(
      {
        subscriptions: [{ id: 1, name: 'a.test', owner: 'mary', reseller: null, systemUser: null, limit: 10 }],
        domains: [{ id: 1, subscriptionId: 1, name: 'a.test', limit: null }],
        mailboxes: [{ id: 1, domainId: 1, address: 'x@a.test', limit: null }],
      },
      settings,
    );
    const mailbox = capped.find('mailbox', 'x@a.test')!;
    const domain = capped.find('domain', 'a.test')!;
    expect(limitChoices(mary, mailbox, settings)).toEqual({ mayChooseDefault: true, mayChooseUnlimited: false });
    expect(limitChoices(mary, domain, settings)).toEqual({ mayChooseDefault: false, mayChooseUnlimited: false });
    expect(limitChoices(admin, domain, settings)).toEqual({ mayChooseDefault: true, mayChooseUnlimited: true });
  });
});
