import type { Refused } from './decision.js';
import { LIMIT_WINDOWS, type Level, type LimitWindow } from './limits.js';
import type { OverLimitAction, ServerSettings } from './settings.js';

/**
 * How the limits work, server-wide. "enforce": over the limit mail is held or deferred. "monitor": everything is
 * counted and decided as if enforced, and what would have happened is recorded, but every message passes, so an
 * administrator can see what limits would do before switching them on. "off": mail passes and is still counted.
 *
 * Stored as the old switch `enabled` plus `monitorOnly`: Plesk and older API clients know only the switch, and
 * to them monitoring is "on" (it counts and reports); `enabled: false` is off whatever monitorOnly says.
 */
export const LIMITS_MODES = ['enforce', 'monitor', 'off'] as const;
export type LimitsMode = (typeof LIMITS_MODES)[number];

export function limitsMode(settings: Pick<ServerSettings, 'enabled' | 'monitorOnly'>): LimitsMode {
  if (!settings.enabled) return 'off';
  return settings.monitorOnly ? 'monitor' : 'enforce';
}

/** The stored pair for a mode. Off clears monitorOnly, so switching on again (Plesk's "on") enforces, as it always did. */
export function switchesForMode(mode: LimitsMode): { enabled: boolean; monitorOnly: boolean } {
  return { enabled: mode !== 'off', monitorOnly: mode === 'monitor' };
}

/** Whether an over-limit message is really held or deferred. */
export function limitsEnforced(settings: Pick<ServerSettings, 'enabled' | 'monitorOnly'>): boolean {
  return limitsMode(settings) === 'enforce';
}

/** The action recorded for a message that passed in monitor mode: what enforcing would have done to it. */
export const MONITORED_ACTIONS = { hold: 'would-hold', defer: 'would-defer' } as const satisfies Record<OverLimitAction, string>;
export type MonitoredAction = (typeof MONITORED_ACTIONS)[OverLimitAction];

export function isMonitoredAction(action: string): action is MonitoredAction {
  return action === MONITORED_ACTIONS.hold || action === MONITORED_ACTIONS.defer;
}

/**
 * A message with more recipients than its maximum, let through in monitor mode: recorded as what enforcing
 * would have done (refused for good), apart from the rate limits' "would have been held/deferred".
 */
export const MONITORED_REJECT = 'would-reject';

export function explainMonitoredRejection(reason: string): string {
  return `Monitor only: this message would have been refused (${reason}); it was sent`;
}

/** The log's and the event's sentence for a message monitor mode let through. */
export function explainMonitored(refused: Refused, action: OverLimitAction): string {
  return `Monitor only: this message would have been ${action === 'hold' ? 'held' : 'deferred'} (${refused.reason}); it was sent`;
}

/** Over-limit events monitor mode let through, grouped in the store by object and action. */
export interface MonitoredCount {
  level: Level;
  objectId: number;
  objectName: string;
  action: string;
  window: LimitWindow;
  messages: number;
  lastAtMs: number;
}

/** One object in the overview of what monitor mode let through. */
export interface MonitoredObject {
  level: Level;
  name: string;
  wouldHaveBeenHeld: number;
  wouldHaveBeenDeferred: number;
  /** The windows that were reached ('hour', 'day'). */
  windows: LimitWindow[];
  lastAtMs: number;
}

export interface MonitoredSummary {
  wouldHaveBeenHeld: number;
  wouldHaveBeenDeferred: number;
  /** Messages per level that tripped. */
  byLevel: Record<Level, number>;
  /** Most messages first (then by name); at most `maxObjects`. */
  objects: MonitoredObject[];
  /** How many objects there were in all (the list may be cut). */
  objectCount: number;
}

/** What monitor mode let through: totals, per level, and the objects that would have been limited. */
export function summariseMonitored(rows: readonly MonitoredCount[], maxObjects = 50): MonitoredSummary {
  const byLevel: Record<Level, number> = { mailbox: 0, domain: 0, subscription: 0 };
  const objects = new Map<string, MonitoredObject>();
  let held = 0;
  let deferred = 0;
  for (const row of rows) {
    if (!isMonitoredAction(row.action)) continue;
    const key = `${row.level}:${row.objectName}`;
    const object = objects.get(key) ?? { level: row.level, name: row.objectName, wouldHaveBeenHeld: 0, wouldHaveBeenDeferred: 0, windows: [], lastAtMs: 0 };
    if (row.action === MONITORED_ACTIONS.hold) {
      object.wouldHaveBeenHeld += row.messages;
      held += row.messages;
    } else {
      object.wouldHaveBeenDeferred += row.messages;
      deferred += row.messages;
    }
    if (!object.windows.includes(row.window)) object.windows.push(row.window);
    object.windows.sort((a, b) => LIMIT_WINDOWS.indexOf(a) - LIMIT_WINDOWS.indexOf(b));
    object.lastAtMs = Math.max(object.lastAtMs, row.lastAtMs);
    byLevel[row.level] += row.messages;
    objects.set(key, object);
  }
  const total = (o: MonitoredObject) => o.wouldHaveBeenHeld + o.wouldHaveBeenDeferred;
  const sorted = [...objects.values()].sort((a, b) => total(b) - total(a) || a.name.localeCompare(b.name));
  return { wouldHaveBeenHeld: held, wouldHaveBeenDeferred: deferred, byLevel, objects: sorted.slice(0, maxObjects), objectCount: sorted.length };
}
