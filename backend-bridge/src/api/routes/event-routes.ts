import { bucketedStats, STATS_PERIODS, type HourBucket, type StatsPeriod } from '../../store/hourly-stats.js';
import { queryVisibleAudit, type AuditRow } from '../../store/audit-store.js';
import { recentOverLimitEvents, type OverLimitEvent } from '../../store/over-limit-events.js';
import type { ApiContext } from '../context.js';
import { forbidden } from '../errors.js';
import type { RouteTable } from '../route-table.js';
import { auditQuery, eventsQuery, statsQuery } from '../schemas.js';
import { visibleByKey, visibleByName, visibleObject } from '../visibility.js';

export function eventRoutes(routes: RouteTable, context: ApiContext): void {
  routes.add({
    method: 'GET',
    path: '/events',
    summary: 'Recent over-limit attempts: time, object, level that tripped, sender, recipient count',
    tag: 'events',
    query: eventsQuery,
    handler: ({ identity, query }): { items: OverLimitEvent[] } => {
      context.flushCounts();
      const candidates = recentOverLimitEvents(context.db, 10_000, query.level, query.name?.toLowerCase());
      const items: OverLimitEvent[] = [];
      for (const event of candidates) {
        if (!visibleByKey(context, identity, event.level, event.objectId)) continue;
        items.push(event);
        if (items.length >= query.limit) break;
      }
      return { items };
    },
  });

  routes.add({
    method: 'GET',
    path: '/audit',
    summary:
      'Who changed what and when, old value → new value, newest first, as far as you may see it (customers: their own objects; resellers: their customers\'; the administrator: everything); filter by object (`level`, `name`) and by person (`actor`); `next` is the `before` of the following page (null: no older entries)',
    tag: 'audit',
    query: auditQuery,
    handler: ({ identity, query }): { items: AuditRow[]; next: number | null } =>
      queryVisibleAudit(context.db, { level: query.level, objectName: query.name, actorLogin: query.actor, limit: query.limit, beforeId: query.before }, (row) =>
        visibleByName(context, identity, row.level, row.objectName),
      ),
  });

  routes.add({
    method: 'GET',
    path: '/stats',
    summary:
      'Sent, held, released and deferred for one object, or for the whole server (admins): 24 hourly bars by default; `period` 7d gives 28 bars of 6 hours, 31d 31 daily bars; `bucketHours` says how long a bar is',
    tag: 'events',
    query: statsQuery,
    handler: async ({
      identity,
      query,
    }): Promise<{ level: string | null; name: string | null; period: StatsPeriod | null; bucketHours: number; buckets: HourBucket[] }> => {
      const object = query.level && query.name ? visibleObject(context, identity, query.level, query.name) : null;
      if (!object && identity.role !== 'admin') throw forbidden('Only administrators see statistics of the whole server; name an object');
      // The last hour is read from the journal: what is still buffered must be in it.
      context.flushCounts();
      // `hours` (older callers) asks for that many hourly bars; otherwise the period's shape.
      const period = query.hours === undefined ? (query.period ?? '24h') : null;
      const shape = period ? STATS_PERIODS[period] : { bucketHours: 1, buckets: query.hours! };
      const buckets = bucketedStats(context.db, object && { level: object.level, id: object.id }, context.nowMs(), shape);
      return { level: object?.level ?? null, name: object?.name ?? null, period, bucketHours: shape.bucketHours, buckets };
    },
  });
}
