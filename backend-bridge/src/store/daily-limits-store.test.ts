import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDirectoryFile, type DirectoryFile } from '../core/directory-file.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { CounterJournal } from '../counters/journal.js';
import { counterKey } from '../core/directory.js';
import { openDatabase } from './database.js';
import { readDirectory, replaceDirectory, setObjectDailyLimit } from './directory-store.js';
import { upsertSubscription } from './directory-sync.js';
import { readSettings, updateSettings } from './settings-store.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'oml-daily-'));

function parsed(input: unknown): DirectoryFile {
  const result = parseDirectoryFile(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.directory;
}

const file = (mailbox: Record<string, unknown>, plan: unknown = null) => ({
  subscriptions: [
    {
      name: 'example.com',
      owner: 'jdoe',
      limit: null,
      plan,
      domains: [{ name: 'example.com', limit: null, mailboxes: [{ address: 'alice@example.com', limit: null, ...mailbox }] }],
    },
  ],
});

describe('daily limits in the store', () => {
  it('the directory file carries daily values and plan daily values; a file without them keeps what is stored', () => {
    const db = openDatabase(tempDir());
    const plan = { name: 'Silver', mailbox: 20, domain: null, subscription: null, daily: { mailbox: 300, domain: null, subscription: 'unlimited' } };
    replaceDirectory(db, parsed(file({ dailyLimit: 40 }, plan)));
    let directory = readDirectory(db);
    expect(directory.mailboxes[0]).toMatchObject({ address: 'alice@example.com', dailyLimit: 40 });
    expect(directory.subscriptions[0]?.plan).toEqual({ name: 'Silver', mailbox: 20, domain: null, subscription: null, daily: { mailbox: 300, domain: null, subscription: 'unlimited' } });

    // Plesk's resync and older files know no daily values: alice keeps her 40.
    replaceDirectory(db, parsed(file({})));
    directory = readDirectory(db);
    expect(directory.mailboxes[0]?.dailyLimit).toBe(40);
    // Given as null ("default"), it goes back to the default.
    replaceDirectory(db, parsed(file({ dailyLimit: null })));
    expect(readDirectory(db).mailboxes[0]?.dailyLimit).toBeUndefined();
    db.close();
  });

  it('a wrong daily value rejects the whole file, naming the field', () => {
    const result = parseDirectoryFile(file({ dailyLimit: -5 }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]?.field).toBe('subscriptions[0].domains[0].mailboxes[0].dailyLimit');
  });

  it("Plesk's plan sync without daily values keeps the plan's stored daily values", () => {
    const db = openDatabase(tempDir());
    replaceDirectory(db, parsed(file({}, { name: 'Silver', mailbox: 20, domain: null, subscription: null, daily: { mailbox: 300, domain: null, subscription: null } })));
    db.transaction(() => upsertSubscription(db, { name: 'example.com', owner: 'jdoe', reseller: null, systemUser: null, plan: { name: 'Gold', mailbox: 50, domain: null, subscription: null } }))();
    expect(readDirectory(db).subscriptions[0]?.plan).toEqual({ name: 'Gold', mailbox: 50, domain: null, subscription: null, daily: { mailbox: 300, domain: null, subscription: null } });
    db.close();
  });

  it('server daily defaults and own daily values are kept apart from the hourly ones', () => {
    const db = openDatabase(tempDir());
    expect(readSettings(db).dailyDefaults).toEqual({ mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' });
    const after = updateSettings(db, { dailyDefaults: { domain: 2000 } });
    expect(after.dailyDefaults).toEqual({ mailbox: 'unlimited', domain: 2000, subscription: 'unlimited' });
    expect(after.defaults).toEqual(readSettings(db).defaults);
    replaceDirectory(db, parsed(file({ limit: 5 })));
    expect(setObjectDailyLimit(db, 'mailbox', 'ALICE@example.com', 'unlimited')).toBe(true);
    expect(readDirectory(db).mailboxes[0]).toMatchObject({ limit: 5, dailyLimit: 'unlimited' });
    expect(setObjectDailyLimit(db, 'mailbox', 'nobody@example.com', 1)).toBe(false);
    db.close();
  });

  it('a restart restores the daily counts from the journal, not only the last hour', () => {
    const db = openDatabase(tempDir());
    const journal = new CounterJournal(db);
    const now = 1_800_000_000;
    const key = counterKey('mailbox', 1);
    journal.record(key, now - 5 * 3600, 2);
    journal.record(key, now - 60, 1);
    journal.flush();
    // What the daemon prunes at its housekeeping: everything older than the longest window.
    journal.pruneBefore(now - 86_400);
    const hour = new RollingWindowCounters(3600);
    const day = new RollingWindowCounters(86_400, 60);
    journal.restoreInto([hour, day], now);
    expect(hour.used(key, now)).toBe(1);
    expect(day.used(key, now)).toBe(3);
    db.close();
  });
});
