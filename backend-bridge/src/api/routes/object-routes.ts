import { canChangeSettings, checkLimitChange, checkRecipientLimitChange } from '../../core/access.js';
import { lockAfterChange, lockRefusal, lockRequestRefusal, sameLock, type LockRefusal } from '../../core/limit-locks.js';
import type { Level, LimitOverride } from '../../core/limits.js';
import { limitsMode, type LimitsMode } from '../../core/monitor-mode.js';
import { objectRow, ownLimitOf, queryObjects, type ObjectPage, type ObjectRow } from '../../core/object-query.js';
import { recordAudit } from '../../store/audit-store.js';
import { setObjectDailyLimit, setObjectLimit, setObjectLock, setObjectRecipientLimit } from '../../store/directory-store.js';
import { withCurrentWindow, type ApiContext } from '../context.js';
import { ApiError, throwIfRefused } from '../errors.js';
import { currentRowFacts } from '../row-facts.js';
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
  /** "monitor": switched on, but nothing is held or deferred (every screen says so at the top). */
  mode: LimitsMode;
  /** The settings screen, where they are switched on, is open to this user. */
  maySwitchOn: boolean;
}

type LimitInput = number | 'unlimited' | 'default';
const toOverride = (limit: LimitInput): LimitOverride => (limit === 'default' ? null : limit);

/** What one request changes: the hourly value, the daily value, or both (undefined: left as it is). */
interface LimitChange {
  limit?: LimitOverride | undefined;
  dailyLimit?: LimitOverride | undefined;
  /** The maximum of recipients per message. */
  recipientLimit?: LimitOverride | undefined;
}

function limitChangeOf(body: { limit?: LimitInput | undefined; dailyLimit?: LimitInput | undefined; recipientLimit?: LimitInput | undefined }): LimitChange {
  return {
    ...(body.limit === undefined ? {} : { limit: toOverride(body.limit) }),
    ...(body.dailyLimit === undefined ? {} : { dailyLimit: toOverride(body.dailyLimit) }),
    ...(body.recipientLimit === undefined ? {} : { recipientLimit: toOverride(body.recipientLimit) }),
  };
}

/** A refused bulk change names each locked object and who holds its lock; nothing is changed. */
function lockedObjectsError(refusals: ReadonlyArray<{ name: string; error: string }>): ApiError {
  const count = refusals.length === 1 ? '1 of the selected objects is locked' : `${refusals.length} of the selected objects are locked`;
  return new ApiError(403, `${count}; nothing was changed. ${refusals.map((r) => r.error).join(' ')}`, Object.fromEntries(refusals.map((r) => [r.name, r.error])));
}

/**
 * Sets the limit of several objects in one transaction: every object is checked first, so a refusal of one
 * changes none. Each change is audited with its old and new value, and so is each lock taken or lifted.
 */
async function setLimits(context: ApiContext, identity: Identity, level: Level, names: readonly string[], change: LimitChange, locked: boolean | undefined): Promise<ObjectRow[]> {
  const { limit, dailyLimit, recipientLimit } = change;
  throwIfRefused(lockRequestRefusal(identity, locked));
  const objects = [...new Set(names.map((n) => n.toLowerCase()))].map((name) => visibleObject(context, identity, level, name));
  const settings = context.enforcer.currentSettings;
  const lockedObjects: Array<{ name: string; error: string }> = [];
  let firstLocked: LockRefusal | null = null;
  for (const object of objects) {
    const lockedOne = lockRefusal(identity, object);
    if (lockedOne) {
      firstLocked ??= lockedOne;
      lockedObjects.push({ name: object.name, error: lockedOne.error });
      continue;
    }
    if (limit !== undefined) {
      const refusal = checkLimitChange(identity, object, limit, settings, 'hour');
      if (refusal) throw new ApiError(refusal.status, refusal.error, refusal.status === 400 ? { limit: refusal.error } : undefined, { code: refusal.code, params: refusal.params });
    }
    if (dailyLimit !== undefined) {
      const refusal = checkLimitChange(identity, object, dailyLimit, settings, 'day');
      if (refusal) throw new ApiError(refusal.status, refusal.error, refusal.status === 400 ? { dailyLimit: refusal.error } : undefined, { code: refusal.code, params: refusal.params });
    }
    if (recipientLimit !== undefined) {
      const refusal = checkRecipientLimitChange(identity, object, settings);
      if (refusal) throw new ApiError(refusal.status, refusal.error, undefined, { code: refusal.code, params: refusal.params });
    }
  }
  if (firstLocked) {
    throw objects.length === 1 ? new ApiError(403, firstLocked.error, undefined, { code: firstLocked.code, params: firstLocked.params }) : lockedObjectsError(lockedObjects);
  }
  // One lock covers both windows; a 0 given for either locks it unless the caller says otherwise.
  const lockValue = limit === 0 || dailyLimit === 0 ? 0 : (limit ?? dailyLimit ?? null);
  const changes = objects.map((object) => ({ object, lock: lockAfterChange(identity, lockValue, locked, object.lock) }));
  await context.sync.write(
    () => {
      const at = context.nowMs();
      for (const { object, lock } of changes) {
        if (limit !== undefined) {
          setObjectLimit(context.db, level, object.name, limit);
          recordAudit(context.db, identity, { action: 'limit.set', level, objectName: object.name, oldValue: ownLimitOf(object.own), newValue: ownLimitOf(limit) }, at);
        }
        if (dailyLimit !== undefined) {
          setObjectDailyLimit(context.db, level, object.name, dailyLimit);
          recordAudit(context.db, identity, { action: 'limit.daily.set', level, objectName: object.name, oldValue: ownLimitOf(object.daily.own), newValue: ownLimitOf(dailyLimit) }, at);
        }
        if (recipientLimit !== undefined) {
          setObjectRecipientLimit(context.db, level, object.name, recipientLimit);
          recordAudit(context.db, identity, { action: 'limit.recipients.set', level, objectName: object.name, oldValue: ownLimitOf(object.recipients.own), newValue: ownLimitOf(recipientLimit) }, at);
        }
        if (sameLock(object.lock, lock)) continue;
        setObjectLock(context.db, level, object.name, lock);
        recordAudit(context.db, identity, { action: lock ? 'limit.lock' : 'limit.unlock', level, objectName: object.name, oldValue: object.lock, newValue: lock }, at);
      }
    },
    () => {
      for (const { object, lock } of changes) {
        if (limit !== undefined) context.enforcer.directory.setOwnLimit(object, limit);
        if (dailyLimit !== undefined) context.enforcer.directory.setOwnDailyLimit(object, dailyLimit);
        if (recipientLimit !== undefined) context.enforcer.directory.setOwnRecipientLimit(object, recipientLimit);
        context.enforcer.directory.setLock(object, lock);
      }
    },
  );
  // After a reload the index holds new objects: look them up again by name.
  const facts = currentRowFacts(context);
  return withCurrentWindow(context, (window) => objects.map((o) => objectRow(visibleObject(context, identity, level, o.name), identity, window, settings, facts)));
}

