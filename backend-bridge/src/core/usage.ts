import type { WindowView } from './decision.js';
import type { ChargedObject } from './directory.js';
import type { Limit, LimitSource } from './limits.js';

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
}

export function usageOf(object: ChargedObject, window: WindowView): UsageRow {
  const used = window.used(object);
  const limit = object.effective.limit;
  const blocked = limit !== 'unlimited' && used >= limit;
  const freesInSeconds = blocked && limit > 0 ? window.secondsUntilFreed(object, used - limit + 1) : null;
  return { level: object.level, name: object.name, used, limit, source: object.effective.source, blocked, freesInSeconds };
}
