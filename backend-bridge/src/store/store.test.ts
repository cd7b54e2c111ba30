import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { counterKey } from '../core/directory.js';
import { INITIAL_SETTINGS } from '../core/settings.js';
import { CounterJournal } from '../counters/journal.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { openDatabase, readRevisions, schemaVersion } from './database.js';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from './database.js';
import { readDirectory, replaceDirectory, setObjectLimit } from './directory-store.js';
import { upsertSubscription } from './directory-sync.js';
import { MIGRATIONS } from './migrations.js';
import { readSettings, updateSettings } from './settings-store.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'oml-store-'));

describe('store', () => {
  it('creates the schema at its newest version, and opening again changes nothing', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    db.close();
    const again = openDatabase(dir);
    expect(schemaVersion(again)).toBe(MIGRATIONS.at(-1)!.version);
    again.close();
  });

  it('refuses a data directory written by a newer version', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    db.pragma('user_version = 999');
    db.close();
    expect(() => openDatabase(dir)).toThrow(/schema version 999, newer than this program knows/);
  });

  it('starts with the initial settings and stores changes, bumping the settings revision', () => {
    const db = openDatabase(tempDir());
    expect(readSettings(db)).toEqual(INITIAL_SETTINGS);
    const before = readRevisions(db).settings;
    const after = updateSettings(db, { enabled: false, defaults: { domain: 'unlimited', mailbox: 0 }, countingUnit: 'recipients' });
    expect(after).toEqual({ ...INITIAL_SETTINGS, enabled: false, defaults: { mailbox: 0, domain: 'unlimited', subscription: 5000 }, countingUnit: 'recipients' });
    expect(readSettings(db)).toEqual(after);
    expect(readRevisions(db).settings).toBe(before + 1);
    db.close();
  });

  it('re-import matches objects by name: ids, limits of the file and counts of remaining objects are kept; a removed object that returns starts from zero', () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, exampleDirectory({ 'bob@example.com': 7 }));
    const first = readDirectory(db);
    const bob = first.mailboxes.find((m) => m.address === 'bob@example.com')!;
    const alice = first.mailboxes.find((m) => m.address === 'alice@example.com')!;
    expect(bob.limit).toBe(7);
    const journal = new CounterJournal(db);
    journal.record(counterKey('mailbox', bob.id), 1000, 2);
    journal.record(counterKey('mailbox', alice.id), 1000, 1);
    journal.flush();

    const next = exampleDirectory({ 'bob@example.com': 'unlimited' });
    next.subscriptions[0]!.domains[0]!.mailboxes.shift(); // alice leaves
    const summary = replaceDirectory(db, next);
    expect(summary).toEqual({ subscriptions: 2, domains: 3, mailboxes: 5, removed: 1 });
    const second = readDirectory(db);
    expect(second.mailboxes.find((m) => m.address === 'bob@example.com')).toEqual({ ...bob, limit: 'unlimited' });
    const counters = new RollingWindowCounters(3600);
    journal.restoreInto(counters, 1001);
    expect(counters.used(counterKey('mailbox', bob.id), 1001)).toBe(2);
    // Her steps stay in the journal until they leave the window, under an id nothing will have again.
    replaceDirectory(db, exampleDirectory());
    const aliceAgain = readDirectory(db).mailboxes.find((m) => m.address === 'alice@example.com')!;
    expect(aliceAgain.id).not.toBe(alice.id);
    const afterReturn = new RollingWindowCounters(3600);
    journal.restoreInto(afterReturn, 1001);
    expect(afterReturn.used(counterKey('mailbox', aliceAgain.id), 1001)).toBe(0);
    expect(afterReturn.used(counterKey('mailbox', bob.id), 1001)).toBe(2);
    db.close();
  });

  it('an import that fails half-way changes nothing', () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, exampleDirectory());
    const before = readDirectory(db);
    const broken = exampleDirectory();
    // Bypasses file validation to force a constraint failure deep inside the transaction.
    broken.subscriptions[1]!.domains[0]!.mailboxes.push({ address: 'x@other.org', limit: -7 as unknown as number });
    expect(() => replaceDirectory(db, broken)).toThrow();
    expect(readDirectory(db)).toEqual(before);
    db.close();
  });

  it('sets the limit of one object by name, case-insensitively, and reports unknown names', () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, exampleDirectory());
    expect(setObjectLimit(db, 'domain', 'Example.COM', 0)).toBe(true);
    expect(setObjectLimit(db, 'subscription', 'other.org', 'unlimited')).toBe(true);
    expect(setObjectLimit(db, 'mailbox', 'nobody@example.com', 3)).toBe(false);
    const directory = readDirectory(db);
    expect(directory.domains.find((d) => d.name === 'example.com')?.limit).toBe(0);
    expect(directory.subscriptions.find((s) => s.name === 'other.org')?.limit).toBe('unlimited');
    expect(setObjectLimit(db, 'domain', 'example.com', null)).toBe(true);
    expect(readDirectory(db).domains.find((d) => d.name === 'example.com')?.limit).toBeNull();
    db.close();
  });

  it('keeps each subscription’s service plan: from the file, from a sync upsert, untouched when a sync leaves it out', () => {
    const db = openDatabase(tempDir());
    const file = exampleDirectory();
    file.subscriptions[0]!.plan = { name: 'Silver', mailbox: 20, domain: null, subscription: 'unlimited' };
    replaceDirectory(db, file);
    const planOf = (name: string) => readDirectory(db).subscriptions.find((s) => s.name === name)?.plan;
    expect(planOf('example.com')).toEqual({ name: 'Silver', mailbox: 20, domain: null, subscription: 'unlimited' });
    expect(planOf('other.org')).toBeNull();

    const owner = { owner: 'mary', reseller: null, systemUser: 'otherorg' };
    expect(upsertSubscription(db, { name: 'other.org', ...owner, plan: { name: 'Gold', mailbox: 0, domain: 40, subscription: null } })).toBe('updated');
    expect(planOf('other.org')).toEqual({ name: 'Gold', mailbox: 0, domain: 40, subscription: null });
    expect(upsertSubscription(db, { name: 'other.org', ...owner })).toBe('unchanged');
    expect(upsertSubscription(db, { name: 'other.org', ...owner, plan: { name: 'Gold', mailbox: 0, domain: 40, subscription: null } })).toBe('unchanged');
    expect(planOf('other.org')).toEqual({ name: 'Gold', mailbox: 0, domain: 40, subscription: null });
    expect(upsertSubscription(db, { name: 'other.org', ...owner, plan: null })).toBe('updated');
    expect(planOf('other.org')).toBeNull();
    expect(upsertSubscription(db, { name: 'new.example', owner: 'jdoe', reseller: null, systemUser: null, plan: { name: 'Silver', mailbox: 20, domain: null, subscription: null } })).toBe('created');
    expect(planOf('new.example')).toEqual({ name: 'Silver', mailbox: 20, domain: null, subscription: null });
    db.close();
  });

  it('upgrades a store from before service plans in place: subscriptions keep their rows and follow no plan', () => {
    const planStep = MIGRATIONS.find((m) => m.description === 'service plan values per subscription');
    if (!planStep) throw new Error('no service plan migration');
    const dir = tempDir();
    const old = new Database(path.join(dir, DATABASE_FILE));
    for (const step of MIGRATIONS.filter((m) => m.version < planStep.version)) old.exec(step.sql);
    old.pragma(`user_version = ${planStep.version - 1}`);
    old.prepare("INSERT INTO subscriptions (name, owner, limit_value) VALUES ('kept.example', 'jdoe', 30)").run();
    old.close();
    const db = openDatabase(dir);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    expect(readDirectory(db).subscriptions).toEqual([{ id: 1, name: 'kept.example', owner: 'jdoe', reseller: null, systemUser: null, limit: 30, lock: null, plan: null }]);
    db.close();
  });
});
