/**
 * Unusual sending of one mailbox ("anomalies"): the rules only, no I/O. Each signal is judged per mailbox within a
 * clock hour and raised at most once per mailbox, signal and hour.
 */

export const ANOMALY_SIGNALS = ['loginAddresses', 'recipientDomains', 'volumeSurge'] as const;
export type AnomalySignal = (typeof ANOMALY_SIGNALS)[number];

export interface SignalSetting {
  /**
   * loginAddresses: distinct client addresses of one SASL login; recipientDomains: distinct recipient domains;
   * volumeSurge: the factor over the mailbox's own 95th percentile. Raised when the hour's figure is above it.
   * null: the signal is off.
   */
  threshold: number | null;
  /** Mark the mailbox compromised when the signal is raised (off unless the administrator chooses it). */
  autoCompromise: boolean;
}

export type AnomalySettings = Record<AnomalySignal, SignalSetting>;

export const INITIAL_ANOMALY_SETTINGS: AnomalySettings = {
  loginAddresses: { threshold: 10, autoCompromise: false },
  recipientDomains: { threshold: 100, autoCompromise: false },
  volumeSurge: { threshold: 10, autoCompromise: false },
};

export const ANOMALIES_OFF: AnomalySettings = {
  loginAddresses: { threshold: null, autoCompromise: false },
  recipientDomains: { threshold: null, autoCompromise: false },
  volumeSurge: { threshold: null, autoCompromise: false },
};

/** The largest threshold accepted: far above any real use, and it bounds the sets kept per mailbox. */
export const MAX_ANOMALY_THRESHOLD = 10_000;

/** A surge is never below this many in an hour, however quiet the mailbox usually is. */
export const SURGE_FLOOR = 20;
/** The baseline of a surge: the mailbox's own hours over this many days. */
export const BASELINE_DAYS = 7;
export const BASELINE_HOURS = BASELINE_DAYS * 24;

export const HOUR_SECONDS = 3600;

/** The clock hour a second falls in (hours since the epoch): anomalies are judged and recorded per clock hour. */
export function hourOf(second: number): number {
  return Math.floor(second / HOUR_SECONDS);
}

/** Whether a figure raises a signal: strictly above its threshold; an off signal never does. */
export function exceeds(figure: number, threshold: number | null): boolean {
  return threshold !== null && figure > threshold;
}

/**
 * The 95th percentile of hourly counts by the nearest-rank rule, over `hours` hours: hours missing from `counts`
 * sent nothing and count as 0, so a mailbox that sends one busy hour a week keeps a baseline of 0.
 */
export function percentile95(counts: readonly number[], hours = BASELINE_HOURS): number {
  const total = Math.max(hours, counts.length);
  if (total === 0) return 0;
  const rank = Math.ceil(0.95 * total); // 1-based
  const zeros = total - counts.length;
  if (rank <= zeros) return 0;
  const sorted = [...counts].sort((a, b) => a - b);
  return sorted[rank - zeros - 1] ?? 0;
}

/** The hourly count above which a mailbox surges: max(20, factor × its 95th percentile). */
export function surgeThreshold(p95: number, factor: number): number {
  return Math.max(SURGE_FLOOR, factor * p95);
}

/**
 * Whether the baseline needs to be looked up at all: below the floor no surge can be raised, so the 7-day look-up
 * stays off the path of every message but those of a mailbox already past 20 in the hour.
 */
export function mayBeSurge(hourCount: number, factor: number | null): boolean {
  return factor !== null && hourCount > SURGE_FLOOR;
}

/** What an anomaly records: the figure seen, the threshold it passed and, for a surge, the baseline. */
export interface AnomalyFigures {
  signal: AnomalySignal;
  observed: number;
  threshold: number;
  /** volumeSurge only: the 95th percentile of the mailbox's hourly counts over the last 7 days. */
  baseline: number | null;
}

/** The sentence of an anomaly in the log, notifications and the audit (screens say it in the person's language). */
export function describeAnomaly(figures: AnomalyFigures): string {
  switch (figures.signal) {
    case 'loginAddresses':
      return `logged in from ${figures.observed} addresses in an hour (threshold ${figures.threshold})`;
    case 'recipientDomains':
      return `sent to ${figures.observed} recipient domains in an hour (threshold ${figures.threshold})`;
    case 'volumeSurge':
      return `sent ${figures.observed} messages in an hour, usually at most ${figures.baseline ?? 0} (threshold ${figures.threshold})`;
  }
}

/**
 * A 30-bit FNV-1a hash of a text: the sets below keep these instead of the texts, so a mailbox's entry holds no
 * string a client sent. Two texts with the same hash count as one, which can only delay a signal, never raise a
 * false one (about one chance in 200,000 among the 101 values of the default threshold).
 */
export function textHash(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // 30 bits: a small integer to V8, stored in place rather than boxed.
  return (hash >>> 0) & 0x3fffffff;
}

/**
 * Distinct values kept bounded, as hashes (see textHash): NONE, one hash held in place (most mailboxes log in from
 * one address and write to few domains), or a Set once there is a second. The Set stops growing at `cap`, which is
 * all a threshold of cap - 1 needs (one more than the threshold raises the signal).
 */
export type Distinct = number | Set<number>;
export const NONE: Distinct = -1;

/** `current` with `value` added (the same Set, grown, once there is one). */
export function addDistinct(current: Distinct, value: string, cap: number): Distinct {
  return addDistinctHash(current, textHash(value), cap);
}

/** The same for a value already hashed with textHash. */
export function addDistinctHash(current: Distinct, hash: number, cap: number): Distinct {
  if (typeof current !== 'number') {
    if (current.size < cap) current.add(hash);
    return current;
  }
  if (current === NONE || current === hash) return hash;
  return cap < 2 ? current : new Set([current, hash]);
}

/** How many distinct values are kept (at most the cap). */
export function distinctCount(current: Distinct): number {
  return typeof current === 'number' ? (current === NONE ? 0 : 1) : current.size;
}
