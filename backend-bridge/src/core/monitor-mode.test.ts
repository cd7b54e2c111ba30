import { describe, expect, it } from 'vitest';
import { crossesShare, earlyWarningDue, explainEarlyWarning } from './early-warning.js';
import { isMonitoredAction, limitsEnforced, limitsMode, summariseMonitored, switchesForMode, type MonitoredCount } from './monitor-mode.js';

describe('limits mode', () => {
  it('is made of the old switch and monitorOnly; the switch off wins', () => {
    expect(limitsMode({ enabled: true, monitorOnly: false })).toBe('enforce');
    expect(limitsMode({ enabled: true, monitorOnly: true })).toBe('monitor');
    expect(limitsMode({ enabled: false, monitorOnly: true })).toBe('off');
    expect(limitsEnforced({ enabled: true, monitorOnly: true })).toBe(false);
    expect(limitsEnforced({ enabled: true, monitorOnly: false })).toBe(true);
  });

  it('stores each mode as a pair that reads back as the same mode; monitor stays "on" for Plesk', () => {
    for (const mode of ['enforce', 'monitor', 'off'] as const) expect(limitsMode(switchesForMode(mode))).toBe(mode);
    expect(switchesForMode('monitor').enabled).toBe(true);
    expect(switchesForMode('off').monitorOnly).toBe(false);
  });
});

describe('what monitor mode let through', () => {
  const row = (over: Partial<MonitoredCount>): MonitoredCount => ({ level: 'mailbox', objectId: 1, objectName: 'a@example.com', action: 'would-hold', window: 'hour', messages: 1, lastAtMs: 1, ...over });

  it('sums would-hold and would-defer per object and per level, most first, and ignores enforced events', () => {
    const summary = summariseMonitored([
      row({ messages: 2, lastAtMs: 10 }),
      row({ action: 'would-defer', messages: 3, window: 'day', lastAtMs: 20 }),
      row({ level: 'domain', objectId: 2, objectName: 'example.com', messages: 7, lastAtMs: 5 }),
      row({ action: 'hold', messages: 100 }),
    ]);
    expect(summary.wouldHaveBeenHeld).toBe(9);
    expect(summary.wouldHaveBeenDeferred).toBe(3);
    expect(summary.byLevel).toEqual({ mailbox: 5, domain: 7, subscription: 0 });
    expect(summary.objects).toEqual([
      { level: 'domain', name: 'example.com', wouldHaveBeenHeld: 7, wouldHaveBeenDeferred: 0, windows: ['hour'], lastAtMs: 5 },
      { level: 'mailbox', name: 'a@example.com', wouldHaveBeenHeld: 2, wouldHaveBeenDeferred: 3, windows: ['hour', 'day'], lastAtMs: 20 },
    ]);
    expect(summary.objectCount).toBe(2);
  });

  it('cuts the list of objects but not the totals', () => {
    const rows = Array.from({ length: 5 }, (_, i) => row({ objectId: i, objectName: `m${i}@example.com` }));
    const summary = summariseMonitored(rows, 2);
    expect(summary.objects).toHaveLength(2);
    expect(summary.objectCount).toBe(5);
    expect(summary.wouldHaveBeenHeld).toBe(5);
  });

  it('knows its own actions only', () => {
    expect(isMonitoredAction('would-hold')).toBe(true);
    expect(isMonitoredAction('hold')).toBe(false);
  });
});

describe('early warning', () => {
  it('answers only for the charge that crosses the share: used before < share <= used after', () => {
    // 80 % of 10 is 8: the 8th message crosses, the 7th and 9th do not.
    expect(crossesShare(6, 1, 10, 80)).toBe(false);
    expect(crossesShare(7, 1, 10, 80)).toBe(true);
    expect(crossesShare(8, 1, 10, 80)).toBe(false);
    // A message of several recipients may jump over the line.
    expect(crossesShare(5, 4, 10, 80)).toBe(true);
    // 80 % of 7 is 5.6: crossed by the message that makes 6, in whole numbers without rounding.
    expect(crossesShare(5, 1, 7, 80)).toBe(true);
    expect(crossesShare(4, 1, 7, 80)).toBe(false);
    // 80 % of 2 is 1.6: the 2nd message (what the integration test sends).
    expect(crossesShare(1, 1, 2, 80)).toBe(true);
  });

  it('is off at 0 %, and never for a limit of 0', () => {
    expect(crossesShare(7, 1, 10, 0)).toBe(false);
    expect(crossesShare(0, 1, 0, 80)).toBe(false);
  });

  it('is due once per window: not again until the window length has passed', () => {
    expect(earlyWarningDue(undefined, 1000, 3600)).toBe(true);
    expect(earlyWarningDue(1000, 1000 + 3599, 3600)).toBe(false);
    expect(earlyWarningDue(1000, 1000 + 3600, 3600)).toBe(true);
    expect(earlyWarningDue(1000, 1000 + 3600, 86_400)).toBe(false);
  });

  it('says what was reached in words', () => {
    expect(explainEarlyWarning({ level: 'mailbox', objectName: 'a@example.com', window: 'hour', percent: 80, limit: 10, used: 8 }, 'messages')).toBe(
      'mailbox a@example.com reached 80 % of its hourly limit (8 of 10 messages)',
    );
    expect(explainEarlyWarning({ level: 'domain', objectName: 'example.com', window: 'day', percent: 90, limit: 500, used: 450 }, 'messages')).toContain('of its daily limit');
  });
});
