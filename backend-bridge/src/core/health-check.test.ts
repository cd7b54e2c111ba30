import { describe, expect, it } from 'vitest';
import {
  BACKUP_STALE_MS,
  DIRECTORY_STALE_MS,
  exitCodeOf,
  HEALTH_LINE_IDS,
  HEALTH_TEXTS,
  HELD_TOO_LONG_MS,
  judgeBackup,
  judgeDaemon,
  judgeDirectory,
  judgeHealth,
  judgeHeld,
  judgePlatform,
  judgeStore,
  judgeWiring,
  PLATFORM_REPORT_STALE_MS,
  type EndpointFacts,
  type HealthFacts,
  type HealthLine,
  type WiringFacts,
} from './health-check.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const HOUR = 3_600_000;

function expectAdvice(line: HealthLine, pattern: RegExp): void {
  expect(line.advice).toMatch(pattern);
  expect(line.found).not.toMatch(/%%\w+%%/);
  expect(line.advice).not.toMatch(/%%\w+%%/);
}

const socket = (endpoint: string, present = true, chrooted: string[] = []): EndpointFacts => ({
  endpoint,
  chrootedServices: chrooted,
  socket: endpoint.startsWith('unix:') ? { path: `/var/spool/postfix/${endpoint.slice(5)}`, present } : null,
});
const wired = (over: Partial<Extract<WiringFacts, { readable: true }>> = {}): WiringFacts => ({
  readable: true,
  configDir: '/etc/postfix',
  policy: socket('unix:outgoing-limits/policy', true, ['smtp/inet']),
  milter: socket('unix:outgoing-limits/milter'),
  milterWanted: true,
  failOpen: true,
  ...over,
});

describe('the daemon line', () => {
  it('is ok when the daemon answers, a problem with how to start it when not', () => {
    expect(judgeDaemon({ running: true, socket: '/d/api.sock' }).state).toBe('ok');
    const down = judgeDaemon({ running: false, socket: '/d/api.sock', error: 'nothing listens' });
    expect(down.state).toBe('problem');
    expect(down.found).toContain('nothing listens');
    expectAdvice(down, /systemctl start outgoing-mail-limits/);
  });
});

describe('the Postfix wiring line', () => {
  it('is ok with both entries on sockets that are there, and says how it is wired', () => {
    const result = judgeWiring(wired());
    expect(result.state).toBe('ok');
    expect(result.advice).toBeNull();
    expect(result.found).toContain('policy service in smtpd_end_of_data_restrictions (unix:outgoing-limits/policy, UNIX socket, smtpd chrooted (smtp/inet))');
    expect(result.found).toContain('milter in non_smtpd_milters (unix:outgoing-limits/milter, UNIX socket, cleanup not chrooted)');
    expect(result.found).toContain('fail-open');
  });

  it('says fail-closed when Postfix defers mail while the daemon is down', () => {
    expect(judgeWiring(wired({ failOpen: false })).found).toContain('fail-closed');
  });

  it('is a problem when the policy service is gone from main.cf (e.g. Plesk rewrote it), with the wire command', () => {
    const result = judgeWiring(wired({ policy: null }));
    expect(result.state).toBe('problem');
    expect(result.reason).toBe('postfix.policyMissing');
    expectAdvice(result, /^Wire it again: outgoing-limits postfix wire --config-dir \/etc\/postfix$/);
  });

  it('is a problem when the milter was wired and is gone, a warning when it was never wired', () => {
    expect(judgeWiring(wired({ milter: null, milterWanted: true }))).toMatchObject({ state: 'problem', reason: 'postfix.milterLost' });
    expect(judgeWiring(wired({ milter: null, milterWanted: false }))).toMatchObject({ state: 'warning', reason: 'postfix.milterOff' });
  });

  it('is a problem when Postfix asks a socket nobody serves (mail then passes unlimited)', () => {
    const result = judgeWiring(wired({ milter: socket('unix:outgoing-limits/milter', false) }));
    expect(result).toMatchObject({ state: 'problem', reason: 'postfix.socketMissing' });
    expect(result.found).toContain('/var/spool/postfix/outgoing-limits/milter');
  });

  it('warns of a TCP endpoint, which any local user can reach', () => {
    const result = judgeWiring(wired({ policy: socket('inet:127.0.0.1:10040') }));
    expect(result).toMatchObject({ state: 'warning', reason: 'postfix.tcp' });
    expect(result.found).toContain('inet:127.0.0.1:10040, TCP');
  });

  it('is a problem, naming the directory, when the configuration cannot be read', () => {
    const result = judgeWiring({ readable: false, configDir: '/nowhere', error: 'postconf: fatal: open /nowhere/main.cf' });
    expect(result.state).toBe('problem');
    expect(result.found).toContain('/nowhere/main.cf');
    expectAdvice(result, /--postfix-config-dir/);
  });
});

