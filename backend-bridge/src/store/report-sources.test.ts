import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { AnomalyStore } from './anomaly-store.js';
import { openDatabase } from './database.js';
import { replaceDirectory } from './directory-store.js';
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
    // Before the period: not in the report.
    anomalies.record('bob@example.com', 50, { signal: 'loginAddresses', observed: 12, threshold: 10, baseline: null }, 50 * hourMs);

    const groups = reportEventGroups(db, 99 * hourMs).filter((g) => g.kind === 'anomaly');
    expect(groups).toEqual([{ kind: 'anomaly', level: 'mailbox', objectId: alice, window: null, action: null, count: 2, lastAtMs: 101 * hourMs }]);
    db.close();
  });
});
