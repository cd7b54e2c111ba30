import type { Logger } from 'pino';

/** One minute: short enough that a summary is timely, long enough that a flood costs a few lines an hour. */
export const SUMMARY_INTERVAL_MS = 60_000;

type Level = 'warn' | 'error';

interface Repeats {
  level: Level;
  message: string;
  /** Occurrences not written since the last line of this kind. */
  count: number;
  /** The fields of the latest of them, for the summary (the first one was written whole). */
  latest: Record<string, unknown>;
}

/**
 * Keeps a repeated log event from writing one line per occurrence. The first occurrence of a kind is written
 * at once, whole; the ones after it within the interval are only counted, and one summary line per kind says how
 * many there were (with the fields of the latest) when the interval ends or at `flush()`. A kind that stayed
 * quiet for a whole interval is forgotten, so its next occurrence is written whole again.
 *
 * For anything a client or a failing disk can repeat thousands of times a second: malformed requests, refused
 * connections, a store that cannot be written.
 */
export class LogSummariser {
  private readonly kinds = new Map<string, Repeats>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = SUMMARY_INTERVAL_MS,
  ) {}

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    this.record('warn', kind, fields, message);
  }

  error(kind: string, fields: Record<string, unknown>, message: string): void {
    this.record('error', kind, fields, message);
  }

  /** Writes the summary of every kind counted since its last line (at shutdown, or when a test wants it now). */
  flush(): void {
    for (const [kind, repeats] of this.kinds) {
      if (repeats.count === 0) {
        this.kinds.delete(kind);
        continue;
      }
      this.log[repeats.level]({ ...brief(repeats.latest), kind, repeated: repeats.count, intervalMs: this.intervalMs }, `${repeats.message} (repeated ${repeats.count} more times)`);
      repeats.count = 0;
    }
    if (this.kinds.size === 0) this.stopTimer();
  }

  /** Writes what is pending and stops the timer (the owner is shutting down). */
  close(): void {
    this.flush();
    this.kinds.clear();
    this.stopTimer();
  }

  private record(level: Level, kind: string, fields: Record<string, unknown>, message: string): void {
    const repeats = this.kinds.get(kind);
    if (repeats) {
      repeats.count++;
      repeats.latest = fields;
      return;
    }
    this.log[level]({ ...fields, kind }, message);
    this.kinds.set(kind, { level, message, count: 0, latest: fields });
    if (!this.timer) {
      this.timer = setInterval(() => this.flush(), this.intervalMs);
      // Summaries must never keep a stopping process alive.
      this.timer.unref();
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** A summary carries messages, not stack traces: the first line of its kind had the whole error. */
function brief(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) out[name] = value instanceof Error ? value.message : value;
  return out;
}
