import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../store/database.js';
import { verifyPassword } from './passwords.js';
import { addUser, findUser, insertUser, isValidLogin, listUsers, removeUser } from './users-store.js';

describe('users store', () => {
  it('adds, finds, lists (without hashes) and removes users', async () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-users-')));
    const alice = await addUser(db, { login: 'alice@example.com', role: 'customer', password: 'pw-alice' });
    insertUser(db, { login: 'admin', role: 'admin', passwordHash: 'scrypt$x', nowMs: 5 });
    expect(await verifyPassword('pw-alice', findUser(db, 'alice@example.com')!.passwordHash)).toBe(true);
    expect(findUser(db, 'Alice@example.com')).toBeNull(); // exact match, like the UNIQUE constraint
    expect(listUsers(db)).toEqual([
      { id: expect.any(Number), login: 'admin', role: 'admin', createdMs: 5 },
      { id: alice.id, login: 'alice@example.com', role: 'customer', createdMs: alice.createdMs },
    ]);
    await expect(addUser(db, { login: 'admin', role: 'reseller', password: 'x' })).rejects.toThrow('a user named admin already exists');
    expect(() => insertUser(db, { login: 'admin', role: 'admin', passwordHash: 'h' })).toThrow('a user named admin already exists');
    await expect(addUser(db, { login: 'no spaces', role: 'admin', password: 'x' })).rejects.toThrow(/invalid login "no spaces"/);
    expect(removeUser(db, 'admin')).toBe(true);
    expect(removeUser(db, 'admin')).toBe(false);
    expect(listUsers(db).map((u) => u.login)).toEqual(['alice@example.com']);
    db.close();
  });

  it('accepts 1-64 of letters, digits and . _ @ -', () => {
    expect(isValidLogin('a')).toBe(true);
    expect(isValidLogin('res.1_x-y@z')).toBe(true);
    expect(isValidLogin('x'.repeat(64))).toBe(true);
    expect(isValidLogin('x'.repeat(65))).toBe(false);
    expect(isValidLogin('')).toBe(false);
    expect(isValidLogin('a/b')).toBe(false);
    expect(isValidLogin('é')).toBe(false);
  });
});
