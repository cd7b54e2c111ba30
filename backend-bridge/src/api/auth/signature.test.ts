import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDirectoryFile } from '../../core/directory-file.js';
import {
  canonicalString,
  MAX_PERMITTED_SUBSCRIPTIONS,
  newNonce,
  parsePermittedSubscriptions,
  PERMITTED_SUBSCRIPTIONS_HEADER,
  ReplayCache,
  SIGNATURE_HEADERS,
  signRequest,
  verifySignedRequest,
  type SignatureInput,
} from './signature.js';

const secret = randomBytes(32);
const NOW = 1_700_000_000;

function input(overrides: Partial<SignatureInput> = {}): SignatureInput {
  return {
    method: 'post',
    path: '/api/v1/limits?level=mailbox&x=%20y',
    body: Buffer.from('{"limit":5}'),
    login: 'jdoe',
    userId: '42',
    role: 'customer',
    timestampSeconds: NOW,
    nonce: 'abcdefghijklmnop_-12',
    ...overrides,
  };
}

/** Node lower-cases incoming header names. */
function received(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function verify(signed: SignatureInput, sent: Partial<{ method: string; path: string; body: Buffer }> = {}, options: { now?: number; cache?: ReplayCache; key?: Buffer; headers?: Record<string, string> } = {}) {
  const headers = options.headers ?? received(signRequest(options.key ?? secret, signed));
  return verifySignedRequest(
    secret,
    { method: sent.method ?? signed.method.toUpperCase(), path: sent.path ?? signed.path, body: sent.body ?? signed.body, headers },
    options.now ?? NOW,
    options.cache ?? new ReplayCache(),
  );
}

describe('signed requests (Plesk mode)', () => {
  it('the canonical string is METHOD, path, body hash, timestamp, nonce, login, user id, role, permitted subscriptions joined by newlines', () => {
    expect(canonicalString(input({ body: Buffer.alloc(0) })).split('\n')).toEqual([
      'POST',
      '/api/v1/limits?level=mailbox&x=%20y',
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      String(NOW),
      'abcdefghijklmnop_-12',
      'jdoe',
      '42',
      'customer',
      '',
    ]);
    expect(canonicalString(input({ permittedSubscriptions: ['example.com', 'xn--bcher-kva.example'] })).split('\n').at(-1)).toBe('example.com,xn--bcher-kva.example');
    const headers = signRequest(secret, input());
    expect(Object.keys(headers).sort()).toEqual(Object.values(SIGNATURE_HEADERS).sort());
    expect(headers['X-OML-Signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a valid request yields the Plesk identity; a customer always with the subscriptions of the limits permission', () => {
    expect(verify(input())).toEqual({ ok: true, identity: { login: 'jdoe', role: 'customer', userId: '42', via: 'plesk', permittedSubscriptions: new Set() } });
    const permitted = input({ permittedSubscriptions: ['example.com', 'other.org'] });
    expect(signRequest(secret, permitted)[PERMITTED_SUBSCRIPTIONS_HEADER]).toBe('example.com,other.org');
    expect(verify(permitted)).toEqual({ ok: true, identity: { login: 'jdoe', role: 'customer', userId: '42', via: 'plesk', permittedSubscriptions: new Set(['example.com', 'other.org']) } });
    // Other roles carry no list at all (they are not subject to the permission).
    const reseller = verify(input({ role: 'reseller', login: 'res1' }));
    expect(reseller.ok && 'permittedSubscriptions' in reseller.identity).toBe(false);
  });

  it('the permitted subscriptions are signed: adding, changing or dropping the header is a bad signature', () => {
    const signed = input({ permittedSubscriptions: ['example.com'] });
    const headers = received(signRequest(secret, signed));
    const header = PERMITTED_SUBSCRIPTIONS_HEADER.toLowerCase();
    expect(verify(signed, {}, { headers: { ...headers, [header]: 'example.com,other.org' } })).toEqual({ ok: false, reason: 'bad signature' });
    const { [header]: _dropped, ...withoutList } = headers;
    expect(verify(signed, {}, { headers: withoutList })).toEqual({ ok: false, reason: 'bad signature' });
    const unsigned = input();
    expect(verify(unsigned, {}, { headers: { ...received(signRequest(secret, unsigned)), [header]: 'other.org' } })).toEqual({ ok: false, reason: 'bad signature' });
    // An empty header means what no header means.
    expect(verify(unsigned, {}, { headers: { ...received(signRequest(secret, unsigned)), [header]: '' } }).ok).toBe(true);
  });

  it.each([
    ['upper case', 'Example.com', '"Example.com" is not one'],
    ['a space after the comma', 'example.com, other.org', '" other.org" is not one'],
    ['an empty name', 'example.com,,other.org', '"" is not one'],
    ['a trailing comma', 'example.com,', '"" is not one'],
    ['no domain name', 'localhost', '"localhost" is not one'],
    ['a name twice', 'example.com,other.org,example.com', 'names subscription example.com twice'],
  ])('refuses a malformed permitted-subscriptions header (%s) with the reason', (_case, value, reason) => {
    const headers = received(signRequest(secret, input()));
    const result = verify(input(), {}, { headers: { ...headers, [PERMITTED_SUBSCRIPTIONS_HEADER.toLowerCase()]: value } });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
    expect(result.ok || result.reason).toContain(PERMITTED_SUBSCRIPTIONS_HEADER);
  });

  it('refuses more than the maximum number of permitted subscriptions, and a list for any role but customer', () => {
    const many = Array.from({ length: MAX_PERMITTED_SUBSCRIPTIONS + 1 }, (_, i) => `s${i}.example`);
    expect(verify(input({ permittedSubscriptions: many }))).toEqual({ ok: false, reason: expect.stringContaining(`at most ${MAX_PERMITTED_SUBSCRIPTIONS}`) });
    expect(verify(input({ permittedSubscriptions: many.slice(0, MAX_PERMITTED_SUBSCRIPTIONS) })).ok).toBe(true);
    for (const role of ['admin', 'reseller'] as const) {
      expect(verify(input({ role, permittedSubscriptions: ['example.com'] }))).toEqual({ ok: false, reason: `header X-OML-Permitted-Subscriptions is for customers only, not for role ${role}` });
    }
    expect(verify(input({ login: 'root', role: 'admin', userId: '', permittedSubscriptions: ['example.com'] })).ok).toBe(false);
  });

  it('accepts timestamps up to 60 s off either way', () => {
    expect(verify(input({ timestampSeconds: NOW - 60 })).ok).toBe(true);
    expect(verify(input({ timestampSeconds: NOW + 60 })).ok).toBe(true);
  });

  it('the local command (root, admin, empty user id) yields via local', () => {
    expect(verify(input({ login: 'root', role: 'admin', userId: '' }))).toEqual({ ok: true, identity: { login: 'root', role: 'admin', userId: null, via: 'local' } });
    expect(verify(input({ login: 'jdoe', role: 'admin', userId: '' }))).toEqual({ ok: false, reason: expect.stringContaining('only allowed for the local command') });
    expect(verify(input({ login: 'root', role: 'customer', userId: '' })).ok).toBe(false);
  });

  it.each([
    ['tampered body', input(), { body: Buffer.from('{"limit":500}') }],
    ['tampered path', input(), { path: '/api/v1/limits?level=domain' }],
    ['tampered query string encoding', input(), { path: '/api/v1/limits?level=mailbox&x= y' }],
    ['other method', input(), { method: 'PUT' }],
  ] as const)('rejects a %s as bad signature', (_name, signed, sent) => {
    expect(verify(signed, sent)).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('rejects a signature made with another secret', () => {
    expect(verify(input(), {}, { key: randomBytes(32) })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('rejects a changed identity header (the identity is signed)', () => {
    const headers = received(signRequest(secret, input()));
    expect(verify(input(), {}, { headers: { ...headers, 'x-oml-role': 'admin' } })).toEqual({ ok: false, reason: 'bad signature' });
    expect(verify(input(), {}, { headers: { ...headers, 'x-oml-login': 'mary' } })).toEqual({ ok: false, reason: 'bad signature' });
  });

  it('rejects a timestamp 61 s old or 61 s in the future', () => {
    expect(verify(input({ timestampSeconds: NOW - 61 }))).toEqual({ ok: false, reason: 'signature expired' });
    expect(verify(input({ timestampSeconds: NOW + 61 }))).toEqual({ ok: false, reason: 'signature timestamp is in the future' });
  });

  it('rejects a replayed nonce while it is remembered, also when the timestamp is still acceptable', () => {
    const cache = new ReplayCache();
    const signed = input();
    expect(verify(signed, {}, { cache }).ok).toBe(true);
    expect(verify(signed, {}, { cache })).toEqual({ ok: false, reason: 'nonce already used (replayed request)' });
    expect(verify(signed, {}, { cache, now: NOW + 60 })).toEqual({ ok: false, reason: 'nonce already used (replayed request)' });
    // Once forgotten (120 s), the timestamp is long expired, so the request still cannot be replayed.
    expect(verify(signed, {}, { cache, now: NOW + 121 })).toEqual({ ok: false, reason: 'signature expired' });
  });

  it('does not burn a nonce on a request whose signature is wrong', () => {
    const cache = new ReplayCache();
    expect(verify(input(), { body: Buffer.from('x') }, { cache }).ok).toBe(false);
    expect(verify(input(), {}, { cache }).ok).toBe(true);
  });

  it.each(Object.values(SIGNATURE_HEADERS))('rejects a request without %s', (name) => {
    const headers = received(signRequest(secret, input()));
    delete headers[name.toLowerCase()];
    expect(verify(input(), {}, { headers })).toEqual({ ok: false, reason: `missing header ${name}` });
  });

  it('rejects malformed values by name', () => {
    expect(verify(input({ role: 'superuser' as 'admin' }))).toEqual({ ok: false, reason: 'unknown role "superuser" in X-OML-Role' });
    expect(verify(input({ nonce: 'short' }))).toEqual({ ok: false, reason: expect.stringContaining('X-OML-Nonce') });
    expect(verify(input({ nonce: 'x'.repeat(65) }))).toEqual({ ok: false, reason: expect.stringContaining('X-OML-Nonce') });
    expect(verify(input({ nonce: 'abcdefghijklmnop!' }))).toEqual({ ok: false, reason: expect.stringContaining('X-OML-Nonce') });
    const headers = received(signRequest(secret, input()));
    expect(verify(input(), {}, { headers: { ...headers, 'x-oml-timestamp': '17e8' } })).toEqual({ ok: false, reason: expect.stringContaining('X-OML-Timestamp') });
    expect(verify(input(), {}, { headers: { ...headers, 'x-oml-signature': 'ABC' } })).toEqual({ ok: false, reason: expect.stringContaining('X-OML-Signature') });
  });

  it('newNonce fits the nonce format', () => {
    expect(verify(input({ nonce: newNonce() })).ok).toBe(true);
  });

  it('the replay cache forgets entries after 120 s and refuses new ones when full of fresh entries', () => {
    const cache = new ReplayCache(2);
    expect(cache.remember('a', 0)).toBe('ok');
    expect(cache.remember('b', 10)).toBe('ok');
    expect(cache.remember('c', 20)).toBe('full');
    expect(cache.remember('c', 120)).toBe('ok'); // 'a' forgotten
    expect(cache.size).toBe(2);
    expect(cache.remember('b', 129)).toBe('replay');
    expect(cache.remember('b', 131)).toBe('ok');
  });
});

describe('the directory and the signed identity agree on names', () => {
  const directoryWith = (subscription: { name: string; owner: string }) => ({ subscriptions: [{ ...subscription, reseller: null, systemUser: null, limit: null }] });

  it('a subscription name is importable exactly when X-OML-Permitted-Subscriptions can grant it', () => {
    for (const name of ['my shop, inc', 'exam\u200bple.com', 'shop', 'example.com', 'xn--bcher-kva.example', 'a'.repeat(63) + '.example']) {
      expect(parseDirectoryFile(directoryWith({ name, owner: 'jdoe' })).ok, JSON.stringify(name)).toBe(parsePermittedSubscriptions(name).ok);
    }
  });

  it('an owner is importable exactly when X-OML-Login can carry it', () => {
    for (const owner of ['jdoe', 'jdoe\nadmin', 'j doe', 'jörg', 'user@example.com', '', 'x'.repeat(256)]) {
      const signed = verify(input({ login: owner }));
      const refusedForLogin = !signed.ok && signed.reason.includes(SIGNATURE_HEADERS.login);
      expect(parseDirectoryFile(directoryWith({ name: 'example.com', owner })).ok, JSON.stringify(owner)).toBe(!refusedForLogin);
    }
  });
});
