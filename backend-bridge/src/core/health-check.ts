/**
 * The health view (`outgoing-limits doctor`, GET /doctor, the settings screen's panel): what was found about each
 * part the limits depend on, judged as ok, warning or problem, with what to do when it is not ok. Pure: the facts
 * are gathered elsewhere (cli/doctor-command.ts, api/routes/doctor-routes.ts) and passed in with the time.
 *
 * Each line carries a `reason` and its `params` so a screen can say it in its own language (the frontend's
 * messages hold the same templates under health.reasons), and the English text for the command and for scripts.
 */

export type HealthState = 'ok' | 'warning' | 'problem';
export const HEALTH_LINE_IDS = ['daemon', 'postfix', 'plesk', 'directory', 'held', 'store', 'backup', 'cluster'] as const;
export type HealthLineId = (typeof HEALTH_LINE_IDS)[number];
export type HealthParams = Record<string, string | number>;

/** What each line is about, in English (the screen's titles are in its messages, health.titles). */
export const HEALTH_TITLES: Record<HealthLineId, string> = {
  daemon: 'Daemon running',
  postfix: 'Postfix wired',
  plesk: "Plesk's own limiting off",
  directory: 'Directory synced',
  held: 'Held mail waiting',
  store: 'Store check',
  backup: 'Last backup',
  cluster: 'Cluster counting',
};

export interface HealthLine {
  id: HealthLineId;
  state: HealthState;
  /** Stable key of what was found, e.g. `postfix.policyMissing`; the screen's text is looked up by it. */
  reason: string;
  params: HealthParams;
  /** What was found, in English. */
  found: string;
  /** What to do, in English; null when the line is ok. */
  advice: string | null;
}

export interface HealthReport {
  /** The worst state of all lines. */
  state: HealthState;
  checkedAt: string;
  lines: HealthLine[];
}

/** The systemd unit the package installs (packaging and plib's Installer). */
export const SERVICE_UNIT = 'outgoing-mail-limits';
/** Plesk's report of its own limiting is refreshed by every resync; older than this, it may no longer hold. */
export const PLATFORM_REPORT_STALE_MS = 2 * 24 * 3_600_000;
/** A directory not loaded or synced for this long may miss mailboxes created since (which then go unlimited). */
export const DIRECTORY_STALE_MS = 7 * 24 * 3_600_000;
/** Held mail normally leaves within the hour its window frees; a day in hold wants a person's look. */
export const HELD_TOO_LONG_MS = 24 * 3_600_000;
/** The daemon backs up once a (UTC) day; the newest backup older than this means backups stopped. */
export const BACKUP_STALE_MS = 2 * 24 * 3_600_000;

