import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../api/identity.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { decideMessage, type WindowView } from './decision.js';
import { DirectoryIndex, limitIn, type ChargedObject } from './directory.js';
import {
  MAX_EXEMPTION_MS,
  exemptionRefusal,
  limitWithExemption,
  parseExemptionEnd,
  validateExemption,
  type Exemption,
} from './exemptions.js';
import type { Limit, LimitWindow } from './limits.js';
import { INITIAL_SETTINGS } from './settings.js';
import { usageOf } from './usage.js';

const T0 = 1_800_000_000; // seconds
const END = T0 + 600; // the exemption ends 10 minutes after T0

const admin: Identity = { login: 'admin', role: 'admin', userId: '1', via: 'plesk' };
const reseller: Identity = { login: 'res1', role: 'reseller', userId: '2', via: 'plesk' };
const otherReseller: Identity = { login: 'res2', role: 'reseller', userId: '3', via: 'plesk' };
const customer: Identity = { login: 'jdoe', role: 'customer', userId: '4', via: 'plesk' };

function exemption(hourly: Limit | null, daily: Limit | null = null, setBy: Exemption['setBy'] = { login: 'admin', role: 'admin' }): Exemption {
  return { hourly, daily, startsAtMs: T0 * 1000, endsAtMs: END * 1000, setBy };
}

/** alice (hourly 2) in example.com (domain 10) in a subscription of jdoe, reseller res1. */
function directory(): DirectoryIndex {
  return new DirectoryIndex(
    {
      subscriptions: [{ id: 1, name: 'example.com', owner: 'jdoe', reseller: 'res1', systemUser: null, limit: 100 }],
      domains: [{ id: 1, subscriptionId: 1, name: 'example.com', limit: 10 }],
      mailboxes: [{ id: 1, domainId: 1, address: 'alice@example.com', limit: 2, dailyLimit: 3 }],
    },
    { ...INITIAL_SETTINGS, enabled: true },
  );
}

function liveWindows() {
  const of: Record<LimitWindow, RollingWindowCounters> = { hour: new RollingWindowCounters(3600), day: new RollingWindowCounters(86_400, 60) };
  return {
    send(chain: readonly ChargedObject[], at: number) {
      for (const o of chain) for (const c of Object.values(of)) c.add(o.counterKey, at, 1);
    },
    at(now: number): WindowView {
      return { used: (o, w) => of[w].used(o.counterKey, now), secondsUntilFreed: (o, amount, w) => of[w].secondsUntilFreed(o.counterKey, now, amount), atSecond: now };
    },
  };
}

describe('exemptions: the limit in force', () => {
  it('raises the limit until the second before the end and gives the normal one back exactly at the end', () => {
    const i = directory();
    const alice = i.find('mailbox', 'alice@example.com')!;
    i.setExemption(alice, exemption(5, 'unlimited'));
    expect(limitIn(alice, 'hour', END - 1)).toBe(5);
    expect(limitIn(alice, 'day', END - 1)).toBe('unlimited');
    expect(limitIn(alice, 'hour', END)).toBe(2);
    expect(limitIn(alice, 'day', END)).toBe(3);
    // Without the clock (values, ceilings): the normal limit.
    expect(limitIn(alice, 'hour')).toBe(2);
  });

  it('a mailbox of 2 raised to 5 sends 4; from the end on the next one is refused by the normal limit', () => {
    const i = directory();
    const alice = i.find('mailbox', 'alice@example.com')!;
    i.setExemption(alice, exemption(5, 10));
    const chain = i.chainFrom(alice);
    const counts = liveWindows();
    for (let n = 0; n < 4; n++) {
      expect(decideMessage(chain, 1, 'messages', counts.at(T0 + n)).allowed).toBe(true);
      counts.send(chain, T0 + n);
    }
    expect(decideMessage(chain, 1, 'messages', counts.at(END - 1)).allowed).toBe(true);
    const after = decideMessage(chain, 1, 'messages', counts.at(END));
    // Both normal limits are back (2 per hour, 3 per day); the day frees later, so it is the one named.
    expect(after).toMatchObject({ allowed: false, tripped: { name: 'alice@example.com' }, window: 'day', limit: 3, used: 4 });
    expect(usageOf(alice, counts.at(END - 1))).toMatchObject({ limit: 5, blocked: false });
    expect(usageOf(alice, counts.at(END))).toMatchObject({ limit: 2, blocked: true });
  });

  it('never lifts another level: a mailbox exemption leaves its domain limit, a domain exemption its mailboxes', () => {
    const i = directory();
    const alice = i.find('mailbox', 'alice@example.com')!;
    const domain = i.find('domain', 'example.com')!;
    i.setExemption(alice, exemption('unlimited', 'unlimited'));
    const chain = i.chainFrom(alice);
    const counts = liveWindows();
    for (let n = 0; n < 10; n++) counts.send(chain, T0);
    expect(decideMessage(chain, 1, 'messages', counts.at(T0 + 1))).toMatchObject({ allowed: false, tripped: { level: 'domain' }, limit: 10 });

    const j = directory();
    const jAlice = j.find('mailbox', 'alice@example.com')!;
    j.setExemption(j.find('domain', 'example.com')!, exemption('unlimited', 'unlimited'));
    const jChain = j.chainFrom(jAlice);
    const jCounts = liveWindows();
    for (let n = 0; n < 2; n++) jCounts.send(jChain, T0);
    expect(decideMessage(jChain, 1, 'messages', jCounts.at(T0 + 1))).toMatchObject({ allowed: false, tripped: { level: 'mailbox' }, limit: 2 });
    expect(domain.exemption ?? null).toBeNull();
  });

  it('never lowers a limit and never lifts a 0 (a block), whatever the values (property)', () => {
    const limitArb = fc.oneof(fc.constant<Limit>('unlimited'), fc.integer({ min: 0, max: 10_000 }));
    fc.assert(
      fc.property(limitArb, fc.option(limitArb, { nil: null }), fc.integer({ min: -1000, max: 1000 }), (normal, raised, offset) => {
        const atSecond = END + offset;
        const result = limitWithExemption(normal, exemption(raised), 'hour', atSecond);
        if (atSecond >= END || raised === null) return result === normal;
        if (normal === 0) return result === 0;
        if (normal === 'unlimited') return result === 'unlimited';
        return result === 'unlimited' || (result >= normal && (raised === 'unlimited' || result === Math.max(normal, raised)));
      }),
    );
  });
});

