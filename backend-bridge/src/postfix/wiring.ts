import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { appendLine, findParameter, parameterLine, replaceSpan } from './main-cf.js';

const execFileAsync = promisify(execFile);
/** Postfix's tools live in /usr/sbin, which a non-login PATH may lack. */
const run = (command: string, args: string[]) =>
  execFileAsync(command, args, { env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });

export const STATE_FILE = 'outgoing-limits-wiring.json';
export const BACKUP_FILE = 'main.cf.outgoing-limits-backup';

export interface WiringOptions {
  configDir: string;
  policy: { host: string; port: number };
  /** The milter that counts local mail (sendmail, PHP); null leaves non_smtpd_milters alone. */
  milter: { host: string; port: number } | null;
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

export function milterAddress(milter: { host: string; port: number }): string {
  return `inet:${milter.host}:${milter.port}`;
}

export function policyServiceRestriction(policy: { host: string; port: number }): string {
  return `check_policy_service inet:${policy.host}:${policy.port}`;
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
  const service = policyServiceRestriction(options.policy);
  const existing = findParameter(original, 'smtpd_end_of_data_restrictions')?.value ?? '';
  const wanted: Array<[string, string]> = [['smtpd_end_of_data_restrictions', existing ? `${existing}, ${service}` : service]];
  if (options.failOpen) wanted.push(['smtpd_policy_service_default_action', 'DUNNO']);
  if (options.milter) {
    // Only non_smtpd_milters: SMTP mail is counted by the policy service, and must not count twice.
    const milter = milterAddress(options.milter);
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
