import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultSocketAddress, type ListenAddress } from './listen-address.js';
import { appendLine, findParameter, parameterLine, replaceSpan } from './main-cf.js';
import { repairMainCf, wiringStatus, type ChangedParameter, type WiringState, type WiringStatus } from './wiring-status.js';

const execFileAsync = promisify(execFile);
/** Postfix's tools live in /usr/sbin, which a non-login PATH may lack. */
const run = (command: string, args: string[]) =>
  execFileAsync(command, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });

export const STATE_FILE = 'outgoing-limits-wiring.json';
export const BACKUP_FILE = 'main.cf.outgoing-limits-backup';

export interface WiringOptions {
  configDir: string;
  /** Where the daemon's policy service listens; default: its socket in this Postfix's queue directory. */
  policy?: ListenAddress;
  /**
   * The milter that counts local mail (sendmail, PHP); default: its socket in this Postfix's queue directory;
   * null leaves non_smtpd_milters alone.
   */
  milter?: ListenAddress | null;
  /**
   * Fail-open (the default): if the daemon is down, Postfix lets mail through instead of answering 451 4.3.5.
   * For the milter, milter_default_action = accept lets local mail through. Fail-closed leaves Postfix's own
   * defaults, which defer all mail while the daemon is down.
   */
  failOpen: boolean;
  /** Reload a running Postfix so the change takes effect now (off in tests of the file edits alone). */
  reload: boolean;
  /**
   * Also ask the policy service at each RCPT, first in smtpd_recipient_restrictions so no permit before it hides a
   * recipient: observe only (it answers DUNNO and counts nothing), for the recipient-domains signal of SMTP mail.
   */
  recipientStage?: boolean;
}

export interface WiringResult {
  changed: boolean;
  mainCf: string;
  reloaded: boolean;
  /** Parameters someone edited after wiring: left as they are, for a person to look at. */
  leftAlone: string[];
}

/** One master.cf service that connects to us: smtpd asks the policy service, cleanup talks to the milter. */
export interface MasterService {
  /** `name/type` as postconf -F prints it, e.g. `smtp/inet`. */
  service: string;
  command: string;
  chrooted: boolean;
}

/**
 * Reads master.cf's services from `postconf -F` output. A chroot field of `-` is the built-in default, which is
 * n since Postfix 3.0 (the oldest Postfix this product supports is newer).
 */
export function parseMasterServices(postconfF: string): MasterService[] {
  const fields = new Map<string, { command?: string; chroot?: string }>();
  for (const line of postconfF.split('\n')) {
    const match = /^(\S+\/\S+)\/(command|chroot) = (.*)$/.exec(line);
    if (!match) continue;
    const [, service = '', field, value = ''] = match;
    const entry = fields.get(service) ?? {};
    if (field === 'command') entry.command = value.trim().split(/\s+/)[0] ?? '';
    else entry.chroot = value.trim();
    fields.set(service, entry);
  }
  return [...fields].map(([service, entry]) => ({ service, command: entry.command ?? '', chrooted: entry.chroot === 'y' }));
}

/**
 * How Postfix must name `address` in main.cf, or why it cannot. Postfix daemons chdir to queue_directory and,
 * when chrooted, chroot there: a socket inside the queue directory, written relative to it, is found either way;
 * an absolute path outside it exists only for services that are not chrooted.
 */
export function postfixEndpoint(address: ListenAddress, queueDirectory: string, connecting: MasterService[]): { ok: true; value: string } | { ok: false; error: string } {
  if (address.kind === 'tcp') return { ok: true, value: `inet:${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}` };
  const relative = path.relative(path.resolve(queueDirectory), address.path);
  if (relative && !relative.startsWith('..') && !path.isAbsolute(relative)) return { ok: true, value: `unix:${relative}` };
  const chrooted = connecting.filter((service) => service.chrooted).map((service) => service.service);
  if (chrooted.length > 0) {
    return {
      ok: false,
      error:
        `${address.path} is outside Postfix's queue directory ${queueDirectory}, but ${chrooted.join(', ')} run${chrooted.length === 1 ? 's' : ''} chrooted there (master.cf) and cannot reach it. ` +
        `Put the socket inside ${queueDirectory} (the default, ${path.join(queueDirectory, 'outgoing-limits')}/), or set the chroot field of ${chrooted.join(', ')} to n.`,
    };
  }
  return { ok: true, value: `unix:${address.path}` };
}

