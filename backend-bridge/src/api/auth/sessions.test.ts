import { describe, expect, it } from 'vitest';
import type { Identity } from '../identity.js';
import { csrfTokenMatches, LoginThrottle, SessionStore, THROTTLE_MAX_ADDRESS_FAILURES } from './sessions.js';

const MINUTE = 60_000;
const alice: Identity = { login: 'alice', role: 'customer', userId: '1', via: 'session' };

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('sessions', () => {
  it('creates random base64url ids and CSRF tokens', () => {
    const store = new SessionStore();
    const a = store.create(alice);
    const b = store.create(alice);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.csrfToken).not.toBe(a.id);
    expect(store.get(a.id)?.identity).toEqual(alice);
    expect(store.get('unknown')).toBeNull();
    expect(store.get(undefined)).toBeNull();
  });

  it('expires after 30 idle minutes; use keeps it alive', () => {
    const time = clock();
    const store = new SessionStore({ now: time.now });
    const kept = store.create(alice);
    const idle = store.create(alice);
    time.advance(29 * MINUTE);
    expect(store.get(kept.id)).not.toBeNull();
    time.advance(2 * MINUTE);
    expect(store.get(kept.id)).not.toBeNull(); // used 2 minutes ago
    expect(store.get(idle.id)).toBeNull(); // 31 minutes idle
    expect(store.size).toBe(1);
  });

  it('expires 12 hours after login however busy', () => {
    const time = clock();
    const store = new SessionStore({ now: time.now });
    const session = store.create(alice);
    for (let i = 0; i < 12 * 4; i++) {
      time.advance(15 * MINUTE);
      if (i < 12 * 4 - 1) expect(store.get(session.id)).not.toBeNull();
    }
    time.advance(1);
    expect(store.get(session.id)).toBeNull();
  });

  it('destroys one session, or all sessions of a login; stays within its size bound', () => {
    const store = new SessionStore({ maxSessions: 3 });
    const first = store.create(alice);
    const second = store.create(alice);
    store.create({ ...alice, login: 'bob' });
    store.create({ ...alice, login: 'carol' }); // evicts the oldest
    expect(store.size).toBe(3);
    expect(store.get(first.id)).toBeNull();
    store.destroy(second.id);
    expect(store.get(second.id)).toBeNull();
    expect(store.destroyForLogin('bob')).toBe(1);
    expect(store.size).toBe(1);
  });

  it('compares CSRF tokens exactly', () => {
    const session = new SessionStore().create(alice);
    expect(csrfTokenMatches(session, session.csrfToken)).toBe(true);
    expect(csrfTokenMatches(session, `${session.csrfToken}x`)).toBe(false);
    expect(csrfTokenMatches(session, undefined)).toBe(false);
    expect(csrfTokenMatches(session, [session.csrfToken])).toBe(false);
  });
});

describe('login throttle', () => {
  /** One attempt that turned out wrong: it stays counted. */
  const fail = (throttle: LoginThrottle, login: string, address: string | undefined) => expect(throttle.begin(login, address).allowed).toBe(true);

  it('after 5 attempts of one login from one address within 15 minutes, refuses with the time until the window passes', () => {
    const time = clock();
    const throttle = new LoginThrottle({ now: time.now });
    for (let i = 0; i < 5; i++) {
      fail(throttle, 'alice', '192.0.2.1');
      time.advance(MINUTE);
    }
    // First failure 5 minutes ago: blocked for 10 more minutes.
    expect(throttle.begin('ALICE', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 600 });
    time.advance(10 * MINUTE - 1000);
    expect(throttle.begin('alice', '192.0.2.1')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    time.advance(1000);
    // The oldest failure left the window: 4 remain, one more attempt is allowed.
    fail(throttle, 'alice', '192.0.2.1');
    expect(throttle.begin('alice', '192.0.2.1').allowed).toBe(false);
  });

  it('counts an attempt when it begins: attempts still being checked fill the budget', () => {
    const throttle = new LoginThrottle();
    const verdicts = Array.from({ length: 300 }, () => throttle.begin('alice', '127.0.0.1'));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(5);
  });

  it('one login locked from an address leaves the other logins from that address alone', () => {
    const throttle = new LoginThrottle();
    for (let i = 0; i < 5; i++) fail(throttle, 'alice', '127.0.0.1');
    expect(throttle.begin('alice', '127.0.0.1').allowed).toBe(false);
    expect(throttle.begin('bob', '127.0.0.1').allowed).toBe(true);
    expect(throttle.begin('alice', '192.0.2.7').allowed).toBe(true);
  });

  it('on the unix socket (no address) the login alone counts', () => {
    const throttle = new LoginThrottle();
    for (let i = 0; i < 5; i++) fail(throttle, 'alice', undefined);
    expect(throttle.begin('alice', undefined).allowed).toBe(false);
    expect(throttle.begin('bob', undefined).allowed).toBe(true);
  });

  it(`after ${THROTTLE_MAX_ADDRESS_FAILURES} failures from one address, whatever the logins, refuses every login from it`, () => {
    const time = clock();
    const throttle = new LoginThrottle({ now: time.now });
    for (let i = 0; i < THROTTLE_MAX_ADDRESS_FAILURES; i++) fail(throttle, `user${i % 30}`, '203.0.113.5');
    expect(throttle.begin('admin', '203.0.113.5')).toEqual({ allowed: false, retryAfterSeconds: 900 });
    expect(throttle.begin('admin', '203.0.113.6').allowed).toBe(true);
    time.advance(15 * MINUTE);
    expect(throttle.begin('admin', '203.0.113.5').allowed).toBe(true);
  });

  it('a right password takes its attempt back and forgives that login’s failures there, not the address’s', () => {
    const throttle = new LoginThrottle({ maxAddressFailures: 6 });
    for (let i = 0; i < 4; i++) fail(throttle, 'alice', '203.0.113.5');
    const right = throttle.begin('alice', '203.0.113.5');
    if (!right.allowed) throw new Error('expected the fifth attempt to be let through');
    throttle.succeeded(right.attempt);
    // alice starts afresh from there; the address keeps alice's 4 failures: 2 more of anyone's reach its 6.
    for (let i = 0; i < 2; i++) fail(throttle, 'alice', '203.0.113.5');
    expect(throttle.begin('zed', '203.0.113.5').allowed).toBe(false);
  });

  it('bounds the number of remembered keys', () => {
    const throttle = new LoginThrottle({ maxKeys: 10 });
    for (let i = 0; i < 100; i++) fail(throttle, `user${i}`, undefined);
    for (let i = 0; i < 4; i++) fail(throttle, 'user99', undefined);
    expect(throttle.begin('user99', undefined).allowed).toBe(false); // the most recent keys are kept
  });
});
