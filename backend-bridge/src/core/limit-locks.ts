import type { Identity, Role } from '../api/identity.js';
import type { LimitOverride } from './limits.js';

/**
 * Locks on limit values. A value set by an administrator or a reseller is theirs: the roles below them may not
 * change it (nor undo it indirectly, e.g. by returning it to the default), unless the one who set it left it
 * open. Without an explicit choice a value of 0 is locked and any other value is left open: a 0 is a block, and
 * a block a customer could lift is no block.
 */

/** Who set an object's value and keeps it for the roles below theirs. */
export interface LimitLock {
  login: string;
  role: LockingRole;
}

/** Only these roles lock: a customer has nobody below. */
export type LockingRole = Exclude<Role, 'customer'>;

const ROLE_RANK: Record<Role, number> = { customer: 0, reseller: 1, admin: 2 };

export function isLockingRole(role: string): role is LockingRole {
  return role === 'admin' || role === 'reseller';
}

/** Whether this person may lock or leave open the values they set. */
export function mayLock(identity: Identity): boolean {
  return isLockingRole(identity.role);
}

/** Whether `lock` stops this person: only the roles below the one who locked are stopped. */
export function isLockedFor(identity: Identity, lock: LimitLock | null): boolean {
  return lock !== null && ROLE_RANK[identity.role] < ROLE_RANK[lock.role];
}

/** Without an explicit choice: a value of 0 (a block) is locked, any other value left open. */
export function lockedByDefault(value: LimitOverride): boolean {
  return value === 0;
}

/** `code` and `params`: what the refusal is, for screens that say it in their own words (see hold-cause.ts RefusalCode). */
export type LockRefusal = { status: 403; error: string; code: string; params: Record<string, unknown> };

const ROLE_WORD: Record<LockingRole, string> = { admin: 'administrator', reseller: 'reseller' };

/** The 403 for a change of a locked value, naming who holds the lock; null when the lock does not stop them. */
export function lockRefusal(identity: Identity, object: { level: string; name: string; lock: LimitLock | null }): LockRefusal | null {
  const lock = object.lock;
  if (!lock || !isLockedFor(identity, lock)) return null;
  const level = object.level === 'mailbox' ? 'email address' : object.level;
  return {
    status: 403,
    error: `The limit of ${level} ${object.name} was set and locked by the ${ROLE_WORD[lock.role]} ${lock.login}; only they (or a higher role) can change it.`,
    code: 'locked',
    params: { level: object.level, name: object.name, role: lock.role, login: lock.login },
  };
}

/**
 * The lock an object carries after this person sets its value (checked before: the current lock does not stop
 * them). `locked` true: theirs; false: open. Absent (a caller that does not choose, such as Plesk's forms and
 * resync): a lock already there stays as it is, since a change that does not mention the lock must not lift it;
 * an open value is locked when it is 0. A customer's value is always open: there is nobody below them.
 */
export function lockAfterChange(identity: Identity, value: LimitOverride, locked: boolean | undefined, current: LimitLock | null): LimitLock | null {
  if (!isLockingRole(identity.role)) return null;
  if (locked === undefined && current !== null) return current;
  return (locked ?? lockedByDefault(value)) ? { login: identity.login, role: identity.role } : null;
}

/** A customer asking to lock a value: there is nobody below them to lock it for. */
export function lockRequestRefusal(identity: Identity, locked: boolean | undefined): LockRefusal | null {
  if (locked !== true || mayLock(identity)) return null;
  return { status: 403, error: 'Only the administrator or a reseller can lock a limit.', code: 'lockNotForCustomers', params: {} };
}

export function sameLock(a: LimitLock | null, b: LimitLock | null): boolean {
  return a === b || (a !== null && b !== null && a.login === b.login && a.role === b.role);
}