export class WiringError extends Error {}

/** The main.cf values for the policy service and the milter, for how this Postfix's master.cf runs smtpd and cleanup. */
async function endpointsFor(options: WiringOptions): Promise<{ policy: string; milter: string | null }> {
  const queueDirectory = await postconf(options.configDir, ['-h', 'queue_directory']);
  const policyAddress = options.policy ?? defaultSocketAddress(queueDirectory, 'policy');
  const milterAddress = options.milter === undefined ? defaultSocketAddress(queueDirectory, 'milter') : options.milter;
  const needsMaster = policyAddress.kind === 'unix' || milterAddress?.kind === 'unix';
  const services = needsMaster ? parseMasterServices(await postconf(options.configDir, ['-F'])) : [];
  const endpoint = (address: ListenAddress, command: string, what: string): string => {
    const result = postfixEndpoint(address, queueDirectory, services.filter((service) => service.command === command));
    if (!result.ok) throw new WiringError(`cannot wire the ${what}: ${result.error}`);
    return result.value;
  };
  return {
    policy: endpoint(policyAddress, 'smtpd', 'policy service'),
    milter: milterAddress === null ? null : endpoint(milterAddress, 'cleanup', 'milter'),
  };
}

async function postconf(configDir: string, args: string[]): Promise<string> {
  try {
    return (await run('postconf', ['-c', configDir, ...args])).stdout.trim();
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new WiringError(`cannot read the Postfix configuration in ${configDir} (postconf ${args.join(' ')}): ${(failed.stderr || failed.message).trim()}`);
  }
}

/**
 * Adds the policy service as the last END-OF-DATA restriction (only accepted mail is then counted, and at that
 * stage recipient_count is real), the milter to non_smtpd_milters (local mail) and, for fail-open, makes Postfix
 * ignore an unreachable policy service or milter.
 * Idempotent: wiring again first undoes the previous wiring, so options can change and nothing stacks up.
 */
export async function wirePostfix(options: WiringOptions): Promise<WiringResult> {
  const mainCfPath = path.join(options.configDir, 'main.cf');
  const before = await readFile(mainCfPath, 'utf8');
  const previous = await readState(options.configDir);
  const { text: original, leftAlone } = previous ? revert(before, previous) : { text: before, leftAlone: [] };
  const endpoints = await endpointsFor(options);
  const service = `check_policy_service ${endpoints.policy}`;
  const existing = findParameter(original, 'smtpd_end_of_data_restrictions')?.value ?? '';
  const wanted: Array<[string, string]> = [['smtpd_end_of_data_restrictions', existing ? `${existing}, ${service}` : service]];
  if (options.recipientStage) {
    const restrictions = findParameter(original, 'smtpd_recipient_restrictions')?.value ?? '';
    wanted.push(['smtpd_recipient_restrictions', restrictions ? `${service}, ${restrictions}` : service]);
  }
  if (options.failOpen) wanted.push(['smtpd_policy_service_default_action', 'DUNNO']);
  if (endpoints.milter) {
    // Only non_smtpd_milters: SMTP mail is counted by the policy service, and must not count twice.
    const milter = endpoints.milter;
    const milters = findParameter(original, 'non_smtpd_milters')?.value ?? '';
    wanted.push(['non_smtpd_milters', milters ? `${milters}, ${milter}` : milter], ['milter_protocol', '6']);
    if (options.failOpen) wanted.push(['milter_default_action', 'accept']);
  }

  let text = original;
  const parameters: ChangedParameter[] = [];
  for (const [name, value] of wanted) {
    const wired = parameterLine(name, value);
    const span = findParameter(text, name);
    if (span) {
      parameters.push({ name, original: span.text, wired, addedNewline: false });
      text = replaceSpan(text, span, wired);
    } else {
      parameters.push({ name, original: null, wired, addedNewline: text.length > 0 && !text.endsWith('\n') });
      text = appendLine(text, wired);
    }
  }
  if (!existsSync(path.join(options.configDir, BACKUP_FILE))) await writeFile(path.join(options.configDir, BACKUP_FILE), original);
  await writeState(options.configDir, { version: 1, policyService: service, parameters });
  const changed = text !== before;
  if (changed) await replaceFile(mainCfPath, text);
  return { changed, mainCf: mainCfPath, reloaded: changed && options.reload ? await reloadIfRunning(options.configDir) : false, leftAlone };
}

