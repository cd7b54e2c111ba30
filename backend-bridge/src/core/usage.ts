import type { WindowView } from './decision.js';
import { limitIn, type ChargedObject } from './directory.js';
import type { Limit, LimitSource, LimitWindow } from './limits.js';

/** Live usage of one object, as the command, the API and the screens show it. */
export interface UsageRow {
  level: ChargedObject['level'];
  name: string;
  used: number;
  limit: Limit;
  source: LimitSource;
  /** True when not even one more message (unit) fits now. */
  blocked: boolean;
  /** Seconds until one unit of budget frees again, when blocked; null otherwise (or when it never frees). */
  freesInSeconds: number | null;
  /** The same for the daily window (the last 24 hours). */
  day: WindowUsage;
}

/** Usage of one window of an object. */
export interface WindowUsage {
  used: number;
  limit: Limit;
  source: LimitSource;
  blocked: boolean;
  freesInSeconds: number | null;
}

export function windowUsage(object: ChargedObject, view: WindowView, window: LimitWindow): WindowUsage {
  const used = view.used(object, window);
  const limit = limitIn(object, window, view.atSecond);
  const blocked = limit !== 'unlimited' && used >= limit;
  const freesInSeconds = blocked && limit > 0 ? view.secondsUntilFreed(object, used - limit + 1, window) : null;
  const source = window === 'hour' ? object.effective.source : object.daily.effective.source;
  return { used, limit, source, blocked, freesInSeconds };
}

export function usageOf(object: ChargedObject, view: WindowView): UsageRow {
  return { level: object.level, name: object.name, ...windowUsage(object, view, 'hour'), day: windowUsage(object, view, 'day') };
}
