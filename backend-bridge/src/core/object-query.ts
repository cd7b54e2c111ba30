import type { AnomalyFigures } from './anomalies.js';
import type { Identity } from '../api/identity.js';
import type { Role } from '../api/identity.js';
import { canSee, defaultLimitOf, limitCeiling, limitChoices, mayChangeLimit, type Ceiling } from './access.js';
import type { WindowView } from './decision.js';
import { subscriptionOf, type ChargedObject, type DirectoryIndex } from './directory.js';
import { currentExemption, exemptionRefusal, exemptionView, type ExemptionView } from './exemptions.js';
import { isLockedFor, mayLock } from './limit-locks.js';
import { tightestRecipientMaximum } from './recipient-limits.js';
import { effectiveLimit, type Level, type Limit, type LimitOverride, type LimitSource } from './limits.js';
import { limitsMode } from './monitor-mode.js';
import type { ServerSettings } from './settings.js';
import { heldCountsByObject, overLimitCause, sendingState, type OverLimitCause, type SendingState } from './sending-state.js';
import { usageOf, type WindowUsage } from './usage.js';

/** One subscription, domain or mailbox as lists and the limit dialog show it. */
export interface ObjectRow {
  level: Level;
  name: string;
  domain: string | null;
  subscription: string;
  /** The object's own value; "default" when it follows its plan's value or the server default. */
  ownLimit: number | 'unlimited' | 'default';
  effectiveLimit: Limit;
  limitSource: LimitSource;
  /** What applies without an own value (the plan's value, else the server default): "Use the default (N per hour)". */
  defaultLimit: Limit;
  /** The highest value the asking user may set, and why; null when not capped for them. */
  ceiling: Ceiling | null;
  /** Whether the asking user may change this object's limit at all (and so mark a mailbox compromised). */
  mayChangeLimit: boolean;
  /** Whether "Use the default" and "Unlimited" stay within the asking user's ceiling (what the dialog offers). */
  mayChooseDefault: boolean;
  mayChooseUnlimited: boolean;
  /** Who locked the own value for the roles below theirs (login and role); null when it is open. */
  lockedBy: string | null;
  lockedByRole: Exclude<Role, 'customer'> | null;
  /** Whether that lock stops the asking user. */
  lockedForYou: boolean;
  /** Whether the asking user may lock the values they set (administrators and resellers). */
  mayLock: boolean;
  used: number;
  /** Usage alone: the object itself has no room for one more unit (its parents not looked at). */
  blocked: boolean;
  freesInSeconds: number | null;
  /** What its next message meets now, tighter levels above and the switch included: what the row says. */
  sending: SendingState;
  /** Held messages charged to it or to the objects inside it. */
  heldCount: number;
  /** A mailbox marked compromised (its limit is 0 until it is restored); false for domains and subscriptions. */
  compromised: boolean;
  /** Why `used` is above the limit; null when it is not. */
  overLimitCause: OverLimitCause | null;
  /** The daily limit (rolling 24 hours) beside the hourly one above; the lock and mayChangeLimit cover both. */
  daily: DailyRow;
  /** The maximum of recipients per message (core/recipient-limits.ts); the lock and mayChangeLimit cover it too. */
  recipients: RecipientRow;
  /** A temporary exemption in force now (its values and end); null: none. effectiveLimit stays the normal limit. */
  exemption: ExemptionView | null;
  /** Whether the asking user may set (or replace) an exemption of this object. */
  mayExempt: boolean;
  /** A mailbox's newest anomaly of the last 24 hours (unusual sending), for the mark on its row; else null. */
  anomaly: RowAnomaly | null;
}

/** An object's maximum of recipients per message: its own, the one in force for it, and the tightest of its chain. */
export interface RecipientRow {
  ownLimit: number | 'unlimited' | 'default';
  effectiveLimit: Limit;
  limitSource: LimitSource;
  defaultLimit: Limit;
  /** What a message from it meets: the smallest maximum of it and the levels above (null: none). */
  tightest: { level: Level; name: string; maximum: number } | null;
}

function recipientRow(object: ChargedObject, settings: ServerSettings): RecipientRow {
  const tightest = tightestRecipientMaximum(chainOf(object));
  return {
    ownLimit: ownLimitOf(object.recipients.own),
    effectiveLimit: object.recipients.effective.limit,
    limitSource: object.recipients.effective.source,
    defaultLimit: settings.recipientDefaults[object.level],
    tightest: tightest && { level: tightest.object.level, name: tightest.object.name, maximum: tightest.maximum },
  };
}

/** The mark of unusual sending on a mailbox's row: what was seen, when, and the threshold it passed. */
export interface RowAnomaly extends AnomalyFigures {
  atMs: number;
}

