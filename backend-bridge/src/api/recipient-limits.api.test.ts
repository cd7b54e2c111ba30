import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, ok, refused, RES1 } from '../../test-support/api-harness.js';
import type { ObjectRow } from '../core/object-query.js';
import type { ServerSettings } from '../core/settings.js';
import type { AuditRow } from '../store/audit-store.js';
import type { OverLimitEvent } from '../store/over-limit-events.js';

/**
 * The maximum of recipients per message through the API (example directory: jdoe owns example.com of reseller
 * res1 with alice, bob, carol, dave; mary owns other.org). Unlimited by default at every level.
 */

let h: ApiHarness;
harnessForEachTest((started) => (h = started), { heldWithoutPostfix: true });

const alice = '/api/v1/mailboxes/alice%40example.com';

describe('recipients per message in the API', () => {
  it('rows say the maximum: unlimited by default; an own value; the tightest of the chain, whichever level', async () => {
    expect((await ok<ObjectRow>(h.get(ADMIN, alice))).recipients).toEqual({ ownLimit: 'default', effectiveLimit: 'unlimited', limitSource: 'default', defaultLimit: 'unlimited', tightest: null });
    const set = await ok<ObjectRow>(h.request(ADMIN, 'PUT', `${alice}/limit`, { recipientLimit: 50 }));
    // Only the maximum changed.
    expect(set).toMatchObject({ ownLimit: 'default', daily: { ownLimit: 'default' }, recipients: { ownLimit: 50, effectiveLimit: 50, limitSource: 'own', tightest: { level: 'mailbox', maximum: 50 } } });
    await ok(h.request(ADMIN, 'PUT', '/api/v1/domains/example.com/limit', { recipientLimit: 20 }));
    expect((await ok<ObjectRow>(h.get(ADMIN, alice))).recipients.tightest).toEqual({ level: 'domain', name: 'example.com', maximum: 20 });
  });

  it('a message over it is refused permanently, costs no budget, and the event says the maximum', async () => {
    await ok(h.request(ADMIN, 'PUT', `${alice}/limit`, { recipientLimit: 3 }));
    const verdict = h.send('alice@example.com', { recipients: 4 });
    expect(verdict.tooManyRecipients?.reason).toBe('Too many recipients: at most 3 per message for mailbox alice@example.com');
    expect(h.send('alice@example.com', { recipients: 3 }).decision.allowed).toBe(true);
    expect((await ok<ObjectRow>(h.get(ADMIN, alice))).used).toBe(1);
    h.flush();
    const events = (await ok<{ items: OverLimitEvent[] }>(h.get(ADMIN, '/api/v1/events'))).items;
    expect(events).toEqual([expect.objectContaining({ action: 'reject', recipientMaximum: 3, recipientCount: 4, level: 'mailbox', objectName: 'alice@example.com' })]);
    // Other owners do not see it.
    expect((await ok<{ items: OverLimitEvent[] }>(h.get(MARY, '/api/v1/events'))).items).toEqual([]);
  });

  it('is audited as its own action; "default" returns to the server default; bulk sets it on several', async () => {
    await ok(h.request(ADMIN, 'PUT', `${alice}/limit`, { recipientLimit: 10 }));
    await ok(h.request(ADMIN, 'PUT', `${alice}/limit`, { recipientLimit: 'default' }));
    await ok(h.request(ADMIN, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['bob@example.com', 'carol@example.com'], recipientLimit: 'unlimited' }));
    const audit = (await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit'))).items.filter((a) => a.action === 'limit.recipients.set');
    expect(audit.map((a) => [a.objectName, a.oldValue, a.newValue])).toEqual([
      ['carol@example.com', 'default', 'unlimited'],
      ['bob@example.com', 'default', 'unlimited'],
      ['alice@example.com', 10, 'default'],
      ['alice@example.com', 'default', 10],
    ]);
  });

  it('0, fractions and words are 400 naming the field; nothing changes', async () => {
    const state = h.storeState();
    for (const bad of [0, 2.5, 'lots', -1]) {
      const answer = await refused(h.request(ADMIN, 'PUT', `${alice}/limit`, { recipientLimit: bad }), 400);
      expect(answer.fields).toEqual({ recipientLimit: 'must be a whole number of recipients from 1 to 1000000000, "unlimited" or "default"' });
    }
    expect((await refused(h.request(ADMIN, 'PATCH', '/api/v1/settings', { recipientDefaults: { mailbox: 0 } }), 400)).fields).toHaveProperty(['recipientDefaults.mailbox']);
    expect(h.storeState()).toEqual(state);
  });

  it('server defaults through PATCH /settings (administrator only), followed by objects without their own value', async () => {
    const settings = await ok<ServerSettings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { recipientDefaults: { domain: 40 } }));
    expect(settings.recipientDefaults).toEqual({ mailbox: 'unlimited', domain: 40, subscription: 'unlimited' });
    expect((await ok<ObjectRow>(h.get(ADMIN, alice))).recipients.tightest).toEqual({ level: 'domain', name: 'example.com', maximum: 40 });
    expect(h.send('bob@example.com', { recipients: 41 }).tooManyRecipients).not.toBeNull();
    expect((await refused(h.request(JDOE, 'PATCH', '/api/v1/settings', { recipientDefaults: { domain: 'unlimited' } }), 403)).error).toContain('Only the administrator');
    const audit = (await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit'))).items.find((a) => a.action === 'settings.update');
    expect(audit?.newValue).toMatchObject({ recipientDefaults: { domain: 40 } });
  });

  it('locks and rights as for the limits: a reseller lock stops the customer; customers never set a subscription', async () => {
    await ok(h.request(JDOE, 'PUT', `${alice}/limit`, { recipientLimit: 5 }));
    await ok(h.request(RES1, 'PUT', `${alice}/limit`, { recipientLimit: 2, locked: true }));
    expect((await refused(h.request(JDOE, 'PUT', `${alice}/limit`, { recipientLimit: 'unlimited' }), 403)).error).toContain('locked by the reseller res1');
    expect((await refused(h.request(JDOE, 'PUT', '/api/v1/subscriptions/example.com/limit', { recipientLimit: 100 }), 403)).code).toBe('subscriptionByProvider');
    expect((await h.request(MARY, 'PUT', `${alice}/limit`, { recipientLimit: 100 })).statusCode).toBe(404);
    expect((await ok<ObjectRow>(h.get(ADMIN, alice))).recipients.ownLimit).toBe(2);
  });

  it('the OpenAPI document describes recipientLimit and recipientDefaults', async () => {
    const text = JSON.stringify(await ok<unknown>(h.get(null, '/api/v1/openapi.json')));
    expect(text).toContain('recipientLimit');
    expect(text).toContain('recipientDefaults');
    expect(text).toContain('554 5.5.3');
  });
});
