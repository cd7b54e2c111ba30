import { describe, expect, it } from 'vitest';
import type { Identity } from '../identity.js';
import { csrfTokenMatches, LoginThrottle, SessionStore } from './sessions.js';

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
  it('after 5 failures for one login within 15 minutes, refuses with the time until the window passes', () => {
    const time = clock();
    const throttle = new LoginThrottle({ now: time.now });
    for (let i = 0; i < 5; i++) {
      expect(throttle.check('alice', '192.0.2.1')).toEqual({ allowed: true });
      throttle.recordFailure('alice', `192.0.2.${i + 1}`); // from different addresses: the login counts
      time.advance(MINUTE);
    }
    // First failure 5 minutes ago: blocked for 10 more minutes.
    expect(throttle.check('ALICE', '198.51.100.9')).toEqual({ allowed: false, retryAfterSeconds: 600 });
    expect(throttle.check('bob', '198.51.100.9')).toEqual({ allowed: true });
    time.advance(10 * MINUTE - 1000);
    expect(throttle.check('alice', undefined)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    time.advance(1000);
    // The oldest failure left the window: 4 remain, one more attempt is allowed.
    expect(throttle.check('alice', undefined)).toEqual({ allowed: true });
    throttle.recordFailure('alice', undefined);
    expect(throttle.check('alice', undefined).allowed).toBe(false);
  });

  it('after 5 failures from one address, refuses every login from it', () => {
    const time = clock();
    const throttle = new LoginThrottle({ now: time.now });
    for (const login of ['a', 'b', 'c', 'd', 'e']) throttle.recordFailure(login, '203.0.113.5');
    expect(throttle.check('admin', '203.0.113.5')).toEqual({ allowed: false, retryAfterSeconds: 900 });
    expect(throttle.check('admin', '203.0.113.6')).toEqual({ allowed: true });
    time.advance(15 * MINUTE);
    expect(throttle.check('admin', '203.0.113.5')).toEqual({ allowed: true });
  });

  it('a successful login clears that login’s failures but not the address’s', () => {
    const throttle = new LoginThrottle();
    for (let i = 0; i < 4; i++) throttle.recordFailure('alice', '203.0.113.5');
    throttle.recordSuccess('alice');
    throttle.recordFailure('alice', '203.0.113.7');
    expect(throttle.check('alice', '203.0.113.7')).toEqual({ allowed: true });
    throttle.recordFailure('mallory', '203.0.113.5');
    expect(throttle.check('zed', '203.0.113.5').allowed).toBe(false);
  });

  it('bounds the number of remembered keys', () => {
    const throttle = new LoginThrottle({ maxKeys: 10 });
    for (let i = 0; i < 100; i++) throttle.recordFailure(`user${i}`, undefined);
    for (let i = 0; i < 4; i++) throttle.recordFailure('user99', undefined);
    expect(throttle.check('user99', undefined).allowed).toBe(false); // the most recent keys are kept
  });
});