/** The English texts of every reason: %%name%% is replaced by the line's params (as the frontend's messages do). */
export const HEALTH_TEXTS: Record<string, { found: string; advice?: string }> = {
  'daemon.running': { found: 'The daemon runs and answers on its API socket %%socket%%.' },
  'daemon.down': {
    found: 'The daemon does not answer on %%socket%%: %%error%%.',
    advice: `Start it: systemctl start ${SERVICE_UNIT} ("journalctl -u ${SERVICE_UNIT}" says why it stopped). Until it runs, mail is not limited (fail-open) or all mail is deferred (fail-closed).`,
  },
  'postfix.wired': { found: 'Postfix is wired: %%how%%.' },
  'postfix.unreadable': {
    found: 'Cannot read the Postfix configuration in %%configDir%%: %%error%%.',
    advice: 'Point at the Postfix in use with --postfix-config-dir DIR (default /etc/postfix), or check that Postfix is installed.',
  },
  'postfix.policyMissing': {
    found: 'Postfix in %%configDir%% does not ask the policy service (no check_policy_service of ours in smtpd_end_of_data_restrictions): mail sent over SMTP is not limited.',
    advice: 'Wire it again: outgoing-limits postfix wire --config-dir %%configDir%%',
  },
  'postfix.milterLost': {
    found: 'The milter for local mail was wired but is gone from non_smtpd_milters in %%configDir%%: mail from sendmail and PHP is not limited. %%how%%.',
    advice: 'Wire it again: outgoing-limits postfix wire --config-dir %%configDir%%',
  },
  'postfix.milterOff': {
    found: 'Postfix is wired without the milter: mail from sendmail and PHP (local mail) is not counted. %%how%%.',
    advice: 'Count local mail too: outgoing-limits postfix wire --config-dir %%configDir%% (without --no-milter)',
  },
  'postfix.socketMissing': {
    found: 'Postfix asks %%endpoint%%, but there is no socket at %%socketPath%%: the daemon listens elsewhere or not at all, and Postfix lets mail through unlimited (fail-open) or defers it. %%how%%.',
    advice: `Start the daemon with the same --postfix-config-dir (systemctl restart ${SERVICE_UNIT}), or wire Postfix to where it listens: outgoing-limits postfix wire --config-dir %%configDir%% --policy ... --milter ...`,
  },
  'postfix.tcp': {
    found: 'Postfix reaches the daemon over TCP (%%endpoint%%): every local user can connect to it and forge requests. %%how%%.',
    advice: 'Unless Postfix runs on another host, use the default UNIX sockets: outgoing-limits postfix wire --config-dir %%configDir%% (and start the daemon without --policy/--milter).',
  },
  'plesk.none': { found: 'Not a Plesk server (Plesk never reported here).' },
  'plesk.unknown': {
    found: "Cannot read Plesk's last report on its own limiting (%%error%%).",
    advice: 'See the store line.',
  },
  'plesk.off': { found: "Plesk's own limiting of outgoing mail is off and Plesk's mail server is Postfix (reported %%checkedAt%%, %%age%% ago)." },
  'plesk.nativeOn': {
    found: "Plesk's own limiting of outgoing mail is on (reported %%checkedAt%%): mail is limited twice, by Plesk and by this extension.",
    advice: 'Switch it off: plesk bin mailserver --disable-outgoing-antispam, then run the resync: plesk bin extension --exec outgoing-mail-limits resync.php',
  },
  'plesk.notPostfix': {
    found: "Plesk reports the mail server %%mailServer%% (reported %%checkedAt%%): this extension enforces limits in Postfix only, so no mail is limited.",
    advice: 'Switch Plesk to Postfix (Tools & Settings > Updates > Add/Remove Components > Mail hosting features), or remove this extension and use Plesk\'s own limits.',
  },
  'plesk.stale': {
    found: "Plesk last reported on its own limiting %%checkedAt%% (%%age%% ago; it said: %%nativeLimiting%%, mail server %%mailServer%%): the report may no longer hold.",
    advice: 'Run the resync, which reports again: plesk bin extension --exec outgoing-mail-limits resync.php',
  },
  'directory.synced': { found: 'The directory (%%objects%% subscriptions, domains and email addresses) was last %%how%% %%at%% (%%age%% ago).' },
  'directory.empty': {
    found: 'The directory is empty and was never loaded: no email address, domain or subscription is known, so no mail is limited.',
    advice: 'Load it: in Plesk run the resync (plesk bin extension --exec outgoing-mail-limits resync.php); standalone run outgoing-limits directory import FILE',
  },
  'directory.neverSynced': {
    found: 'The directory holds %%objects%% objects, but no full sync or file load is on record: email addresses created since may be missing (their mail then goes unlimited).',
    advice: 'Sync it once: in Plesk run the resync (plesk bin extension --exec outgoing-mail-limits resync.php); standalone run outgoing-limits directory import FILE',
  },
  'directory.stale': {
    found: 'The directory (%%objects%% objects) was last %%how%% %%at%% (%%age%% ago): email addresses created since may be missing.',
    advice: 'Sync it again: in Plesk run the resync (plesk bin extension --exec outgoing-mail-limits resync.php); standalone run outgoing-limits directory import FILE',
  },
  'directory.unknown': {
    found: 'Cannot read the directory: there is no sound store to read it from.',
    advice: 'See the store line.',
  },
  'held.none': { found: 'No mail is held.' },
  'held.waiting': { found: '%%count%% held message(s) waiting, the oldest for %%age%%; each leaves by itself when its sender\'s hour frees.' },
  'held.old': {
    found: '%%count%% held message(s) waiting, the oldest for %%age%% (held %%since%%): mail held this long is usually from an email address marked compromised or one far over its limit.',
    advice: 'Look at them on the "Held messages" screen or with outgoing-limits held list; release or delete them there (outgoing-limits held release ID / held delete ID).',
  },
  'held.unknown': {
    found: 'Cannot read the held mail records (%%error%%).',
    advice: 'See the store line.',
  },
  'store.ok': { found: 'The store %%file%% is sound (%%how%%).' },
  'store.damaged': {
    found: 'The store %%file%% fails its check (%%how%%): %%error%%',
    advice: 'Stop the daemon and restore the newest backup: outgoing-limits store restore NAME --data-dir %%dataDir%% (outgoing-limits store backups lists them; outgoing-limits store check says more).',
  },
  'store.failing': {
    found: 'The daemon cannot use its store %%file%%: %%operation%% fails since %%since%% (%%failures%% times): %%error%%. It keeps enforcing what it read last.',
    advice: `Check the disk and the file (outgoing-limits store check --data-dir %%dataDir%%); journalctl -u ${SERVICE_UNIT} shows the failures.`,
  },
  'store.missing': {
    found: 'There is no store in %%dataDir%%.',
    advice: `Give the daemon's data directory with --data-dir DIR, or start the daemon (systemctl start ${SERVICE_UNIT}), which creates it.`,
  },
  'backup.recent': { found: 'The newest backup is of %%date%% (%%count%% kept in %%dir%%).' },
  'backup.none': {
    found: 'There is no backup in %%dir%%.',
    advice: `The daemon backs the store up once a day, the first when it starts: check that it runs and that %%dir%% is writable (journalctl -u ${SERVICE_UNIT} says why a backup failed).`,
  },
  'backup.stale': {
    found: 'The newest backup is of %%date%%, %%age%% ago (%%count%% kept in %%dir%%): daily backups have stopped.',
    advice: `Check that the daemon runs and that %%dir%% is writable and has room; journalctl -u ${SERVICE_UNIT} says why a backup failed.`,
  },
  'cluster.counting': { found: 'Node %%node%% counts in the cluster (Redis at %%address%%): every node shares the same counts.' },
  'cluster.configStuck': {
    found: "Node %%node%% counts in the cluster (Redis at %%address%%) but cannot apply the cluster's configuration (%%error%%): it decides with the configuration it has, which other nodes may have changed since.",
    advice: 'Run the same version on every node: an entry written by a newer node may name what an older one does not know. journalctl -u outgoing-mail-limits shows each failure; the node applies the entry as soon as it can.',
  },
  'cluster.alone': {
    found: 'Node %%node%% cannot use Redis at %%address%% since %%age%% ago (%%error%%): it counts on its own meanwhile, so each node allows the full limits.',
    advice: 'Bring Redis back (redis-cli -u ADDRESS ping; see the README, "Running a cluster"). Within 5 seconds of its return the node counts in the cluster again and adds what it counted alone.',
  },
};

