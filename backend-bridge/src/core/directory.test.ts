import { describe, expect, it } from 'vitest';
import { DirectoryIndex, type DirectoryRecordStreams } from './directory.js';
import type { PlanLimits } from './limits.js';
import { INITIAL_SETTINGS, type ServerSettings } from './settings.js';

const settings: ServerSettings = { ...INITIAL_SETTINGS, enabled: true, defaults: { mailbox: 100, domain: 500, subscription: 1000 } };
const silver: PlanLimits = { name: 'Silver', mailbox: 20, domain: null, subscription: 'unlimited' };

function records(plan: PlanLimits | null): DirectoryRecordStreams {
  return {
    subscriptions: [
      { id: 1, name: 'planned.example', owner: 'jdoe', reseller: null, systemUser: null, limit: null, plan },
      { id: 2, name: 'plain.example', owner: 'mary', reseller: null, systemUser: null, limit: null },
    ],
    domains: [
      { id: 1, subscriptionId: 1, name: 'planned.example', limit: null },
      { id: 2, subscriptionId: 2, name: 'plain.example', limit: null },
    ],
    mailboxes: [
      { id: 1, domainId: 1, address: 'alice@planned.example', limit: null },
      { id: 2, domainId: 1, address: 'bob@planned.example', limit: 5 },
      { id: 3, domainId: 2, address: 'mary@plain.example', limit: null },
    ],
  };
}

function effective(index: DirectoryIndex, level: 'mailbox' | 'domain' | 'subscription', name: string) {
  return index.find(level, name)?.effective;
}

describe('effective limits with service plans', () => {
  it('own value, else the plan value of the level, else the server default', () => {
    const index = new DirectoryIndex(records(silver), settings);
    expect(effective(index, 'mailbox', 'alice@planned.example')).toEqual({ limit: 20, source: 'plan' });
    expect(effective(index, 'mailbox', 'bob@planned.example')).toEqual({ limit: 5, source: 'own' });
    // The plan sets no domain value: the server default applies.
    expect(effective(index, 'domain', 'planned.example')).toEqual({ limit: 500, source: 'default' });
    expect(effective(index, 'subscription', 'planned.example')).toEqual({ limit: 'unlimited', source: 'plan' });
    // Another subscription without a plan is untouched by it.
    expect(effective(index, 'mailbox', 'mary@plain.example')).toEqual({ limit: 100, source: 'default' });
    expect(effective(index, 'subscription', 'plain.example')).toEqual({ limit: 1000, source: 'default' });
  });

  it('removing an own value goes back to the plan; new server defaults leave plan values alone', () => {
    const index = new DirectoryIndex(records(silver), settings);
    const bob = index.find('mailbox', 'bob@planned.example');
    if (!bob) throw new Error('no bob');
    index.setOwnLimit(bob, null);
    expect(bob.effective).toEqual({ limit: 20, source: 'plan' });

    index.applySettings({ ...settings, defaults: { mailbox: 3, domain: 7, subscription: 9 } });
    expect(effective(index, 'mailbox', 'alice@planned.example')).toEqual({ limit: 20, source: 'plan' });
    expect(effective(index, 'domain', 'planned.example')).toEqual({ limit: 7, source: 'default' });
    expect(effective(index, 'mailbox', 'mary@plain.example')).toEqual({ limit: 3, source: 'default' });
  });

  it('a plan that sets nothing is the same as no plan', () => {
    const index = new DirectoryIndex(records({ name: 'Empty', mailbox: null, domain: null, subscription: null }), settings);
    expect(effective(index, 'mailbox', 'alice@planned.example')).toEqual({ limit: 100, source: 'default' });
    expect(effective(index, 'subscription', 'planned.example')).toEqual({ limit: 1000, source: 'default' });
  });
});
