import type { DirectoryFile } from '../src/core/directory-file.js';
import type { LimitOverride } from '../src/core/limits.js';

/**
 * The directory most tests use: subscription example.com (customer jdoe of reseller res1) with domains
 * example.com (alice, bob, carol, dave) and example.net (erin), plus subscription other.org (customer mary).
 */
export function exampleDirectory(overrides: { [name: string]: LimitOverride } = {}): DirectoryFile {
  const limit = (name: string): LimitOverride => overrides[name] ?? null;
  const mailboxes = (domain: string, locals: string[]) => locals.map((local) => ({ address: `${local}@${domain}`, limit: limit(`${local}@${domain}`) }));
  return {
    subscriptions: [
      {
        name: 'example.com',
        owner: 'jdoe',
        reseller: 'res1',
        systemUser: 'examplecom',
        limit: limit('sub:example.com'),
        domains: [
          { name: 'example.com', limit: limit('example.com'), mailboxes: mailboxes('example.com', ['alice', 'bob', 'carol', 'dave']) },
          { name: 'example.net', limit: limit('example.net'), mailboxes: mailboxes('example.net', ['erin']) },
        ],
      },
      {
        name: 'other.org',
        owner: 'mary',
        reseller: null,
        systemUser: 'otherorg',
        limit: limit('sub:other.org'),
        domains: [{ name: 'other.org', limit: limit('other.org'), mailboxes: mailboxes('other.org', ['mallory']) }],
      },
    ],
  };
}