describe("the line on Plesk's own limiting", () => {
  const report = (over: object = {}) => ({ nativeLimiting: 'off' as const, mailServer: 'postfix' as const, checkedAt: new Date(NOW - HOUR).toISOString(), receivedAt: new Date(NOW - HOUR).toISOString(), ...over });

  it('says "not a Plesk server" when Plesk never reported', () => {
    expect(judgePlatform(null, NOW)).toMatchObject({ state: 'ok', reason: 'plesk.none', found: 'Not a Plesk server (Plesk never reported here).' });
  });

  it('does not say "not a Plesk server" when the report cannot be read', () => {
    expect(judgePlatform({ unreadable: 'disk I/O error' }, NOW)).toMatchObject({ state: 'warning', reason: 'plesk.unknown', found: expect.stringContaining('disk I/O error') });
  });

  it('is ok when off on Postfix and fresh', () => {
    expect(judgePlatform(report(), NOW)).toMatchObject({ state: 'ok', reason: 'plesk.off' });
  });

  it('is a problem when Plesk limits too (mail limited twice), with the command that switches it off', () => {
    const result = judgePlatform(report({ nativeLimiting: 'on' }), NOW);
    expect(result.state).toBe('problem');
    expectAdvice(result, /plesk bin mailserver --disable-outgoing-antispam/);
  });

  it('is a problem when the mail server is not Postfix', () => {
    for (const mailServer of ['qmail', 'remote', 'none'] as const) {
      const result = judgePlatform(report({ mailServer }), NOW);
      expect(result).toMatchObject({ state: 'problem', reason: 'plesk.notPostfix' });
      expect(result.found).toContain(mailServer);
    }
  });

  it('warns once the report is older than two days', () => {
    const at = new Date(NOW - PLATFORM_REPORT_STALE_MS - 60_000).toISOString();
    const result = judgePlatform(report({ checkedAt: at, receivedAt: at }), NOW);
    expect(result).toMatchObject({ state: 'warning', reason: 'plesk.stale' });
    expectAdvice(result, /resync\.php/);
    expect(judgePlatform(report({ checkedAt: new Date(NOW - PLATFORM_REPORT_STALE_MS + 60_000).toISOString() }), NOW).state).toBe('ok');
  });

  it('does not let a report dated in the future stay fresh: it ages from when it arrived', () => {
    const result = judgePlatform(report({ checkedAt: '2099-01-01T00:00:00Z', receivedAt: new Date(NOW - PLATFORM_REPORT_STALE_MS - HOUR).toISOString() }), NOW);
    expect(result.state).toBe('warning');
  });
});

