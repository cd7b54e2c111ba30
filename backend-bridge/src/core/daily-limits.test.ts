import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { decideMessage, explainHold, formatWait, type Refused, type WindowView } from './decision.js';
import { DirectoryIndex, type ChargedObject, type DirectoryRecordStreams } from './directory.js';
import { heldLeaving } from './held-release-time.js';
import type { Level, Limit, LimitWindow, PlanLimits } from './limits.js';
import { INITIAL_SETTINGS, type ServerSettings } from './settings.js';
import { usageOf } from './usage.js';

const DAY = 86_400;
const T0 = 1_800_000_000; // a multiple of 60: minute steps line up with it

/** Both windows over real counters, the hourly one per second and the daily one per minute, as the daemon has them. */
function liveWindows() {
  const hour = new RollingWindowCounters(3600);
  const day = new RollingWindowCounters(DAY, 60);
  const of: Record<LimitWindow, RollingWindowCounters> = { hour, day };
  return {
    send(object: ChargedObject, at: number, amount = 1) {
      hour.add(object.counterKey, at, amount);
      day.add(object.counterKey, at, amount);
    },
    at(now: number): WindowView {
      return {
        used: (o, w) => of[w].used(o.counterKey, now),
        secondsUntilFreed: (o, amount, w) => of[w].secondsUntilFreed(o.counterKey, now, amount),
      };
    },
  };
}

