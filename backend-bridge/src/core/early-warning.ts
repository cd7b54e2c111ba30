import type { Level, LimitWindow } from './limits.js';
import type { CountingUnit } from './settings.js';

/** The share of a limit that raises an early warning, in percent: 1 to 99; 0 switches early warnings off. */
export const MAX_EARLY_WARNING_PERCENT = 99;
export const DEFAULT_EARLY_WARNING_PERCENT = 80;

/**
 * Whether a charge of `weight` takes an object across `percent` % of `limit`: used before < share ≤ used after.
 * Only the message that crosses the line answers true, so the policy path asks nothing more of the store or of
 * the counters than the one addition. In whole numbers: 80 % of 7 is 5.6, crossed by the message that makes 6.
 */
export function crossesShare(usedBefore: number, weight: number, limit: number, percent: number): boolean {
  if (percent <= 0 || limit <= 0 || weight <= 0) return false;
  const line = percent * limit;
  return usedBefore * 100 < line && line <= (usedBefore + weight) * 100;
}

/**
 * At most one early warning per object per window: once an hour for the hourly limit, once a day for the daily
 * one. `lastWarnedSecond` is undefined when the object was never warned about that window.
 */
export function earlyWarningDue(lastWarnedSecond: number | undefined, nowSecond: number, windowSeconds: number): boolean {
  return lastWarnedSecond === undefined || nowSecond - lastWarnedSecond >= windowSeconds;
}

/** What was reached, for the log, the notification and the History: "mailbox a@example.com reached 80 % of its hourly limit (8 of 10 messages)". */
export interface EarlyWarning {
  atMs: number;
  level: Level;
  objectId: number;
  objectName: string;
  window: LimitWindow;
  percent: number;
  limit: number;
  used: number;
}

export function explainEarlyWarning(warning: Pick<EarlyWarning, 'level' | 'objectName' | 'window' | 'percent' | 'limit' | 'used'>, unit: CountingUnit): string {
  const which = warning.window === 'hour' ? 'hourly' : 'daily';
  return `${warning.level} ${warning.objectName} reached ${warning.percent} % of its ${which} limit (${warning.used} of ${warning.limit} ${unit})`;
}
