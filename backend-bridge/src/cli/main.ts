#!/usr/bin/env node
import { describeAnomaly, type AnomalySignal } from '../core/anomalies.js';
import { AnomalyStore } from '../store/anomaly-store.js';
import { Command, CommanderError, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { DirectoryIndex } from '../core/directory.js';
import { parseDirectoryFile } from '../core/directory-file.js';
import { LEVELS, type Level, type Limit, type LimitOverride } from '../core/limits.js';
import { usageOf } from '../core/usage.js';
import { CounterJournal } from '../counters/journal.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { Daemon, DEFAULT_POSTFIX_CONFIG_DIR } from '../daemon.js';
import { dailyWindowCounters, Enforcer, windowSeconds } from '../enforcement/enforcer.js';
import type { ListenAddress } from '../postfix/listen-address.js';
import { unwirePostfix, wirePostfix } from '../postfix/wiring.js';
import { StoreDamagedError } from '../store/integrity.js';
import { replaceDirectory, setObjectDailyLimit, setObjectLimit, streamDirectory } from '../store/directory-store.js';
import { readSettings, updateSettings, type SettingsChange } from '../store/settings-store.js';
import { recordDirectorySynced } from '../store/health-records.js';
import type { NotificationSettings, NotifyPeriod, ServerSettings } from '../core/settings.js';
import type { LimitsMode } from '../core/monitor-mode.js';
import type { ImportSummary } from '../store/directory-store.js';
import * as parse from './arguments.js';
import { clusterOption, refusePasswordOnCommandLine } from './cluster-option.js';
import { expectOk, openStoreForCommand, UserError, viaDaemonOrStore } from './daemon-or-store.js';
import { setRecipientLimit } from './recipient-limit-command.js';
import { registerUserCommands } from './user-command.js';
import { registerHeldCommands } from './held-command.js';
import { registerStoreCommands } from './store-command.js';
import { registerNotifyCommands } from './notify-command.js';
import { registerExemptCommands } from './exempt-command.js';
import { registerReportCommand } from './report-command.js';
import { registerClusterCommands } from './cluster-command.js';
import { applyStoredExemptions } from '../enforcement/exemption-ends.js';
import { DoctorVerdict, registerDoctorCommand } from './doctor-command.js';
import { createLogger } from './logger.js';
import { describeSettings, usageTable } from './presentation.js';

export const DEFAULT_DATA_DIR = '/var/lib/outgoing-limits';
/**
 * A damaged store: its own exit code, so a service manager can tell it from a crash and not restart into the
 * same refusal every few seconds (the Plesk unit's RestartPreventExitStatus).
 */
export const EXIT_STORE_DAMAGED = 3;
/** Said in --help of both commands that take --policy/--milter. */
const TCP_RISK =
  'Default: a UNIX socket in outgoing-limits/ under the queue_directory of that Postfix, which only Postfix\'s group can open. ' +
  'HOST:PORT (TCP) is for a Postfix on another host only: every local user can connect to a TCP port and forge requests.';

const COLLECTION_OF: Record<Level, string> = { mailbox: 'mailboxes', domain: 'domains', subscription: 'subscriptions' };

function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'where the store lives').env('OUTGOING_LIMITS_DATA_DIR').default(DEFAULT_DATA_DIR);
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function buildProgram(): Command {
  const program = new Command('outgoing-limits')
    .description('Hourly limits on outgoing mail per mailbox, domain and subscription, enforced in Postfix.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  program
    .command('daemon')
    .description('run the policy service (foreground; stop with SIGTERM)')
    .addHelpText('after', `\n--policy and --milter: unix:/ABSOLUTE/PATH or HOST:PORT. ${TCP_RISK}`)
    .addOption(dataDirOption())
    .option('--policy <unix:path|host:port>', 'where Postfix sends policy requests (default: unix:QUEUE_DIR/outgoing-limits/policy)', parse.listenAddress)
    .option('--http <host:port>', 'also serve the API (and the standalone UI) on this loopback address', parse.hostPort)
    .option('--milter <unix:path|host:port>', 'where the milter for local mail (sendmail, PHP) listens (default: unix:QUEUE_DIR/outgoing-limits/milter)', parse.listenAddress)
    .option('--no-milter', 'do not serve the milter')
    .option('--postfix-config-dir <dir>', 'the Postfix instance whose hold queue keeps over-limit mail; when given, the daemon also keeps the entries of `postfix wire` in its main.cf', DEFAULT_POSTFIX_CONFIG_DIR)
    .option('--api-group <group>', 'let this group (name or id) use the API socket and read the secret, e.g. psaadm for the Plesk panel', parse.groupId)
    .addOption(clusterOption('be a node of the cluster whose counts are in this Redis: redis://[user:password@]host:port/db, rediss://…, redis+unix:///path?db=N or redis-sentinel://host:port,host:port/mastername').argParser(parse.clusterUrl))
    .option('--node-name <name>', 'how the cluster names this node (default: the host name)', parse.nodeName)
    .option('--log-level <level>', 'fatal, error, warn, info, debug or trace', 'info')
    .action(
      async (options: {
        cluster?: string;
        nodeName?: string;
        dataDir: string;
        policy?: ListenAddress;
        http?: { host: string; port: number };
        milter?: ListenAddress | false;
        postfixConfigDir: string;
        apiGroup?: number;
        logLevel: string;
      }, command: Command) => {
      refusePasswordOnCommandLine(command, options.cluster);
      const log = createLogger(options.logLevel);
      const daemon = await Daemon.start(
        {
          dataDir: options.dataDir,
          ...(options.policy ? { policy: options.policy } : {}),
          http: options.http ?? null,
          postfixConfigDir: options.postfixConfigDir,
          ...(options.milter === false ? { milter: null } : options.milter ? { milter: options.milter } : {}),
          apiGroup: options.apiGroup ?? null,
          // Only a Postfix the administrator named: the default /etc/postfix may be no business of this daemon.
          guardWiring: command.getOptionValueSource('postfixConfigDir') === 'cli',
          cluster: options.cluster ? { url: options.cluster, nodeName: options.nodeName ?? parse.defaultNodeName() } : null,
        },
        log,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping');
          void daemon.stop().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      },
    );

  const directory = program.command('directory').description('the subscriptions, domains and mailboxes whose mail is limited');
  directory
    .command('import <file>')
    .description('replace the whole directory with a JSON file (objects that remain keep their counts)')
    .addOption(dataDirOption())
    .action(async (file: string, options: { dataDir: string }) => {
      let content: unknown;
      try {
        content = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
      }
      const notImported = (lines: string[]) => new UserError([`${file} was not imported; nothing changed:`, ...lines.slice(0, 20), ...(lines.length > 20 ? [`  ... and ${lines.length - 20} more`] : [])].join('\n'));
      const summary = await viaDaemonOrStore(
        options.dataDir,
        async (client) => {
          const response = await client.request('PUT', '/api/v1/directory', content);
          if (response.status === 400) {
            const fields = (response.body as { fields?: Record<string, string> }).fields ?? {};
            throw notImported(Object.entries(fields).map(([field, message]) => `  ${field}: ${message}`));
          }
          return expectOk(response) as ImportSummary;
        },
        (db) => {
          const parsed = parseDirectoryFile(content);
          if (!parsed.ok) throw notImported(parsed.errors.map((e) => `  ${e.field}: ${e.message}`));
          return db.transaction(() => {
            const summary = replaceDirectory(db, parsed.directory);
            recordDirectorySynced(db, 'file', Date.now());
            return summary;
          }).immediate();
        },
        'write',
      );
      process.stdout.write(
        `Imported ${summary.subscriptions} subscriptions, ${summary.domains} domains, ${summary.mailboxes} mailboxes; removed ${summary.removed} objects no longer listed.\n`,
      );
    });

  const settings = program.command('settings').description('server-wide settings');
  settings
    .command('show')
    .description('print the server settings')
    .addOption(dataDirOption())
    .option('--json', 'machine-readable output')
    .action(async (options: { dataDir: string; json?: boolean }) => {
      const current = await viaDaemonOrStore(
        options.dataDir,
        async (client) => expectOk(await client.request('GET', '/api/v1/settings')) as ServerSettings,
        (db) => readSettings(db),
        'read',
      );
      if (options.json) printJson(current);
      else process.stdout.write(`${describeSettings(current)}\n`);
    });
  settings
    .command('set')
    .description('change server settings (only the options given)')
    .addOption(dataDirOption())
    .option('--enabled <on|off>', 'switch limitations on outgoing email messages on or off', parse.onOff)
    .option('--mode <enforce|monitor|off>', 'limits on; monitor only (counted and recorded as if enforced, nothing held or deferred); or off', parse.limitsMode)
    .option('--early-warning <percent|off>', 'notify when an object passes this share of a limit (1-99 %), at most once per window', parse.earlyWarningPercent)
    .option('--mailbox-limit <n|unlimited>', 'default limit on outgoing messages from a mailbox per hour', parse.serverLimit)
    .option('--domain-limit <n|unlimited>', 'default limit on outgoing messages from a domain per hour', parse.serverLimit)
    .option('--subscription-limit <n|unlimited>', 'default limit on outgoing messages from a subscription per hour', parse.serverLimit)
    .option('--mailbox-daily-limit <n|unlimited>', 'default limit on outgoing messages from a mailbox per day (rolling 24 hours)', parse.serverLimit)
    .option('--domain-daily-limit <n|unlimited>', 'default limit on outgoing messages from a domain per day (rolling 24 hours)', parse.serverLimit)
    .option('--subscription-daily-limit <n|unlimited>', 'default limit on outgoing messages from a subscription per day (rolling 24 hours)', parse.serverLimit)
    .option('--mailbox-recipient-limit <n|unlimited>', 'default maximum of recipients in one message from a mailbox (more: refused, 554 5.5.3)', parse.serverRecipientLimit)
    .option('--domain-recipient-limit <n|unlimited>', 'default maximum of recipients in one message from a domain', parse.serverRecipientLimit)
    .option('--subscription-recipient-limit <n|unlimited>', 'default maximum of recipients in one message from a subscription', parse.serverRecipientLimit)
    .option('--count <messages|recipients>', 'what one unit of the limit is', parse.countingUnit)
    .option('--over-limit-action <hold|defer>', 'hold over-limit mail in the Postfix hold queue (default) or defer it (450 4.7.1)', parse.overLimitAction)
    .option('--notify-admin <address|none>', "where the administrator's notifications go", parse.addressOrNone)
    .option('--notify-reseller <on|off>', "also notify the object's reseller", parse.onOff)
    .option('--notify-customer <on|off>', "also notify the object's customer", parse.onOff)
    .option('--notify-period <15m|1h|6h|12h|1d>', 'at most one notification per object in this period', parse.notifyPeriod)
    .option('--webhook <url|none>', 'also POST each notification as JSON to this address', parse.urlOrNone)
    .option('--screen-url <url|none>', 'address of the "Held messages" screen, for the link in notifications', parse.urlOrNone)
    .option('--anomaly-logins <n|off>', 'unusual sending: raised when one SASL login is used from more than n client addresses in an hour', parse.anomalyThreshold)
    .option('--anomaly-domains <n|off>', 'unusual sending: raised when a mailbox sends to more than n recipient domains in an hour', parse.anomalyThreshold)
    .option('--anomaly-surge <factor|off>', "unusual sending: raised when a mailbox's hour is above max(20, factor × its 95th percentile hourly count of the last 7 days)", parse.anomalyThreshold)
    .option('--auto-compromise-logins <on|off>', 'mark the mailbox compromised when the logins signal is raised', parse.onOff)
    .option('--auto-compromise-domains <on|off>', 'mark the mailbox compromised when the recipient-domains signal is raised', parse.onOff)
    .option('--auto-compromise-surge <on|off>', 'mark the mailbox compromised when the surge signal is raised', parse.onOff)
    .action(
      async (options: {
        dataDir: string;
        enabled?: boolean;
        mode?: LimitsMode;
        earlyWarning?: number;
        mailboxLimit?: Limit;
        domainLimit?: Limit;
        subscriptionLimit?: Limit;
        mailboxDailyLimit?: Limit;
        domainDailyLimit?: Limit;
        subscriptionDailyLimit?: Limit;
        mailboxRecipientLimit?: Limit;
        domainRecipientLimit?: Limit;
        subscriptionRecipientLimit?: Limit;
        count?: SettingsChange['countingUnit'];
        overLimitAction?: SettingsChange['overLimitAction'];
        notifyAdmin?: string;
        notifyReseller?: boolean;
        notifyCustomer?: boolean;
        notifyPeriod?: NotifyPeriod;
        webhook?: string;
        screenUrl?: string;
      } & AnomalyOptions) => {
        const defaults: Partial<Record<Level, Limit>> = {};
        if (options.mailboxLimit !== undefined) defaults.mailbox = options.mailboxLimit;
        if (options.domainLimit !== undefined) defaults.domain = options.domainLimit;
        if (options.subscriptionLimit !== undefined) defaults.subscription = options.subscriptionLimit;
        const dailyDefaults: Partial<Record<Level, Limit>> = {};
        if (options.mailboxDailyLimit !== undefined) dailyDefaults.mailbox = options.mailboxDailyLimit;
        if (options.domainDailyLimit !== undefined) dailyDefaults.domain = options.domainDailyLimit;
        if (options.subscriptionDailyLimit !== undefined) dailyDefaults.subscription = options.subscriptionDailyLimit;
        const change: SettingsChange = { defaults };
        if (Object.keys(dailyDefaults).length > 0) change.dailyDefaults = dailyDefaults;
        const recipientDefaults: Partial<Record<Level, Limit>> = {};
        if (options.mailboxRecipientLimit !== undefined) recipientDefaults.mailbox = options.mailboxRecipientLimit;
        if (options.domainRecipientLimit !== undefined) recipientDefaults.domain = options.domainRecipientLimit;
        if (options.subscriptionRecipientLimit !== undefined) recipientDefaults.subscription = options.subscriptionRecipientLimit;
        if (Object.keys(recipientDefaults).length > 0) change.recipientDefaults = recipientDefaults;
        if (options.enabled !== undefined && options.mode !== undefined) throw new UserError('give --mode or --enabled, not both');
        if (options.enabled !== undefined) change.enabled = options.enabled;
        if (options.mode !== undefined) change.mode = options.mode;
        if (options.earlyWarning !== undefined) change.earlyWarningPercent = options.earlyWarning;
        if (options.count !== undefined) change.countingUnit = options.count;
        if (options.overLimitAction !== undefined) change.overLimitAction = options.overLimitAction;
        const notifications: Partial<NotificationSettings> = {};
        if (options.notifyAdmin !== undefined) notifications.adminAddress = options.notifyAdmin || null;
        if (options.notifyReseller !== undefined) notifications.notifyReseller = options.notifyReseller;
        if (options.notifyCustomer !== undefined) notifications.notifyCustomer = options.notifyCustomer;
        if (options.notifyPeriod !== undefined) notifications.period = options.notifyPeriod;
        if (options.webhook !== undefined) notifications.webhookUrl = options.webhook || null;
        if (options.screenUrl !== undefined) notifications.screenUrl = options.screenUrl || null;
        if (Object.keys(notifications).length > 0) change.notifications = notifications;
        const anomalies = anomalyChange(options);
        if (anomalies) change.anomalies = anomalies;
        if (options.enabled === undefined && options.mode === undefined && options.earlyWarning === undefined && !change.anomalies && options.count === undefined && options.overLimitAction === undefined && !change.notifications && !change.dailyDefaults && !change.recipientDefaults && Object.keys(defaults).length === 0) {
          throw new UserError(
            'nothing to change: give at least one of --enabled, --mode, --early-warning, --mailbox-limit, --domain-limit, --subscription-limit, --mailbox-daily-limit, --domain-daily-limit, --subscription-daily-limit, --mailbox-recipient-limit, --domain-recipient-limit, --subscription-recipient-limit, --count, --over-limit-action, --notify-admin, --notify-reseller, --notify-customer, --notify-period, --webhook, --screen-url, --anomaly-logins, --anomaly-domains, --anomaly-surge, --auto-compromise-logins, --auto-compromise-domains, --auto-compromise-surge',
          );
        }
        const after = await viaDaemonOrStore(
          options.dataDir,
          async (client) => expectOk(await client.request('PATCH', '/api/v1/settings', change)) as ServerSettings,
          (db) => updateSettings(db, change),
          'write',
        );
        process.stdout.write(`${describeSettings(after)}\n`);
      },
    );

  program
    .command('limit')
    .description('limits of single objects')
    .command('set')
    .description(
      `set the hourly limit (with --daily the daily limit, rolling 24 hours; with --recipients the maximum recipients per message) of one ${LEVELS.join('/')}: a number, "unlimited" or "default"`,
    )
    .argument('<level>', LEVELS.join(', '), parse.level)
    .argument('<name>', 'mailbox address, domain name or subscription name')
    .argument('<value>', 'a number, "unlimited" or "default"', parse.objectLimit)
    .option('--daily', 'set the daily limit (messages in the last 24 hours) instead of the hourly one')
    .option('--recipients', 'set the maximum number of recipients of one message (more: refused permanently, 554 5.5.3) instead of the hourly limit')
    .addOption(dataDirOption())
    .action(async (level: Level, name: string, value: LimitOverride, options: { dataDir: string; daily?: boolean; recipients?: boolean }) => {
      if (options.daily && options.recipients) throw new UserError('give --daily or --recipients, not both');
      if (options.recipients) {
        await setRecipientLimit(level, name, value, options.dataDir);
        return;
      }
      const field = options.daily ? 'dailyLimit' : 'limit';
      await viaDaemonOrStore(
        options.dataDir,
        async (client) => expectOk(await client.request('PUT', `/api/v1/${COLLECTION_OF[level]}/${encodeURIComponent(name)}/limit`, { [field]: value ?? 'default' })),
        (db) => {
          const set = options.daily ? setObjectDailyLimit : setObjectLimit;
          if (!set(db, level, name, value)) throw new UserError(`no ${level} named ${name.toLowerCase()}`);
        },
        'write',
      );
      const what = options.daily ? 'Daily limit' : 'Limit';
      const per = options.daily ? 'per day' : 'per hour';
      process.stdout.write(`${what} of ${level} ${name.toLowerCase()} set to ${value === null ? 'the server default' : value === 'unlimited' ? 'Unlimited' : `${value} ${per}`}.\n`);
    });

  program
    .command('anomalies')
    .description('unusual sending of mailboxes (logins from many addresses, many recipient domains, an hour far above the usual), newest first')
    .addOption(dataDirOption())
    .option('--hours <n>', 'how far back, in hours (1 to 744)', parse.anomalyHours, 24)
    .option('--json', 'machine-readable output')
    .action((options: { dataDir: string; hours: number; json?: boolean }) => {
      const db = openStoreForCommand(options.dataDir, 'read');
      try {
        const items = new AnomalyStore(db).list(Date.now() - options.hours * 3_600_000, 10_000);
        if (options.json) printJson(items);
        else process.stdout.write(items.length === 0 ? `No unusual sending in the last ${options.hours} hours.\n` : `${items.map((a) => `${new Date(a.atMs).toISOString()}  ${a.mailbox}  ${describeAnomaly(a)}${a.autoCompromised ? '  (marked compromised automatically)' : ''}`).join('\n')}\n`);
      } finally {
        db.close();
      }
    });

  program
    .command('usage')
    .description('what each object sent in the last hour, its limit and when it frees')
    .addOption(dataDirOption())
    .option('--all', 'list every object, also those that sent nothing')
    .option('--json', 'machine-readable output')
    .action((options: { dataDir: string; all?: boolean; json?: boolean }) => {
      const db = openStoreForCommand(options.dataDir, 'read');
      try {
        const now = Math.floor(Date.now() / 1000);
        const counters = new RollingWindowCounters(windowSeconds());
        const dailyCounters = dailyWindowCounters();
        new CounterJournal(db).restoreInto([counters, dailyCounters], now);
        const enforcer = new Enforcer(counters, null, null, Date.now, dailyCounters);
        enforcer.load(readSettings(db), streamDirectory(db));
        // The limit in force now: a temporary exemption included.
        applyStoredExemptions(db, enforcer.directory);
        const index: DirectoryIndex = enforcer.directory;
        const window = enforcer.windowAt(now);
        const rows = [...index.byCounterKey.values()]
          .map((object) => usageOf(object, window))
          .filter((row) => options.all || row.used > 0 || row.blocked || row.day.used > 0)
          .sort((a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level) || b.used - a.used || a.name.localeCompare(b.name));
        if (options.json) printJson(rows);
        else process.stdout.write(`${usageTable(rows)}\n`);
      } finally {
        db.close();
      }
    });

  const postfix = program.command('postfix').description("connect Postfix to the policy service, or undo it");
  postfix
    .command('wire')
    .description('add the policy service to main.cf (idempotent; reloads a running Postfix)')
    .addHelpText('after', `\n--policy and --milter: unix:/ABSOLUTE/PATH or HOST:PORT, as given to the daemon. ${TCP_RISK}\nA socket inside the queue directory is written relative to it, which chrooted and unchrooted smtpd and cleanup both resolve; one outside it is refused while smtpd or cleanup run chrooted.`)
    .addOption(dataDirOption())
    .option('--config-dir <dir>', 'Postfix configuration directory', '/etc/postfix')
    .option('--policy <unix:path|host:port>', 'where the daemon listens (default: unix:QUEUE_DIR/outgoing-limits/policy)', parse.listenAddress)
    .option('--milter <unix:path|host:port>', "where the daemon's milter for local mail listens, for non_smtpd_milters (default: unix:QUEUE_DIR/outgoing-limits/milter)", parse.listenAddress)
    .option('--no-milter', 'leave local mail (sendmail, PHP) uncounted')
    .option('--fail-closed', 'defer all mail while the daemon is down (default: mail flows, fail-open)')
    .option('--recipient-domains', 'also ask the policy service at each RCPT (observe only, first in smtpd_recipient_restrictions), so the recipient-domains signal sees every recipient of SMTP mail')
    .option('--no-reload', 'do not reload a running Postfix')
    .action(
      async (options: { configDir: string; policy?: ListenAddress; milter?: ListenAddress | false; failClosed?: boolean; recipientDomains?: boolean; reload: boolean }) => {
      const result = await wirePostfix({
        configDir: options.configDir,
        recipientStage: options.recipientDomains === true,
        ...(options.policy ? { policy: options.policy } : {}),
        ...(options.milter === false ? { milter: null } : options.milter ? { milter: options.milter } : {}),
        failOpen: !options.failClosed,
        reload: options.reload,
      });
      reportWiring(result, 'wired to the policy service', 'already wired');
      },
    );
  postfix
    .command('unwire')
    .description('undo exactly what wire changed in main.cf')
    .addOption(dataDirOption())
    .option('--config-dir <dir>', 'Postfix configuration directory', '/etc/postfix')
    .option('--no-reload', 'do not reload a running Postfix')
    .action(async (options: { configDir: string; reload: boolean }) => {
      reportWiring(await unwirePostfix(options.configDir, { reload: options.reload }), 'unwired', 'not wired; nothing to do');
    });

  registerUserCommands(program, dataDirOption);
  registerHeldCommands(program, dataDirOption);
  registerStoreCommands(program, dataDirOption);
  registerNotifyCommands(program, dataDirOption);
  registerExemptCommands(program, dataDirOption);
  registerDoctorCommand(program, dataDirOption);
  registerReportCommand(program, dataDirOption);
  registerClusterCommands(program, dataDirOption);
  return program;
}

function reportWiring(result: Awaited<ReturnType<typeof unwirePostfix>>, done: string, unchanged: string): void {
  process.stdout.write(`${result.mainCf}: ${result.changed ? done : unchanged}${result.reloaded ? '; Postfix reloaded' : ''}.\n`);
  if (result.leftAlone.length > 0) {
    process.stderr.write(`Changed by someone else since wiring, left as they are: ${result.leftAlone.join(', ')}\n`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof DoctorVerdict) return error.exitCode;
    process.stderr.write(`outgoing-limits: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof StoreDamagedError ? EXIT_STORE_DAMAGED : 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`outgoing-limits: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

/** The "Unusual sending" options of `settings set`: a threshold or "off" per signal, and whether it marks compromised. */
interface AnomalyOptions {
  anomalyLogins?: number | 'off';
  anomalyDomains?: number | 'off';
  anomalySurge?: number | 'off';
  autoCompromiseLogins?: boolean;
  autoCompromiseDomains?: boolean;
  autoCompromiseSurge?: boolean;
}

/** The "Unusual sending" part of `settings set`: only the signals and fields given; undefined when none is. */
function anomalyChange(options: AnomalyOptions): SettingsChange['anomalies'] {
  const change: NonNullable<SettingsChange['anomalies']> = {};
  const given: Array<[AnomalySignal, number | 'off' | undefined, boolean | undefined]> = [
    ['loginAddresses', options.anomalyLogins, options.autoCompromiseLogins],
    ['recipientDomains', options.anomalyDomains, options.autoCompromiseDomains],
    ['volumeSurge', options.anomalySurge, options.autoCompromiseSurge],
  ];
  for (const [signal, threshold, autoCompromise] of given) {
    if (threshold === undefined && autoCompromise === undefined) continue;
    change[signal] = { ...(threshold !== undefined ? { threshold: threshold === 'off' ? null : threshold } : {}), ...(autoCompromise !== undefined ? { autoCompromise } : {}) };
  }
  return Object.keys(change).length > 0 ? change : undefined;
}
