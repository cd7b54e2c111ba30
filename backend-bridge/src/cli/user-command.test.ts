import { Command, CommanderError, Option } from 'commander';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { verifyPassword } from '../api/auth/passwords.js';
import { findUser } from '../api/auth/users-store.js';
import { openDatabase, readRevisions } from '../store/database.js';
import { readDirectory, replaceDirectory } from '../store/directory-store.js';
import { registerUserCommands } from './user-command.js';

/** A program like main.ts builds, with output captured and stdin given. */
async function run(dataDir: string, args: string[], stdin = ''): Promise<string> {
  let output = '';
  const program = new Command('outgoing-limits').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerUserCommands(program, () => new Option('--data-dir <dir>').default(dataDir), {
    readStdin: async () => stdin,
    write: (text) => {
      output += text;
    },
  });
  await program.parseAsync(args, { from: 'user' });
  return output;
}

function owners(dataDir: string) {
  const db = openDatabase(dataDir);
  try {
    return Object.fromEntries(readDirectory(db).subscriptions.map((s) => [s.name, { owner: s.owner, reseller: s.reseller }]));
  } finally {
    db.close();
  }
}

function directoryRevision(dataDir: string): number {
  const db = openDatabase(dataDir);
  try {
    return readRevisions(db).directory;
  } finally {
    db.close();
  }
}

describe('outgoing-limits user', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'oml-user-'));
    const db = openDatabase(dataDir);
    replaceDirectory(db, exampleDirectory());
    db.close();
  });

  it('adds with a generated password shown once, lists, removes', async () => {
    const added = await run(dataDir, ['user', 'add', 'admin1', '--role', 'admin']);
    const password = /Password \(shown only now\): (\S+)/.exec(added)?.[1];
    expect(password).toMatch(/^[A-Za-z0-9]{16}$/);
    const db = openDatabase(dataDir);
    expect(await verifyPassword(password!, findUser(db, 'admin1')!.passwordHash)).toBe(true);
    db.close();

    await run(dataDir, ['user', 'add', 'jdoe', '--role', 'customer', '--password-stdin'], 'from-stdin\n');
    const list = await run(dataDir, ['user', 'list']);
    expect(list).toMatch(/^LOGIN\s+ROLE\s+CREATED\s+SUBSCRIPTIONS\nadmin1\s+admin\s+\d{4}-\d\d-\d\d \d\d:\d\d\njdoe\s+customer\s+\S+ \S+\s+example\.com\n$/);
    const json = JSON.parse(await run(dataDir, ['user', 'list', '--json'])) as Array<{ login: string; role: string; subscriptions: string[] }>;
    expect(json.map((u) => [u.login, u.role, u.subscriptions])).toEqual([
      ['admin1', 'admin', []],
      ['jdoe', 'customer', ['example.com']],
    ]);

    expect(await run(dataDir, ['user', 'remove', 'jdoe'])).toBe('Removed user jdoe.\n');
    await expect(run(dataDir, ['user', 'remove', 'jdoe'])).rejects.toThrow('no user named jdoe');
    expect(JSON.parse(await run(dataDir, ['user', 'list', '--json']))).toHaveLength(1);
  });

  it('reads only the first line of standard input as the password', async () => {
    const output = await run(dataDir, ['user', 'add', 'mary', '--role', 'customer', '--password-stdin'], 's3cret\r\nignored\n');
    expect(output).toBe('Created customer mary.\n');
    const db = openDatabase(dataDir);
    expect(await verifyPassword('s3cret', findUser(db, 'mary')!.passwordHash)).toBe(true);
    db.close();
    await expect(run(dataDir, ['user', 'add', 'empty', '--role', 'customer', '--password-stdin'], '\n')).rejects.toThrow('no password on standard input');
  });

  it('--owner-of makes a customer the owner, a reseller the reseller, and bumps the directory revision', async () => {
    const before = directoryRevision(dataDir);
    const output = await run(dataDir, ['user', 'add', 'newowner', '--role', 'customer', '--owner-of', 'Example.com', 'other.org', '--password-stdin'], 'pw');
    expect(output).toBe('Created customer newowner; owner of example.com, other.org.\n');
    await run(dataDir, ['user', 'add', 'res2', '--role', 'reseller', '--owner-of', 'other.org', '--password-stdin'], 'pw');
    expect(owners(dataDir)).toEqual({
      'example.com': { owner: 'newowner', reseller: 'res1' },
      'other.org': { owner: 'newowner', reseller: 'res2' },
    });
    expect(directoryRevision(dataDir)).toBe(before + 2);
  });

  it('an unknown subscription changes nothing, and is named', async () => {
    const before = directoryRevision(dataDir);
    await expect(
      run(dataDir, ['user', 'add', 'zed', '--role', 'customer', '--owner-of', 'example.com', 'nope.test', '--password-stdin'], 'pw'),
    ).rejects.toThrow('no subscription named nope.test; nothing changed');
    expect(owners(dataDir)['example.com']).toEqual({ owner: 'jdoe', reseller: 'res1' });
    expect(directoryRevision(dataDir)).toBe(before);
    const db = openDatabase(dataDir);
    expect(findUser(db, 'zed')).toBeNull();
    db.close();
  });

  it('refuses a duplicate login, --owner-of for an admin, and bad arguments', async () => {
    await run(dataDir, ['user', 'add', 'dup', '--role', 'customer', '--password-stdin'], 'pw');
    await expect(run(dataDir, ['user', 'add', 'dup', '--role', 'admin', '--password-stdin'], 'pw')).rejects.toThrow('a user named dup already exists');
    await expect(run(dataDir, ['user', 'add', 'boss', '--role', 'admin', '--owner-of', 'example.com'])).rejects.toThrow(/--owner-of is for customers and resellers/);

    const role = run(dataDir, ['user', 'add', 'x', '--role', 'root']);
    await expect(role).rejects.toBeInstanceOf(CommanderError);
    await expect(role).rejects.toThrow(/expected one of admin, reseller, customer, got "root"/);
    await expect(run(dataDir, ['user', 'add', 'bad login', '--role', 'admin'])).rejects.toThrow(/expected 1-64 characters/);
    await expect(run(dataDir, ['user', 'add', 'norole'])).rejects.toThrow(/required option '--role <role>' not specified/);
  });
});
