import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, RES1, RES2 } from '../../test-support/api-harness.js';
import type { ExemptionView } from '../core/exemptions.js';
import type { ObjectRow } from '../core/object-query.js';
import { endDueExemptions } from '../enforcement/exemption-ends.js';
import type { AuditRow } from '../store/audit-store.js';

/**
 * Temporary exemptions through the API (example directory: jdoe owns example.com of reseller res1 with alice,
 * bob, carol, dave; mary owns other.org without a reseller). Hourly defaults: mailbox 3, domain 5, subscription 8.
 */

let h: ApiHarness;
harnessForEachTest((started) => (h = started), { heldWithoutPostfix: true });

async function answer<T>(response: Promise<LightMyRequestResponse>, status: number): Promise<T> {
  const got = await response;
  expect(got.statusCode, got.body).toBe(status);
  return (got.body ? got.json() : null) as T;
}

const alice = '/api/v1/mailboxes/alice%40example.com';
const audit = async () => (await answer<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit?limit=20'), 200)).items;
const endAt = (seconds: number) => new Date(h.nowMs + seconds * 1000).toISOString();

describe('temporary exemptions in the API', () => {
  it('raises a mailbox from 3 to 5 until its end; at the end the normal limit applies again and the system records the end', async () => {
    const set = await answer<ExemptionView>(h.request(ADMIN, 'PUT', `${alice}/exemption`, { hourly: 5, until: '+10m' }), 200);
    expect(set).toEqual({ level: 'mailbox', name: 'alice@example.com', hourly: 5, daily: null, startsAt: endAt(0), endsAt: endAt(600), setBy: 'admin', setByRole: 'admin', mayChange: true });
    expect(await answer<ObjectRow>(h.get(ADMIN, alice), 200)).toMatchObject({ effectiveLimit: 3, exemption: { hourly: 5, endsAt: endAt(600) }, mayExempt: true });

    expect(h.sendMany('alice@example.com', 4)).toBe(4);
    h.advance(600 - 1);
    // 4 of 3 used, and still sending in the last second of the exemption.
    expect(await answer<ObjectRow>(h.get(ADMIN, alice), 200)).toMatchObject({ used: 4, sending: { state: 'sending' }, overLimitCause: null });
    expect(h.send('alice@example.com').decision.allowed).toBe(true);
    h.advance(1);
    // Exactly at the end, before any sweep ran: the normal limit of 3 holds the next message.
    expect(h.send('alice@example.com').decision).toMatchObject({ allowed: false, limit: 3, used: 5 });
    expect(await answer<ObjectRow>(h.get(ADMIN, alice), 200)).toMatchObject({ exemption: null, sending: { state: 'holding', limit: 3 } });
    expect((await answer<{ items: ExemptionView[] }>(h.get(ADMIN, '/api/v1/exemptions'), 200)).items).toEqual([]);

    expect(await endDueExemptions(h.db, h.sync, h.enforcer, h.nowMs)).toBe(1);
    const [ended, started] = await audit();
    expect(started).toMatchObject({ actorLogin: 'admin', action: 'exemption.set', level: 'mailbox', objectName: 'alice@example.com', oldValue: null, newValue: { hourly: 5, daily: null, endsAt: endAt(0) } });
    expect(ended).toMatchObject({ actorLogin: 'system', actorRole: 'system', action: 'exemption.end', objectName: 'alice@example.com', newValue: { reason: 'endTime' } });
  });

  it('a reseller exempts its customers’ objects; a customer, another reseller or the owner of nothing may not', async () => {
    await answer(h.request(RES1, 'PUT', `${alice}/exemption`, { hourly: 'unlimited', until: '+1d' }), 200);
    const customer = await answer<{ code: string }>(h.request(JDOE, 'PUT', `${alice}/exemption`, { hourly: 10, until: '+1h' }), 403);
    expect(customer.code).toBe('exemptionNotForYou');
    await answer(h.request(RES2, 'PUT', `${alice}/exemption`, { hourly: 10, until: '+1h' }), 404);
    await answer(h.request(MARY, 'DELETE', `${alice}/exemption`), 404);
    expect(await answer<ObjectRow>(h.get(JDOE, alice), 200)).toMatchObject({ exemption: { hourly: 'unlimited', daily: null, setBy: 'res1', mayChange: false }, mayExempt: false });
    // The customer sees the exemption of its own mailbox; mary sees none of it.
    expect((await answer<{ items: ExemptionView[] }>(h.get(JDOE, '/api/v1/exemptions'), 200)).items.map((e) => e.name)).toEqual(['alice@example.com']);
    expect((await answer<{ items: ExemptionView[] }>(h.get(MARY, '/api/v1/exemptions'), 200)).items).toEqual([]);
  });

  it('never unlocks a value the administrator locked, nor touches the administrator’s exemption, for a reseller', async () => {
    await answer(h.request(ADMIN, 'PUT', `${alice}/limit`, { limit: 3, locked: true }), 200);
    const locked = await answer<{ code: string; error: string }>(h.request(RES1, 'PUT', `${alice}/exemption`, { hourly: 50, until: '+1h' }), 403);
    expect(locked).toMatchObject({ code: 'locked', error: expect.stringMatching(/locked by the administrator admin/) });

    await answer(h.request(ADMIN, 'PUT', '/api/v1/mailboxes/bob%40example.com/exemption', { hourly: 50, until: '+1h' }), 200);
    const theirs = await answer<{ code: string }>(h.request(RES1, 'DELETE', '/api/v1/mailboxes/bob%40example.com/exemption'), 403);
    expect(theirs.code).toBe('exemptionByHigherRole');
    await answer(h.request(RES1, 'PUT', '/api/v1/mailboxes/bob%40example.com/exemption', { hourly: 60, until: '+1h' }), 403);
    expect(h.sendMany('bob@example.com', 60)).toBe(5); // the domain's 5 still holds: a mailbox exemption lifts only the mailbox
  });

  it('refuses a bad request with the field that is wrong, and changes nothing', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ hourly: 5, until: endAt(-1) }, 'until', /in the future/],
      [{ hourly: 5, until: '+32d' }, 'until', /at most 31 days/],
      [{ hourly: 5, until: '2026-12-05T18:00' }, 'until', /with its zone/],
      [{ hourly: 3, until: '+1h' }, 'hourly', /not above the current limit of 3 per hour/],
      [{ hourly: 0, until: '+1h' }, 'hourly', /from 1 to/],
      [{ until: '+1h' }, 'hourly', /hourly, daily or both/],
      [{ hourly: 5, until: '+1h', extra: 1 }, 'extra', /unknown field/],
    ];
    for (const [body, field, message] of cases) {
      const refused = await answer<{ fields: Record<string, string> }>(h.request(ADMIN, 'PUT', `${alice}/exemption`, body), 400);
      expect(refused.fields[field], JSON.stringify(body)).toMatch(message);
    }
    expect((await answer<{ items: ExemptionView[] }>(h.get(ADMIN, '/api/v1/exemptions'), 200)).items).toEqual([]);
    expect((await audit()).filter((row) => row.action.startsWith('exemption.'))).toEqual([]);
  });

  it('ended early by a person: audited as that person, the normal limit at once; ending what is not there is a 404', async () => {
    await answer(h.request(ADMIN, 'PUT', `${alice}/exemption`, { hourly: 'unlimited', until: '+6h' }), 200);
    expect(h.sendMany('alice@example.com', 4)).toBe(4);
    await answer(h.request(RES1, 'PUT', `${alice}/exemption`, { hourly: 5, until: '+6h' }), 403);
    await answer(h.request(ADMIN, 'DELETE', `${alice}/exemption`), 204);
    expect(h.send('alice@example.com').decision).toMatchObject({ allowed: false, limit: 3 });
    const [ended] = await audit();
    expect(ended).toMatchObject({ actorLogin: 'admin', actorRole: 'admin', action: 'exemption.end', newValue: { reason: 'endedEarly' }, oldValue: { hourly: 'unlimited' } });
    const none = await answer<{ code: string }>(h.request(ADMIN, 'DELETE', `${alice}/exemption`), 404);
    expect(none.code).toBe('noExemption');
  });

  it('a domain exemption is listed for its owner’s reseller and the administrator, soonest end first', async () => {
    await answer(h.request(RES1, 'PUT', '/api/v1/domains/example.com/exemption', { hourly: 100, until: '+2h' }), 200);
    await answer(h.request(ADMIN, 'PUT', '/api/v1/mailboxes/mallory%40other.org/exemption', { hourly: 10, until: '+1h' }), 200);
    const all = (await answer<{ items: ExemptionView[] }>(h.get(ADMIN, '/api/v1/exemptions'), 200)).items;
    expect(all.map((e) => e.name)).toEqual(['mallory@other.org', 'example.com']);
    expect((await answer<{ items: ExemptionView[] }>(h.get(RES1, '/api/v1/exemptions'), 200)).items).toMatchObject([{ level: 'domain', name: 'example.com', hourly: 100, daily: null, mayChange: true }]);
  });
});
