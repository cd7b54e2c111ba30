import { counterKey, type ChargedObject } from '../backend-bridge/src/core/directory.js';
import type { Level, Limit } from '../backend-bridge/src/core/limits.js';

/**
 * An object as the counts see it, named `<level><id>`, with default limits per hour and per day (no own value,
 * plan or lock, no maximum of recipients): what the Redis benches and their tests count against.
 */
export function chargedObject(level: Level, id: number, limits: { hour: Limit; day: Limit }, parent: ChargedObject | null): ChargedObject {
  return {
    level,
    id,
    name: `${level}${id}`,
    counterKey: counterKey(level, id),
    own: null,
    plan: null,
    lock: null,
    effective: { limit: limits.hour, source: 'default' },
    daily: { own: null, plan: null, effective: { limit: limits.day, source: 'default' } },
    recipients: { own: null, plan: null, effective: { limit: 'unlimited', source: 'default' } },
    parent,
    owner: { customer: 'c', reseller: null },
  };
}