/** The daily window of a row: the same fields as the hourly ones, for the last 24 hours. */
export interface DailyRow {
  ownLimit: number | 'unlimited' | 'default';
  effectiveLimit: Limit;
  limitSource: LimitSource;
  defaultLimit: Limit;
  ceiling: Ceiling | null;
  mayChooseDefault: boolean;
  mayChooseUnlimited: boolean;
  /** Used in the last 24 hours. */
  used: number;
  blocked: boolean;
  freesInSeconds: number | null;
}

function dailyRow(object: ChargedObject, identity: Identity, settings: ServerSettings, usage: WindowUsage): DailyRow {
  return {
    ownLimit: ownLimitOf(object.daily.own),
    effectiveLimit: object.daily.effective.limit,
    limitSource: object.daily.effective.source,
    defaultLimit: defaultLimitOf(object, settings, 'day'),
    ceiling: limitCeiling(identity, object, 'day'),
    ...limitChoices(identity, object, settings, 'day'),
    used: usage.used,
    blocked: usage.blocked,
    freesInSeconds: usage.freesInSeconds,
  };
}

/** What a row needs beyond the directory and the counters: held mail, compromised marks, releases beyond the limit. */
export interface RowFacts {
  heldCount(object: ChargedObject): number;
  isCompromised(mailbox: ChargedObject): boolean;
  /** An administrator released held mail charged to this object beyond the limit within the last hour. */
  releasedBeyondLimit(object: ChargedObject): boolean;
  /** The mailbox's newest anomaly of the last 24 hours; absent: none are known. */
  anomalyOf?(mailbox: ChargedObject): RowAnomaly | null;
}

/** Where there is no held mail (the API without the daemon's Postfix): nothing held, nothing marked. */
export const NO_ROW_FACTS: RowFacts = { heldCount: () => 0, isCompromised: () => false, releasedBeyondLimit: () => false };

/**
 * RowFacts from what the store holds now: held messages counted per charged object (with its chain), the compromised addresses, and
 * the objects whose held mail an administrator released beyond the limit (their chains: a domain's row counts
 * its mailboxes' releases too).
 */
export function rowFacts(heldChains: Iterable<{ chain: readonly ChargedObject[]; count: number }>, compromisedAddresses: ReadonlySet<string>, releasedBeyondChains: Iterable<readonly ChargedObject[]>): RowFacts {
  const held = heldCountsByObject(heldChains);
  const released = new Set<number>();
  for (const chain of releasedBeyondChains) for (const object of chain) released.add(object.counterKey);
  return {
    heldCount: (object) => held.get(object.counterKey) ?? 0,
    isCompromised: (mailbox) => mailbox.level === 'mailbox' && compromisedAddresses.has(mailbox.name),
    releasedBeyondLimit: (object) => released.has(object.counterKey),
  };
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

function chainOf(object: ChargedObject): ChargedObject[] {
  const chain: ChargedObject[] = [];
  for (let o: ChargedObject | null = object; o; o = o.parent) chain.push(o);
  return chain;
}

export function objectRow(object: ChargedObject, identity: Identity, window: WindowView, settings: ServerSettings, facts: RowFacts = NO_ROW_FACTS): ObjectRow {
  const usage = usageOf(object, window);
  const compromised = facts.isCompromised(object);
  return {
    level: object.level,
    name: object.name,
    domain: object.level === 'mailbox' ? (object.parent?.name ?? null) : object.level === 'domain' ? object.name : null,
    subscription: subscriptionOf(object).name,
    ownLimit: ownLimitOf(object.own),
    effectiveLimit: object.effective.limit,
    limitSource: object.effective.source,
    defaultLimit: effectiveLimit(null, object.plan, settings.defaults[object.level]).limit,
    ceiling: limitCeiling(identity, object),
    mayChangeLimit: mayChangeLimit(identity, object, settings),
    ...limitChoices(identity, object, settings),
    lockedBy: object.lock?.login ?? null,
    lockedByRole: object.lock?.role ?? null,
    lockedForYou: isLockedFor(identity, object.lock),
    mayLock: mayLock(identity),
    used: usage.used,
    blocked: usage.blocked,
    freesInSeconds: usage.freesInSeconds,
    sending: sendingState(chainOf(object), window, settings, (mailbox) => facts.isCompromised(mailbox)),
    heldCount: facts.heldCount(object),
    compromised,
    overLimitCause: overLimitCause(usage.used, usage.limit, { compromised, releasedBeyondLimit: facts.releasedBeyondLimit(object), limitsOff: !settings.enabled, monitorOnly: limitsMode(settings) === 'monitor' }),
    daily: dailyRow(object, identity, settings, usage.day),
    recipients: recipientRow(object, settings),
    ...exemptionPart(object, identity, window),
    anomaly: object.level === 'mailbox' ? (facts.anomalyOf?.(object) ?? null) : null,
  };
}

function exemptionPart(object: ChargedObject, identity: Identity, window: WindowView): Pick<ObjectRow, 'exemption' | 'mayExempt'> {
  const exemption = window.atSecond === undefined ? null : currentExemption(object, window.atSecond * 1000);
  return { exemption: exemption ? exemptionView(object, exemption, identity) : null, mayExempt: exemptionRefusal(identity, object) === null };
}

const limitRank = (limit: Limit): number => (limit === 'unlimited' ? Number.POSITIVE_INFINITY : limit);

/**
 * The objects at positions [start, start + count) when ordered by a numeric key, name order (the input order)
 * breaking ties, without sorting the whole list: for the first pages a bounded, ordered selection is kept while
 * the list is read once. With 100,000 mailboxes a full sort would hold up the policy service for tens of ms.
 */
function pageByKey(objects: readonly ChargedObject[], key: (object: ChargedObject) => number, order: 'asc' | 'desc', start: number, count: number): ChargedObject[] {
  const wanted = start + count;
  const sign = order === 'asc' ? 1 : -1;
  if (wanted > SELECTION_LIMIT) {
    const keyed = objects.map((object, position) => ({ object, position, k: sign * key(object) }));
    keyed.sort((a, b) => a.k - b.k || a.position - b.position);
    return keyed.slice(start, wanted).map((entry) => entry.object);
  }
  // `best` stays ordered by (k, position); an entry enters only if it beats the current last one.
  const best: Array<{ object: ChargedObject; k: number }> = [];
  for (const object of objects) {
    const k = sign * key(object);
    if (best.length === wanted && k >= (best[wanted - 1]?.k ?? Number.POSITIVE_INFINITY)) continue;
    let low = 0;
    let high = best.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((best[middle]?.k ?? 0) <= k) low = middle + 1;
      else high = middle;
    }
    best.splice(low, 0, { object, k });
    if (best.length > wanted) best.pop();
  }
  return best.slice(start, wanted).map((entry) => entry.object);
}

