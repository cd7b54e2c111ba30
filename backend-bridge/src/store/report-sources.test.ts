import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { AnomalyStore } from './anomaly-store.js';
import { openDatabase } from './database.js';
import { replaceDirectory } from './directory-store.js';
import { OverLimitEventLog } from './over-limit-events.js';
import { reportEventGroups } from './report-sources.js';

describe('the report\'s event sources', () => {
  it('count a mailbox\'s anomalies of the period, by its id, beside its over-limit events', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-report-sources-')));
    replaceDirectory(db, exampleDirectory());
    const alice = db.prepare('SELECT id FROM mailboxes WHERE address = ?').pluck().get('alice@example.com') as number;
    const anomalies = new AnomalyStore(db);
    const hourMs = 3_600_000;
    anomalies.record('alice@example.com', 100, { signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null }, 100 * hourMs);
    anomalies.record('alice@example.com', 101, { signal: 'recipientDomains', observed: 101, threshold: 100, baseline: null }, 101 * hourMs);
    // Before the period (more than a day before hour 102): not in the report.
    anomalies.record('bob@example.com', 50, { signal: 'loginAddresses', observed: 12, threshold: 10, baseline: null }, 50 * hourMs);

    const groups = reportEventGroups(db, 102 * hourMs, 1).filter((g) => g.kind === 'anomaly');
    expect(groups).toEqual([{ kind: 'anomaly', level: 'mailbox', objectId: alice, window: null, action: null, count: 2, lastAtMs: 101 * hourMs }]);
    db.close();
  });

  it('sum the over-limit events of the period into one group per object, window and action', () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-report-sources-')));
    replaceDirectory(db, exampleDirectory());
    const log = new OverLimitEventLog(db);
    const hourMs = 3_600_000;
    for (const hour of [100, 101]) {
      log.record({
        atMs: hour * hourMs, level: 'mailbox', window: 'hour', recipientMaximum: null, objectId: 1, objectName: 'alice@example.com', sender: 'alice@example.com',
        saslUsername: null, recipientCount: 1, queueId: null, clientAddress: null, action: 'hold', reason: 'over', mailboxId: 1, domainId: 1, subscriptionId: 1,
      });
    }
    log.flush();
    const groups = reportEventGroups(db, 102 * hourMs, 1).filter((g) => g.kind === 'over-limit');
    expect(groups).toEqual([{ kind: 'over-limit', level: 'mailbox', objectId: 1, window: 'hour', action: 'hold', count: 2, lastAtMs: 101 * hourMs }]);
    db.close();
  });
});
