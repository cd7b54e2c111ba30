import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, type Caller, harnessForEachTest, JDOE, MARY, ok, refused, RES1 } from '../../test-support/api-harness.js';
import type { Level } from '../core/limits.js';
import type { ObjectRow } from '../core/object-query.js';
import type { AuditRow } from '../store/audit-store.js';
import { readDirectory } from '../store/directory-store.js';

/**
 * Locks on limit values through the API (example directory: jdoe owns example.com of reseller res1, with
 * alice, bob, carol, dave; mary owns other.org with mallory, no reseller). Defaults: mailbox 3, domain 5,
 * subscription 8 per hour.
 */

const COLLECTION: Record<Level, string> = { subscription: 'subscriptions', domain: 'domains', mailbox: 'mailboxes' };
const url = (level: Level, name: string) => `/api/v1/${COLLECTION[level]}/${encodeURIComponent(name)}`;

let h: ApiHarness;
harnessForEachTest((started) => (h = started), { heldWithoutPostfix: true });

function put(caller: Caller, level: Level, name: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return h.request(caller, 'PUT', `${url(level, name)}/limit`, body);
}

const row = (caller: Caller, level: Level, name: string) => ok<ObjectRow>(h.get(caller, url(level, name)));
const lockAudit = async () =>
  (await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit'))).items.filter((entry) => entry.action.startsWith('limit.lock') || entry.action === 'limit.unlock');

const ADMIN_LOCK = 'The limit of domain other.org was set and locked by the administrator admin; only they (or a higher role) can change it.';
/** What the screens render the refusal from, in the person's language. */
const ADMIN_LOCK_CODE = { code: 'locked', params: { level: 'domain', name: 'other.org', role: 'admin', login: 'admin' } };

describe("the issue's case: the administrator blocks mary's domain, mary may not lift the block", () => {
  it('a 0 set by the administrator is locked: raising it or returning it to the default is 403 naming the administrator', async () => {
    await ok(put(ADMIN, 'subscription', 'other.org', { limit: 'unlimited' }));
    const blocked = await ok<ObjectRow>(put(ADMIN, 'domain', 'other.org', { limit: 0 }));
    expect(blocked).toMatchObject({ ownLimit: 0, lockedBy: 'admin', lockedByRole: 'admin', lockedForYou: false, mayLock: true });

    expect(await row(MARY, 'domain', 'other.org')).toMatchObject({ lockedBy: 'admin', lockedByRole: 'admin', lockedForYou: true, mayChangeLimit: false, mayLock: false });
    expect(await refused(put(MARY, 'domain', 'other.org', { limit: 1000 }), 403)).toEqual({ error: ADMIN_LOCK, ...ADMIN_LOCK_CODE });
    expect(await refused(put(MARY, 'domain', 'other.org', { limit: 'default' }), 403)).toEqual({ error: ADMIN_LOCK, ...ADMIN_LOCK_CODE });
    expect(await refused(h.request(MARY, 'POST', '/api/v1/limits/bulk', { level: 'domain', names: ['other.org'], limit: 'unlimited' }), 403)).toEqual({ error: ADMIN_LOCK, ...ADMIN_LOCK_CODE });

    expect((await row(ADMIN, 'domain', 'other.org')).effectiveLimit).toBe(0);
    expect(h.sendMany('mallory@other.org', 1)).toBe(0);
    expect(await lockAudit()).toEqual([expect.objectContaining({ actorLogin: 'admin', action: 'limit.lock', level: 'domain', objectName: 'other.org', oldValue: null, newValue: { login: 'admin', role: 'admin' } })]);
  });

  it('the lock is kept in the store: a daemon that reads the directory again still enforces it', async () => {
    await ok(put(ADMIN, 'domain', 'other.org', { limit: 0 }));
    expect(readDirectory(h.db).domains.find((d) => d.name === 'other.org')).toMatchObject({ limit: 0, lock: { login: 'admin', role: 'admin' } });
    h.db.prepare("UPDATE revisions SET value = value + 1 WHERE name = 'directory'").run();
    h.sync.reloadIfChanged();
    expect(await refused(put(MARY, 'domain', 'other.org', { limit: 1000 }), 403)).toEqual({ error: ADMIN_LOCK, ...ADMIN_LOCK_CODE });
  });

  it('left open ("let the customer change this"), the same 0 is hers to change', async () => {
    expect(await ok<ObjectRow>(put(ADMIN, 'domain', 'other.org', { limit: 0, locked: false }))).toMatchObject({ lockedBy: null, lockedByRole: null });
    expect(await ok<ObjectRow>(put(MARY, 'domain', 'other.org', { limit: 4 }))).toMatchObject({ ownLimit: 4, lockedBy: null });
  });
});

describe('who a lock stops', () => {
  it('a value other than 0 is open unless locked; a reseller’s lock stops the customer, not the administrator', async () => {
    expect(await ok<ObjectRow>(put(RES1, 'domain', 'example.com', { limit: 4 }))).toMatchObject({ lockedBy: null });
    await ok(put(JDOE, 'domain', 'example.com', { limit: 2 }));

    expect(await ok<ObjectRow>(put(RES1, 'domain', 'example.com', { limit: 4, locked: true }))).toMatchObject({ lockedBy: 'res1', lockedByRole: 'reseller' });
    expect(await refused(put(JDOE, 'domain', 'example.com', { limit: 2 }), 403)).toEqual({
      error: 'The limit of domain example.com was set and locked by the reseller res1; only they (or a higher role) can change it.',
      code: 'locked',
      params: { level: 'domain', name: 'example.com', role: 'reseller', login: 'res1' },
    });
    expect(await row(RES1, 'domain', 'example.com')).toMatchObject({ lockedForYou: false, mayChangeLimit: true });

    // The administrator takes it over and opens it: audited as an unlock.
    expect(await ok<ObjectRow>(put(ADMIN, 'domain', 'example.com', { limit: 4, locked: false }))).toMatchObject({ lockedBy: null });
    await ok(put(JDOE, 'domain', 'example.com', { limit: 2 }));
    expect((await lockAudit()).map((entry) => [entry.actorLogin, entry.action, entry.oldValue, entry.newValue])).toEqual([
      ['admin', 'limit.unlock', { login: 'res1', role: 'reseller' }, null],
      ['res1', 'limit.lock', null, { login: 'res1', role: 'reseller' }],
    ]);
  });

  it("the administrator's lock stops the reseller too", async () => {
    await ok(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 7, locked: true }));
    expect((await refused(put(RES1, 'mailbox', 'alice@example.com', { limit: 8 }), 403)).error).toBe(
      'The limit of email address alice@example.com was set and locked by the administrator admin; only they (or a higher role) can change it.',
    );
    expect(await row(RES1, 'mailbox', 'alice@example.com')).toMatchObject({ lockedForYou: true, mayChangeLimit: false });
  });

  it('marking a locked mailbox compromised (or restoring it) is a change of its value: refused below the lock', async () => {
    await ok(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 2, locked: true }));
    expect((await refused(h.request(JDOE, 'POST', '/api/v1/mailboxes/alice@example.com/compromised'), 403)).error).toMatch(/locked by the administrator admin/);
    expect((await row(ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe(2);
  });

  it('a customer cannot lock: locked true is 403, a locked that is no boolean is 400 at its field; nothing changes', async () => {
    const before = h.storeState();
    expect(await refused(put(JDOE, 'mailbox', 'alice@example.com', { limit: 1, locked: true }), 403)).toEqual({
      error: 'Only the administrator or a reseller can lock a limit.',
      code: 'lockNotForCustomers',
      params: {},
    });
    const wrong = await refused(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 1, locked: 'yes' }), 400);
    expect(wrong.fields?.locked).toBe('must be true (lock the value for the roles below yours) or false (leave it open)');
    expect(h.storeState()).toEqual(before);
  });
});