/** Replaces %%name%% with params.name. */
export function fillTemplate(template: string, params: HealthParams): string {
  return template.replace(/%%(\w+)%%/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

function line(id: HealthLineId, state: HealthState, reason: string, params: HealthParams = {}): HealthLine {
  const text = HEALTH_TEXTS[reason];
  if (!text) throw new Error(`no text for health reason ${reason}`);
  return { id, state, reason, params, found: fillTemplate(text.found, params), advice: state === 'ok' || !text.advice ? null : fillTemplate(text.advice, params) };
}

/** A span as people say it: "45 minutes", "3 hours", "2 days". */
export function describeAge(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}

const iso = (ms: number) => new Date(ms).toISOString();

// ---- daemon -------------------------------------------------------------------------------------------------

export type DaemonFacts = { running: true; socket: string } | { running: false; socket: string; error: string };

export function judgeDaemon(facts: DaemonFacts): HealthLine {
  return facts.running ? line('daemon', 'ok', 'daemon.running', { socket: facts.socket }) : line('daemon', 'problem', 'daemon.down', { socket: facts.socket, error: facts.error });
}

// ---- Postfix wiring -----------------------------------------------------------------------------------------

/** One entry of ours in main.cf, as Postfix reads it. */
export interface EndpointFacts {
  /** As written in main.cf: `unix:outgoing-limits/policy`, `unix:/abs/path` or `inet:127.0.0.1:10040`. */
  endpoint: string;
  /** master.cf services that connect to it (smtpd for the policy service, cleanup for the milter) and run chrooted. */
  chrootedServices: string[];
  /** For a unix: endpoint, where the socket file is (resolved against the queue directory) and whether one is there. */
  socket: { path: string; present: boolean } | null;
}

export type WiringFacts =
  | { readable: false; configDir: string; error: string }
  | {
      readable: true;
      configDir: string;
      /** Our check_policy_service in smtpd_end_of_data_restrictions, if there. */
      policy: EndpointFacts | null;
      /** Our milter in non_smtpd_milters, if there. */
      milter: EndpointFacts | null;
      /** `postfix wire` recorded a milter (it was not wired with --no-milter). */
      milterWanted: boolean;
      /** smtpd_policy_service_default_action is DUNNO (mail flows while the daemon is down). */
      failOpen: boolean;
    };

function describeEndpoint(what: string, parameter: string, client: string, facts: EndpointFacts): string {
  const transport = facts.endpoint.startsWith('unix:') ? 'UNIX socket' : 'TCP';
  const chroot = facts.chrootedServices.length > 0 ? `${client} chrooted (${facts.chrootedServices.join(', ')})` : `${client} not chrooted`;
  return `${what} in ${parameter} (${facts.endpoint}, ${transport}, ${chroot})`;
}

export function describeWiring(facts: Extract<WiringFacts, { readable: true }>): string {
  const parts: string[] = [];
  if (facts.policy) parts.push(describeEndpoint('policy service', 'smtpd_end_of_data_restrictions', 'smtpd', facts.policy));
  if (facts.milter) parts.push(describeEndpoint('milter', 'non_smtpd_milters', 'cleanup', facts.milter));
  parts.push(facts.failOpen ? 'fail-open (mail flows while the daemon is down)' : 'fail-closed (mail is deferred while the daemon is down)');
  return parts.join('; ');
}

export function judgeWiring(facts: WiringFacts): HealthLine {
  const configDir = facts.configDir;
  if (!facts.readable) return line('postfix', 'problem', 'postfix.unreadable', { configDir, error: facts.error });
  if (!facts.policy) return line('postfix', 'problem', 'postfix.policyMissing', { configDir });
  const how = describeWiring(facts);
  for (const endpoint of [facts.policy, facts.milter]) {
    if (endpoint?.socket && !endpoint.socket.present) {
      return line('postfix', 'problem', 'postfix.socketMissing', { configDir, how, endpoint: endpoint.endpoint, socketPath: endpoint.socket.path });
    }
  }
  if (!facts.milter && facts.milterWanted) return line('postfix', 'problem', 'postfix.milterLost', { configDir, how });
  const tcp = [facts.policy, facts.milter].find((endpoint) => endpoint !== null && !endpoint.endpoint.startsWith('unix:'));
  if (tcp) return line('postfix', 'warning', 'postfix.tcp', { configDir, how, endpoint: tcp.endpoint });
  if (!facts.milter) return line('postfix', 'warning', 'postfix.milterOff', { configDir, how });
  return line('postfix', 'ok', 'postfix.wired', { configDir, how });
}

// ---- Plesk --------------------------------------------------------------------------------------------------

export const NATIVE_LIMITING = ['on', 'off'] as const;
export const MAIL_SERVERS = ['postfix', 'qmail', 'remote', 'none'] as const;

/** What the Plesk layer last reported (PUT /platform/plesk) after install and each resync. */
export interface PlatformReport {
  nativeLimiting: (typeof NATIVE_LIMITING)[number];
  mailServer: (typeof MAIL_SERVERS)[number];
  /** When Plesk looked, ISO 8601. */
  checkedAt: string;
  /** When the daemon received it, ISO 8601. */
  receivedAt: string;
}

/** What the store holds of Plesk's report: the report, null when Plesk never reported, or why it cannot be read. */
export type PlatformFacts = PlatformReport | null | { unreadable: string };

export function judgePlatform(report: PlatformFacts, nowMs: number): HealthLine {
  if (!report) return line('plesk', 'ok', 'plesk.none');
  // "Not a Plesk server" only when the store says so: an unreadable store must not make a Plesk server look like none.
  if ('unreadable' in report) return line('plesk', 'warning', 'plesk.unknown', { error: report.unreadable });
  const checkedMs = Date.parse(report.checkedAt);
  // A report dated ahead of this clock counts from when it arrived: a wrong clock on either side must not keep it fresh forever.
  const asOfMs = Math.min(checkedMs, Date.parse(report.receivedAt));
  const params = { checkedAt: report.checkedAt, mailServer: report.mailServer, nativeLimiting: report.nativeLimiting, age: describeAge(nowMs - asOfMs) };
  if (report.mailServer !== 'postfix') return line('plesk', 'problem', 'plesk.notPostfix', params);
  if (report.nativeLimiting === 'on') return line('plesk', 'problem', 'plesk.nativeOn', params);
  if (nowMs - asOfMs > PLATFORM_REPORT_STALE_MS) return line('plesk', 'warning', 'plesk.stale', params);
  return line('plesk', 'ok', 'plesk.off', params);
}

// ---- directory ----------------------------------------------------------------------------------------------

export interface DirectoryFacts {
  /** Subscriptions, domains and mailboxes known. */
  objects: number;
  /** The last full sync (POST /directory/sync) or directory file load (PUT /directory, `directory import`). */
  lastSynced: { atMs: number; how: 'sync' | 'file' } | null;
}

export function judgeDirectory(facts: DirectoryFacts, nowMs: number): HealthLine {
  if (!facts.lastSynced) return facts.objects === 0 ? line('directory', 'problem', 'directory.empty') : line('directory', 'warning', 'directory.neverSynced', { objects: facts.objects });
  const ageMs = nowMs - facts.lastSynced.atMs;
  const params = { objects: facts.objects, at: iso(facts.lastSynced.atMs), age: describeAge(ageMs), how: facts.lastSynced.how === 'sync' ? 'synced' : 'loaded from a file' };
  if (facts.objects === 0) return line('directory', 'problem', 'directory.empty', params);
  return ageMs > DIRECTORY_STALE_MS ? line('directory', 'warning', 'directory.stale', params) : line('directory', 'ok', 'directory.synced', params);
}

// ---- held mail ----------------------------------------------------------------------------------------------

export type HeldFacts = { readable: true; count: number; oldestHeldAtMs: number | null } | { readable: false; error: string };

export function judgeHeld(facts: HeldFacts, nowMs: number): HealthLine {
  if (!facts.readable) return line('held', 'warning', 'held.unknown', { error: facts.error });
  if (facts.count === 0 || facts.oldestHeldAtMs === null) return line('held', 'ok', 'held.none', { count: 0 });
  const ageMs = nowMs - facts.oldestHeldAtMs;
  const params = { count: facts.count, age: describeAge(ageMs), since: iso(facts.oldestHeldAtMs) };
  return ageMs >= HELD_TOO_LONG_MS ? line('held', 'warning', 'held.old', params) : line('held', 'ok', 'held.waiting', params);
}

// ---- store --------------------------------------------------------------------------------------------------

export type StoreFacts =
  | { kind: 'checked'; file: string; dataDir: string; problems: string[] }
  | { kind: 'daemon'; file: string; dataDir: string; fault: { operation: string; error: string; since: string; failures: number } | null }
  | { kind: 'missing'; dataDir: string };

export function judgeStore(facts: StoreFacts): HealthLine {
  if (facts.kind === 'missing') return line('store', 'problem', 'store.missing', { dataDir: facts.dataDir });
  if (facts.kind === 'checked') {
    const how = "SQLite's integrity check, run now";
    if (facts.problems.length === 0) return line('store', 'ok', 'store.ok', { file: facts.file, how });
    return line('store', 'problem', 'store.damaged', { file: facts.file, dataDir: facts.dataDir, how, error: facts.problems.slice(0, 3).join('; ') });
  }
  const how = "the daemon's hourly quick check, daily backup check and its reads and writes";
  if (!facts.fault) return line('store', 'ok', 'store.ok', { file: facts.file, how });
  const params = { file: facts.file, dataDir: facts.dataDir, how, ...facts.fault };
  // A failed check is damage; a failing read or write may be the disk (full, read-only) as much as the file.
  return facts.fault.operation === 'check' ? line('store', 'problem', 'store.damaged', params) : line('store', 'problem', 'store.failing', params);
}

// ---- backups ------------------------------------------------------------------------------------------------

export interface BackupFacts {
  dir: string;
  /** UTC day (YYYY-MM-DD) of the newest backup, or null when there is none. */
  newestDate: string | null;
  count: number;
}

export function judgeBackup(facts: BackupFacts, nowMs: number): HealthLine {
  if (!facts.newestDate) return line('backup', 'warning', 'backup.none', { dir: facts.dir });
  // A backup of day D was taken at the latest by the end of D.
  const ageMs = nowMs - (Date.parse(`${facts.newestDate}T00:00:00Z`) + 24 * 3_600_000);
  const params = { dir: facts.dir, date: facts.newestDate, count: facts.count, age: describeAge(Math.max(0, ageMs)) };
  return ageMs > BACKUP_STALE_MS ? line('backup', 'warning', 'backup.stale', params) : line('backup', 'ok', 'backup.recent', params);
}

// ---- the whole view -----------------------------------------------------------------------------------------

/** A node of a cluster: whether it counts in the cluster or alone (Redis away), since when, and why. */
export interface ClusterFacts {
  node: string;
  /** The Redis address without its password. */
  address: string;
  counting: 'cluster' | 'alone';
  sinceMs: number;
  lastFailure: string | null;
  /** Why the cluster's configuration cannot be applied here (null: it is); see cluster/config-log.ts. */
  configProblem?: string | null;
}

/** Counting alone still limits (per node), but the cluster's limits are not kept: a warning, not a problem. */
export function judgeCluster(facts: ClusterFacts, nowMs: number): HealthLine {
  if (facts.counting === 'cluster') {
    if (facts.configProblem) return line('cluster', 'warning', 'cluster.configStuck', { node: facts.node, address: facts.address, error: facts.configProblem });
    return line('cluster', 'ok', 'cluster.counting', { node: facts.node, address: facts.address });
  }
  return line('cluster', 'warning', 'cluster.alone', { node: facts.node, address: facts.address, age: describeAge(nowMs - facts.sinceMs), error: facts.lastFailure ?? 'no answer' });
}

export interface HealthFacts {
  daemon: DaemonFacts;
  wiring: WiringFacts;
  platform: PlatformFacts;
  /** null: there is no sound store to read it from. */
  directory: DirectoryFacts | null;
  held: HeldFacts;
  store: StoreFacts;
  backup: BackupFacts;
  /** Only for a node of a cluster. */
  cluster?: ClusterFacts;
}

const SEVERITY: Record<HealthState, number> = { ok: 0, warning: 1, problem: 2 };

export function worstState(lines: readonly HealthLine[]): HealthState {
  return lines.reduce<HealthState>((worst, each) => (SEVERITY[each.state] > SEVERITY[worst] ? each.state : worst), 'ok');
}

/** Every line, in the order people read them. */
export function judgeHealth(facts: HealthFacts, nowMs: number): HealthReport {
  const lines = [
    judgeDaemon(facts.daemon),
    judgeWiring(facts.wiring),
    judgePlatform(facts.platform, nowMs),
    facts.directory ? judgeDirectory(facts.directory, nowMs) : line('directory', 'warning', 'directory.unknown'),
    judgeHeld(facts.held, nowMs),
    judgeStore(facts.store),
    judgeBackup(facts.backup, nowMs),
    ...(facts.cluster ? [judgeCluster(facts.cluster, nowMs)] : []),
  ];
  return { state: worstState(lines), checkedAt: iso(nowMs), lines };
}

/** The command's exit code: 0 all ok, 1 warnings, 2 problems. */
export function exitCodeOf(state: HealthState): number {
  return SEVERITY[state];
}
