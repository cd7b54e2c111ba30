import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, ok, refused } from '../../test-support/api-harness.js';
import type { ObjectRow } from '../core/object-query.js';
import type { ServerSettings } from '../core/settings.js';
import type { AuditRow } from '../store/audit-store.js';
import type { MonitoringAnswer } from './routes/monitor-routes.js';

/**
 * Monitor mode and early warnings through the API (example directory: jdoe owns example.com with alice, bob,
 * carol, dave and example.net with erin; mary owns other.org). Hourly defaults: mailbox 3, domain 5, subscription 8.
 */

type Settings = ServerSettings & { mode: string };

let h: ApiHarness;
harnessForEachTest((started) => (h = started), { heldWithoutPostfix: true });

describe('the limits mode in the settings', () => {
  it('is "enforce" by default; "monitor" stays enabled for older clients and Plesk; "off" and the old switch agree', async () => {
    expect(await ok<Settings>(h.get(ADMIN, '/api/v1/settings'))).toMatchObject({ mode: 'enforce', enabled: true, monitorOnly: false, earlyWarningPercent: 80 });
    expect(await ok<Settings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'monitor' }))).toMatchObject({ mode: 'monitor', enabled: true, monitorOnly: true });
    expect(h.enforcer.currentSettings.monitorOnly).toBe(true);
    expect(await ok(h.get(JDOE, '/api/v1/limits/state'))).toEqual({ enabled: true, mode: 'monitor', maySwitchOn: false });
    // Plesk writes its switch "on" again: monitoring stays.
    expect(await ok<Settings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: true }))).toMatchObject({ mode: 'monitor' });
    // Off, then on through the old switch: enforced, as "on" always meant.
    expect(await ok<Settings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: false }))).toMatchObject({ mode: 'off', enabled: false, monitorOnly: false });
    expect(await ok<Settings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: true }))).toMatchObject({ mode: 'enforce' });
  });

  it('a wrong mode, both mode and enabled, or a wrong share: 400 naming the field, nothing changes', async () => {
    expect((await refused(h.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'dry-run' }), 400)).fields).toEqual({
      mode: 'must be "enforce" (limits on), "monitor" (monitor only: nothing is held or deferred) or "off"',
    });
    expect((await refused(h.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'monitor', enabled: true }), 400)).fields).toEqual({ mode: 'give mode or enabled, not both' });
    for (const bad of [100, -1, 12.5, '80']) {
      expect((await refused(h.request(ADMIN, 'PATCH', '/api/v1/settings', { earlyWarningPercent: bad }), 400)).fields).toEqual({
        earlyWarningPercent: 'must be a whole number of percent from 1 to 99, or 0 for no early warnings',
      });
    }
    expect(await ok<Settings>(h.get(ADMIN, '/api/v1/settings'))).toMatchObject({ mode: 'enforce', earlyWarningPercent: 80 });
    await refused(h.request(JDOE, 'PATCH', '/api/v1/settings', { mode: 'off' }), 403);
  });

  it('changes are audited like the other settings', async () => {
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'monitor', earlyWarningPercent: 90 }));
    const audit = (await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit'))).items.filter((a) => a.action === 'settings.update');
    expect(audit).toHaveLength(1);
    expect(audit[0]!.oldValue).toMatchObject({ enabled: true, monitorOnly: false, earlyWarningPercent: 80 });
    expect(audit[0]!.newValue).toMatchObject({ enabled: true, monitorOnly: true, earlyWarningPercent: 90 });
  });
});

describe('monitor mode in rows and in GET /monitoring', () => {
  it('rows say what would happen, not "holding"; the usage above the limit says why', async () => {
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'monitor' }));
    expect(h.sendMany('alice@example.com', 5)).toBe(5);
    const row = await ok<ObjectRow>(h.get(ADMIN, '/api/v1/mailboxes/alice%40example.com'));
    expect(row.sending).toMatchObject({ state: 'wouldHold', level: 'mailbox', self: true, limit: 3 });
    expect(row.used).toBe(5);
    expect(row.overLimitCause).toBe('monitorOnly');
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { overLimitAction: 'defer' }));
    expect((await ok<ObjectRow>(h.get(ADMIN, '/api/v1/mailboxes/alice%40example.com'))).sending.state).toBe('wouldDefer');
  });

  it('sums what would have been held or deferred in the last 24 hours, by level and object, as far as each may see', async () => {
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'monitor' }));
    h.sendMany('alice@example.com', 5); // 2 over the mailbox limit of 3
    h.sendMany('bob@example.com', 3); // alice's 5 were sent and counted: the domain's 5 is reached, all 3 over
    h.sendMany('mallory@other.org', 4); // 1 over
    const all = await ok<MonitoringAnswer>(h.get(ADMIN, '/api/v1/monitoring'));
    expect(all).toMatchObject({ mode: 'monitor', hours: 24, wouldHaveBeenHeld: 6, wouldHaveBeenDeferred: 0, byLevel: { mailbox: 3, domain: 3, subscription: 0 }, objectCount: 3 });
    expect(all.objects.map((o) => [o.level, o.name, o.wouldHaveBeenHeld])).toEqual([
      ['domain', 'example.com', 3],
      ['mailbox', 'alice@example.com', 2],
      ['mailbox', 'mallory@other.org', 1],
    ]);
    const jdoe = await ok<MonitoringAnswer>(h.get(JDOE, '/api/v1/monitoring'));
    expect(jdoe.objects.map((o) => o.name)).toEqual(['example.com', 'alice@example.com']);
    expect(jdoe.wouldHaveBeenHeld).toBe(5);
    // A day later the window of the panel has passed.
    h.advance(25 * 3600);
    expect((await ok<MonitoringAnswer>(h.get(ADMIN, '/api/v1/monitoring'))).objectCount).toBe(0);
    expect((await ok<MonitoringAnswer>(h.get(ADMIN, '/api/v1/monitoring?hours=48'))).objectCount).toBe(3);
    expect((await refused(h.get(ADMIN, '/api/v1/monitoring?hours=0'), 400)).fields).toHaveProperty('hours');
  });

  it('mail really held is not counted as "would have been"', async () => {
    h.sendMany('alice@example.com', 5);
    expect((await ok<MonitoringAnswer>(h.get(ADMIN, '/api/v1/monitoring'))).wouldHaveBeenHeld).toBe(0);
  });

  it('lists the early warnings given, once per window, to those who may see the object', async () => {
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { defaults: { mailbox: 10, domain: 'unlimited', subscription: 'unlimited' } }));
    h.sendMany('alice@example.com', 9);
    h.sendMany('mallory@other.org', 8);
    const answer = await ok<MonitoringAnswer>(h.get(ADMIN, '/api/v1/monitoring'));
    expect(answer.earlyWarnings.map((w) => [w.level, w.objectName, w.window, w.percent, w.limit, w.used])).toEqual([
      ['mailbox', 'mallory@other.org', 'hour', 80, 10, 8],
      ['mailbox', 'alice@example.com', 'hour', 80, 10, 8],
    ]);
    expect((await ok<MonitoringAnswer>(h.get(MARY, '/api/v1/monitoring'))).earlyWarnings.map((w) => w.objectName)).toEqual(['mallory@other.org']);
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { earlyWarningPercent: 0 }));
    h.sendMany('bob@example.com', 9);
    expect((await ok<MonitoringAnswer>(h.get(ADMIN, '/api/v1/monitoring'))).earlyWarnings).toHaveLength(2);
  });
});