describe('bulk changes and locks', () => {
  it('a selection with locked objects is refused whole, naming each locked one and who holds it', async () => {
    await ok(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 0 }));
    await ok(put(RES1, 'mailbox', 'carol@example.com', { limit: 1, locked: true }));
    const before = h.storeState();
    const answer = await refused(
      h.request(JDOE, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['alice@example.com', 'bob@example.com', 'carol@example.com'], limit: 2 }),
      403,
    );
    expect(answer.fields).toEqual({
      'alice@example.com': 'The limit of email address alice@example.com was set and locked by the administrator admin; only they (or a higher role) can change it.',
      'carol@example.com': 'The limit of email address carol@example.com was set and locked by the reseller res1; only they (or a higher role) can change it.',
    });
    expect(answer.error).toMatch(/^2 of the selected objects are locked; nothing was changed\. /);
    expect(h.storeState()).toEqual(before);

    // What the dialog sends after leaving the locked ones out.
    const saved = await ok<{ items: ObjectRow[] }>(h.request(JDOE, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['bob@example.com'], limit: 2 }));
    expect(saved.items.map((r) => [r.name, r.ownLimit])).toEqual([['bob@example.com', 2]]);
  });

  it('the administrator locks a whole selection at once, each audited', async () => {
    const saved = await ok<{ items: ObjectRow[] }>(h.request(ADMIN, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['alice@example.com', 'bob@example.com'], limit: 9, locked: true }));
    expect(saved.items.map((r) => [r.name, r.lockedBy])).toEqual([['alice@example.com', 'admin'], ['bob@example.com', 'admin']]);
    expect((await lockAudit()).map((entry) => entry.objectName).sort()).toEqual(['alice@example.com', 'bob@example.com']);
  });
});