function index(settings: Partial<ServerSettings>, mailbox: { limit?: Limit | null; dailyLimit?: Limit | null } = {}, plan: PlanLimits | null = null): DirectoryIndex {
  const records: DirectoryRecordStreams = {
    subscriptions: [{ id: 1, name: 'example.com', owner: 'jdoe', reseller: null, systemUser: null, limit: null, plan }],
    domains: [{ id: 1, subscriptionId: 1, name: 'example.com', limit: null }],
    mailboxes: [{ id: 1, domainId: 1, address: 'alice@example.com', limit: mailbox.limit ?? null, dailyLimit: mailbox.dailyLimit ?? null }],
  };
  return new DirectoryIndex(records, { ...INITIAL_SETTINGS, defaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' }, ...settings });
}

const alice = (i: DirectoryIndex) => i.find('mailbox', 'alice@example.com')!;
const chainOf = (i: DirectoryIndex) => i.chainFrom(alice(i));

describe('daily limits: effective values', () => {
  it('are unlimited by default at every level, beside hourly defaults', () => {
    const i = new DirectoryIndex({ subscriptions: [{ id: 1, name: 'example.com', owner: 'jdoe', reseller: null, systemUser: null, limit: null }], domains: [], mailboxes: [] }, INITIAL_SETTINGS);
    expect(i.find('subscription', 'example.com')!.daily.effective).toEqual({ limit: 'unlimited', source: 'default' });
    expect(i.find('subscription', 'example.com')!.effective.limit).toBe(5000);
  });

  it('own value, else the plan daily value of the level, else the server daily default', () => {
    const plan: PlanLimits = { name: 'Silver', mailbox: null, domain: null, subscription: null, daily: { mailbox: 300, domain: null, subscription: 'unlimited' } };
    const settings = { dailyDefaults: { mailbox: 1000, domain: 2000, subscription: 4000 } as Record<Level, Limit> };
    expect(alice(index(settings, {}, plan)).daily.effective).toEqual({ limit: 300, source: 'plan' });
    expect(alice(index(settings, { dailyLimit: 50 }, plan)).daily.effective).toEqual({ limit: 50, source: 'own' });
    expect(index(settings, {}, plan).find('domain', 'example.com')!.daily.effective).toEqual({ limit: 2000, source: 'default' });
    expect(index(settings, {}, plan).find('subscription', 'example.com')!.daily.effective).toEqual({ limit: 'unlimited', source: 'plan' });
  });

  it('follow a new server daily default in place, and an own daily value set in place', () => {
    const i = index({});
    i.applySettings({ ...INITIAL_SETTINGS, dailyDefaults: { mailbox: 40, domain: 'unlimited', subscription: 'unlimited' } });
    expect(alice(i).daily.effective).toEqual({ limit: 40, source: 'default' });
    i.setOwnDailyLimit(alice(i), 7);
    expect(alice(i).daily.effective).toEqual({ limit: 7, source: 'own' });
    // The hourly value is a separate one.
    expect(alice(i).own).toBeNull();
  });
});

describe('daily limits: the decision over two windows', () => {
  it('holds the 4th message of a mailbox with hourly 5 and daily 3, naming the daily window and when it frees', () => {
    const i = index({}, { limit: 5, dailyLimit: 3 });
    const live = liveWindows();
    for (let n = 0; n < 3; n++) live.send(alice(i), T0 + n * 600, 1);
    const now = T0 + 3 * 600;
    const decision = decideMessage(chainOf(i), 1, 'messages', live.at(now)) as Refused;
    expect(decision).toMatchObject({ allowed: false, window: 'day', limit: 3, used: 3 });
    expect(decision.tripped.name).toBe('alice@example.com');
    // The first message (T0) leaves the daily window 24 hours later: 23 h 30 min from now.
    expect(decision.retryAfterSeconds).toBe(DAY - 1800);
    expect(decision.reason).toBe('Outgoing daily limit of 3 messages for mailbox alice@example.com reached; try again in 23 hours 30 minutes');
    expect(explainHold(decision)).toBe('Outgoing daily limit of 3 messages for mailbox alice@example.com reached; message held, sent automatically in about 23 hours 30 minutes');
  });

  it('the hourly window trips as before while the day has room, and is named as the hour', () => {
    const i = index({}, { limit: 2, dailyLimit: 500 });
    const live = liveWindows();
    live.send(alice(i), T0, 2);
    const decision = decideMessage(chainOf(i), 1, 'messages', live.at(T0 + 60)) as Refused;
    expect(decision).toMatchObject({ window: 'hour', limit: 2, retryAfterSeconds: 3540 });
    expect(decision.reason).toBe('Outgoing limit of 2 messages/hour for mailbox alice@example.com reached; try again in 59 minutes');
  });

  it('when both windows of a level are full, names the one that frees later: the message fits only once both have room', () => {
    const i = index({}, { limit: 2, dailyLimit: 2 });
    const live = liveWindows();
    live.send(alice(i), T0, 2);
    expect(decideMessage(chainOf(i), 1, 'messages', live.at(T0 + 60))).toMatchObject({ window: 'day', retryAfterSeconds: DAY - 60 });
  });

  it('a daily limit of 0 is never freed by time; one of a domain holds its mailbox too', () => {
    const i = index({ dailyDefaults: { mailbox: 'unlimited', domain: 0, subscription: 'unlimited' } });
    const decision = decideMessage(chainOf(i), 1, 'messages', liveWindows().at(T0)) as Refused;
    expect(decision).toMatchObject({ window: 'day', limit: 0, retryAfterSeconds: null });
    expect(decision.tripped.level).toBe('domain');
    expect(decision.reason).toBe('Sending is not allowed for domain example.com (outgoing daily limit 0 messages)');
  });

  it('a message of more recipients than the daily limit can never fit', () => {
    const i = index({}, { dailyLimit: 3 });
    const decision = decideMessage(chainOf(i), 4, 'recipients', liveWindows().at(T0)) as Refused;
    expect(decision.retryAfterSeconds).toBeNull();
    expect(decision.reason).toContain('more than the outgoing daily limit of 3 recipients for mailbox alice@example.com allows');
  });

  it('a message is allowed exactly when both windows have room (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.integer({ min: 0, max: DAY - 1 }), { maxLength: 30 }),
        (hourly, daily, ages) => {
          const i = index({}, { limit: hourly, dailyLimit: daily });
          const live = liveWindows();
          const now = T0 + DAY;
          for (const age of ages) live.send(alice(i), now - age, 1);
          const inHour = ages.filter((age) => age < 3600).length;
          // The daily window is kept per minute and never lets a count go early: anything of the last 24 hours counts.
          const inDay = ages.length;
          const allowed = decideMessage(chainOf(i), 1, 'messages', live.at(now)).allowed;
          expect(allowed).toBe(inHour + 1 <= hourly && inDay + 1 <= daily);
        },
      ),
    );
  });
});

