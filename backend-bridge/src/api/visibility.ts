import { canSee } from '../core/access.js';
import { counterKey, type ChargedObject } from '../core/directory.js';
import type { Level } from '../core/limits.js';
import type { ApiContext } from './context.js';
import { notFound } from './errors.js';
import type { Identity } from './identity.js';

export const LEVEL_LABEL: Record<Level, string> = { subscription: 'Subscription', domain: 'Domain', mailbox: 'Mailbox' };

/** An object the identity may see, else 404: another owner's object must look exactly like a missing one. */
export function visibleObject(context: Pick<ApiContext, 'enforcer'>, identity: Identity, level: Level, name: string): ChargedObject {
  const object = context.enforcer.directory.find(level, name);
  if (!object || !canSee(identity, object)) throw notFound(`${LEVEL_LABEL[level]} ${name.toLowerCase()}`);
  return object;
}

/** Admins see every record; others only records of objects they can see now. */
export function visibleByKey(context: ApiContext, identity: Identity, level: string, id: number): boolean {
  if (identity.role === 'admin') return true;
  const object = context.enforcer.directory.byCounterKey.get(counterKey(level as Level, id));
  return object !== undefined && canSee(identity, object);
}

export function visibleByName(context: ApiContext, identity: Identity, level: string | null, name: string | null): boolean {
  if (identity.role === 'admin') return true;
  if (!level || !name) return false;
  const object = context.enforcer.directory.find(level as Level, name);
  return object !== undefined && canSee(identity, object);
}
