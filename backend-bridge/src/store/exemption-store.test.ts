import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseDirectoryFile, type DirectoryFile } from '../core/directory-file.js';
import type { Exemption } from '../core/exemptions.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { Enforcer } from '../enforcement/enforcer.js';
import { endDueExemptions } from '../enforcement/exemption-ends.js';
import { StoreSync } from '../enforcement/store-sync.js';
import { queryAudit } from './audit-store.js';
import { openDatabase, readRevisions } from './database.js';
import { replaceDirectory } from './directory-store.js';
import { readExemption, readExemptions, removeExemption, storeExemption } from './exemption-store.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'oml-exempt-'));
const T0 = 1_800_000_000_000;

function parsed(input: unknown): DirectoryFile {
  const result = parseDirectoryFile(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.directory;
}

const twoMailboxes = (addresses: string[]) =>
  parsed({
    subscriptions: [{ name: 'example.com', owner: 'jdoe', limit: null, domains: [{ name: 'example.com', limit: null, mailboxes: addresses.map((address) => ({ address, limit: 2 })) }] }],
  });

const exemption = (endsAtMs: number): Exemption => ({ hourly: 5000, daily: 'unlimited', startsAtMs: T0, endsAtMs, setBy: { login: 'admin', role: 'admin' } });

describe('exemptions in the store', () => {
  it('keeps values, span and setter; replaces an object’s exemption; tells other processes through the directory revision', () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, twoMailboxes(['alice@example.com', 'bob@example.com']));
    const before = readRevisions(db).directory;
    expect(storeExemption(db, 'mailbox', 'Alice@Example.com', exemption(T0 + 60_000))).toBe(true);
    expect(readRevisions(db).directory).toBe(before + 1);
    expect(storeExemption(db, 'mailbox', 'alice@example.com', { ...exemption(T0 + 120_000), hourly: null })).toBe(true);
    expect(storeExemption(db, 'domain', 'nowhere.test', exemption(T0 + 60_000))).toBe(false);
    expect(readExemptions(db)).toEqual([{ level: 'mailbox', objectId: 1, name: 'alice@example.com', exemption: { ...exemption(T0 + 120_000), hourly: null } }]);
    expect(removeExemption(db, 'mailbox', 'alice@example.com')?.exemption.endsAtMs).toBe(T0 + 120_000);
    expect(readExemption(db, 'mailbox', 'alice@example.com')).toBeNull();
  });

  it('an exemption goes with its object when the directory no longer has it', () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, twoMailboxes(['alice@example.com', 'bob@example.com']));
    storeExemption(db, 'mailbox', 'bob@example.com', exemption(T0 + 60_000));
    storeExemption(db, 'domain', 'example.com', exemption(T0 + 60_000));
    replaceDirectory(db, twoMailboxes(['alice@example.com']));
    expect(readExemptions(db).map((e) => e.name)).toEqual(['example.com']);
    replaceDirectory(db, parsed({ subscriptions: [] }));
    expect(readExemptions(db)).toEqual([]);
  });

  it('the sweep records each end by the system and takes the exemption off the live directory', async () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, twoMailboxes(['alice@example.com', 'bob@example.com']));
    storeExemption(db, 'mailbox', 'alice@example.com', exemption(T0 + 60_000));
    storeExemption(db, 'mailbox', 'bob@example.com', exemption(T0 + 120_000));
    const enforcer = new Enforcer(new RollingWindowCounters(3600), null, null, () => T0);
    const sync = new StoreSync(db, enforcer, pino({ level: 'silent' }));
    sync.loadNow();
    const alice = enforcer.directory.find('mailbox', 'alice@example.com')!;
    expect(alice.exemption?.hourly).toBe(5000);

    expect(await endDueExemptions(db, sync, enforcer, T0 + 59_999)).toBe(0);
    expect(await endDueExemptions(db, sync, enforcer, T0 + 60_000)).toBe(1);
    expect(alice.exemption).toBeNull();
    expect(enforcer.directory.find('mailbox', 'bob@example.com')!.exemption?.endsAtMs).toBe(T0 + 120_000);
    expect(queryAudit(db, { limit: 10 })).toMatchObject([
      { actorLogin: 'system', actorRole: 'system', action: 'exemption.end', level: 'mailbox', objectName: 'alice@example.com', atMs: T0 + 60_000, newValue: { reason: 'endTime' }, oldValue: { hourly: 5000, daily: 'unlimited', endsAt: new Date(T0 + 60_000).toISOString() } },
    ]);
    expect(readExemptions(db).map((e) => e.name)).toEqual(['bob@example.com']);
  });
});
