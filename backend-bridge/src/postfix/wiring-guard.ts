import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { LogSummariser } from '../log/log-summariser.js';
import { inspectWiring, mainCfFingerprint, reloadPostfix, ReloadError, repairWiring, sameFingerprint, type FileFingerprint } from './wiring.js';

/** The safety net: main.cf is looked at this often even when no change was seen. */
export const WIRING_CHECK_INTERVAL_MS = 30_000;
/** Changes to the config directory come in bursts (temp file, rename, state file): one check after the last. */
const DEBOUNCE_MS = 200;
/**
 * main.cf must have stayed the same this long before we build on it: a program writing it in place (not by
 * rename, as Postfix's tools do) may be half way through.
 */
const QUIET_MS = 1_000;

export interface WiringRestoredEvent {
  kind: 'wiring-restored';
  atMs: number;
  mainCf: string;
  /** The entries that were gone, each as `parameter: value`. */
  missing: string[];
  reloaded: boolean;
}

export interface WiringRepairFailedEvent {
  kind: 'wiring-repair-failed';
  atMs: number;
  mainCf: string;
  missing: string[];
  /** Where it failed: checking or writing main.cf, or reloading Postfix after main.cf was repaired. */
  stage: 'repair' | 'reload';
  /** What could not be done, and why. */
  error: string;
}

export type WiringGuardEvent = WiringRestoredEvent | WiringRepairFailedEvent;

export type WiringCheckOutcome =
  | { outcome: 'not-wired' | 'intact' | 'settling' }
  | { outcome: 'restored'; restored: string[]; reloaded: boolean }
  | { outcome: 'failed'; error: string };

export interface WiringGuardOptions {
  configDir: string;
  log: Logger;
  /** The administrator hears of a repair and of a repair that failed (once per failure, until it works). */
  onEvent: (event: WiringGuardEvent) => void;
  intervalMs?: number;
  quietMs?: number;
}

/**
 * Keeps the daemon's entries in the main.cf of the Postfix it serves, when `postfix wire` put them there: other
 * programs (Plesk's mail repair and settings) rewrite main.cf and may drop them, which would silently lift every
 * limit. Looks at main.cf when the config directory changes and every 30 s; puts back what is missing and
 * reloads Postfix. A Postfix that was never wired, or was unwired, is left alone (the wiring state file says).
 */
export class WiringGuard {
  private readonly mainCf: string;
  private readonly repeated: LogSummariser;
  private readonly intervalMs: number;
  private readonly quietMs: number;
  private interval: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private running: Promise<WiringCheckOutcome> | null = null;
  private again = false;
  private stopped = false;
  /** The version of main.cf last seen, and since when (ms) it has stayed that version. */
  private seen: FileFingerprint | null = null;
  private seenSinceMs = 0;
  /** A failure the administrator was told of; cleared when a check succeeds. */
  private failing: string | null = null;
  /** main.cf was repaired but Postfix could not be reloaded: tried again at every check until it works. */
  private reloadPending = false;

  constructor(private readonly options: WiringGuardOptions) {
    this.mainCf = path.join(options.configDir, 'main.cf');
    this.repeated = new LogSummariser(options.log);
    this.intervalMs = options.intervalMs ?? WIRING_CHECK_INTERVAL_MS;
    this.quietMs = options.quietMs ?? QUIET_MS;
  }

