import type { AnomalyFigures, AnomalySignal } from '../core/anomalies.js';
import type { Db } from './database.js';

/** Anomalies are kept this long: the history and reports look back at most 31 days. */
export const ANOMALY_KEEP_MS = 31 * 86_400_000;

export interface RecordedAnomaly extends AnomalyFigures {
  id: number;
  mailbox: string;
  /** The clock hour it was raised in (hours since the epoch). */
  hour: number;
  atMs: number;
  /** The mailbox was marked compromised because of it (the administrator chose so for this signal). */
  autoCompromised: boolean;
}

interface Row {
  id: number;
  mailbox: string;
  signal: AnomalySignal;
  hour: number;
  at_ms: number;
  observed: number;
  threshold: number;
  baseline: number | null;
  auto_compromised: number;
}

const fromRow = (row: Row): RecordedAnomaly => ({
  id: row.id,
  mailbox: row.mailbox,
  signal: row.signal,
  hour: row.hour,
  atMs: row.at_ms,
  observed: row.observed,
  threshold: row.threshold,
  baseline: row.baseline,
  autoCompromised: row.auto_compromised === 1,
});

/** The anomalies table: one row per mailbox, signal and clock hour. */
export class AnomalyStore {
  constructor(private readonly db: Db) {}

  /** Records an anomaly; false when this mailbox, signal and hour has one already (e.g. raised before a restart). */
  record(mailbox: string, hour: number, figures: AnomalyFigures, atMs: number): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO anomalies (mailbox, signal, hour, at_ms, observed, threshold, baseline) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(mailbox, figures.signal, hour, atMs, Math.round(figures.observed), Math.round(figures.threshold), figures.baseline === null ? null : Math.round(figures.baseline));
    return result.changes === 1;
  }

  markAutoCompromised(mailbox: string, signal: AnomalySignal, hour: number): void {
    this.db.prepare('UPDATE anomalies SET auto_compromised = 1 WHERE mailbox = ? AND signal = ? AND hour = ?').run(mailbox, signal, hour);
  }

  /** Newest first, raised at or after `sinceMs`; `mailboxes`: only these (null: all). */
  list(sinceMs: number, limit: number, mailboxes: ReadonlySet<string> | null = null): RecordedAnomaly[] {
    const rows = this.db.prepare('SELECT * FROM anomalies WHERE at_ms >= ? ORDER BY at_ms DESC, id DESC').iterate(sinceMs) as IterableIterator<Row>;
    const found: RecordedAnomaly[] = [];
    for (const row of rows) {
      if (mailboxes && !mailboxes.has(row.mailbox)) continue;
      found.push(fromRow(row));
      if (found.length >= limit) break;
    }
    return found;
  }

  /** The newest anomaly of each mailbox raised at or after `sinceMs`: the marks on the rows. */
  latestPerMailbox(sinceMs: number): Map<string, RecordedAnomaly> {
    const latest = new Map<string, RecordedAnomaly>();
    for (const row of this.db.prepare('SELECT * FROM anomalies WHERE at_ms >= ? ORDER BY at_ms ASC, id ASC').iterate(sinceMs) as IterableIterator<Row>) {
      latest.set(row.mailbox, fromRow(row));
    }
    return latest;
  }

  prune(nowMs: number): void {
    this.db.prepare('DELETE FROM anomalies WHERE at_ms < ?').run(nowMs - ANOMALY_KEEP_MS);
  }
}
