import { canSee } from '../../core/access.js';
import { counterKey } from '../../core/directory.js';
import { currentExemption, exemptionRefusal, exemptionView, parseExemptionEnd, validateExemption, type Exemption, type ExemptionView } from '../../core/exemptions.js';
import type { Level, Limit } from '../../core/limits.js';
import { recordAudit } from '../../store/audit-store.js';
import { readExemptions, removeExemption, storeExemption } from '../../store/exemption-store.js';
import { exemptionAuditValue } from '../../enforcement/exemption-ends.js';
import type { ApiContext } from '../context.js';
import { ApiError, throwIfRefused } from '../errors.js';
import type { Identity } from '../identity.js';
import type { RouteTable } from '../route-table.js';
import { exemptionBody } from '../schemas.js';
import { visibleObject } from '../visibility.js';

/** What the exemption actions need: the command runs them on the store directly when the daemon is not running. */
export type ExemptionContext = Pick<ApiContext, 'db' | 'enforcer' | 'sync' | 'nowMs'>;

const COLLECTIONS: Array<{ level: Level; path: string; label: string }> = [
  { level: 'subscription', path: 'subscriptions', label: 'subscription' },
  { level: 'domain', path: 'domains', label: 'domain' },
  { level: 'mailbox', path: 'mailboxes', label: 'mailbox' },
];

export async function setExemption(context: ExemptionContext, identity: Identity, level: Level, name: string, body: { hourly?: Limit | undefined; daily?: Limit | undefined; until: string }): Promise<ExemptionView> {
  const object = visibleObject(context, identity, level, name);
  throwIfRefused(exemptionRefusal(identity, object));
  const nowMs = context.nowMs();
  const end = parseExemptionEnd(body.until, nowMs);
  if (!end.ok) throw new ApiError(400, `invalid end time: ${end.error}`, { until: end.error });
  const checked = validateExemption({ hourly: body.hourly ?? null, daily: body.daily ?? null, endsAtMs: end.endsAtMs }, { hour: object.effective.limit, day: object.daily.effective.limit }, nowMs);
  if (!checked.ok) throw new ApiError(400, Object.values(checked.errors).join('; '), checked.errors);
  const exemption: Exemption = { ...checked.value, startsAtMs: nowMs, setBy: { login: identity.login, role: identity.role } };
  const previous = currentExemption(object, nowMs);
  await context.sync.write(
    () => {
      storeExemption(context.db, level, object.name, exemption);
      recordAudit(context.db, identity, { action: 'exemption.set', level, objectName: object.name, oldValue: previous ? exemptionAuditValue({ exemption: previous }) : null, newValue: exemptionAuditValue({ exemption }) }, nowMs);
    },
    () => context.enforcer.directory.setExemption(object, exemption),
  );
  return exemptionView(visibleObject(context, identity, level, object.name), exemption, identity);
}

export async function endExemption(context: ExemptionContext, identity: Identity, level: Level, name: string): Promise<void> {
  const object = visibleObject(context, identity, level, name);
  throwIfRefused(exemptionRefusal(identity, object));
  const nowMs = context.nowMs();
  if (!currentExemption(object, nowMs)) throw new ApiError(404, `${level} ${object.name} has no exemption`, undefined, { code: 'noExemption', params: { level, name: object.name } });
  await context.sync.write(
    () => {
      const removed = removeExemption(context.db, level, object.name);
      if (removed) recordAudit(context.db, identity, { action: 'exemption.end', level, objectName: object.name, oldValue: exemptionAuditValue(removed), newValue: { reason: 'endedEarly' } }, nowMs);
    },
    () => context.enforcer.directory.setExemption(object, null),
  );
}

/** The exemptions in force on objects this person may see, the soonest end first. */
export function listExemptions(context: ExemptionContext, identity: Identity): ExemptionView[] {
  const nowMs = context.nowMs();
  const items: ExemptionView[] = [];
  // From the store's list (it is short), resolved against the live directory and the clock.
  for (const stored of readExemptions(context.db)) {
    const object = context.enforcer.directory.byCounterKey.get(counterKey(stored.level, stored.objectId));
    const exemption = object ? currentExemption(object, nowMs) : null;
    if (object && exemption && canSee(identity, object)) items.push(exemptionView(object, exemption, identity));
  }
  return items;
}

export function exemptionRoutes(routes: RouteTable, context: ApiContext): void {
  routes.add({
    method: 'GET',
    path: '/exemptions',
    summary: 'The temporary exemptions in force on objects you may see, the soonest end first',
    tag: 'exemptions',
    handler: ({ identity }): { items: ExemptionView[] } => ({ items: listExemptions(context, identity) }),
  });

  for (const { level, path, label } of COLLECTIONS) {
    routes.add<{ hourly?: Limit | undefined; daily?: Limit | undefined; until: string }, unknown, { name: string }>({
      method: 'PUT',
      path: `/${path}/:name/exemption`,
      summary: `Raise or lift the hourly and/or daily limit of one ${label} until an end time (replaces its exemption); administrators, and resellers on their customers' objects`,
      tag: 'exemptions',
      body: exemptionBody,
      errors: { 403: 'customers may not; another reseller\'s object; a value locked, or an exemption set, by a higher role (the answer names who)' },
      handler: ({ identity, params, body }): Promise<ExemptionView> => setExemption(context, identity, level, params.name, body),
    });
    routes.add<unknown, unknown, { name: string }>({
      method: 'DELETE',
      path: `/${path}/:name/exemption`,
      summary: `End the exemption of one ${label} now: its normal limits apply to the next message`,
      tag: 'exemptions',
      status: 204,
      errors: { 403: 'as for setting it', 404: 'no such object, not yours, or it has no exemption' },
      handler: ({ identity, params }): Promise<void> => endExemption(context, identity, level, params.name),
    });
  }
}
