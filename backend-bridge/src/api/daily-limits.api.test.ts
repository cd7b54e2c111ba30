import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, ok, refused, RES1 } from '../../test-support/api-harness.js';
import type { ServerSettings } from '../core/settings.js';
import type { ObjectRow } from '../core/object-query.js';
import type { AuditRow } from '../store/audit-store.js';

/**
 * Daily limits through the API (example directory: jdoe owns example.com of reseller res1 with alice, bob, carol,
 * dave; mary owns other.org). Hourly defaults: mailbox 3, domain 5, subscription 8; daily defaults unlimited.
 */

let h: ApiHarness;
harnessForEachTest((started) => (h = started), { heldWithoutPostfix: true });

const alice = '/api/v1/mailboxes/alice%40example.com';

describe('daily limits in the API', () => {
  it('rows carry the daily window: unlimited by default, own value, usage of the last 24 hours', async () => {
    const before = await ok<ObjectRow>(h.get(ADMIN, alice));
    expect(before.daily).toEqual({
      ownLimit: 'default',
      effectiveLimit: 'unlimited',
      limitSource: 'default',
      defaultLimit: 'unlimited',
      ceiling: null,
      mayChooseDefault: true,
      mayChooseUnlimited: true,
      used: 0,
      blocked: false,
      freesInSeconds: null,
    });

    const set = await ok<ObjectRow>(h.request(ADMIN, 'PUT', `${alice}/limit`, { dailyLimit: 4 }));
    // Only the daily value changed.
    expect(set).toMatchObject({ ownLimit: 'default', effectiveLimit: 3, daily: { ownLimit: 4, effectiveLimit: 4, limitSource: 'own' } });

    expect(h.sendMany('alice@example.com', 3)).toBe(3);
    h.advance(3600);
    // A new hour has room for 3, the day only for 1 more.
    expect(h.sendMany('alice@example.com', 3)).toBe(1);
    const row = await ok<ObjectRow>(h.get(ADMIN, alice));
    expect(row).toMatchObject({ used: 1, blocked: false, daily: { used: 4, blocked: true, freesInSeconds: 86_400 - 3600 } });
    expect(row.sending).toMatchObject({ state: 'holding', level: 'mailbox', self: true, window: 'day', limit: 4, freesInSeconds: 86_400 - 3600 });

    h.flush();
    const events = await ok<{ items: Array<{ window: string; reason: string }> }>(h.get(ADMIN, '/api/v1/events'));
    expect(events.items[0]).toMatchObject({ window: 'day' });
    expect(events.items[0]?.reason).toContain('Outgoing daily limit of 4 messages for mailbox alice@example.com reached; message held, sent automatically in about 23 hours');

    // The list's "blocked" filter finds an object whose day is full while its hour has room.
    const blocked = await ok<{ items: ObjectRow[] }>(h.get(ADMIN, '/api/v1/mailboxes?blocked=true'));
    expect(blocked.items.map((r) => r.name)).toContain('alice@example.com');
  });

  it('both values in one request, audited apart; "default" returns the daily value to the default', async () => {
    await ok(h.request(ADMIN, 'PUT', `${alice}/limit`, { limit: 10, dailyLimit: 50 }));
    await ok(h.request(ADMIN, 'PUT', `${alice}/limit`, { dailyLimit: 'default' }));
    const audit = (await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit'))).items;
    expect(audit.filter((a) => a.action === 'limit.daily.set').map((a) => [a.oldValue, a.newValue])).toEqual([
      [50, 'default'],
      ['default', 50],
    ]);
    expect(audit.filter((a) => a.action === 'limit.set').map((a) => [a.oldValue, a.newValue])).toEqual([['default', 10]]);
    expect((await ok<ObjectRow>(h.get(ADMIN, alice))).daily.ownLimit).toBe('default');
  });

  it('a request naming neither value, or a wrong daily value, is 400 naming the field; nothing changes', async () => {
    const state = h.storeState();
    expect((await refused(h.request(ADMIN, 'PUT', `${alice}/limit`, {}), 400)).fields).toEqual({ limit: 'give limit (per hour), dailyLimit (per day), recipientLimit (per message) or several' });
    expect((await refused(h.request(ADMIN, 'PUT', `${alice}/limit`, { dailyLimit: -1 }), 400)).fields).toHaveProperty('dailyLimit');
    expect((await refused(h.request(ADMIN, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['alice@example.com'], dailyLimit: 'lots' }), 400)).fields).toHaveProperty('dailyLimit');
    expect(h.storeState()).toEqual(state);
  });

  it('server daily defaults through PATCH /settings, followed by every object without its own value', async () => {
    const settings = await ok<ServerSettings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { dailyDefaults: { mailbox: 2 } }));
    expect(settings.dailyDefaults).toEqual({ mailbox: 2, domain: 'unlimited', subscription: 'unlimited' });
    expect((await ok<ObjectRow>(h.get(ADMIN, '/api/v1/mailboxes/bob%40example.com'))).daily).toMatchObject({ effectiveLimit: 2, limitSource: 'default', defaultLimit: 2 });
    expect(h.sendMany('bob@example.com', 3)).toBe(2);
    expect((await refused(h.request(JDOE, 'PATCH', '/api/v1/settings', { dailyDefaults: { mailbox: 'unlimited' } }), 403)).error).toContain('Only the administrator');
  });

  it('a customer is capped by the daily limits above, as by the hourly ones', async () => {
    await ok(h.request(RES1, 'PUT', '/api/v1/subscriptions/example.com/limit', { dailyLimit: 100, locked: false }));
    const row = await ok<ObjectRow>(h.get({ ...JDOE }, alice));
    expect(row.daily).toMatchObject({ ceiling: { max: 100, reason: 'The subscription example.com may send at most 100 per day.' }, mayChooseUnlimited: false, mayChooseDefault: false });
    const tooHigh = await refused(h.request(JDOE, 'PUT', `${alice}/limit`, { dailyLimit: 101 }), 400);
    expect(tooHigh.fields).toEqual({ dailyLimit: 'The value must be in the range 0...100. Only the administrator can raise it.' });
    await ok(h.request(JDOE, 'PUT', `${alice}/limit`, { dailyLimit: 100 }));
  });

  it("one lock covers both windows: a reseller's locked daily 0 stops the customer changing either value", async () => {
    await ok(h.request(RES1, 'PUT', `${alice}/limit`, { dailyLimit: 0 }));
    expect((await ok<ObjectRow>(h.get(JDOE, alice))).lockedForYou).toBe(true);
    expect((await refused(h.request(JDOE, 'PUT', `${alice}/limit`, { dailyLimit: 'default' }), 403)).error).toContain('locked by the reseller res1');
    expect((await refused(h.request(JDOE, 'PUT', `${alice}/limit`, { limit: 2 }), 403)).error).toContain('locked by the reseller res1');
    expect(h.sendMany('alice@example.com', 1)).toBe(0);
    // mary never sees jdoe's mailbox.
    expect((await h.get(MARY, alice)).statusCode).toBe(404);
  });
});
