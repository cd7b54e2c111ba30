import { canChangeSettings, checkLimitChange } from '../../core/access.js';
import type { Level, LimitOverride } from '../../core/limits.js';
import { objectRow, ownLimitOf, queryObjects, type ObjectPage, type ObjectRow } from '../../core/object-query.js';
import { recordAudit } from '../../store/audit-store.js';
import { setObjectLimit } from '../../store/directory-store.js';
import { currentWindow, type ApiContext } from '../context.js';
import { currentRowFacts } from '../row-facts.js';
import { ApiError } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { visibleObject } from '../visibility.js';
import { bulkLimitBody, listQuery, setLimitBody } from '../schemas.js';

const COLLECTIONS: Array<{ level: Level; path: string; label: string }> = [
  { level: 'subscription', path: 'subscriptions', label: 'Subscription' },
  { level: 'domain', path: 'domains', label: 'Domain' },
  { level: 'mailbox', path: 'mailboxes', label: 'Mailbox' },
];

/** GET /limits/state. */
export interface LimitsState {
  enabled: boolean;
  /** The settings screen, where they are switched on, is open to this user. */
  maySwitchOn: boolean;
}

const toOverride = (limit: number | 'unlimited' | 'default'): LimitOverride => (limit === 'default' ? null : limit);

/**
 * Sets the limit of several objects in one transaction: every object is checked first, so a refusal of one
 * changes none. Each change is audited with its old and new value.
 */
function setLimits(context: ApiContext, identity: Identity, level: Level, names: readonly string[], limit: LimitOverride): ObjectRow[] {
  const objects = [...new Set(names.map((n) => n.toLowerCase()))].map((name) => visibleObject(context, identity, level, name));
  const settings = context.enforcer.currentSettings;
  for (const object of objects) {
    const refusal = checkLimitChange(identity, object, limit, settings);
    if (refusal) throw new ApiError(refusal.status, refusal.error, refusal.status === 400 ? { limit: refusal.error } : undefined);
  }
  context.sync.write(
    () => {
      for (const object of objects) {
        setObjectLimit(context.db, level, object.name, limit);
        recordAudit(context.db, identity, { action: 'limit.set', level, objectName: object.name, oldValue: ownLimitOf(object.own), newValue: ownLimitOf(limit) }, context.nowMs());
      }
    },
    () => {
      for (const object of objects) context.enforcer.directory.setOwnLimit(object, limit);
    },
  );
  const window = currentWindow(context);
  // After a reload the index holds new objects: look them up again by name.
  const facts = currentRowFacts(context);
  return objects.map((o) => objectRow(visibleObject(context, identity, level, o.name), identity, window, settings, facts));
}

export function objectRoutes(routes: RouteTable, context: ApiContext): void {
  for (const { level, path, label } of COLLECTIONS) {
    routes.add({
      method: 'GET',
      path: `/${path}`,
      summary: `${label}s you may see, with effective limit, its source and live usage; searched, sorted and paged`,
      tag: 'limits',
      query: listQuery,
      handler: ({ identity, query }): ObjectPage =>
        queryObjects(context.enforcer.directory, currentWindow(context), context.enforcer.currentSettings, identity, {
          level,
          search: query.search,
          subscription: query.subscription,
          domain: query.domain,
          blocked: query.blocked === undefined ? undefined : query.blocked === 'true',
          sort: query.sort,
          order: query.order,
          page: query.page,
          pageSize: query.pageSize,
        }, currentRowFacts(context)),
    });

    routes.add<unknown, unknown, { name: string }>({
      method: 'GET',
      path: `/${path}/:name`,
      summary: `One ${label.toLowerCase()} with its limit and usage`,
      tag: 'limits',
      handler: ({ identity, params }): ObjectRow =>
        objectRow(visibleObject(context, identity, level, params.name), identity, currentWindow(context), context.enforcer.currentSettings, currentRowFacts(context)),
    });

    routes.add<{ limit: number | 'unlimited' | 'default' }, unknown, { name: string }>({
      method: 'PUT',
      path: `/${path}/:name/limit`,
      summary: `Set the hourly limit of one ${label.toLowerCase()}: a number, "unlimited" or "default"`,
      tag: 'limits',
      body: setLimitBody,
      handler: ({ identity, params, body }): ObjectRow => setLimits(context, identity, level, [params.name], toOverride(body.limit))[0]!,
    });
  }

  // Everyone may learn whether limits are on: every screen says so at the top when they are off.
  routes.add({
    method: 'GET',
    path: '/limits/state',
    summary: 'Whether limits are switched on (when off, mail passes and is still counted), and whether you may switch them on',
    tag: 'limits',
    handler: ({ identity }): LimitsState => ({ enabled: context.enforcer.currentSettings.enabled, maySwitchOn: canChangeSettings(identity) }),
  });

  routes.add({
    method: 'POST',
    path: '/limits/bulk',
    summary: '"Limit Outgoing Messages" on several objects of one level at once (all or nothing)',
    tag: 'limits',
    body: bulkLimitBody,
    handler: ({ identity, body }): { items: ObjectRow[] } => ({ items: setLimits(context, identity, body.level, body.names, toOverride(body.limit)) }),
  });
}