/** Pages up to this deep are selected in one pass; deeper ones fall back to a full sort. */
const SELECTION_LIMIT = 2000;

/**
 * Search, filter, sort and page over the live directory. Only objects the identity may see are counted or
 * listed, so totals never reveal other customers' objects. Name order comes from the index's sorted view;
 * usage is looked up only where sorting or filtering needs it, and for the rows of the page.
 */
export function queryObjects(index: DirectoryIndex, window: WindowView, settings: ServerSettings, identity: Identity, query: ObjectQuery, facts: RowFacts = NO_ROW_FACTS): ObjectPage {
  const term = query.search?.trim().toLowerCase() ?? '';
  const subscription = query.subscription?.toLowerCase();
  const domain = query.domain?.toLowerCase();
  const everything = identity.role === 'admin';
  const candidates = term ? (term.includes('\n') ? [] : index.searchByName(query.level, term)) : index.sortedByName(query.level);
  const filtered = !everything || domain !== undefined || subscription !== undefined || query.blocked !== undefined;
  // The admin's plain search needs no second pass (and no second 100,000-entry array).
  const matches: readonly ChargedObject[] = filtered ? candidates.filter((object) => {
    if (!everything && !canSee(identity, object)) return false;
    if (domain && (query.level === 'mailbox' ? object.parent?.name : object.name) !== domain) return false;
    if (subscription && subscriptionOf(object).name !== subscription) return false;
    if (query.blocked === undefined) return true;
    const usage = usageOf(object, window);
    return (usage.blocked || usage.day.blocked) === query.blocked;
  }) : candidates;
  const start = (query.page - 1) * query.pageSize;
  let page: ChargedObject[];
  if (query.sort === 'used') page = pageByKey(matches, (o) => window.used(o, 'hour'), query.order, start, query.pageSize);
  else if (query.sort === 'limit') page = pageByKey(matches, (o) => limitRank(o.effective.limit), query.order, start, query.pageSize);
  else if (query.order === 'asc') page = matches.slice(start, start + query.pageSize);
  else page = matches.slice(Math.max(0, matches.length - start - query.pageSize), Math.max(0, matches.length - start)).reverse();
  return {
    items: page.map((o) => objectRow(o, identity, window, settings, facts)),
    total: matches.length,
    page: query.page,
    pageSize: query.pageSize,
  };
}
