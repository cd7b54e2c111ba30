import type { Identity } from '../api/identity.js';
import { subscriptionOf, type ChargedObject } from './directory.js';
import { effectiveLimit, type Limit, type LimitOverride } from './limits.js';
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
  reason: string;
}

/** The highest limit this person may give the object, and why; null when there is no cap for them. */
export function limitCeiling(identity: Identity, object: ChargedObject): Ceiling | null {
  if (identity.role !== 'customer' || !object.parent) return null;
  const parentLimit = object.parent.effective.limit;
  if (parentLimit === 'unlimited') return null;
  return { max: parentLimit, reason: `The ${object.parent.level} ${object.parent.name} may send at most ${parentLimit} per hour.` };
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
  if (identity.role !== 'customer') return true;
  return settings.customersMayChangeLimits && object.level !== 'subscription' && holdsLimitPermission(identity, object);
}

export type LimitChangeRefusal = { status: 400 | 403; error: string };

/** Checks one limit change against the role rules; null when it may go ahead. Visibility is checked before. */
export function checkLimitChange(
  identity: Identity,
  object: ChargedObject,
  value: LimitOverride,
  settings: ServerSettings,
): LimitChangeRefusal | null {
  if (identity.role !== 'customer') return null;
  if (!settings.customersMayChangeLimits) {
    return { status: 403, error: 'The administrator does not allow customers to change outgoing mail limits.' };
  }
  if (!holdsLimitPermission(identity, object)) {
    const subscription = subscriptionOf(object).name;
    return { status: 403, error: `Your account may not manage outgoing mail limits of subscription ${subscription} (Plesk permission "Manage outgoing mail limits"). Ask your provider.` };
  }
  if (object.level === 'subscription') {
    return { status: 403, error: 'Only the administrator or the reseller can change the limit of a subscription.' };
  }
  const ceiling = limitCeiling(identity, object);
  if (!ceiling) return null;
  const resulting: Limit = effectiveLimit(value, object.plan, settings.defaults[object.level]).limit;
  if (resulting === 'unlimited' || resulting > ceiling.max) {
    return { status: 400, error: `The value must be in the range 0...${ceiling.max}. Only the administrator can raise it.` };
  }
  return null;
}