describe('exemptions: what people ask for', () => {
  const nowMs = T0 * 1000;
  const normal = { hour: 2, day: 3 } as Record<LimitWindow, Limit>;

  it('reads an end as a zoned date-time or a span from now', () => {
    expect(parseExemptionEnd('+6h', nowMs)).toEqual({ ok: true, endsAtMs: nowMs + 6 * 3_600_000 });
    expect(parseExemptionEnd('+1h30m', nowMs)).toEqual({ ok: true, endsAtMs: nowMs + 90 * 60_000 });
    expect(parseExemptionEnd('+2d', nowMs)).toEqual({ ok: true, endsAtMs: nowMs + 2 * 86_400_000 });
    expect(parseExemptionEnd('2026-12-05T18:00+01:00', nowMs)).toEqual({ ok: true, endsAtMs: Date.parse('2026-12-05T17:00:00Z') });
    expect(parseExemptionEnd('2026-12-05T18:00', nowMs)).toMatchObject({ ok: false, error: expect.stringMatching(/with its zone/) });
    expect(parseExemptionEnd('tomorrow', nowMs)).toMatchObject({ ok: false });
    expect(parseExemptionEnd('+', nowMs)).toMatchObject({ ok: false });
    expect(parseExemptionEnd('2026-02-30T10:00Z', nowMs)).toMatchObject({ ok: false });
  });

  it('accepts a raise within 31 days and rounds its end up to a whole second', () => {
    expect(validateExemption({ hourly: 5000, daily: null, endsAtMs: nowMs + 1500 }, normal, nowMs)).toEqual({ ok: true, value: { hourly: 5000, daily: null, endsAtMs: nowMs + 2000 } });
    expect(validateExemption({ hourly: null, daily: 'unlimited', endsAtMs: nowMs + MAX_EXEMPTION_MS }, normal, nowMs).ok).toBe(true);
  });

  it('refuses an end in the past or now, beyond 31 days, nothing raised, a value not above the limit, a lifted 0', () => {
    expect(validateExemption({ hourly: 5, daily: null, endsAtMs: nowMs }, normal, nowMs)).toEqual({ ok: false, errors: { until: 'the end time must be in the future' } });
    expect(validateExemption({ hourly: 5, daily: null, endsAtMs: nowMs + MAX_EXEMPTION_MS + 1 }, normal, nowMs)).toEqual({ ok: false, errors: { until: 'an exemption lasts at most 31 days' } });
    expect(validateExemption({ hourly: null, daily: null, endsAtMs: nowMs + 1000 }, normal, nowMs)).toMatchObject({ ok: false, errors: { hourly: expect.any(String) } });
    expect(validateExemption({ hourly: 2, daily: 1, endsAtMs: nowMs + 1000 }, normal, nowMs)).toEqual({
      ok: false,
      errors: { hourly: '2 is not above the current limit of 2 per hour', daily: '1 is not above the current limit of 3 per day' },
    });
    expect(validateExemption({ hourly: 5, daily: null, endsAtMs: nowMs + 1000 }, { hour: 0, day: 3 }, nowMs)).toMatchObject({ ok: false, errors: { hourly: expect.stringMatching(/is 0/) } });
    expect(validateExemption({ hourly: 5, daily: null, endsAtMs: nowMs + 1000 }, { hour: 'unlimited', day: 3 }, nowMs)).toMatchObject({ ok: false, errors: { hourly: expect.stringMatching(/already unlimited/) } });
    expect(validateExemption({ hourly: 2.5, daily: null, endsAtMs: nowMs + 1000 }, normal, nowMs)).toMatchObject({ ok: false });
  });
});

describe('exemptions: who may', () => {
  it('the administrator anywhere, a reseller on its customers, a customer nowhere', () => {
    const alice = directory().find('mailbox', 'alice@example.com')!;
    expect(exemptionRefusal(admin, alice)).toBeNull();
    expect(exemptionRefusal(reseller, alice)).toBeNull();
    expect(exemptionRefusal(otherReseller, alice)).toMatchObject({ status: 403, code: 'exemptionNotForYou' });
    expect(exemptionRefusal(customer, alice)).toMatchObject({ status: 403, code: 'exemptionNotForYou' });
  });

  it('a value locked by the administrator, or an exemption of theirs, stops a reseller', () => {
    const i = directory();
    const alice = i.find('mailbox', 'alice@example.com')!;
    i.setLock(alice, { login: 'admin', role: 'admin' });
    expect(exemptionRefusal(reseller, alice)).toMatchObject({ status: 403, code: 'locked' });
    expect(exemptionRefusal(admin, alice)).toBeNull();
    i.setLock(alice, null);
    i.setExemption(alice, exemption(5));
    expect(exemptionRefusal(reseller, alice)).toMatchObject({ status: 403, code: 'exemptionByHigherRole' });
    i.setExemption(alice, exemption(5, null, { login: 'res1', role: 'reseller' }));
    expect(exemptionRefusal(reseller, alice)).toBeNull();
    expect(exemptionRefusal(admin, alice)).toBeNull();
  });
});
