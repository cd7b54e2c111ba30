import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import type { DirectoryRecordStreams, MailboxRecord } from '../core/directory.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { openDatabase } from '../store/database.js';
import { readDirectory, replaceDirectory } from '../store/directory-store.js';
import { readSettings, updateSettings } from '../store/settings-store.js';
import { Enforcer, HOUR_SECONDS } from './enforcer.js';
import { StoreSync } from './store-sync.js';
import { atOnce } from '../../test-support/at-once.js';

function* failingAfter<T>(records: T[], count: number): Generator<T> {
  for (const [i, record] of records.entries()) {
    if (i === count) throw Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    yield record;
  }
}

describe('a store read that fails midway', () => {
  it('leaves the directory and settings in force as they were (built whole, then swapped)', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-sync-')));
    replaceDirectory(db, exampleDirectory());
    updateSettings(db, { defaults: { mailbox: 100 } });
    const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null);
    const good = readDirectory(db);
    enforcer.load(readSettings(db), good);
    const before = { settings: enforcer.currentSettings, mailboxes: [...enforcer.directory.mailboxesByAddress.keys()] };

    const broken: DirectoryRecordStreams = { subscriptions: good.subscriptions, domains: good.domains, mailboxes: failingAfter<MailboxRecord>(good.mailboxes, 2) };
    expect(() => enforcer.load({ ...readSettings(db), enabled: false }, broken)).toThrow('malformed');
    expect(enforcer.currentSettings).toBe(before.settings);
    expect([...enforcer.directory.mailboxesByAddress.keys()]).toEqual(before.mailboxes);
    expect(atOnce(enforcer.check({ sender: 'alice@example.com', recipientCount: 1 })).identity?.chain[0]?.effective.limit).toBe(100);
    db.close();
  });

  it('at start, a store that cannot be read stops the load instead of leaving nothing enforced', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-sync-')));
    const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null);
    const sync = new StoreSync(db, enforcer, pino({ level: 'silent' }));
    db.exec('DROP TABLE mailboxes'); // any read failure will do
    expect(() => sync.loadNow()).toThrow(/no such table: mailboxes/);
    db.close();
  });
});