  start(): void {
    this.interval = setInterval(() => void this.check(), this.intervalMs);
    this.interval.unref();
    this.watchConfigDir();
    void this.check();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.interval) clearInterval(this.interval);
    if (this.soon) clearTimeout(this.soon);
    this.watcher?.close();
    await this.running;
    this.repeated.close();
  }

  /** Looks at main.cf now (also for Plesk's mail repair, through the API); checks never overlap. */
  check(): Promise<WiringCheckOutcome> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.checkOnce().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.check();
      }
    });
    return this.running;
  }

  private watchConfigDir(): void {
    try {
      // The directory, not the file: Postfix's tools (and ours) replace main.cf by rename, which ends a file watch.
      this.watcher = watch(this.options.configDir, { persistent: false }, (_event, filename) => {
        if (filename === null || filename === 'main.cf') this.checkSoon(DEBOUNCE_MS);
      });
      this.watcher.on('error', (error) => this.watchFailed(error));
    } catch (error) {
      this.watchFailed(error);
    }
  }

  private watchFailed(error: unknown): void {
    this.watcher?.close();
    this.watcher = null;
    this.options.log.warn({ configDir: this.options.configDir, error: (error as Error).message }, `cannot watch the Postfix configuration directory; main.cf is checked every ${this.intervalMs / 1000} s instead`);
  }

  private checkSoon(delayMs: number): void {
    if (this.stopped) return;
    if (this.soon) clearTimeout(this.soon);
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.check();
    }, delayMs);
    this.soon.unref();
  }

  private async checkOnce(): Promise<WiringCheckOutcome> {
    if (this.stopped) return { outcome: 'settling' };
    let missing: string[] = [];
    try {
      const now = Date.now();
      const current = await mainCfFingerprint(this.options.configDir).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      });
      if (current === null) {
        // No main.cf at all: not ours to create. Only worth a word where we wired this Postfix.
        if ((await inspectWiring(this.options.configDir).catch(() => null))?.wired === false) return this.succeeded({ outcome: 'not-wired' });
        throw new Error(`${this.mainCf} does not exist`);
      }
      if (!sameFingerprint(current, this.seen)) {
        this.seen = current;
        // A file last written long ago has settled already (a clock set back makes it wait the full time).
        this.seenSinceMs = Math.min(now, current.mtimeMs);
      }
      const quietFor = now - this.seenSinceMs;
      if (quietFor < this.quietMs) {
        this.checkSoon(this.quietMs - quietFor);
        return { outcome: 'settling' };
      }
      missing = (await inspectWiring(this.options.configDir)).missing;
      const result = await repairWiring(this.options.configDir, { reload: false, expect: current });
      if (result.outcome === 'changed-meanwhile') {
        this.checkSoon(this.quietMs);
        return { outcome: 'settling' };
      }
      if (result.outcome === 'not-wired') {
        this.reloadPending = false;
        return this.succeeded(result);
      }
      if (result.outcome === 'restored') this.reloadPending = true;
      const reloaded = this.reloadPending ? await reloadPostfix(this.options.configDir) : false;
      this.reloadPending = false;
      if (result.outcome === 'intact') return this.succeeded(result);
      const event: WiringRestoredEvent = { kind: 'wiring-restored', atMs: Date.now(), mainCf: this.mainCf, missing: result.restored, reloaded };
      this.repeated.warn(
        'wiring-restored',
        { mainCf: this.mainCf, restored: result.restored, reloaded },
        `the outgoing limits entries were gone from ${this.mainCf} (rewritten by another program); put back${reloaded ? ' and Postfix reloaded' : ''}`,
      );
      this.options.onEvent(event);
      return this.succeeded({ outcome: 'restored', restored: result.restored, reloaded });
    } catch (error) {
      return this.failed(error, missing);
    }
  }

  private succeeded(outcome: WiringCheckOutcome): WiringCheckOutcome {
    if (this.failing !== null) {
      this.options.log.info({ mainCf: this.mainCf, previousError: this.failing }, 'the Postfix wiring can be checked and repaired again');
      this.failing = null;
    }
    return outcome;
  }

  private failed(error: unknown, missing: string[]): WiringCheckOutcome {
    const reload = error instanceof ReloadError;
    const message = (error as Error).message;
    this.repeated.error(
      'wiring-repair-failed',
      { mainCf: this.mainCf, missing, error: message },
      reload
        ? `the outgoing limits entries were put back in ${this.mainCf}, but Postfix could not be reloaded; trying again at the next check`
        : `cannot check or repair the outgoing limits entries in ${this.mainCf}; trying again at the next check`,
    );
    if (this.failing === null) {
      this.failing = message;
      this.options.onEvent({ kind: 'wiring-repair-failed', atMs: Date.now(), mainCf: this.mainCf, missing, stage: reload ? 'reload' : 'repair', error: message });
    }
    return { outcome: 'failed', error: message };
  }
}
