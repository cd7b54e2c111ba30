import { InvalidArgumentError, type Command, type Option } from 'commander';
import pino from 'pino';
import { LOCAL_ADMIN } from '../api/bridge-client.js';
import { ApiError } from '../api/errors.js';
import type { Identity } from '../api/identity.js';
import { endExemption, listExemptions, setExemption, type ExemptionContext } from '../api/routes/exemption-routes.js';
import { describeExemption, type ExemptionView } from '../core/exemptions.js';
import { LEVELS, MAX_LIMIT, type Level, type Limit } from '../core/limits.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { Enforcer } from '../enforcement/enforcer.js';
import { StoreSync } from '../enforcement/store-sync.js';
import type { Db } from '../store/database.js';
import * as parse from './arguments.js';
import { expectOk, UserError, viaDaemonOrStore } from './daemon-or-store.js';

const COLLECTION_OF: Record<Level, string> = { mailbox: 'mailboxes', domain: 'domains', subscription: 'subscriptions' };

/** The local command acts as the administrator, as it does through the daemon (bridge-client LOCAL_ADMIN). */
const LOCAL_IDENTITY: Identity = { login: LOCAL_ADMIN.login, role: 'admin', userId: null, via: 'local' };

function raisedLimit(raw: string): Limit {
  if (raw === 'unlimited') return 'unlimited';
  if (/^\d+$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_LIMIT) return Number(raw);
  throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_LIMIT} or "unlimited", got "${raw}"`);
}

/** Without the daemon: the same checks and audit as the API, on the store, with the live state built from it. */
async function onStore<T>(db: Db, act: (context: ExemptionContext) => T | Promise<T>): Promise<T> {
  const enforcer = new Enforcer(new RollingWindowCounters(3600), null, null);
  const sync = new StoreSync(db, enforcer, pino({ level: 'silent' }));
  sync.loadNow();
  try {
    return await act({ db, enforcer, sync, nowMs: Date.now });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const fields = Object.entries(error.fields ?? {}).map(([field, message]) => `\n  ${field}: ${message}`);
    throw new UserError(`${error.message}${fields.join('')}`);
  }
}

function exemptionTable(items: readonly ExemptionView[]): string {
  if (items.length === 0) return 'No exemptions in force.';
  const value = (limit: Limit | null) => (limit === null ? '-' : String(limit));
  const rows = [['LEVEL', 'NAME', 'HOURLY', 'DAILY', 'UNTIL', 'SET BY'], ...items.map((e) => [e.level, e.name, value(e.hourly), value(e.daily), e.endsAt, `${e.setBy} (${e.setByRole})`])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

export function registerExemptCommands(program: Command, dataDirOption: () => Option): void {
  const exempt = program.command('exempt').description('raise or lift the limit of one object for a while (a newsletter until tomorrow 18:00); it ends by itself');

  exempt
    .command('set')
    .description(`raise or lift the hourly and/or daily limit of one ${LEVELS.join('/')} until an end time (replaces its exemption)`)
    .argument('<level>', LEVELS.join(', '), parse.level)
    .argument('<name>', 'mailbox address, domain name or subscription name')
    .option('--hourly <n|unlimited>', 'the hourly limit until the end (above the current one)', raisedLimit)
    .option('--daily <n|unlimited>', 'the daily limit (rolling 24 hours) until the end', raisedLimit)
    .requiredOption('--until <when>', 'the end: a date-time with its zone (2026-12-05T18:00+01:00) or a span from now (+6h, +90m, +2d); at most 31 days')
    .addOption(dataDirOption())
    .action(async (level: Level, name: string, options: { hourly?: Limit; daily?: Limit; until: string; dataDir: string }) => {
      if (options.hourly === undefined && options.daily === undefined) throw new UserError('give --hourly, --daily or both');
      const body = { ...(options.hourly === undefined ? {} : { hourly: options.hourly }), ...(options.daily === undefined ? {} : { daily: options.daily }), until: options.until };
      const set = await viaDaemonOrStore(
        options.dataDir,
        async (client) => expectOk(await client.request('PUT', `/api/v1/${COLLECTION_OF[level]}/${encodeURIComponent(name)}/exemption`, body)) as ExemptionView,
        (db) => onStore(db, (context) => setExemption(context, LOCAL_IDENTITY, level, name, body)),
        'write',
      );
      process.stdout.write(`Exempted ${describeExemption(set.level, set.name, { hourly: set.hourly, daily: set.daily, endsAtMs: Date.parse(set.endsAt) })}.\n`);
    });

  exempt
    .command('end')
    .description('end the exemption of one object now: its normal limits apply to its next message')
    .argument('<level>', LEVELS.join(', '), parse.level)
    .argument('<name>', 'mailbox address, domain name or subscription name')
    .addOption(dataDirOption())
    .action(async (level: Level, name: string, options: { dataDir: string }) => {
      await viaDaemonOrStore(
        options.dataDir,
        async (client) => expectOk(await client.request('DELETE', `/api/v1/${COLLECTION_OF[level]}/${encodeURIComponent(name)}/exemption`)),
        (db) => onStore(db, (context) => endExemption(context, LOCAL_IDENTITY, level, name)),
        'write',
      );
      process.stdout.write(`Exemption of ${level} ${name.toLowerCase()} ended; its normal limits apply again.\n`);
    });

  exempt
    .command('list')
    .description('the exemptions in force, the soonest end first')
    .option('--json', 'machine-readable output')
    .addOption(dataDirOption())
    .action(async (options: { dataDir: string; json?: boolean }) => {
      const items = await viaDaemonOrStore(
        options.dataDir,
        async (client) => (expectOk(await client.request('GET', '/api/v1/exemptions')) as { items: ExemptionView[] }).items,
        (db) => onStore(db, (context) => listExemptions(context, LOCAL_IDENTITY)),
        'read',
      );
      process.stdout.write(options.json ? `${JSON.stringify(items, null, 2)}\n` : `${exemptionTable(items)}\n`);
    });
}
