import { canSee } from '../../core/access.js';
import { counterKey } from '../../core/directory.js';
import type { Level } from '../../core/limits.js';
import { queryAudit, type AuditRow } from '../../store/audit-store.js';
import { recentOverLimitEvents, type OverLimitEvent } from '../../store/over-limit-events.js';
import type { ApiContext } from '../context.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { auditQuery, eventsQuery } from '../schemas.js';

/** Admins see everything; others only what concerns objects they can see now. */
function visibleByKey(context: ApiContext, identity: Identity, level: string, id: number): boolean {
  if (identity.role === 'admin') return true;
  const object = context.enforcer.directory.byCounterKey.get(counterKey(level as Level, id));
  return object !== undefined && canSee(identity, object);
}

function visibleByName(context: ApiContext, identity: Identity, level: string | null, name: string | null): boolean {
  if (identity.role === 'admin') return true;
  if (!level || !name) return false;
  const object = context.enforcer.directory.find(level as Level, name);
  return object !== undefined && canSee(identity, object);
}

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
    summary: 'Who changed what and when, old value → new value; filter by object',
    tag: 'audit',
    query: auditQuery,
    handler: ({ identity, query }): { items: AuditRow[] } => {
      const rows = queryAudit(context.db, { level: query.level, objectName: query.name, limit: identity.role === 'admin' ? query.limit : 10_000, beforeId: query.before });
      return { items: rows.filter((row) => visibleByName(context, identity, row.level, row.objectName)).slice(0, query.limit) };
    },
  });
}
