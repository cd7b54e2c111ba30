import { execFile } from 'node:child_process';
import { messageIdFromHeaders } from './requeued.js';

/** One line of `postqueue -j` (Postfix 3.1+). */
export interface QueuedMessage {
  queue_name: string;
  queue_id: string;
  arrival_time?: number;
  sender: string;
  recipients: Array<{ address: string }>;
}

export class QueueCommandError extends Error {}

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Postfix's tools are in /usr/sbin; an inherited MAIL_CONFIG must not point them at another instance. */
const COMMAND_ENV: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C' };
const TIMEOUT_MS = 30_000;

function run(command: string, args: string[], input = ''): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env: COMMAND_ENV, timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      resolve({ code, stdout, stderr: stderr || (error && code === null ? error.message : '') });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/** Queue ids postsuper reports for `verb` ("released from hold", "removed", "placed on hold", "requeued"). */
function reportedIds(stderr: string, verb: string): Set<string> {
  const ids = new Set<string>();
  const pattern = new RegExp(`^postsuper: ([0-9A-Za-z]+): ${verb}$`, 'gm');
  for (const match of stderr.matchAll(pattern)) if (match[1]) ids.add(match[1]);
  return ids;
}

/** Postfix's time values: a number with an optional unit (s, m, h, d, w); plain numbers are days for lifetimes. */
export function parsePostfixDuration(text: string, defaultUnit: 's' | 'd'): number | null {
  const match = /^(\d+)([smhdw]?)$/.exec(text.trim());
  if (!match) return null;
  const unit = match[2] || defaultUnit;
  const factor = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[unit as 's'] ?? 1;
  return Number(match[1]) * factor;
}

/**
 * The queue operations the daemon performs on one Postfix instance (`-c configDir`). postsuper works on the
 * queue files directly and so also while Postfix is stopped; postqueue needs a running Postfix.
 */
export class PostfixQueue {
  constructor(readonly configDir: string) {}

  /** Every queued message (`postqueue -j`). Throws when Postfix is not running. */
  async list(): Promise<QueuedMessage[]> {
    const result = await run('postqueue', ['-c', this.configDir, '-j']);
    if (result.code !== 0) throw new QueueCommandError(`postqueue -c ${this.configDir} -j failed: ${result.stderr.trim() || `exit ${String(result.code)}`}`);
    const messages: QueuedMessage[] = [];
    for (const line of result.stdout.split('\n')) {
      if (line.trim() === '') continue;
      messages.push(JSON.parse(line) as QueuedMessage);
    }
    return messages;
  }

  /** `postsuper -H`: moves held messages to the deferred queue. Returns the ids Postfix confirmed. */
  releaseFromHold(ids: readonly string[]): Promise<Set<string>> {
    return this.superBatch('-H', ids, 'released from hold');
  }

  /** `postsuper -r` from the hold queue: resubmitted with a fresh arrival time (for mail older than the queue lifetime). */
  requeueFromHold(ids: readonly string[]): Promise<Set<string>> {
    return this.superBatch('-r', ids, 'requeued', 'hold');
  }

  /**
   * Wakes pickup so that mail requeued into maildrop is resubmitted now rather than at pickup's next wakeup
   * (60 s in Debian's master.cf). Best effort: pickup finds it on its own later.
   */
  async kickPickup(): Promise<boolean> {
    return (await run('postkick', ['-c', this.configDir, 'public', 'pickup', 'W'])).code === 0;
  }

  /** The Message-ID of a queued message (`postcat -h -q`); null when it has none or cannot be read. */
  async messageId(id: string): Promise<string | null> {
    const result = await run('postcat', ['-c', this.configDir, '-h', '-q', id]);
    return result.code === 0 ? messageIdFromHeaders(result.stdout) : null;
  }

  /** `postsuper -h`: puts queued (deferred, incoming, active) messages on hold. */
  hold(ids: readonly string[]): Promise<Set<string>> {
    return this.superBatch('-h', ids, 'placed on hold');
  }

  /** `postsuper -d` of messages in the hold queue only: a person's delete never reaches mail that left it. */
  deleteFromHold(ids: readonly string[]): Promise<Set<string>> {
    return this.superBatch('-d', ids, 'removed', 'hold');
  }

  /** `postqueue -i`: deliver a deferred message now instead of at the next queue run. Best effort. */
  async deliverNow(id: string): Promise<boolean> {
    return (await run('postqueue', ['-c', this.configDir, '-i', id])).code === 0;
  }

  /** queue_directory of the instance. */
  async queueDirectory(): Promise<string> {
    const result = await run('postconf', ['-c', this.configDir, '-h', 'queue_directory']);
    if (result.code !== 0 || !result.stdout.trim()) throw new QueueCommandError(`cannot read queue_directory from ${this.configDir}: ${result.stderr.trim()}`);
    return result.stdout.trim();
  }

  /** maximal_queue_lifetime in seconds. */
  async queueLifetimeSeconds(): Promise<number> {
    const result = await run('postconf', ['-c', this.configDir, '-h', 'maximal_queue_lifetime']);
    const seconds = result.code === 0 ? parsePostfixDuration(result.stdout, 'd') : null;
    if (seconds === null) throw new QueueCommandError(`cannot read maximal_queue_lifetime from ${this.configDir}: ${result.stderr.trim() || result.stdout.trim()}`);
    return seconds;
  }

  private async superBatch(flag: string, ids: readonly string[], verb: string, queue?: string): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    // "-" reads the ids from stdin: one process for any number of messages, and no id is ever taken as an option.
    const result = await run('postsuper', ['-c', this.configDir, flag, '-', ...(queue ? [queue] : [])], ids.map((id) => `${id}\n`).join(''));
    if (result.code !== 0) throw new QueueCommandError(`postsuper -c ${this.configDir} ${flag} failed: ${result.stderr.trim() || `exit ${String(result.code)}`}`);
    return reportedIds(result.stderr, verb);
  }
}

/** Queue ids are hex (short ids) or base-52-ish (long ids): anything else is refused before it reaches a command. */
export const QUEUE_ID = /^[0-9A-Za-z]{6,32}$/;
