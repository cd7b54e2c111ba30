import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness } from '../../test-support/api-harness.js';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { recordAudit } from '../store/audit-store.js';
import { replaceDirectory, setObjectLimit, setObjectLock } from '../store/directory-store.js';
import { removeExemption, storeExemption } from '../store/exemption-store.js';
import { applyEntry, capturedSince, installCapture, lastCaptured, type AppliedChange } from '../store/shared-config.js';
import { liveUpdateOf } from './config-in-place.js';

const ADMIN = { login: 'admin', role: 'admin' as const, userId: '1', via: 'plesk' as const };

/**
 * Node A's store captures what a change writes; node B applies it from the log as a cluster node does, then
 * brings its live state up to date. Both start from the same directory (mailbox limit 3).
 */
describe("the cluster's configuration changes reach a running node's live state", () => {
  let a: ApiHarness;
  let b: ApiHarness;
  beforeEach(async () => {
    [a, b] = await Promise.all([ApiHarness.start(), ApiHarness.start()]);
    b.nowMs = a.nowMs;
    installCapture(a.db);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  function carryToB(change: () => void): { how: string; applied: AppliedChange[] } {
    const from = lastCaptured(a.db);
    a.db.transaction(change)();
    const changes = capturedSince(a.db, from);
    const applied = b.db.transaction(() => applyEntry(b.db, { kind: 'changes', changes }))();
    return { how: b.sync.applyClusterChanges(applied), applied };
  }

  it('a limit and a lock set on another node change the object in place: the next message is decided by them', () => {
    const index = b.enforcer.directory;
    const { how } = carryToB(() => {
      setObjectLimit(a.db, 'mailbox', 'alice@example.com', 1);
      setObjectLock(a.db, 'mailbox', 'alice@example.com', { login: 'admin', role: 'admin' });
      recordAudit(a.db, ADMIN, { action: 'limit.set', level: 'mailbox', objectName: 'alice@example.com', newValue: 1 }, a.nowMs);
    });
    expect(how).toBe('in place');
    expect(b.enforcer.directory).toBe(index); // not rebuilt
    const alice = b.enforcer.directory.find('mailbox', 'alice@example.com')!;
    expect([alice.own, alice.lock]).toEqual([1, { login: 'admin', role: 'admin' }]);
    expect(b.sendMany('alice@example.com', 3)).toBe(1);
    expect(b.sendMany('bob@example.com', 4)).toBe(3);
    // Nothing left for the revision watch to reload.
    b.sync.reloadIfChanged();
    expect(b.enforcer.directory).toBe(index);
  });

  it('an exemption set and removed on another node applies and ends in place', () => {
    const index = b.enforcer.directory;
    const exemption = { hourly: 5, daily: null, startsAtMs: a.nowMs - 1_000, endsAtMs: a.nowMs + 3_600_000, setBy: { login: 'admin', role: 'admin' as const } };
    expect(carryToB(() => storeExemption(a.db, 'mailbox', 'alice@example.com', exemption)).how).toBe('in place');
    expect(b.sendMany('alice@example.com', 7)).toBe(5); // the domain's 5 is reached too
    expect(carryToB(() => removeExemption(a.db, 'mailbox', 'alice@example.com')).how).toBe('in place');
    expect(b.enforcer.directory.find('mailbox', 'alice@example.com')!.exemption ?? null).toBeNull();
    b.advance(3_600); // the hour that counted them is over: alice has her 3 again
    expect(b.sendMany('alice@example.com', 5)).toBe(3);
    expect(b.enforcer.directory).toBe(index);
  });

  it('a new mailbox reloads the directory, and the new mailbox is limited at once', () => {
    const index = b.enforcer.directory;
    const grown = exampleDirectory({});
    grown.subscriptions[0]!.domains[0]!.mailboxes.push({ address: 'zoe@example.com', limit: 2 });
    expect(carryToB(() => replaceDirectory(a.db, grown)).how).toBe('reloaded');
    expect(b.enforcer.directory).not.toBe(index);
    expect(b.sendMany('zoe@example.com', 3)).toBe(2);
  });
});

describe('liveUpdateOf', () => {
  const mailbox = { id: 4, domain_id: 1, address: 'alice@example.com', limit_value: null, daily_limit_value: null, recipient_limit_value: null, locked_by: null, locked_by_role: null };
  const put = (table: AppliedChange['table'], row: Record<string, unknown>, before?: Record<string, unknown> | null): AppliedChange => ({ table, op: 'put', row, before });

  it('updates in place only own values of objects that were there, and what decisions do not read', () => {
    expect(liveUpdateOf([put('mailboxes', { ...mailbox, limit_value: 5, locked_by: 'admin', locked_by_role: 'admin' }, mailbox), put('audit_log', { id: 9 }), put('revisions', { name: 'directory', value: 3 })])).toEqual({
      reload: false,
      objects: [{ level: 'mailbox', id: 4 }],
      exemptions: false,
    });
    expect(liveUpdateOf([put('mailboxes', mailbox, mailbox), put('compromised_mailboxes', { address: 'alice@example.com' })])).toEqual({ reload: false, objects: [], exemptions: false });
    expect(liveUpdateOf([{ table: 'exemptions', op: 'del', row: { id: 1 } }])).toEqual({ reload: false, objects: [], exemptions: true });
  });

  it('reloads for a new, moved, renamed or deleted object, a plan, settings, or rows applied without their former state', () => {
    const subscription = { id: 1, name: 'example.com', owner: 'jdoe', reseller: null, plan_name: null, plan_mailbox: null, limit_value: null };
    for (const changes of [
      [put('mailboxes', mailbox, null)],
      [put('mailboxes', { ...mailbox, domain_id: 2 }, mailbox)],
      [put('mailboxes', { ...mailbox, address: 'alicia@example.com' }, mailbox)],
      [{ table: 'mailboxes', op: 'del', row: { id: 4 } } as AppliedChange],
      [put('subscriptions', { ...subscription, plan_name: 'Gold', plan_mailbox: 50 }, subscription)],
      [put('subscriptions', { ...subscription, owner: 'mary' }, subscription)],
      [put('settings', { key: 'defaults', value: '{}' })],
      [put('mailboxes', { ...mailbox, limit_value: 5 })],
    ]) {
      expect(liveUpdateOf(changes), JSON.stringify(changes)).toEqual({ reload: true });
    }
  });
});
