import type { Identity } from '../api/identity.js';
import { canSee, limitCeiling, type Ceiling } from './access.js';
import type { WindowView } from './decision.js';
import type { ChargedObject, DirectoryIndex } from './directory.js';
import type { Level, Limit, LimitOverride, LimitSource } from './limits.js';
import type { ServerSettings } from './settings.js';
import { usageOf } from './usage.js';

/** One subscription, domain or mailbox as lists and the limit dialog show it. */
export interface ObjectRow {
  level: Level;
  name: string;
  domain: string | null;
  subscription: string;
  /** The object's own value; "default" when it follows the server default. */
  ownLimit: number | 'unlimited' | 'default';
  effectiveLimit: Limit;
  limitSource: LimitSource;
  /** The server default for this level: "Use the default (N per hour)". */
  defaultLimit: Limit;
  /** The highest value the asking user may set, and why; null when not capped for them. */
  ceiling: Ceiling | null;
  used: number;
  blocked: boolean;
  freesInSeconds: number | null;
}

export interface ObjectQuery {
  level: Level;
  search?: string | undefined;
  subscription?: string | undefined;
  domain?: string | undefined;
  /** true: only objects that cannot send now; false: only those that can; undefined: both. */
  blocked?: boolean | undefined;
  sort: 'name' | 'used' | 'limit';
  order: 'asc' | 'desc';
  page: number;
  pageSize: number;
}

export interface ObjectPage {
  items: ObjectRow[];
  total: number;
  page: number;
  pageSize: number;
}

export function ownLimitOf(own: LimitOverride): ObjectRow['ownLimit'] {
  return own === null ? 'default' : own;
}

function subscriptionOf(object: ChargedObject): ChargedObject {
  let top = object;
  while (top.parent) top = top.parent;
  return top;
}

export function objectRow(object: ChargedObject, identity: Identity, window: WindowView, settings: ServerSettings): ObjectRow {
  const usage = usageOf(object, window);
  return {
    level: object.level,
    name: object.name,
    domain: object.level === 'mailbox' ? (object.parent?.name ?? null) : object.level === 'domain' ? object.name : null,
    subscription: subscriptionOf(object).name,
    ownLimit: ownLimitOf(object.own),
    effectiveLimit: object.effective.limit,
    limitSource: object.effective.source,
    defaultLimit: settings.defaults[object.level],
    ceiling: limitCeiling(identity, object),
    used: usage.used,
    blocked: usage.blocked,
    freesInSeconds: usage.freesInSeconds,
  };
}

const limitRank = (limit: Limit): number => (limit === 'unlimited' ? Number.POSITIVE_INFINITY : limit);

/**
 * Search, filter, sort and page over the live directory. Only objects the identity may see are counted or
 * listed, so totals never reveal other customers' objects. Name order comes from the index's sorted view;
 * usage is looked up only for the page, unless sorting or filtering needs it.
 */
export function queryObjects(index: DirectoryIndex, window: WindowView, settings: ServerSettings, identity: Identity, query: ObjectQuery): ObjectPage {
  const term = query.search?.trim().toLowerCase() ?? '';
  const subscription = query.subscription?.toLowerCase();
  const domain = query.domain?.toLowerCase();
  const matches: ChargedObject[] = [];
  for (const object of index.sortedByName(query.level)) {
    if (term && !object.name.includes(term)) continue;
    if (!canSee(identity, object)) continue;
    if (domain && (query.level === 'mailbox' ? object.parent?.name : object.name) !== domain) continue;
    if (subscription && subscriptionOf(object).name !== subscription) continue;
    if (query.blocked !== undefined && usageOf(object, window).blocked !== query.blocked) continue;
    matches.push(object);
  }
  if (query.sort === 'used') {
    const used = new Map(matches.map((o) => [o, window.used(o)]));
    matches.sort((a, b) => (used.get(a) ?? 0) - (used.get(b) ?? 0));
  } else if (query.sort === 'limit') {
    matches.sort((a, b) => limitRank(a.effective.limit) - limitRank(b.effective.limit));
  }
  if (query.order === 'desc') matches.reverse();
  const start = (query.page - 1) * query.pageSize;
  return {
    items: matches.slice(start, start + query.pageSize).map((o) => objectRow(o, identity, window, settings)),
    total: matches.length,
    page: query.page,
    pageSize: query.pageSize,
  };
}
