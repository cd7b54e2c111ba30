import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { Enforcer, HOUR_SECONDS } from '../enforcement/enforcer.js';
import { HeldMail } from '../enforcement/held-mail.js';
import { StoreSync } from '../enforcement/store-sync.js';
import { openDatabase } from '../store/database.js';
import { replaceDirectory } from '../store/directory-store.js';
import { updateSettings } from '../store/settings-store.js';
import { localMailHandler } from './milter-handler.js';
import { PostfixQueue } from './queue.js';
import { SystemUsers } from './system-users.js';

describe('local mail over the limit when the store cannot record it', () => {
  it('is still held (quarantined), never accepted', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-milter-handler-')));
    replaceDirectory(db, exampleDirectory());
    updateSettings(db, { defaults: { mailbox: 0 } });
    const log = pino({ level: 'silent' });
    const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null);
    const sync = new StoreSync(db, enforcer, log);
    sync.loadNow();
    const held = new HeldMail(db, enforcer, sync, new PostfixQueue('/nonexistent'), log, () => undefined);
    const handle = localMailHandler(enforcer, held, new SystemUsers(), () => null, log);
    db.exec('DROP TABLE held_messages'); // any failing write will do
    expect(handle({ queueId: '4Xyz1', sender: 'alice@example.com', recipients: ['x@remote.test'], recipientCount: 1 })).toMatchObject({ action: 'quarantine' });
    db.close();
  });
});
