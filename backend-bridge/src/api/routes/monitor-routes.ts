import type { EarlyWarning } from '../../core/early-warning.js';
import { limitsMode, summariseMonitored, type LimitsMode, type MonitoredSummary } from '../../core/monitor-mode.js';
import { recentEarlyWarnings } from '../../store/early-warnings.js';
import { monitoredCounts } from '../../store/over-limit-events.js';
import type { ApiContext } from '../context.js';
import type { RouteTable } from '../route-table.js';
import { monitoringQuery } from '../schemas.js';
import { visibleByKey } from '../visibility.js';

export interface MonitoringAnswer extends MonitoredSummary {
  mode: LimitsMode;
  hours: number;
  /** Early warnings given in those hours, newest first. */
  earlyWarnings: EarlyWarning[];
}

/** What limits would have done: the overview's panel while limits are monitored only, so an admin can choose limits first. */
export function monitorRoutes(routes: RouteTable, context: ApiContext): void {
  routes.add({
    method: 'GET',
    path: '/monitoring',
    summary:
      'What monitor only mode let through in the last hours (24 by default): messages that would have been held or deferred, by level and by object, and the early warnings given (objects that passed the set share of a limit); as far as you may see',
    tag: 'events',
    query: monitoringQuery,
    handler: ({ identity, query }): MonitoringAnswer => {
      // The events and warnings still buffered must be in the answer.
      context.flushCounts();
      const sinceMs = context.nowMs() - query.hours * 3_600_000;
      const visible = (row: { level: string; objectId: number }) => visibleByKey(context, identity, row.level, row.objectId);
      const summary = summariseMonitored(monitoredCounts(context.db, sinceMs).filter(visible));
      const earlyWarnings = recentEarlyWarnings(context.db, sinceMs).filter(visible).slice(0, 100);
      return { mode: limitsMode(context.enforcer.currentSettings), hours: query.hours, ...summary, earlyWarnings };
    },
  });
}
