import type { Db } from '../../store/database.js';
import { ROLES, type Role } from '../identity.js';
import { hashPassword } from './passwords.js';

/** Logins of the standalone UI (table `users`, migration 2). Inside Plesk, Plesk itself authenticates people. */
export const LOGIN_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

export function isValidLogin(login: string): boolean {
  return LOGIN_PATTERN.test(login);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export interface UserRecord {
  id: number;
  login: string;
  role: Role;
  createdMs: number;
}

export interface UserWithHash extends UserRecord {
  passwordHash: string;
}

interface UserRow {
  id: number;
  login: string;
  role: Role;
  password_hash: string;
  created_ms: number;
}

function fromRow(row: UserRow): UserWithHash {
  return { id: row.id, login: row.login, role: row.role, createdMs: row.created_ms, passwordHash: row.password_hash };
}

function checkLogin(login: string): void {
  if (!isValidLogin(login)) throw new Error(`invalid login "${login}": use 1-64 characters of letters, digits and . _ @ -`);
}

/**
 * Inserts a user whose password is already hashed; synchronous so that callers can do it inside a
 * better-sqlite3 transaction together with other changes.
 */
export function insertUser(db: Db, user: { login: string; role: Role; passwordHash: string; nowMs?: number }): UserRecord {
  checkLogin(user.login);
  if (!isRole(user.role)) throw new Error(`invalid role "${String(user.role)}": expected one of ${ROLES.join(', ')}`);
  if (findUser(db, user.login)) throw new Error(`a user named ${user.login} already exists`);
  const createdMs = user.nowMs ?? Date.now();
  try {
    const { id } = db
      .prepare('INSERT INTO users (login, role, password_hash, created_ms) VALUES (?, ?, ?, ?) RETURNING id')
      .get(user.login, user.role, user.passwordHash, createdMs) as { id: number };
    return { id, login: user.login, role: user.role, createdMs };
  } catch (error) {
    // Another process added the same login between our check and the insert.
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new Error(`a user named ${user.login} already exists`);
    throw error;
  }
}

/** Hashes the password (async scrypt), then inserts. Throws when the login exists or is invalid. */
export async function addUser(db: Db, user: { login: string; role: Role; password: string }): Promise<UserRecord> {
  checkLogin(user.login);
  if (findUser(db, user.login)) throw new Error(`a user named ${user.login} already exists`); // fail before the slow hash
  return insertUser(db, { login: user.login, role: user.role, passwordHash: await hashPassword(user.password) });
}

/** False when there was no such user. */
export function removeUser(db: Db, login: string): boolean {
  return db.prepare('DELETE FROM users WHERE login = ?').run(login).changes > 0;
}

export function listUsers(db: Db): UserRecord[] {
  const rows = db.prepare('SELECT id, login, role, created_ms FROM users ORDER BY login').all() as Array<Omit<UserRow, 'password_hash'>>;
  return rows.map((row) => ({ id: row.id, login: row.login, role: row.role, createdMs: row.created_ms }));
}

/** Exact (case-sensitive) match, as the UNIQUE constraint is. */
export function findUser(db: Db, login: string): UserWithHash | null {
  const row = db.prepare('SELECT id, login, role, password_hash, created_ms FROM users WHERE login = ?').get(login) as UserRow | undefined;
  return row ? fromRow(row) : null;
}
