import type { Logger } from 'pino';

/** What the daemon does with the store: reading settings and directory, writing counts, checking it. */
export type StoreOperation = 'read' | 'write' | 'check';

/** A failure that lasts: first seen, last words, how often. */
export interface StoreFault {
  operation: StoreOperation;
  error: string;
  since: string;
  failures: number;
}

export type StoreHealthReport = { ok: true } | ({ ok: false } & StoreFault);

/** The first failure of an operation: for a notification to the administrator. */
export interface StoreFailureEvent {
  operation: StoreOperation;
  error: string;
  atMs: number;
  file: string;
}

/** A repeating failure is summed up at most this often instead of logged each time (reads retry every 250 ms). */
export const SUMMARY_INTERVAL_MS = 60_000;

interface OpenFault {
  sinceMs: number;
  firstError: string;
  lastError: string;
  failures: number;
  unreported: number;
}

const DONE: Record<StoreOperation, string> = { read: 'reading the store', write: 'writing to the store', check: 'checking the store' };

/**
 * Keeps track of store failures while the daemon runs. Each kind of failure is logged once when it starts,
 * then as a summary at most once a minute, and once when it ends; the first one also goes to the
 * administrator (`onFailure`). Meanwhile what was last read stays in force: this only reports.
 */
export class StoreHealth {
  private readonly open = new Map<StoreOperation, OpenFault>();
  private lastSummaryMs: number;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    private readonly onFailure: (event: StoreFailureEvent) => void,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.lastSummaryMs = nowMs();
  }

  failed(operation: StoreOperation, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const fault = this.open.get(operation);
    if (fault) {
      fault.failures++;
      fault.unreported++;
      fault.lastError = message;
      this.summarizeIfDue();
      return;
    }
    const now = this.nowMs();
    this.open.set(operation, { sinceMs: now, firstError: message, lastError: message, failures: 1, unreported: 0 });
    this.log.error(
      { err: error, operation, file: this.file },
      `${DONE[operation]} failed; the limits last read stay in force and counts stay in memory; retrying (repeats are summed up once a minute)`,
    );
    this.onFailure({ operation, error: message, atMs: now, file: this.file });
  }

  succeeded(operation: StoreOperation): void {
    const fault = this.open.get(operation);
    if (!fault) return;
    this.open.delete(operation);
    this.log.info(
      { operation, file: this.file, failures: fault.failures, since: new Date(fault.sinceMs).toISOString() },
      `${DONE[operation]} works again after ${fault.failures} failed attempts`,
    );
  }

  /** One line per lasting failure with what happened since the last line; called on every failure and by a timer. */
  summarizeIfDue(): void {
    const now = this.nowMs();
    if (now - this.lastSummaryMs < SUMMARY_INTERVAL_MS) return;
    this.lastSummaryMs = now;
    for (const [operation, fault] of this.open) {
      if (fault.unreported === 0) continue;
      this.log.error(
        { operation, file: this.file, failuresSinceLastReport: fault.unreported, failures: fault.failures, since: new Date(fault.sinceMs).toISOString(), lastError: fault.lastError },
        `${DONE[operation]} still fails`,
      );
      fault.unreported = 0;
    }
  }

  /** For GET /health: the oldest failure still going on, if any. */
  report(): StoreHealthReport {
    const oldest = [...this.open].sort((a, b) => a[1].sinceMs - b[1].sinceMs)[0];
    if (!oldest) return { ok: true };
    const [operation, fault] = oldest;
    return { ok: false, operation, error: fault.lastError, since: new Date(fault.sinceMs).toISOString(), failures: fault.failures };
  }
}