export function objectRoutes(routes: RouteTable, context: ApiContext): void {
  for (const { level, path, label } of COLLECTIONS) {
    routes.add({
      method: 'GET',
      path: `/${path}`,
      summary: `${label}s you may see, with effective limit, its source and live usage; searched, sorted and paged`,
      tag: 'limits',
      query: listQuery,
      handler: ({ identity, query }): Promise<ObjectPage> => {
        const facts = currentRowFacts(context);
        return withCurrentWindow(context, (window) => queryObjects(context.enforcer.directory, window, context.enforcer.currentSettings, identity, {
          level,
          search: query.search,
          subscription: query.subscription,
          domain: query.domain,
          blocked: query.blocked === undefined ? undefined : query.blocked === 'true',
          sort: query.sort,
          order: query.order,
          page: query.page,
          pageSize: query.pageSize,
        }, facts));
      },
    });

    routes.add<unknown, unknown, { name: string }>({
      method: 'GET',
      path: `/${path}/:name`,
      summary: `One ${label.toLowerCase()} with its limit and usage`,
      tag: 'limits',
      handler: ({ identity, params }): Promise<ObjectRow> => {
        const object = visibleObject(context, identity, level, params.name);
        const facts = currentRowFacts(context);
        return withCurrentWindow(context, (window) => objectRow(object, identity, window, context.enforcer.currentSettings, facts));
      },
    });

    routes.add<{ limit?: LimitInput | undefined; dailyLimit?: LimitInput | undefined; recipientLimit?: LimitInput | undefined; locked?: boolean | undefined }, unknown, { name: string }>({
      method: 'PUT',
      path: `/${path}/:name/limit`,
      summary: `Set the hourly limit, the daily limit (rolling 24 hours), the maximum recipients per message, or several, of one ${label.toLowerCase()}: each a number, "unlimited" or "default" (left out: unchanged); administrators and resellers lock them for the roles below or leave them open (locked: 403 naming who holds the lock)`,
      tag: 'limits',
      body: setLimitBody,
      errors: { 403: 'not yours to change: the value is locked by a higher role (the answer names who), or a permission is missing' },
      handler: async ({ identity, params, body }): Promise<ObjectRow> => (await setLimits(context, identity, level, [params.name], limitChangeOf(body), body.locked))[0]!,
    });
  }

  // Everyone may learn whether limits are on: every screen says so at the top when they are off.
  routes.add({
    method: 'GET',
    path: '/limits/state',
    summary: 'Whether limits are switched on (when off, mail passes and is still counted), the mode (enforce, monitor only, off), and whether you may switch them on',
    tag: 'limits',
    handler: ({ identity }): LimitsState => ({
      enabled: context.enforcer.currentSettings.enabled,
      mode: limitsMode(context.enforcer.currentSettings),
      maySwitchOn: canChangeSettings(identity),
    }),
  });

  routes.add({
    method: 'POST',
    path: '/limits/bulk',
    summary: '"Limit Outgoing Messages" on several objects of one level at once (all or nothing; locked objects are named one by one in the 403\'s fields)',
    tag: 'limits',
    body: bulkLimitBody,
    errors: { 403: 'some objects are not yours to change; `fields` names each locked object and who holds its lock' },
    handler: async ({ identity, body }): Promise<{ items: ObjectRow[] }> => ({ items: await setLimits(context, identity, body.level, body.names, limitChangeOf(body), body.locked) }),
  });
}
