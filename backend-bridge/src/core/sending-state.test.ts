import { describe, expect, it } from 'vitest';
import type { WindowView } from './decision.js';
import { counterKey, type ChargedObject } from './directory.js';
import type { Level, Limit } from './limits.js';
import { INITIAL_SETTINGS, type ServerSettings } from './settings.js';
import { heldCountsByObject, overLimitCause, sendingState } from './sending-state.js';

function object(level: Level, id: number, name: string, limit: Limit, parent: ChargedObject | null): ChargedObject {
  return { level, id, name, counterKey: counterKey(level, id), own: null, plan: null, lock: null, effective: { limit, source: 'default' }, daily: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } }, recipients: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } }, parent, owner: { customer: 'mary', reseller: null } };
}

/** orders@shop.test in domain shop.test of subscription shop.test. */
function shop(limits: { mailbox: Limit; domain: Limit; subscription: Limit }) {
  const subscription = object('subscription', 1, 'shop.test', limits.subscription, null);
  const domain = object('domain', 1, 'shop.test', limits.domain, subscription);
  const mailbox = object('mailbox', 1, 'orders@shop.test', limits.mailbox, domain);
  return { mailbox, domain, subscription, chain: [mailbox, domain, subscription] };
}

/** Fixed usage per object; one unit frees every `secondsPerUnit`. */
function windowWith(used: Map<ChargedObject, number>, secondsPerUnit = 720): WindowView {
  return {
    used: (o) => used.get(o) ?? 0,
    secondsUntilFreed: (o, amount) => ((used.get(o) ?? 0) >= amount ? amount * secondsPerUnit : null),
  };
}

const settings = (change: Partial<ServerSettings> = {}): ServerSettings => ({ ...INITIAL_SETTINGS, ...change });
const notCompromised = () => false;

describe('sendingState: the state of the message the object would send now', () => {
  it('a mailbox with room under a domain at 0 is holding because of the domain, not "Sending"', () => {
    const s = shop({ mailbox: 3, domain: 0, subscription: 'unlimited' });
    expect(sendingState(s.chain, windowWith(new Map()), settings(), notCompromised)).toEqual({
      state: 'holding',
      level: 'domain',
      name: 'shop.test',
      self: false,
      window: 'hour',
      limit: 0,
      freesInSeconds: null,
      compromised: false,
    });
  });

  it('a domain at its limit says when it frees, on its own row and on its mailboxes\' rows', () => {
    const s = shop({ mailbox: 10, domain: 5, subscription: 100 });
    const window = windowWith(new Map([[s.mailbox, 1], [s.domain, 5], [s.subscription, 5]]));
    expect(sendingState(s.chain, window, settings(), notCompromised)).toMatchObject({ state: 'holding', level: 'domain', self: false, freesInSeconds: 720 });
    expect(sendingState(s.chain.slice(1), window, settings(), notCompromised)).toMatchObject({ state: 'holding', level: 'domain', self: true, freesInSeconds: 720 });
    expect(sendingState(s.chain.slice(2), window, settings(), notCompromised)).toEqual({ state: 'sending' });
  });

  it('with over-limit action "defer" the same is "deferring" (not sending)', () => {
    const s = shop({ mailbox: 0, domain: 5, subscription: 100 });
    expect(sendingState(s.chain, windowWith(new Map()), settings({ overLimitAction: 'defer' }), notCompromised)).toMatchObject({ state: 'deferring', level: 'mailbox', self: true, limit: 0 });
  });

  it('limits switched off: every object is in state limitsOff, whatever its usage', () => {
    const s = shop({ mailbox: 0, domain: 0, subscription: 0 });
    const window = windowWith(new Map([[s.mailbox, 9], [s.domain, 9], [s.subscription, 9]]));
    for (const chain of [s.chain, s.chain.slice(1), s.chain.slice(2)]) {
      expect(sendingState(chain, window, settings({ enabled: false }), notCompromised)).toEqual({ state: 'limitsOff' });
    }
  });

  it('a compromised mailbox says so', () => {
    const s = shop({ mailbox: 0, domain: 5, subscription: 100 });
    expect(sendingState(s.chain, windowWith(new Map()), settings(), (m) => m === s.mailbox)).toMatchObject({ state: 'holding', self: true, compromised: true });
  });
});

describe('overLimitCause: why usage is above the limit', () => {
  it('is null at or under the limit, and for Unlimited', () => {
    expect(overLimitCause(3, 3, { compromised: true, releasedBeyondLimit: true, limitsOff: true })).toBeNull();
    expect(overLimitCause(9, 'unlimited', { compromised: true, releasedBeyondLimit: true, limitsOff: true })).toBeNull();
  });
  it('names the compromised mark first, then limits switched off, then a release beyond the limit, else mail counted before the limit applied', () => {
    expect(overLimitCause(4, 0, { compromised: true, releasedBeyondLimit: true, limitsOff: true })).toBe('compromised');
    expect(overLimitCause(4, 3, { compromised: false, releasedBeyondLimit: true, limitsOff: true })).toBe('limitsOff');
    expect(overLimitCause(4, 3, { compromised: false, releasedBeyondLimit: true, limitsOff: false })).toBe('releasedByAdministrator');
    expect(overLimitCause(4, 3, { compromised: false, releasedBeyondLimit: false, limitsOff: false })).toBe('countedBefore');
  });
});

describe('heldCountsByObject', () => {
  it('counts a held message for its mailbox, domain and subscription', () => {
    const s = shop({ mailbox: 3, domain: 0, subscription: 5 });
    const counts = heldCountsByObject([{ chain: s.chain, count: 2 }, { chain: s.chain.slice(1), count: 1 }]);
    expect(counts.get(s.mailbox.counterKey)).toBe(2);
    expect(counts.get(s.domain.counterKey)).toBe(3);
    expect(counts.get(s.subscription.counterKey)).toBe(3);
  });
});