/** Undoes exactly what wirePostfix changed; a main.cf never wired is left untouched. */
export async function unwirePostfix(configDir: string, options: { reload: boolean }): Promise<WiringResult> {
  const mainCfPath = path.join(configDir, 'main.cf');
  const state = await readState(configDir);
  if (!state) return { changed: false, mainCf: mainCfPath, reloaded: false, leftAlone: [] };
  const before = await readFile(mainCfPath, 'utf8');
  const { text, leftAlone } = revert(before, state);
  const changed = text !== before;
  if (changed) await replaceFile(mainCfPath, text);
  await rm(path.join(configDir, STATE_FILE), { force: true });
  return { changed, mainCf: mainCfPath, reloaded: changed && options.reload ? await reloadIfRunning(configDir) : false, leftAlone };
}

export async function isWired(configDir: string): Promise<boolean> {
  return (await readState(configDir)) !== null;
}

export type { WiringStatus };

/** Whether this Postfix's main.cf carries the entries `postfix wire` put there, and how it is wired. */
export async function inspectWiring(configDir: string): Promise<WiringStatus> {
  const state = await readState(configDir);
  if (!state) return wiringStatus('', null);
  return wiringStatus(await readFile(path.join(configDir, 'main.cf'), 'utf8'), state);
}

/** What identifies one version of main.cf without reading it: another write changes at least one of these. */
export interface FileFingerprint {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function fingerprintOf(stats: Stats): FileFingerprint {
  return { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

export function sameFingerprint(a: FileFingerprint | null, b: FileFingerprint | null): boolean {
  return a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export async function mainCfFingerprint(configDir: string): Promise<FileFingerprint> {
  return fingerprintOf(await stat(path.join(configDir, 'main.cf')));
}

export type RepairResult =
  /** No state file: wire was never run here, or unwire undid it. Nothing is touched. */
  | { outcome: 'not-wired' }
  | { outcome: 'intact' }
  /** main.cf changed while we looked at it (someone else is writing): nothing written; look again later. */
  | { outcome: 'changed-meanwhile' }
  | { outcome: 'restored'; restored: string[]; reloaded: boolean };

/**
 * Puts back the entries `postfix wire` wrote that someone else's rewrite of main.cf removed, keeping whatever
 * else that program put there. Only where the state file says this Postfix was wired, so a Postfix the
 * administrator never wired (or unwired) is never touched. `expect` is the version of main.cf the caller saw
 * settle: if main.cf is another by the time we would replace it, nothing is written.
 * A failed write leaves main.cf and the state file as they were; a failed reload throws ReloadError after the
 * repair is in place.
 */
export async function repairWiring(configDir: string, options: { reload: boolean; expect?: FileFingerprint }): Promise<RepairResult> {
  const state = await readState(configDir);
  if (!state) return { outcome: 'not-wired' };
  const mainCfPath = path.join(configDir, 'main.cf');
  const before = await readFile(mainCfPath, 'utf8');
  const seen = await mainCfFingerprint(configDir);
  if (options.expect && !sameFingerprint(options.expect, seen)) return { outcome: 'changed-meanwhile' };
  const repair = repairMainCf(before, state);
  if (repair.restored.length === 0) return { outcome: 'intact' };
  // A main.cf emptied by a program still writing it in place is not one to build on.
  if (before.trim() === '') throw new WiringError(`${mainCfPath} is empty: not repairing a file that may be half-written`);
  // The state first: should main.cf then fail, the state still describes it (restored below).
  try {
    await writeState(configDir, repair.state);
  } catch (error) {
    throw new WiringError(`cannot write ${path.join(configDir, STATE_FILE)}: ${(error as Error).message}`);
  }
  let written: boolean;
  try {
    written = await replaceFile(mainCfPath, repair.text, seen);
  } catch (error) {
    await writeState(configDir, state).catch(() => undefined);
    throw new WiringError(`cannot write ${mainCfPath}: ${(error as Error).message}`);
  }
  if (!written) {
    await writeState(configDir, state).catch(() => undefined);
    return { outcome: 'changed-meanwhile' };
  }
  return { outcome: 'restored', restored: repair.restored, reloaded: options.reload ? await reloadPostfix(configDir) : false };
}

export class ReloadError extends WiringError {}

/** Reloads a running Postfix (a stopped one reads main.cf when it starts); true when it was reloaded. */
export async function reloadPostfix(configDir: string): Promise<boolean> {
  try {
    return await reloadIfRunning(configDir);
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new ReloadError(`postfix -c ${configDir} reload failed: ${(failed.stderr || failed.message).trim()}`);
  }
}

function revert(mainCf: string, state: WiringState): { text: string; leftAlone: string[] } {
  let text = mainCf;
  const leftAlone: string[] = [];
  // In reverse, so a parameter appended after another comes off first and the newline bookkeeping holds.
  for (const parameter of [...state.parameters].reverse()) {
    const span = findParameter(text, parameter.name);
    if (!span || span.text !== parameter.wired) {
      leftAlone.push(parameter.name);
      continue;
    }
    if (parameter.original !== null) {
      text = replaceSpan(text, span, parameter.original);
    } else {
      const atEnd = span.end === text.length;
      text = replaceSpan(text, span, '');
      if (parameter.addedNewline && atEnd && text.endsWith('\n')) text = text.slice(0, -1);
    }
  }
  return { text, leftAlone };
}

async function readState(configDir: string): Promise<WiringState | null> {
  try {
    const state = JSON.parse(await readFile(path.join(configDir, STATE_FILE), 'utf8')) as WiringState;
    if (state.version !== 1 || !Array.isArray(state.parameters)) throw new Error('unknown format');
    return state;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path.join(configDir, STATE_FILE)} is unreadable (${(error as Error).message}); fix or remove it`);
  }
}

async function writeState(configDir: string, state: WiringState): Promise<void> {
  await replaceFile(path.join(configDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * Write-then-rename, keeping the file's mode, so Postfix never reads a half-written main.cf. With `unless`, the
 * file is replaced only if it is still that version just before the rename (false, and nothing replaced, if not).
 */
async function replaceFile(file: string, content: string, unlessChangedFrom?: FileFingerprint): Promise<boolean> {
  const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o644);
  const temporary = `${file}.outgoing-limits-new`;
  try {
    await writeFile(temporary, content, { mode });
    if (unlessChangedFrom && !sameFingerprint(unlessChangedFrom, await stat(file).then(fingerprintOf, () => null))) {
      await rm(temporary, { force: true });
      return false;
    }
    await rename(temporary, file);
    return true;
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** A stopped (or absent) Postfix reads the new main.cf at its next start; a running one is reloaded. */
async function reloadIfRunning(configDir: string): Promise<boolean> {
  if (!(await isMasterRunning(configDir))) return false;
  await run('postfix', ['-c', configDir, 'reload']);
  return true;
}

/** Reads master's pid file directly: `postfix status` takes seconds, this takes milliseconds. */
async function isMasterRunning(configDir: string): Promise<boolean> {
  try {
    const { stdout } = await run('postconf', ['-c', configDir, '-h', 'queue_directory']);
    const pid = Number((await readFile(path.join(stdout.trim(), 'pid', 'master.pid'), 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
