import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, ok } from '../../test-support/api-harness.js';
import { eventually } from '../../test-support/daemon-process.js';
import type { ObjectRow } from '../core/object-query.js';
import type { ServerSettings } from '../core/settings.js';
import { watchAnomalies } from '../enforcement/anomaly-response.js';
import type { RecordedAnomaly } from '../store/anomaly-store.js';
import type { AuditRow } from '../store/audit-store.js';
import { atOnce } from '../../test-support/at-once.js';

/** Unusual sending through the API (example directory: jdoe owns example.com with alice; mary owns other.org). */

let h: ApiHarness;
harnessForEachTest(
  (started) => {
    h = started;
    h.enforcer.anomalyWatch = watchAnomalies({ db: h.db, enforcer: h.enforcer, held: h.held!, log: pino({ level: 'silent' }), notify: () => undefined, nowMs: () => h.nowMs });
  },
  { heldWithoutPostfix: true },
);

const loginFrom = (count: number) => {
  for (let i = 1; i <= count; i++) atOnce(h.enforcer.check({ sender: 'alice@example.com', saslUsername: 'alice@example.com', clientAddress: `198.51.100.${i}`, recipientCount: 1 }));
};

describe('anomaly settings', () => {
  it('defaults: 10 addresses, 100 domains, 10 × the usual; nothing marks compromised by itself', async () => {
    const settings = await ok<ServerSettings>(h.get(ADMIN, '/api/v1/settings'));
    expect(settings.anomalies).toEqual({
      loginAddresses: { threshold: 10, autoCompromise: false },
      recipientDomains: { threshold: 100, autoCompromise: false },
      volumeSurge: { threshold: 10, autoCompromise: false },
    });
  });

  it('changes one field of one signal, switches a signal off, and audits the change', async () => {
    const after = await ok<ServerSettings>(h.request(ADMIN, 'PATCH', '/api/v1/settings', { anomalies: { loginAddresses: { autoCompromise: true }, recipientDomains: { threshold: null } } }));
    expect(after.anomalies).toEqual({
      loginAddresses: { threshold: 10, autoCompromise: true },
      recipientDomains: { threshold: null, autoCompromise: false },
      volumeSurge: { threshold: 10, autoCompromise: false },
    });
    const audit = await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit'));
    expect(audit.items[0]).toMatchObject({ action: 'settings.update', actorLogin: 'admin' });
    expect((audit.items[0]?.newValue as ServerSettings).anomalies.loginAddresses.autoCompromise).toBe(true);
  });

  it('a threshold of 0 or a fraction is refused with the reason, and nothing changes', async () => {
    for (const threshold of [0, 2.5, 'ten', 10_001]) {
      const answer = await h.request(ADMIN, 'PATCH', '/api/v1/settings', { anomalies: { loginAddresses: { threshold } } });
      expect(answer.statusCode, answer.body).toBe(400);
      expect(answer.body).toContain('must be a whole number from 1 to 10000, or null to switch the signal off');
    }
    expect((await ok<ServerSettings>(h.get(ADMIN, '/api/v1/settings'))).anomalies.loginAddresses.threshold).toBe(10);
  });

  it('customers may not change them', async () => {
    const answer = await h.request(JDOE, 'PATCH', '/api/v1/settings', { anomalies: { loginAddresses: { threshold: null } } });
    expect(answer.statusCode).toBe(403);
  });
});

describe('GET /anomalies and the mark on the row', () => {
  it('a login from 11 addresses is listed for the administrator and the owner, not for another customer; the row carries the mark', async () => {
    loginFrom(11);
    const admin = await ok<{ items: RecordedAnomaly[] }>(h.get(ADMIN, '/api/v1/anomalies'));
    expect(admin.items).toHaveLength(1);
    expect(admin.items[0]).toMatchObject({ mailbox: 'alice@example.com', signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null, autoCompromised: false });
    expect((await ok<{ items: RecordedAnomaly[] }>(h.get(JDOE, '/api/v1/anomalies'))).items).toHaveLength(1);
    expect((await ok<{ items: RecordedAnomaly[] }>(h.get(MARY, '/api/v1/anomalies'))).items).toEqual([]);
    const row = await ok<ObjectRow>(h.get(JDOE, '/api/v1/mailboxes/alice%40example.com'));
    expect(row.anomaly).toMatchObject({ signal: 'loginAddresses', observed: 11, threshold: 10 });
    const bob = await ok<ObjectRow>(h.get(JDOE, '/api/v1/mailboxes/bob%40example.com'));
    expect(bob.anomaly).toBeNull();
  });

  it('the list keeps to its window of hours', async () => {
    loginFrom(11);
    h.advance(2 * 3600);
    expect((await ok<{ items: RecordedAnomaly[] }>(h.get(ADMIN, '/api/v1/anomalies?hours=1'))).items).toEqual([]);
    expect((await ok<{ items: RecordedAnomaly[] }>(h.get(ADMIN, '/api/v1/anomalies?hours=3'))).items).toHaveLength(1);
    expect((await h.get(ADMIN, '/api/v1/anomalies?hours=0')).statusCode).toBe(400);
  });

  it('switched on to mark compromised: the mailbox is marked, audited as the system with the figures', async () => {
    await ok(h.request(ADMIN, 'PATCH', '/api/v1/settings', { anomalies: { loginAddresses: { autoCompromise: true } } }));
    loginFrom(11);
    await eventually(async () => (await ok<ObjectRow>(h.get(ADMIN, '/api/v1/mailboxes/alice%40example.com'))).compromised, 'alice to be marked compromised', 10_000);
    const audit = await ok<{ items: AuditRow[] }>(h.get(ADMIN, '/api/v1/audit?level=mailbox&name=alice%40example.com'));
    expect(audit.items.find((a) => a.action === 'mailbox.compromised')).toMatchObject({
      actorLogin: 'system',
      newValue: { limit: 0, automatically: { signal: 'loginAddresses', observed: 11, threshold: 10, baseline: null } },
    });
    await eventually(async () => (await ok<{ items: RecordedAnomaly[] }>(h.get(ADMIN, '/api/v1/anomalies'))).items[0]?.autoCompromised === true, 'the anomaly to say it marked the mailbox', 10_000);
  });

  it('is in the OpenAPI document', async () => {
    const document = (await ok<{ paths: Record<string, Record<string, { tags: string[] }>> }>(h.get(null, '/api/v1/openapi.json')));
    expect(document.paths['/api/v1/anomalies']?.get?.tags).toEqual(['events']);
  });
});