describe('the directory line', () => {
  it('is ok when synced recently, a warning when older than a week', () => {
    expect(judgeDirectory({ objects: 12, lastSynced: { atMs: NOW - HOUR, how: 'sync' } }, NOW)).toMatchObject({ state: 'ok', found: expect.stringContaining('last synced 2026-12-03T11:00:00.000Z (60 minutes ago)') });
    const stale = judgeDirectory({ objects: 12, lastSynced: { atMs: NOW - DIRECTORY_STALE_MS - HOUR, how: 'file' } }, NOW);
    expect(stale).toMatchObject({ state: 'warning', reason: 'directory.stale' });
    expect(stale.found).toContain('loaded from a file');
  });

  it('is a problem when empty and never loaded (nothing is limited), a warning when filled but never fully synced', () => {
    expect(judgeDirectory({ objects: 0, lastSynced: null }, NOW)).toMatchObject({ state: 'problem', reason: 'directory.empty' });
    expect(judgeDirectory({ objects: 5, lastSynced: null }, NOW)).toMatchObject({ state: 'warning', reason: 'directory.neverSynced' });
  });
});

describe('the held mail line', () => {
  it('is ok with none, and with mail waiting less than a day', () => {
    expect(judgeHeld({ readable: true, count: 0, oldestHeldAtMs: null }, NOW).state).toBe('ok');
    const waiting = judgeHeld({ readable: true, count: 3, oldestHeldAtMs: NOW - 2 * HOUR }, NOW);
    expect(waiting).toMatchObject({ state: 'ok', reason: 'held.waiting' });
    expect(waiting.found).toMatch(/^3 held message\(s\) waiting, the oldest for 2 hours/);
  });

  it('warns of mail held a day or longer, with where to look at it', () => {
    const result = judgeHeld({ readable: true, count: 2, oldestHeldAtMs: NOW - HELD_TOO_LONG_MS }, NOW);
    expect(result).toMatchObject({ state: 'warning', reason: 'held.old' });
    expectAdvice(result, /outgoing-limits held list/);
  });
});

describe('the store line', () => {
  it('is ok when the check finds nothing, a problem with the restore command when it does', () => {
    expect(judgeStore({ kind: 'checked', file: '/d/s.sqlite', dataDir: '/d', problems: [] }).state).toBe('ok');
    const damaged = judgeStore({ kind: 'checked', file: '/d/s.sqlite', dataDir: '/d', problems: ['row 3 missing from index x'] });
    expect(damaged.state).toBe('problem');
    expect(damaged.found).toContain('row 3 missing from index x');
    expectAdvice(damaged, /outgoing-limits store restore NAME --data-dir \/d/);
  });

  it("takes the daemon's view while it runs: a failing write is a problem too", () => {
    expect(judgeStore({ kind: 'daemon', file: '/d/s.sqlite', dataDir: '/d', fault: null }).state).toBe('ok');
    const failing = judgeStore({ kind: 'daemon', file: '/d/s.sqlite', dataDir: '/d', fault: { operation: 'write', error: 'disk I/O error', since: '2026-12-03T10:00:00Z', failures: 40 } });
    expect(failing).toMatchObject({ state: 'problem', reason: 'store.failing' });
    expect(failing.found).toContain('write fails since 2026-12-03T10:00:00Z (40 times): disk I/O error');
  });

  it('is a problem when there is no store', () => {
    expect(judgeStore({ kind: 'missing', dataDir: '/d' })).toMatchObject({ state: 'problem', reason: 'store.missing' });
  });
});

describe('the backup line', () => {
  it("is ok with yesterday's backup, a warning past two days and with none", () => {
    expect(judgeBackup({ dir: '/d/backups', newestDate: '2026-12-02', count: 7 }, NOW).state).toBe('ok');
    // A backup of 2026-11-30 was taken by the end of that day at the latest: 2.5 days before NOW.
    expect(judgeBackup({ dir: '/d/backups', newestDate: '2026-11-30', count: 7 }, NOW).state).toBe('warning');
    expect(judgeBackup({ dir: '/d/backups', newestDate: '2026-11-30', count: 7 }, NOW - 12 * HOUR + BACKUP_STALE_MS - 2 * 24 * HOUR).state).toBe('ok');
    expect(judgeBackup({ dir: '/d/backups', newestDate: '2026-12-01', count: 7 }, NOW).state).toBe('ok');
    const none = judgeBackup({ dir: '/d/backups', newestDate: null, count: 0 }, NOW);
    expect(none).toMatchObject({ state: 'warning', reason: 'backup.none' });
    expectAdvice(none, /\/d\/backups is writable/);
  });
});

