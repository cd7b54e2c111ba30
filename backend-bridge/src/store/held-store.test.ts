import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { holdCause } from '../core/hold-cause.js';
import { MAX_SUBJECT_LENGTH } from '../core/header-text.js';
import { DATABASE_FILE, openDatabase } from './database.js';
import { HeldStore, type NewHeldMessage } from './held-store.js';
import { MIGRATIONS } from './migrations.js';

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'oml-held-store-'));

/** The step that keeps the limit and the subject of held mail (found by what it adds, so renumbering does not matter). */
const KEEPS_SUBJECT = MIGRATIONS.find((m) => m.sql.includes('ADD COLUMN subject'))!.version;

const held = (queueId: string): NewHeldMessage => ({
  queueId,
  heldAtMs: 1_000,
  source: 'smtpd',
  sender: 'alice@example.com',
  saslUsername: null,
  chargedLevel: 'mailbox',
  chargedName: 'alice@example.com',
  trippedLevel: 'mailbox',
  trippedName: 'alice@example.com',
  trippedLimit: 1,
  trippedUsed: 1,
  trippedWindow: 'hour',
  weight: 1,
  recipientCount: 1,
  recipients: null,
  reason: 'Outgoing limit of 1 messages/hour for mailbox alice@example.com reached; message held, sent automatically in about 60 minutes',
});

describe('held mail records', () => {
  it('a record held before the limit and subject were kept stays readable, its cause taken from its reason', () => {
    const dir = tempDir();
    const old = new Database(path.join(dir, DATABASE_FILE));
    for (const step of MIGRATIONS.filter((m) => m.version < KEEPS_SUBJECT)) {
      old.exec(step.sql);
      step.moveData?.(old);
    }
    old.pragma(`user_version = ${KEEPS_SUBJECT - 1}`);
    old
      .prepare(
        `INSERT INTO held_messages (queue_id, held_at_ms, source, sender, charged_level, charged_name, tripped_level, tripped_name, weight, recipient_count, reason)
         VALUES ('ABC123', 1000, 'smtpd', 'carol@example.com', 'mailbox', 'carol@example.com', 'mailbox', 'carol@example.com', 1, 1,
                 'Sending is not allowed for mailbox carol@example.com (outgoing limit 0 messages/hour); message held until a person releases it')`,
      )
      .run();
    old.close();

    const db = openDatabase(dir);
    const record = new HeldStore(db).byQueueId('ABC123')!;
    expect(record).toMatchObject({ trippedLimit: null, trippedUsed: null, subject: null, summaryRead: false, status: 'held' });
    expect(holdCause(record)).toEqual({ kind: 'notAllowed', level: 'mailbox', name: 'carol@example.com', limit: 0, window: 'hour' });
    db.close();
  });

  it('keeps the limit at hold time, and the subject and recipients once read, bounded whatever the sender wrote', () => {
    const db = openDatabase(tempDir());
    const store = new HeldStore(db);
    store.insert(held('DEF456'));
    const record = store.byQueueId('DEF456')!;
    expect(record).toMatchObject({ trippedLimit: 1, trippedUsed: 1, subject: null, summaryRead: false });
    const long = 'é'.repeat(5_000);
    const recipients = Array.from({ length: 500 }, (_, i) => `${'r'.repeat(1_000)}${i}@remote.test`);
    store.setSummary(record.id, { subject: long, recipients }, 2_000);
    const read = store.byQueueId('DEF456')!;
    expect(read.summaryRead).toBe(true);
    expect([...read.subject!]).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(read.recipients).toHaveLength(100);
    expect(read.recipients!.every((r) => r.length <= 320)).toBe(true);
    expect(read.recipientCount).toBe(100);

    // Recipients the record already had (from the policy service) are not replaced by the file's.
    store.insert({ ...held('GHI789'), recipients: ['known@remote.test'] });
    const other = store.byQueueId('GHI789')!;
    store.setSummary(other.id, { subject: null, recipients: ['x@remote.test', 'y@remote.test'] }, 2_000);
    expect(store.byQueueId('GHI789')).toMatchObject({ recipients: ['known@remote.test'], subject: null, summaryRead: true });
    db.close();
  });
});