describe('what the dialog may offer', () => {
  it('a customer under a ceiling is offered neither Unlimited nor a default above it', async () => {
    await ok(put(ADMIN, 'domain', 'example.com', { limit: 2 }));
    expect(await row(JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ ceiling: { max: 2 }, mayChooseDefault: false, mayChooseUnlimited: false });
    await ok(put(ADMIN, 'domain', 'example.com', { limit: 10 }));
    expect(await row(JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ ceiling: { max: 8 }, mayChooseDefault: true, mayChooseUnlimited: false });
    expect(await row(ADMIN, 'mailbox', 'alice@example.com')).toMatchObject({ mayChooseDefault: true, mayChooseUnlimited: true });
  });
});

describe('a change that does not mention the lock', () => {
  it('keeps a lock already there (as Plesk forms and the resync send values): it never lifts a lock silently', async () => {
    await ok(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 50, locked: true }));
    expect(await ok<ObjectRow>(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 40 }))).toMatchObject({ ownLimit: 40, lockedBy: 'admin' });
    expect((await refused(put(JDOE, 'mailbox', 'alice@example.com', { limit: 2 }), 403)).error).toMatch(/locked by the administrator admin/);
  });
});

describe('compromised marks and locks', () => {
  it("an administrator's mark locks the mailbox's 0: the customer cannot restore it; the administrator's restore brings the old lock back", async () => {
    await ok(put(ADMIN, 'mailbox', 'alice@example.com', { limit: 2 }));
    const marked = await h.request(ADMIN, 'POST', '/api/v1/mailboxes/alice@example.com/compromised');
    expect(marked.statusCode, marked.body).toBe(201);
    expect(await row(JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ ownLimit: 0, lockedBy: 'admin', lockedForYou: true });
    expect((await refused(h.request(JDOE, 'DELETE', '/api/v1/mailboxes/alice@example.com/compromised'), 403)).error).toBe(
      'The limit of email address alice@example.com was set and locked by the administrator admin; only they (or a higher role) can change it.',
    );
    expect(await refused(put(JDOE, 'mailbox', 'alice@example.com', { limit: 'default' }), 403)).toBeDefined();

    const restored = await h.request(ADMIN, 'DELETE', '/api/v1/mailboxes/alice@example.com/compromised');
    expect(restored.statusCode, restored.body).toBe(200);
    expect(await row(JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ ownLimit: 2, lockedBy: null, lockedForYou: false });
    expect((await lockAudit()).map((entry) => entry.action)).toEqual(['limit.unlock', 'limit.lock']);
  });

  it("a customer's own mark is hers to restore", async () => {
    const marked = await h.request(JDOE, 'POST', '/api/v1/mailboxes/alice@example.com/compromised');
    expect(marked.statusCode, marked.body).toBe(201);
    expect(await row(JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ ownLimit: 0, lockedBy: null });
    const restored = await h.request(JDOE, 'DELETE', '/api/v1/mailboxes/alice@example.com/compromised');
    expect(restored.statusCode, restored.body).toBe(200);
  });
});
