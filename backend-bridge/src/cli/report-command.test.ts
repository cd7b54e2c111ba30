import { Command, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiHarness } from '../../test-support/api-harness.js';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { bridgeSecretPath } from '../api/auth/bridge-secret.js';
import { apiSocketPath, listenApi } from '../api/server.js';
import { UserError } from './daemon-or-store.js';
import { registerReportCommand } from './report-command.js';

/** `outgoing-limits report` as main.ts builds it; what it printed on stdout. */
async function run(dataDir: string, args: string[]): Promise<string> {
  const program = new Command('outgoing-limits').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerReportCommand(program, () => new Option('--data-dir <dir>').default(dataDir));
  const out: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['report', ...args], { from: 'user' });
  } finally {
    write.mockRestore();
    err.mockRestore();
  }
  return out.join('');
}

const HEADER = 'level,name,customer,reseller,over_limit_events,hourly_limit_reached,daily_limit_reached,held,deferred,anomalies,last_event_at,hourly_limit,daily_limit';

describe('outgoing-limits report', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    const directory = exampleDirectory({ 'other.org': 100, 'sub:other.org': 100 });
    // A name a spreadsheet would run, and one with a terminal escape sequence in it.
    directory.subscriptions[1]!.domains[0]!.mailboxes.push({ address: '+1-2@other.org', limit: null }, { address: '\u001b[2Jx@other.org', limit: null });
    api = await ApiHarness.start({ directory });
    api.nowMs = Date.now(); // the command signs with the real clock and reads the last days from now
    expect(api.sendMany('alice@example.com', 5)).toBe(3);
    expect(api.sendMany('+1-2@other.org', 4)).toBe(3);
    expect(api.sendMany('\u001b[2Jx@other.org', 4)).toBe(3);
    api.flush();
  });
  afterEach(() => api.close());

  it('--since 7d --csv prints the CSV through the running daemon: header row, formulas defused', async () => {
    writeFileSync(bridgeSecretPath(api.dataDir), `${api.secret.toString('hex')}\n`, { mode: 0o600 });
    await listenApi(api.app, apiSocketPath(api.dataDir), null);
    const lines = (await run(api.dataDir, ['--since', '7d', '--csv'])).split('\r\n');
    expect(lines[0]).toBe(HEADER);
    expect(lines[1]).toMatch(/^mailbox,alice@example\.com,jdoe,res1,2,2,0,2,0,0,/);
    expect(lines).toContain(lines.find((line) => line.startsWith("mailbox,'+1-2@other.org,mary,,1,1,0,1,0,0,")));
  });

  it('reads the store when the daemon is not running; the table shows control characters as ?', async () => {
    const table = await run(api.dataDir, ['--since', '1d']);
    expect(table.split('\n')[0]).toMatch(/^LEVEL +NAME +CUSTOMER +EVENTS +HOURLY +DAILY +HELD +DEFERRED +ANOMALIES +LAST +LIMIT\/HOUR +LIMIT\/DAY$/);
    expect(table).toMatch(/\nmailbox +alice@example\.com +jdoe +2 +2 +0 +2 +0 +0 +\S+ \S+ +3 +Unlimited\n/);
    expect(table).toContain('?[2Jx@other.org');
    expect(table).not.toContain('\u001b');
    expect((await run(api.dataDir, ['--csv'])).split('\r\n')[0]).toBe(HEADER);
  });

  it('refuses --since outside 1d..31d with a sentence, before reading anything', async () => {
    for (const since of ['0d', '32d', '7', 'week']) {
      const failure = await run(api.dataDir, ['--since', since]).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as Error).message).toBe(`--since "${since}": must be a number of days from 1d to 31d, like 7d`);
    }
  });
});
