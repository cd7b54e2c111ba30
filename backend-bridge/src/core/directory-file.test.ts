import { describe, expect, it } from 'vitest';
import { parseDirectoryFile } from './directory-file.js';

const valid = {
  subscriptions: [
    {
      name: 'Example.com',
      owner: 'jdoe',
      reseller: 'res1',
      systemUser: 'examplecom',
      limit: null,
      domains: [{ name: 'Example.com', limit: 'unlimited', mailboxes: [{ address: 'Alice@Example.com', limit: 5 }] }],
    },
  ],
};

describe('parseDirectoryFile', () => {
  it('accepts the documented format and lower-cases names', () => {
    const result = parseDirectoryFile(valid);
    expect(result).toEqual({
      ok: true,
      directory: {
        subscriptions: [
          {
            name: 'example.com',
            owner: 'jdoe',
            reseller: 'res1',
            systemUser: 'examplecom',
            limit: null,
            plan: null,
            domains: [{ name: 'example.com', limit: 'unlimited', mailboxes: [{ address: 'alice@example.com', limit: 5 }] }],
          },
        ],
      },
    });
  });

  it('reads the service plan of a subscription, and names the field of a bad plan value', () => {
    const planned = { subscriptions: [{ ...valid.subscriptions[0]!, plan: { name: 'Silver', mailbox: 20, domain: null, subscription: 'unlimited' } }] };
    const result = parseDirectoryFile(planned);
    expect(result.ok && result.directory.subscriptions[0]?.plan).toEqual({ name: 'Silver', mailbox: 20, domain: null, subscription: 'unlimited' });

    const bad = { subscriptions: [{ ...valid.subscriptions[0]!, plan: { name: 'Silver', mailbox: -2, domain: null, subscription: null } }] };
    const refused = parseDirectoryFile(bad);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.errors.map((e) => e.field)).toEqual(['subscriptions[0].plan.mailbox']);
  });

  it('names the field of a bad limit', () => {
    const bad = structuredClone(valid);
    (bad.subscriptions[0]!.domains[0]!.mailboxes[0] as { limit: unknown }).limit = -5;
    const result = parseDirectoryFile(bad);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      { field: 'subscriptions[0].domains[0].mailboxes[0].limit', message: 'expected a whole number from 0 to 1000000000, "unlimited" or "default", got -5' },
    ]);
  });

  it('rejects unknown fields, missing owners and addresses outside their domain', () => {
    const bad = structuredClone(valid) as unknown as { subscriptions: Array<Record<string, unknown>> };
    delete bad.subscriptions[0]!.owner;
    bad.subscriptions[0]!.colour = 'blue';
    const result = parseDirectoryFile(bad);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const fields = result.errors.map((e) => e.field);
      expect(fields).toContain('subscriptions[0].owner');
      expect(fields).toContain('subscriptions[0]');
      expect(result.errors.find((e) => e.field === 'subscriptions[0]')?.message).toMatch(/colour/);
    }
    const outside = structuredClone(valid);
    outside.subscriptions[0]!.domains[0]!.mailboxes[0]!.address = 'alice@other.org';
    const second = parseDirectoryFile(outside);
    expect(second).toEqual({
      ok: false,
      errors: [{ field: 'subscriptions[0].domains[0].mailboxes[0].address', message: 'alice@other.org is not an address of domain example.com' }],
    });
  });

  it('subscription names are domain names and owners are logins, as the signed identity carries them; errors name the field', () => {
    const withSubscription = (changes: Record<string, unknown>) => ({ subscriptions: [{ ...structuredClone(valid.subscriptions[0]!), ...changes }] });
    const errorsOf = (input: unknown) => {
      const result = parseDirectoryFile(input);
      return result.ok ? [] : result.errors;
    };
    expect(errorsOf(withSubscription({ name: 'my shop, inc' }))).toEqual([{ field: 'subscriptions[0].name', message: 'must be a domain name like example.com' }]);
    expect(errorsOf(withSubscription({ name: 'exam\u200bple.com' }))).toEqual([{ field: 'subscriptions[0].name', message: 'must be a domain name like example.com' }]);
    const loginMessage = 'must be a login: 1 to 255 printable ASCII characters without spaces';
    expect(errorsOf(withSubscription({ owner: 'jdoe\nadmin' }))).toEqual([{ field: 'subscriptions[0].owner', message: loginMessage }]);
    expect(errorsOf(withSubscription({ reseller: 'res 1' }))).toEqual([{ field: 'subscriptions[0].reseller', message: loginMessage }]);
    expect(errorsOf(withSubscription({ systemUser: '' }))).toEqual([{ field: 'subscriptions[0].systemUser', message: loginMessage }]);
  });

  it('rejects duplicates across the whole file', () => {
    const dup = structuredClone(valid);
    dup.subscriptions.push({ ...structuredClone(valid.subscriptions[0]!), name: 'other.example' });
    const result = parseDirectoryFile(dup);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.message)).toEqual(['duplicate domain example.com', 'duplicate mailbox alice@example.com']);
  });

  it('rejects things that are not a directory at all', () => {
    for (const input of [null, [], 'text', { subscriptions: 'x' }]) expect(parseDirectoryFile(input).ok).toBe(false);
  });
});
