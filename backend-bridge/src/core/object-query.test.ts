import { describe, expect, it } from 'vitest';
import type { Identity } from '../api/identity.js';
import type { WindowView } from './decision.js';
import { DirectoryIndex, type ChargedObject } from './directory.js';
import { queryObjects } from './object-query.js';
import { INITIAL_SETTINGS } from './settings.js';

const COUNT = 2600;
const index = new DirectoryIndex(
  {
    subscriptions: [{ id: 1, name: 'big.example', owner: 'jdoe', reseller: null, systemUser: null, limit: null }],
    domains: [{ id: 1, subscriptionId: 1, name: 'big.example', limit: null }],
    mailboxes: Array.from({ length: COUNT }, (_, i) => ({ id: i + 1, domainId: 1, address: `m${String(i).padStart(4, '0')}@big.example`, limit: i % 7 === 0 ? 5 : null })),
  },
  INITIAL_SETTINGS,
);
// Few distinct values, many ties: the case where ordering must fall back on name order.
const usedOf = (o: ChargedObject) => (o.id * 37) % 11;
const window: WindowView = { used: usedOf, secondsUntilFreed: () => null };
const admin: Identity = { login: 'root', role: 'admin', userId: null, via: 'local' };

function expected(sort: 'used' | 'limit', order: 'asc' | 'desc'): string[] {
  const key = (o: ChargedObject) => (sort === 'used' ? usedOf(o) : o.effective.limit === 'unlimited' ? Infinity : o.effective.limit);
  return [...index.sortedByName('mailbox')]
    .map((o, position) => ({ o, position }))
    .sort((a, b) => (order === 'asc' ? key(a.o) - key(b.o) : key(b.o) - key(a.o)) || a.position - b.position)
    .map((e) => e.o.name);
}

describe('queryObjects ordering', () => {
  it.each([
    ['used', 'desc', 1],
    ['used', 'asc', 3],
    ['limit', 'asc', 2],
    ['used', 'desc', 50], // deeper than the one-pass selection: full sort
    ['limit', 'desc', 52],
  ] as const)('sort=%s order=%s page %i equals a full stable sort', (sort, order, page) => {
    const result = queryObjects(index, window, INITIAL_SETTINGS, admin, { level: 'mailbox', sort, order, page, pageSize: 50 });
    expect(result.total).toBe(COUNT);
    expect(result.items.map((row) => row.name)).toEqual(expected(sort, order).slice((page - 1) * 50, page * 50));
  });
});