describe('daily limits: held mail and usage', () => {
  it('held mail waits for the later of the two windows', () => {
    const i = index({}, { limit: 5, dailyLimit: 3 });
    const live = liveWindows();
    for (let n = 0; n < 3; n++) live.send(alice(i), T0 + n * 600, 1);
    const leaving = heldLeaving(chainOf(i), 1, 0, 0, live.at(T0 + 1800), INITIAL_SETTINGS, () => false);
    expect(leaving).toEqual({ leaves: 'automatically', inSeconds: DAY - 1800 });
    // A day after the first message, it leaves at the next pass.
    expect(heldLeaving(chainOf(i), 1, 0, 0, live.at(T0 + DAY), INITIAL_SETTINGS, () => false)).toEqual({ leaves: 'automatically', inSeconds: 0 });
  });

  it('usage shows the last 24 hours beside the last hour', () => {
    const i = index({}, { limit: 100, dailyLimit: 3 });
    const live = liveWindows();
    live.send(alice(i), T0, 2);
    live.send(alice(i), T0 + 7200, 1);
    const usage = usageOf(alice(i), live.at(T0 + 7200));
    expect(usage).toMatchObject({ used: 1, limit: 100, blocked: false });
    expect(usage.day).toEqual({ used: 3, limit: 3, source: 'own', blocked: true, freesInSeconds: DAY - 7200 });
  });

  it('waits beyond an hour are said in hours and minutes, rounded up', () => {
    expect(formatWait(3600)).toBe('60 minutes');
    expect(formatWait(3601)).toBe('1 hour 1 minute');
    expect(formatWait(3 * 3600)).toBe('3 hours');
    expect(formatWait(3 * 3600 - 30)).toBe('3 hours');
    expect(formatWait(DAY - 1)).toBe('24 hours');
  });
});

describe('the daily window counted per minute', () => {
  it('an amount leaves at most one minute late and never early', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 2 * DAY }), (sent, age) => {
        const c = new RollingWindowCounters(DAY, 60);
        c.add(1, T0 + sent, 1);
        const now = T0 + sent + age;
        const counted = c.used(1, now) === 1;
        if (age < DAY) expect(counted).toBe(true);
        if (age >= DAY + 60) expect(counted).toBe(false);
        if (counted) {
          const frees = c.secondsUntilFreed(1, now, 1)!;
          expect(frees).toBeGreaterThan(0);
          expect(age + frees).toBeGreaterThanOrEqual(DAY);
          expect(age + frees).toBeLessThan(DAY + 60);
          // Time only moves forward: the second before first, then the second it frees.
          expect(c.used(1, now + frees - 1)).toBe(1);
          expect(c.used(1, now + frees)).toBe(0);
        }
      }),
    );
  });

  it('keeps one step per minute for a busy object', () => {
    const c = new RollingWindowCounters(DAY, 60);
    for (let s = 0; s < 3600; s++) c.add(1, T0 + s, 1);
    expect(c.used(1, T0 + 3600)).toBe(3600);
    expect(c.secondsUntilFreed(1, T0 + 3600, 1)).toBe(DAY - 3600);
    // A second step size that does not divide the window is refused, not rounded.
    expect(() => new RollingWindowCounters(DAY, 7)).toThrow(/cannot be counted in steps of 7 s/);
  });
});

describe('daily limits in notifications', () => {
  it('the mail names the daily limit and what was sent in the last 24 hours', async () => {
    const { mailBody, mailSubject } = await import('../notify/notification.js');
    const notification = {
      kind: 'limit-reached' as const,
      wouldHaveBeen: null,
      atMs: T0 * 1000,
      level: 'mailbox' as const,
      name: 'alice@example.com',
      window: 'day' as const,
      limit: 500,
      unit: 'messages',
      sent: 500,
      held: 1,
      topRecipientDomains: [],
      reason: 'Outgoing daily limit of 500 messages for mailbox alice@example.com reached; message held, sent automatically in about 3 hours',
      freesInSeconds: 3 * 3600,
      link: 'https://panel.example/held',
    };
    expect(mailSubject(notification)).toBe('Outgoing daily limit reached: mailbox alice@example.com (500 messages per day)');
    const body = mailBody(notification, '1h');
    expect(body).toContain('Limit:                 500 messages per day');
    expect(body).toContain('Sent in the last 24 h: 500');
    expect(body).toContain('Budget frees:          in 3 hours; held mail is then sent automatically');
    expect(mailSubject({ ...notification, window: 'hour', limit: 100 })).toBe('Outgoing limit reached: mailbox alice@example.com (100 messages per hour)');
  });
});
