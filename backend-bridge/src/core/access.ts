import type { Identity } from '../api/identity.js';
import { limitIn, subscriptionOf, type ChargedObject } from './directory.js';
import { isLockedFor, lockRefusal } from './limit-locks.js';
import { effectiveLimit, type Level, type Limit, type LimitOverride, type LimitWindow } from './limits.js';
import type { ServerSettings } from './settings.js';

/**
 * Who may see and change what, as Plesk has it: the admin everything; a reseller the subscriptions of its own
 * customers; a customer its own subscriptions, where it may set domain and mailbox limits up to what the level
 * above allows.
 */

export function canSee(identity: Identity, object: ChargedObject): boolean {
  if (identity.role === 'admin') return true;
  if (identity.role === 'reseller') return object.owner.reseller === identity.login;
  return object.owner.customer === identity.login;
}

export function canChangeSettings(identity: Identity): boolean {
  return identity.role === 'admin';
}

export interface Ceiling {
  max: number;
  /** English, for the command line and logs; screens word `level` and `name` in the person's language. */
  reason: string;
  /** The level that caps. */
  level: Level;
  name: string;
}

/**
 * The highest limit this person may give the object, and why; null when there is no cap for them. A message
 * counts on every level above the object, so the cap is the smallest effective limit of all of them (a mailbox
 * under an unlimited domain is still capped by its subscription); the reason names the level that caps. On a
 * tie the nearest level is named.
 */
export function limitCeiling(identity: Identity, object: ChargedObject, window: LimitWindow = 'hour'): Ceiling | null {
  if (identity.role !== 'customer') return null;
  let capping: ChargedObject | null = null;
  let max = Infinity;
  for (let above = object.parent; above; above = above.parent) {
    const limit = limitIn(above, window);
    if (limit !== 'unlimited' && limit < max) {
      max = limit;
      capping = above;
    }
  }
  if (!capping) return null;
  return { max, reason: `The ${capping.level} ${capping.name} may send at most ${max} per ${window}.`, level: capping.level, name: capping.name };
}

/** What an object gets without an own value in a window: its plan's value, else the server default. */
export function defaultLimitOf(object: ChargedObject, settings: ServerSettings, window: LimitWindow): Limit {
  return window === 'hour'
    ? effectiveLimit(null, object.plan, settings.defaults[object.level]).limit
    : effectiveLimit(null, object.daily.plan, settings.dailyDefaults[object.level]).limit;
}

/** Which of "Use the default" and "Unlimited" this person may choose for the object: only what stays within the ceiling. */
export function limitChoices(identity: Identity, object: ChargedObject, settings: ServerSettings, window: LimitWindow = 'hour'): { mayChooseDefault: boolean; mayChooseUnlimited: boolean } {
  const ceiling = limitCeiling(identity, object, window);
  if (!ceiling) return { mayChooseDefault: true, mayChooseUnlimited: true };
  const byDefault = defaultLimitOf(object, settings, window);
  return { mayChooseDefault: byDefault !== 'unlimited' && byDefault <= ceiling.max, mayChooseUnlimited: false };
}

/**
 * Plesk's per-subscription permission "Manage outgoing mail limits". Only Plesk customers are subject to it;
 * administrators, resellers, standalone users and the local command are not.
 *
 * The signed identity lists the subscriptions where the permission is ON, not those where it is off: whatever
 * goes missing on the way (the header left out, a subscription Plesk created after the list was made, an
 * older panel layer) then takes rights away instead of handing them out. A Plesk customer without a list
 * holds the permission nowhere.
 */
export function holdsLimitPermission(identity: Identity, object: ChargedObject): boolean {
  if (identity.role !== 'customer' || identity.via !== 'plesk') return true;
  return identity.permittedSubscriptions?.has(subscriptionOf(object).name) ?? false;
}

/**
 * Whether this person may change the object's limit at all (any value within its ceiling): what a screen may
 * offer. checkLimitChange has the final word on a value.
 */
export function mayChangeLimit(identity: Identity, object: ChargedObject, settings: ServerSettings): boolean {
  if (isLockedFor(identity, object.lock)) return false;
  if (identity.role !== 'customer') return true;
  return settings.customersMayChangeLimits && object.level !== 'subscription' && holdsLimitPermission(identity, object);
}

/** Why a change is refused, with the status the API answers. */
export type AccessRefusal = { status: 400 | 403; error: string; code: string; params: Record<string, unknown> };

function permissionRefusal(what: string, subscription: string): AccessRefusal {
  return {
    status: 403,
    error: `Your account may not ${what} of subscription ${subscription} (Plesk permission "Manage outgoing mail limits"). Ask your provider.`,
    code: 'noPermission',
    params: { subscription },
  };
}

