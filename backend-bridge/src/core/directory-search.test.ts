import { describe, expect, it } from 'vitest';
import { DirectoryIndex } from './directory.js';
import { INITIAL_SETTINGS } from './settings.js';

const index = new DirectoryIndex(
  {
    subscriptions: [{ id: 1, name: 'example.com', owner: 'jdoe', reseller: null, systemUser: null, limit: null }],
    domains: [{ id: 1, subscriptionId: 1, name: 'example.com', limit: null }],
    mailboxes: ['carol', 'alice', 'bob', 'alicia', 'al'].map((local, i) => ({ id: i + 1, domainId: 1, address: `${local}@example.com`, limit: null })),
  },
  INITIAL_SETTINGS,
);

const names = (term: string) => index.searchByName('mailbox', term).map((o) => o.name);

describe('DirectoryIndex.searchByName', () => {
  it('finds every name containing the term, once each, in name order', () => {
    expect(names('ali')).toEqual(['alice@example.com', 'alicia@example.com']);
    expect(names('a')).toEqual(['al@example.com', 'alice@example.com', 'alicia@example.com', 'bob@example.com', 'carol@example.com']);
    expect(names('example.com')).toHaveLength(5);
  });

  it('matches at the first and the last name, and never across two names', () => {
    expect(names('al@')).toEqual(['al@example.com']);
    expect(names('carol@example.com')).toEqual(['carol@example.com']);
    expect(names('.comal')).toEqual([]);
    expect(names('nobody')).toEqual([]);
  });
});
