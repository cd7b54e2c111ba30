import { describe, expect, it } from 'vitest';
import type { ServerSettings } from '../src/core/settings.js';
import { cli, tempDataDir } from '../test-support/daemon-process.js';

async function shown(dataDir: string): Promise<ServerSettings> {
  return JSON.parse(await cli(['settings', 'show', '--json', '--data-dir', dataDir])) as ServerSettings;
}

describe('outgoing-limits settings set', () => {
  it('switches an anomaly signal off with "off", and on again with a number', async () => {
    const dataDir = tempDataDir();
    await cli(['settings', 'set', '--data-dir', dataDir, '--anomaly-domains', '100']);
    expect((await shown(dataDir)).anomalies.loginAddresses.threshold).toBe(10);
    await cli(['settings', 'set', '--data-dir', dataDir, '--anomaly-logins', 'off', '--anomaly-surge', 'off']);
    const off = await shown(dataDir);
    expect(off.anomalies.loginAddresses.threshold).toBeNull();
    expect(off.anomalies.volumeSurge.threshold).toBeNull();
    expect(off.anomalies.recipientDomains.threshold).toBe(100);
    await cli(['settings', 'set', '--data-dir', dataDir, '--anomaly-logins', '12']);
    expect((await shown(dataDir)).anomalies.loginAddresses.threshold).toBe(12);
  });

  it('sets every limit and signal of the product in one call, and each back off', async () => {
    const dataDir = tempDataDir();
    await cli(['settings', 'set', '--data-dir', dataDir, '--mailbox-daily-limit', '2000', '--mailbox-recipient-limit', '50', '--early-warning', '80', '--anomaly-domains', '100']);
    expect(await shown(dataDir)).toMatchObject({ dailyDefaults: { mailbox: 2000 }, recipientDefaults: { mailbox: 50 }, earlyWarningPercent: 80, anomalies: { recipientDomains: { threshold: 100 } } });
    await cli(['settings', 'set', '--data-dir', dataDir, '--mailbox-daily-limit', 'unlimited', '--mailbox-recipient-limit', 'unlimited', '--early-warning', 'off', '--anomaly-domains', 'off']);
    expect(await shown(dataDir)).toMatchObject({ dailyDefaults: { mailbox: 'unlimited' }, recipientDefaults: { mailbox: 'unlimited' }, earlyWarningPercent: 0, anomalies: { recipientDomains: { threshold: null } } });
  });
});
