import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDirectoryFile, type DirectoryFile } from '../core/directory-file.js';
import type { Identity } from '../api/identity.js';
import { queryAudit, recordAudit } from './audit-store.js';
import { openDatabase, type Db } from './database.js';
import { replaceDirectory, setObjectLimit } from './directory-store.js';
import { recordDirectorySynced } from './health-records.js';
import { readSettings, updateSettings } from './settings-store.js';
import {
  applyEntry,
  capturedSince,
  captureInstalled,
  dropStrayAppends,
  dryRun,
  installCapture,
  lastCaptured,
  removeCapture,
  snapshotOf,
  strayToShip,
} from './shared-config.js';

const ADMIN: Identity = { login: 'admin', role: 'admin', userId: '1', via: 'plesk' };

function directory(subscriptions: Array<{ name: string; mailboxes: string[] }>): DirectoryFile {
  const result = parseDirectoryFile({
    subscriptions: subscriptions.map((s) => ({ name: s.name, owner: 'jdoe', limit: null, domains: [{ name: s.name, limit: null, mailboxes: s.mailboxes.map((address) => ({ address, limit: null })) }] })),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.directory;
}

const TWO = directory([
  { name: 'example.com', mailboxes: ['alice@example.com', 'bob@example.com'] },
  { name: 'other.org', mailboxes: ['mallory@other.org'] },
]);

function store(): Db {
  return openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-shared-')));
}

/** Two stores with the same configuration, as two nodes after joining: B applied A's snapshot. */
function twoNodes(): { a: Db; b: Db } {
  const a = store();
  replaceDirectory(a, TWO);
  const b = store();
  b.transaction(() => applyEntry(b, snapshotOf(a)))();
  installCapture(a);
  installCapture(b);
  return { a, b };
}

/** Every shared row but the audit log's, for comparing two stores. */
const sharedRows = (db: Db) => snapshotOf(db).rows;

describe('the configuration a cluster shares', () => {
  it('captures every row a change writes, in order, but not the rows of this server\'s own health', () => {
    const { a } = twoNodes();
    expect(captureInstalled(a)).toBe(true);
    const before = lastCaptured(a);
    a.transaction(() => {
      setObjectLimit(a, 'mailbox', 'alice@example.com', 7);
      recordAudit(a, ADMIN, { action: 'limit.set', level: 'mailbox', objectName: 'alice@example.com', newValue: 7 }, 1_000);
      recordDirectorySynced(a, 'sync', 1_000);
    })();
    const changes = capturedSince(a, before);
    expect(changes.map((c) => `${c.op} ${c.table}`)).toEqual(expect.arrayContaining(['put mailboxes', 'put audit_log']));
    expect(changes.find((c) => c.table === 'mailboxes')?.row).toMatchObject({ address: 'alice@example.com', limit_value: 7 });
    expect(changes.filter((c) => c.table === 'settings' && String(c.row.key).startsWith('health.'))).toEqual([]);
  });

  it('a dry run tells what a change writes and leaves the store as it was', () => {
    const { a } = twoNodes();
    const rowsBefore = sharedRows(a);
    const capturedBefore = lastCaptured(a);
    const { value, changes } = dryRun(a, () => updateSettings(a, { earlyWarningPercent: 55 }).earlyWarningPercent);
    expect(value).toBe(55);
    expect(changes.some((c) => c.table === 'settings' && c.op === 'put')).toBe(true);
    expect(readSettings(a).earlyWarningPercent).not.toBe(55);
    expect(sharedRows(a)).toEqual(rowsBefore);
    expect(lastCaptured(a)).toBe(capturedBefore);
  });

  it('changes applied on another node make the same store, deletes with what hangs below them included', () => {
    const { a, b } = twoNodes();
    const before = lastCaptured(a);
    a.transaction(() => {
      setObjectLimit(a, 'mailbox', 'bob@example.com', 3);
      updateSettings(a, { earlyWarningPercent: 60 });
      replaceDirectory(a, directory([{ name: 'example.com', mailboxes: ['alice@example.com', 'carol@example.com'] }]));
    })();
    const changes = capturedSince(a, before);
    expect(changes.some((c) => c.op === 'del' && c.table === 'subscriptions')).toBe(true);
    b.transaction(() => applyEntry(b, { kind: 'changes', changes }))();
    expect(sharedRows(b)).toEqual(sharedRows(a));
    // What the apply wrote is the log's already: nothing of it is left to send.
    expect(capturedSince(b, 0)).toEqual([]);
  });

  it('a snapshot replaces every shared row and keeps the server\'s own health rows', () => {
    const { a, b } = twoNodes();
    recordDirectorySynced(b, 'file', 2_000);
    setObjectLimit(b, 'mailbox', 'alice@example.com', 1);
    b.transaction(() => applyEntry(b, snapshotOf(a)))();
    expect(sharedRows(b)).toEqual(sharedRows(a));
    expect(b.prepare("SELECT COUNT(*) AS n FROM settings WHERE key LIKE 'health.%'").get()).toEqual({ n: 1 });
  });

  it('audit lines written on two nodes at once under the same key both reach both nodes, under the same keys', () => {
    const { a, b } = twoNodes();
    recordAudit(a, ADMIN, { action: 'held.release', objectName: 'alice@example.com' }, 1_000);
    recordAudit(b, ADMIN, { action: 'held.delete', objectName: 'bob@example.com' }, 1_001);
    const strayA = capturedSince(a, 0);
    const strayB = capturedSince(b, 0);
    expect(strayA[0]?.row.id).toBe(strayB[0]?.row.id);
    // Each node sends its own as appends, removes its own copies, then applies the log in the same order.
    const log = [
      { kind: 'changes' as const, changes: strayToShip(a, strayA) },
      { kind: 'changes' as const, changes: strayToShip(b, strayB) },
    ];
    for (const [db, stray] of [
      [a, strayA],
      [b, strayB],
    ] as const) {
      db.transaction(() => {
        dropStrayAppends(db, stray);
        for (const entry of log) applyEntry(db, entry);
      })();
    }
    const lines = (db: Db) => queryAudit(db, { limit: 10 }).map((e) => `${e.action} ${e.objectName}`);
    expect(lines(a)).toEqual(['held.delete bob@example.com', 'held.release alice@example.com']);
    expect(a.prepare('SELECT * FROM audit_log ORDER BY id').all()).toEqual(b.prepare('SELECT * FROM audit_log ORDER BY id').all());
  });

  it('refuses an entry naming a column this store does not have, and applies none of it', () => {
    const { b } = twoNodes();
    const rowsBefore = sharedRows(b);
    const entry = { kind: 'changes' as const, changes: [{ table: 'settings' as const, op: 'put' as const, row: { key: 'x', value: '1' } }, { table: 'mailboxes' as const, op: 'put' as const, row: { id: 1, color: 'red' } }] };
    expect(() => b.transaction(() => applyEntry(b, entry))()).toThrow(/names column color, which this store does not have/);
    expect(sharedRows(b)).toEqual(rowsBefore);
  });

  it('leaving the cluster removes the triggers: writes are a single server\'s again', () => {
    const { a } = twoNodes();
    removeCapture(a);
    expect(captureInstalled(a)).toBe(false);
    setObjectLimit(a, 'mailbox', 'alice@example.com', 4);
    expect(capturedSince(a, 0)).toEqual([]);
  });
});

describe('audit lines sent after a snapshot', () => {
  it('a snapshot that put another line under the key of this node\'s own line keeps that line', () => {
    const { a, b } = twoNodes();
    recordAudit(b, ADMIN, { action: 'held.release', objectName: 'bob@example.com' }, 1_000);
    const stray = capturedSince(b, 0);
    // Meanwhile node A wrote its own line under the same key, and a snapshot of A reached B.
    recordAudit(a, ADMIN, { action: 'limit.set', objectName: 'alice@example.com' }, 999);
    b.transaction(() => applyEntry(b, snapshotOf(a)))();
    b.transaction(() => {
      dropStrayAppends(b, stray);
      applyEntry(b, { kind: 'changes', changes: strayToShip(b, stray) });
    })();
    expect(queryAudit(b, { limit: 10 }).map((e) => e.action).sort()).toEqual(['held.release', 'limit.set']);
  });
});
