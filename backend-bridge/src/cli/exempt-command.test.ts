import { Command, Option } from 'commander';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { queryAudit } from '../store/audit-store.js';
import { openDatabase } from '../store/database.js';
import { replaceDirectory } from '../store/directory-store.js';
import { updateSettings } from '../store/settings-store.js';
import { UserError } from './daemon-or-store.js';
import { registerExemptCommands } from './exempt-command.js';

/** The exempt commands as main.ts builds them, on a store without a running daemon; returns what they printed. */
async function run(dataDir: string, args: string[]): Promise<string> {
  const program = new Command('outgoing-limits').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerExemptCommands(program, () => new Option('--data-dir <dir>').default(dataDir));
  const printed: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  return printed.join('');
}

function store(): string {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oml-exempt-cli-'));
  const db = openDatabase(dataDir);
  replaceDirectory(db, exampleDirectory());
  updateSettings(db, { enabled: true, defaults: { mailbox: 3, domain: 5, subscription: 8 }, dailyDefaults: { mailbox: 100 } });
  db.close();
  return dataDir;
}

afterEach(() => vi.restoreAllMocks());

describe('outgoing-limits exempt, without the daemon', () => {
  it('sets, lists and ends an exemption; both audited as root', async () => {
    const dataDir = store();
    const before = Date.now();
    const set = await run(dataDir, ['exempt', 'set', 'mailbox', 'Alice@example.com', '--hourly', '5000', '--daily', 'unlimited', '--until', '+6h']);
    expect(set).toMatch(/^Exempted mailbox alice@example\.com: raised to 5000 per hour and unlimited per day until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z\.\n$/);
    const endsAt = Date.parse(/until (\S+)\.\n$/.exec(set)![1]!);
    expect(endsAt).toBeGreaterThanOrEqual(before + 6 * 3_600_000);
    expect(endsAt).toBeLessThanOrEqual(Date.now() + 6 * 3_600_000 + 1000);

    const list = await run(dataDir, ['exempt', 'list']);
    expect(list.split('\n')[0]).toMatch(/^LEVEL\s+NAME\s+HOURLY\s+DAILY\s+UNTIL\s+SET BY$/);
    expect(list.split('\n')[1]).toMatch(/^mailbox\s+alice@example\.com\s+5000\s+unlimited\s+\S+Z\s+root \(admin\)$/);
    expect(JSON.parse(await run(dataDir, ['exempt', 'list', '--json']))).toMatchObject([{ level: 'mailbox', name: 'alice@example.com', hourly: 5000, daily: 'unlimited' }]);

    expect(await run(dataDir, ['exempt', 'end', 'mailbox', 'alice@example.com'])).toBe('Exemption of mailbox alice@example.com ended; its normal limits apply again.\n');
    expect(await run(dataDir, ['exempt', 'list'])).toBe('No exemptions in force.\n');
    const db = openDatabase(dataDir);
    expect(queryAudit(db, { limit: 5 }).map((row) => [row.actorLogin, row.action])).toEqual([['root', 'exemption.end'], ['root', 'exemption.set']]);
    db.close();
  });

  it('says what was wrong: an end in the past, no value, a value not above the limit, an unknown object', async () => {
    const dataDir = store();
    await expect(run(dataDir, ['exempt', 'set', 'mailbox', 'alice@example.com', '--hourly', '10', '--until', '2020-01-01T00:00Z'])).rejects.toThrow(/until: the end time must be in the future/);
    await expect(run(dataDir, ['exempt', 'set', 'mailbox', 'alice@example.com', '--until', '+1h'])).rejects.toThrow(new UserError('give --hourly, --daily or both'));
    await expect(run(dataDir, ['exempt', 'set', 'mailbox', 'alice@example.com', '--hourly', '2', '--until', '+1h'])).rejects.toThrow(/hourly: 2 is not above the current limit of 3 per hour/);
    await expect(run(dataDir, ['exempt', 'set', 'domain', 'nowhere.test', '--hourly', '20', '--until', '+1h'])).rejects.toThrow(/Domain nowhere\.test not found/);
    await expect(run(dataDir, ['exempt', 'end', 'mailbox', 'alice@example.com'])).rejects.toThrow(/has no exemption/);
    await expect(run(dataDir, ['exempt', 'set', 'mailbox', 'alice@example.com', '--hourly', 'lots', '--until', '+1h'])).rejects.toThrow(/expected a whole number from 1 to/);
  });
});
