import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultSocketAddress, type ListenAddress } from './listen-address.js';
import { appendLine, findParameter, parameterLine, replaceSpan } from './main-cf.js';

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
}

/** One parameter we changed: what stood there before (null: absent) and what we wrote, to undo it exactly. */
interface ChangedParameter {
  name: string;
  original: string | null;
  wired: string;
  /** The file's last line had no newline and we added one before appending. */
  addedNewline: boolean;
}

interface WiringState {
  version: 1;
  policyService: string;
  parameters: ChangedParameter[];
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

/** Write-then-rename, keeping the file's mode, so Postfix never reads a half-written main.cf. */
async function replaceFile(file: string, content: string): Promise<void> {
  const mode = await stat(file).then((s) => s.mode & 0o777, () => 0o644);
  const temporary = `${file}.outgoing-limits-new`;
  await writeFile(temporary, content, { mode });
  await rename(temporary, file);
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