/**
 * Checks a change of an object's maximum of recipients per message: the same rules of roles, permission and
 * lock as its limits. No ceiling: the tightest maximum along the chain applies, so a customer's higher value
 * for a mailbox never lets it past its domain's or subscription's.
 */
export function checkRecipientLimitChange(identity: Identity, object: ChargedObject, settings: ServerSettings): AccessRefusal | null {
  return roleRefusal(identity, object, settings);
}

/** Who may change an object's values at all: lock, customers' switch and permission, subscriptions by providers. */
function roleRefusal(identity: Identity, object: ChargedObject, settings: ServerSettings): AccessRefusal | null {
  // A locked value stops every way of changing it: a new value, back to the default, a compromised mark or restore.
  // A customer's missing rights are named first: they hold whatever the value's lock.
  if (identity.role !== 'customer') return lockRefusal(identity, object);
  if (!settings.customersMayChangeLimits) {
    return { status: 403, error: 'The administrator does not allow customers to change outgoing mail limits.', code: 'customersMayNotChange', params: {} };
  }
  if (!holdsLimitPermission(identity, object)) return permissionRefusal('manage outgoing mail limits', subscriptionOf(object).name);
  const locked = lockRefusal(identity, object);
  if (locked) return locked;
  if (object.level === 'subscription') {
    return { status: 403, error: 'Only the administrator or the reseller can change the limit of a subscription.', code: 'subscriptionByProvider', params: {} };
  }
  return null;
}

/** Checks one limit change against the role rules; null when it may go ahead. Visibility is checked before. */
export function checkLimitChange(
  identity: Identity,
  object: ChargedObject,
  value: LimitOverride,
  settings: ServerSettings,
  window: LimitWindow = 'hour',
): AccessRefusal | null {
  const refusal = roleRefusal(identity, object, settings);
  if (refusal || identity.role !== 'customer') return refusal;
  const ceiling = limitCeiling(identity, object, window);
  if (!ceiling) return null;
  const resulting: Limit = value ?? defaultLimitOf(object, settings, window);
  if (resulting === 'unlimited' || resulting > ceiling.max) {
    return { status: 400, error: `The value must be in the range 0...${ceiling.max}. Only the administrator can raise it.`, code: 'aboveCeiling', params: { max: ceiling.max } };
  }
  return null;
}

export type HeldMailAction = 'release' | 'delete';

/**
 * Checks a person's release now or delete of a held message charged to `object` (undefined: charged to nobody
 * we limit); null when it may go ahead. Visibility is checked before (another owner's mail is "not found").
 *
 * Held mail is what the limits of its subscription hold back, so Plesk's "Manage outgoing mail limits" governs
 * acting on it as it governs the limits: without it on a subscription, a customer may neither release (which
 * spends the subscription's budget) nor delete that subscription's held mail. The administrator's switch for all
 * customers (`customersMayChangeLimits`) does not apply: neither action changes a limit, and a release by a
 * customer stays within the budget (only the administrator releases beyond it).
 *
 * Seeing held mail is not gated by the permission. The permission is about setting limits (its description in
 * Plesk: "Set the hourly outgoing limits of domains and mailboxes"): the Plesk layer hides what only serves that
 * (the domain's button, the subscription and domain screens, the mailbox form part), while the overview and the
 * lists keep such a subscription's objects, read-only. Held mail is the customer's own undelivered mail, and
 * customers are notified of it whatever the permission, with a link to the held-mail screen: hiding it would
 * leave them a notice about mail they cannot find and a reason they cannot read.
 */
export function checkHeldMailAction(identity: Identity, object: ChargedObject | undefined, action: HeldMailAction): AccessRefusal | null {
  if (identity.role === 'admin') return null;
  if (!object || !canSee(identity, object)) {
    return {
      status: 403,
      error: `Only the administrator can ${action} held messages that count against none of your mailboxes, domains or subscriptions.`,
      code: 'heldOfNobody',
      params: { action },
    };
  }
  if (!holdsLimitPermission(identity, object)) return permissionRefusal(`${action} held messages`, subscriptionOf(object).name);
  return null;
}

/** Whether a screen may offer this held-mail action on mail charged to `object`: checkHeldMailAction's answer. */
export function mayActOnHeldMail(identity: Identity, object: ChargedObject | undefined, action: HeldMailAction): boolean {
  return checkHeldMailAction(identity, object, action) === null;
}

/**
 * The Plesk integration itself (install, event listener, resync): signed by the Plesk layer as the administrator
 * with the user id no Plesk client has (plib's Identity::integration()). Some facts only it may report.
 */
export const PLESK_INTEGRATION_USER_ID = 'plesk-integration';

export function isPleskIntegration(identity: Identity): boolean {
  return identity.via === 'plesk' && identity.role === 'admin' && identity.userId === PLESK_INTEGRATION_USER_ID;
}