describe('the whole view', () => {
  const healthy: HealthFacts = {
    daemon: { running: true, socket: '/d/api.sock' },
    wiring: wired(),
    platform: null,
    directory: { objects: 3, lastSynced: { atMs: NOW - HOUR, how: 'sync' } },
    held: { readable: true, count: 0, oldestHeldAtMs: null },
    store: { kind: 'daemon', file: '/d/s.sqlite', dataDir: '/d', fault: null },
    backup: { dir: '/d/backups', newestDate: '2026-12-03', count: 1 },
  };

  it('has one line per part, in order, and is as bad as its worst line', () => {
    const report = judgeHealth(healthy, NOW);
    // The cluster line only for a node of a cluster.
    expect(report.lines.map((l) => l.id)).toEqual(HEALTH_LINE_IDS.filter((id) => id !== 'cluster'));
    const node = { node: 'mx1', address: 'redis://10.0.0.5:6379/0', counting: 'cluster' as const, sinceMs: NOW - 60_000, lastFailure: null };
    expect(judgeHealth({ ...healthy, cluster: node }, NOW).lines.map((l) => l.id)).toEqual([...HEALTH_LINE_IDS]);
    expect(report.state).toBe('ok');
    expect(judgeHealth({ ...healthy, backup: { dir: '/d/backups', newestDate: null, count: 0 } }, NOW).state).toBe('warning');
    expect(judgeHealth({ ...healthy, backup: { dir: '/d/backups', newestDate: null, count: 0 }, daemon: { running: false, socket: '/d/api.sock', error: 'x' } }, NOW).state).toBe('problem');
  });

  it('shows the directory line as unknown when there is no store to read it from', () => {
    expect(judgeHealth({ ...healthy, directory: null }, NOW).lines.find((l) => l.id === 'directory')).toMatchObject({ state: 'warning', reason: 'directory.unknown' });
  });

  it('says a node counting alone is a warning, with how long and why, and what to do', () => {
    const alone = { node: 'mx1', address: 'redis://10.0.0.5:6379/0', counting: 'alone' as const, sinceMs: NOW - 120_000, lastFailure: 'connect ECONNREFUSED 10.0.0.5:6379' };
    const line = judgeHealth({ ...healthy, cluster: alone }, NOW).lines.find((l) => l.id === 'cluster');
    expect(line).toMatchObject({ state: 'warning', reason: 'cluster.alone', params: { node: 'mx1', error: 'connect ECONNREFUSED 10.0.0.5:6379' } });
    expect(line?.found).toContain('Node mx1 cannot use Redis at redis://10.0.0.5:6379/0 since 2 minutes ago (connect ECONNREFUSED 10.0.0.5:6379)');
    expect(line?.advice).toContain('Within 5 seconds of its return');
  });

  it('maps states to exit codes 0, 1, 2', () => {
    expect([exitCodeOf('ok'), exitCodeOf('warning'), exitCodeOf('problem')]).toEqual([0, 1, 2]);
  });

  it('has advice for every reason a line can be not ok', () => {
    const ok = new Set(['daemon.running', 'postfix.wired', 'plesk.none', 'plesk.off', 'directory.synced', 'held.none', 'held.waiting', 'store.ok', 'backup.recent', 'cluster.counting']);
    for (const [reason, text] of Object.entries(HEALTH_TEXTS)) expect(Boolean(text.advice), reason).toBe(!ok.has(reason));
  });
});
