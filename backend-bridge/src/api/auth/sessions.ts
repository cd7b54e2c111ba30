import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../identity.js';

export const SESSION_COOKIE = 'oml_session';
export const SESSION_IDLE_MS = 30 * 60 * 1000;
export const SESSION_ABSOLUTE_MS = 12 * 60 * 60 * 1000;

export interface Session {
  /** 32 random bytes, base64url: the cookie value. */
  readonly id: string;
  identity: Identity;
  /** Sent back by the UI as X-CSRF-Token on every write. */
  readonly csrfToken: string;
  readonly createdMs: number;
  lastSeenMs: number;
}

/**
 * Standalone login sessions, in memory: a daemon restart logs everyone out, which is acceptable for an admin
 * tool and keeps session ids out of the store. Memory is bounded by `maxSessions` (oldest dropped first).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly maxSessions: number;

  constructor(options: { now?: () => number; idleMs?: number; absoluteMs?: number; maxSessions?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? SESSION_IDLE_MS;
    this.absoluteMs = options.absoluteMs ?? SESSION_ABSOLUTE_MS;
    this.maxSessions = options.maxSessions ?? 10_000;
  }

  get size(): number {
    return this.sessions.size;
  }

  create(identity: Identity): Session {
    this.sweep();
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done) break;
      this.sessions.delete(oldest.value);
    }
    const now = this.now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      identity,
      csrfToken: randomBytes(32).toString('base64url'),
      createdMs: now,
      lastSeenMs: now,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (its idle timer restarts), or null when unknown or expired. */
  get(id: string | undefined): Session | null {
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(id);
      return null;
    }
    session.lastSeenMs = now;
    return session;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session of one login (user removed or password changed); returns how many. */
  destroyForLogin(login: string): number {
    let count = 0;
    for (const [id, session] of this.sessions) {
      if (session.identity.login === login) {
        this.sessions.delete(id);
        count++;
      }
    }
    return count;
  }

  /** Drops expired sessions; called on create, and may be called on a timer. */
  sweep(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(id);
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeenMs > this.idleMs || now - session.createdMs > this.absoluteMs;
  }
}

/** Constant-time comparison of the X-CSRF-Token header with the session's token. */
export function csrfTokenMatches(session: Session, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const THROTTLE_MAX_FAILURES = 5;
/**
 * Failures from one address, whatever the login, before that address is refused too. Behind a reverse proxy or
 * an SSH tunnel every person arrives from the same address (127.0.0.1), so this must stay far above what a
 * team mistypes: 100 is twenty people each using up their own 5 tries within the window. It still holds a
 * guesser spraying many logins from one address to 100 guesses per 15 minutes (9,600 a day), against passwords
 * such as the 16 random characters `user add` generates.
 */
export const THROTTLE_MAX_ADDRESS_FAILURES = 100;
export const THROTTLE_WINDOW_MS = 15 * 60 * 1000;

/** An attempt the throttle let through; tell it `succeeded` when the password was right. */
export interface LoginAttempt {
  readonly pairKey: string;
  readonly address: string | undefined;
  readonly atMs: number;
}

export type ThrottleVerdict = { allowed: true; attempt: LoginAttempt } | { allowed: false; retryAfterSeconds: number };

/**
 * Login attempts per (login, client address), and per address alone at a much higher count
 * (THROTTLE_MAX_ADDRESS_FAILURES). Five failures of one login from one address do not lock other people out of
 * their logins, even when everyone shares that address.
 *
 * An attempt counts as a failure from the moment it is let through (`begin`), before its password is checked:
 * checking is asynchronous (scrypt), so counting afterwards let any number of parallel guesses past the limit.
 * A right password then takes its attempt back and clears that pair's failures (`succeeded`). Refused attempts
 * are not counted (the password is not even checked), so waiting always ends the block.
 */
export class LoginThrottle {
  private readonly byPair = new Map<string, number[]>();
  private readonly byAddress = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly maxFailures: number;
  private readonly maxAddressFailures: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(options: { now?: () => number; maxFailures?: number; maxAddressFailures?: number; windowMs?: number; maxKeys?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.maxFailures = options.maxFailures ?? THROTTLE_MAX_FAILURES;
    this.maxAddressFailures = options.maxAddressFailures ?? THROTTLE_MAX_ADDRESS_FAILURES;
    this.windowMs = options.windowMs ?? THROTTLE_WINDOW_MS;
    this.maxKeys = options.maxKeys ?? 50_000;
  }

  /**
   * Lets an attempt through and counts it, or refuses it. `address` may be undefined (unix socket without a
   * trusted proxy header): then only the login counts.
   */
  begin(login: string, address: string | undefined): ThrottleVerdict {
    const now = this.now();
    const pairKey = pairKeyOf(login, address);
    const wait = Math.max(
      this.waitMs(this.byPair, pairKey, this.maxFailures, now),
      address ? this.waitMs(this.byAddress, address, this.maxAddressFailures, now) : 0,
    );
    if (wait > 0) return { allowed: false, retryAfterSeconds: Math.ceil(wait / 1000) };
    this.add(this.byPair, pairKey, this.maxFailures, now);
    if (address) this.add(this.byAddress, address, this.maxAddressFailures, now);
    return { allowed: true, attempt: { pairKey, address, atMs: now } };
  }

  /** The password was right: the attempt was no failure, and that login's earlier failures from there are forgiven. */
  succeeded(attempt: LoginAttempt): void {
    this.byPair.delete(attempt.pairKey);
    // The address keeps its other failures: one good account must not wipe out guesses at other logins.
    if (!attempt.address) return;
    const failures = this.byAddress.get(attempt.address);
    const index = failures?.lastIndexOf(attempt.atMs) ?? -1;
    if (failures && index >= 0) failures.splice(index, 1);
  }

  private waitMs(map: Map<string, number[]>, key: string, max: number, now: number): number {
    const failures = this.recent(map, key, now);
    if (failures.length < max) return 0;
    const blockingFailure = failures[failures.length - max] ?? now;
    return blockingFailure + this.windowMs - now;
  }

  private recent(map: Map<string, number[]>, key: string, now: number): number[] {
    const all = map.get(key);
    if (!all) return [];
    const recent = all.filter((at) => now - at < this.windowMs);
    if (recent.length === 0) map.delete(key);
    else if (recent.length !== all.length) map.set(key, recent);
    return recent;
  }

  private add(map: Map<string, number[]>, key: string, max: number, now: number): void {
    // Only the last `max` entries matter for the verdict; keep no more.
    const failures = [...this.recent(map, key, now), now].slice(-max);
    map.delete(key); // re-insert so Map order is least recently failed first
    map.set(key, failures);
    if (map.size > this.maxKeys) this.prune(map, now);
  }

  private prune(map: Map<string, number[]>, now: number): void {
    for (const key of [...map.keys()]) this.recent(map, key, now);
    // Still too many distinct keys within the window: forget the least recently failing ones.
    for (const key of map.keys()) {
      if (map.size <= this.maxKeys) break;
      map.delete(key);
    }
  }
}

function pairKeyOf(login: string, address: string | undefined): string {
  // An address never holds a newline, so the last one in the key separates the two unambiguously.
  return `${login.toLowerCase()}\n${address ?? ''}`;
}
