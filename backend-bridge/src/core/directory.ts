import { limitWithExemption, type Exemption } from './exemptions.js';
import type { LimitLock } from './limit-locks.js';
import { effectiveLimit, type EffectiveLimit, type Level, type Limit, type LimitOverride, type LimitWindow, type PlanLimits, type WindowLimits } from './limits.js';
import type { ServerSettings } from './settings.js';

/** Hosting objects as Plesk arranges them: a subscription owns domains, a domain owns mailboxes. */
export interface SubscriptionRecord {
  id: number;
  name: string;
  /** Login of the customer who owns the subscription. */
  owner: string;
  /** Login of the reseller that customer belongs to, or null for the admin's own customers. */
  reseller: string | null;
  /** The subscription's system (FTP/SSH) user: scripts run under its uid. */
  systemUser: string | null;
  limit: LimitOverride;
  /** Own daily (rolling 24 hours) value; absent or null: follows the plan or the server default. */
  dailyLimit?: LimitOverride | undefined;
  /** Own maximum of recipients per message; absent or null: follows the server default. */
  recipientLimit?: LimitOverride | undefined;
  /** Who locked the own values for the roles below them; absent or null: open. */
  lock?: LimitLock | null;
  /** The service plan the subscription follows (its values for all three levels); null or absent: none. */
  plan?: PlanLimits | null;
}

export interface DomainRecord {
  id: number;
  subscriptionId: number;
  name: string;
  limit: LimitOverride;
  dailyLimit?: LimitOverride | undefined;
  recipientLimit?: LimitOverride | undefined;
  lock?: LimitLock | null;
}

export interface MailboxRecord {
  id: number;
  domainId: number;
  address: string;
  limit: LimitOverride;
  dailyLimit?: LimitOverride | undefined;
  recipientLimit?: LimitOverride | undefined;
  lock?: LimitLock | null;
}

export interface DirectoryRecords {
  subscriptions: SubscriptionRecord[];
  domains: DomainRecord[];
  mailboxes: MailboxRecord[];
}

/** The same, read once in order: lets the index be built straight from the store's rows. */
export interface DirectoryRecordStreams {
  subscriptions: Iterable<SubscriptionRecord>;
  domains: Iterable<DomainRecord>;
  mailboxes: Iterable<MailboxRecord>;
}

/** One object a message is charged to, with the limit that applies to it now. */
export interface ChargedObject {
  level: Level;
  id: number;
  /** Mailbox address, domain name or subscription name: what people read in answers. */
  name: string;
  /** Number that identifies the object's counter: unique across levels. */
  counterKey: number;
  /** The object's own value (null: follows the plan's value or the server default). */
  own: LimitOverride;
  /** The service plan's value for this object's level (null: the plan sets none, or no plan). */
  plan: LimitOverride;
  /** Who locked the own value for the roles below them (core/limit-locks.ts); null: open. */
  lock: LimitLock | null;
  effective: EffectiveLimit;
  /** The same three for the daily window (rolling 24 hours); the lock covers both windows. */
  daily: WindowLimits;
  /** The maximum number of recipients of one message (core/recipient-limits.ts); plans set none, so plan is null. */
  recipients: WindowLimits;
  /** The domain of a mailbox, the subscription of a domain; null for a subscription. */
  parent: ChargedObject | null;
  /** Who owns it: the subscription's customer and reseller (shared by its domains and mailboxes). */
  owner: { customer: string; reseller: string | null };
  /** A temporary exemption (core/exemptions.ts); it applies only before its end, checked against the clock. */
  exemption?: Exemption | null;
}

/**
 * The limit in force for one window of an object. With `atSecond` (the clock of a decision) a temporary
 * exemption that has not ended yet raises it; without, the normal limit (what values and ceilings are set from).
 */
export function limitIn(object: ChargedObject, window: LimitWindow, atSecond?: number): Limit {
  const normal = window === 'hour' ? object.effective.limit : object.daily.effective.limit;
  return atSecond === undefined || !object.exemption ? normal : limitWithExemption(normal, object.exemption, window, atSecond);
}

/** The subscription an object belongs to (the object itself for a subscription). */
export function subscriptionOf(object: ChargedObject): ChargedObject {
  let top = object;
  while (top.parent) top = top.parent;
  return top;
}

const LEVEL_TAG: Record<Level, number> = { mailbox: 0, domain: 1, subscription: 2 };

/** Counters of all levels share one key space: ids are unique per level, so the level goes in the low bits. */
export function counterKey(level: Level, id: number): number {
  return id * 4 + LEVEL_TAG[level];
}

export function counterKeyParts(key: number): { level: Level; id: number } {
  const tag = key % 4;
  const level: Level = tag === 0 ? 'mailbox' : tag === 1 ? 'domain' : 'subscription';
  return { level, id: Math.floor(key / 4) };
}

/**
 * An immutable, indexed view of the directory with every object's effective limit resolved against one set
 * of server settings. Rebuilt whenever the directory or the settings change, so the per-message path only
 * does map look-ups.
 */
export class DirectoryIndex {
  readonly mailboxesByAddress = new Map<string, ChargedObject>();
  readonly domainsByName = new Map<string, ChargedObject>();
  readonly subscriptionsByName = new Map<string, ChargedObject>();
  readonly subscriptionsBySystemUser = new Map<string, ChargedObject>();
  readonly byCounterKey = new Map<number, ChargedObject>();

  constructor(records: DirectoryRecordStreams, private settings: ServerSettings) {
    const subscriptionsById = new Map<number, ChargedObject>();
    const plansBySubscription = new Map<number, PlanLimits | null>();
    for (const s of records.subscriptions) {
      plansBySubscription.set(s.id, s.plan ?? null);
      const object = this.charged('subscription', s.id, s.name, s.limit, s.plan?.subscription ?? null, null, { customer: s.owner, reseller: s.reseller }, s.lock);
      this.setDaily(object, s.dailyLimit ?? null, s.plan?.daily?.subscription ?? null);
      this.setRecipients(object, s.recipientLimit ?? null);
      subscriptionsById.set(s.id, object);
      this.subscriptionsByName.set(s.name.toLowerCase(), object);
      if (s.systemUser) this.subscriptionsBySystemUser.set(s.systemUser, object);
    }
    const domainsById = new Map<number, ChargedObject>();
    const planOfDomain = new Map<number, PlanLimits | null>();
    for (const d of records.domains) {
      const subscription = subscriptionsById.get(d.subscriptionId);
      if (!subscription) continue; // the store's foreign keys make this impossible; skip rather than guess
      const plan = plansBySubscription.get(d.subscriptionId) ?? null;
      const object = this.charged('domain', d.id, d.name, d.limit, plan?.domain ?? null, subscription, subscription.owner, d.lock);
      this.setDaily(object, d.dailyLimit ?? null, plan?.daily?.domain ?? null);
      this.setRecipients(object, d.recipientLimit ?? null);
      planOfDomain.set(d.id, plan);
      domainsById.set(d.id, object);
      this.domainsByName.set(d.name.toLowerCase(), object);
    }
    for (const m of records.mailboxes) {
      const domain = domainsById.get(m.domainId);
      if (!domain) continue;
      const plan = planOfDomain.get(m.domainId) ?? null;
      const object = this.charged('mailbox', m.id, m.address, m.limit, plan?.mailbox ?? null, domain, domain.owner, m.lock);
      this.setDaily(object, m.dailyLimit ?? null, plan?.daily?.mailbox ?? null);
      this.setRecipients(object, m.recipientLimit ?? null);
      this.mailboxesByAddress.set(m.address.toLowerCase(), object);
    }
  }

  private charged(
    level: Level,
    id: number,
    name: string,
    own: LimitOverride,
    plan: LimitOverride,
    parent: ChargedObject | null,
    owner: ChargedObject['owner'],
    lock: LimitLock | null | undefined,
  ): ChargedObject {
    const object: ChargedObject = {
      level,
      id,
      name,
      counterKey: counterKey(level, id),
      own,
      plan,
      lock: lock ?? null,
      effective: this.effectiveOf(level, own, plan),
      daily: NO_DAILY_LIMIT,
      recipients: NO_DAILY_LIMIT,
      parent,
      owner,
    };
    this.byCounterKey.set(object.counterKey, object);
    return object;
  }

  /** The objects a message from this mailbox (or domain) is charged to, innermost first. */
  chainFrom(object: ChargedObject): ChargedObject[] {
    const chain: ChargedObject[] = [];
    for (let o: ChargedObject | null = object; o; o = o.parent) chain.push(o);
    return chain;
  }

  find(level: Level, name: string): ChargedObject | undefined {
    const key = name.toLowerCase();
    return level === 'mailbox' ? this.mailboxesByAddress.get(key) : level === 'domain' ? this.domainsByName.get(key) : this.subscriptionsByName.get(key);
  }

  objectsOf(level: Level): IterableIterator<ChargedObject> {
    return (level === 'mailbox' ? this.mailboxesByAddress : level === 'domain' ? this.domainsByName : this.subscriptionsByName).values();
  }

  private sorted: Partial<Record<Level, ChargedObject[]>> = {};
  private haystacks: Partial<Record<Level, { text: string; starts: Int32Array }>> = {};
  private readonly recentSearches = new Map<string, readonly ChargedObject[]>();

  /** Objects of a level in name order; computed once per index, since lists page through it often. */
  sortedByName(level: Level): readonly ChargedObject[] {
    return (this.sorted[level] ??= [...this.objectsOf(level)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  }

  /**
   * Objects of a level whose name contains `term`, in name order. All names of a level are kept joined in one
   * string, so a search is a run of indexOf over contiguous memory instead of a visit to 100,000 objects.
   */
  searchByName(level: Level, term: string): readonly ChargedObject[] {
    // People page through and re-sort the results of one search: keep the last few answers.
    const cacheKey = `${level}\n${term}`;
    const cached = this.recentSearches.get(cacheKey);
    if (cached) return cached;
    const found = this.scanNames(level, term);
    if (this.recentSearches.size >= RECENT_SEARCHES) this.recentSearches.delete(this.recentSearches.keys().next().value ?? '');
    this.recentSearches.set(cacheKey, found);
    return found;
  }

  private scanNames(level: Level, term: string): ChargedObject[] {
    const objects = this.sortedByName(level);
    const haystack = (this.haystacks[level] ??= joinNames(objects));
    const found: ChargedObject[] = [];
    const { text, starts } = haystack;
    let row = 0;
    for (let at = text.indexOf(term); at >= 0; ) {
      // Matches come in text order: walk the rows forward instead of searching for each one.
      while ((starts[row + 1] ?? Number.MAX_SAFE_INTEGER) <= at) row++;
      const nextRowStart = starts[row + 1] ?? text.length;
      // A match may not run into the next name (the separator ends each name).
      if (at + term.length <= nextRowStart - 1) {
        const object = objects[row];
        if (object) found.push(object);
      }
      at = text.indexOf(term, nextRowStart);
    }
    return found;
  }

  /**
   * Changes one object's own limit in place: the per-message path sees it at once, without a rebuild of
   * the whole index (which takes a noticeable moment with 100,000 mailboxes).
   */
  setOwnLimit(object: ChargedObject, own: LimitOverride): void {
    object.own = own;
    object.effective = this.effectiveOf(object.level, own, object.plan);
  }

  /** Changes one object's own daily limit in place, as setOwnLimit does for the hourly one. */
  setOwnDailyLimit(object: ChargedObject, own: LimitOverride): void {
    this.setDaily(object, own, object.daily.plan);
  }

  private setDaily(object: ChargedObject, own: LimitOverride, plan: LimitOverride): void {
    // Most objects have no daily value of their own and share one frozen view per level.
    object.daily = own === null && plan === null ? this.defaultDailyOf(object.level) : { own, plan, effective: effectiveLimit(own, plan, this.settings.dailyDefaults[object.level]) };
  }

  private defaultDaily: Partial<Record<Level, WindowLimits>> = {};

  private defaultDailyOf(level: Level): WindowLimits {
    return (this.defaultDaily[level] ??= Object.freeze({ own: null, plan: null, effective: Object.freeze(effectiveLimit(null, null, this.settings.dailyDefaults[level])) }));
  }

  /** Changes one object's own maximum of recipients per message in place, as setOwnLimit does for the limit. */
  setOwnRecipientLimit(object: ChargedObject, own: LimitOverride): void {
    this.setRecipients(object, own);
  }

  private setRecipients(object: ChargedObject, own: LimitOverride): void {
    // As with daily values: objects without their own maximum share one frozen view per level.
    object.recipients = own === null ? this.defaultRecipientsOf(object.level) : { own, plan: null, effective: effectiveLimit(own, null, this.settings.recipientDefaults[object.level]) };
  }

  private defaultRecipients: Partial<Record<Level, WindowLimits>> = {};

  private defaultRecipientsOf(level: Level): WindowLimits {
    return (this.defaultRecipients[level] ??= Object.freeze({ own: null, plan: null, effective: Object.freeze(effectiveLimit(null, null, this.settings.recipientDefaults[level])) }));
  }

  /** Sets or removes an object's temporary exemption in place, as setOwnLimit does for its value. */
  setExemption(object: ChargedObject, exemption: Exemption | null): void {
    object.exemption = exemption;
  }

  /** Changes who holds the lock on an object's own value, in place, as setOwnLimit does for the value. */
  setLock(object: ChargedObject, lock: LimitLock | null): void {
    object.lock = lock;
  }

  /** New server defaults: every object's effective limit is resolved again, in place. */
  applySettings(settings: ServerSettings): void {
    this.settings = settings;
    this.defaultEffective = {};
    this.defaultDaily = {};
    this.defaultRecipients = {};
    for (const object of this.byCounterKey.values()) {
      object.effective = this.effectiveOf(object.level, object.own, object.plan);
      this.setDaily(object, object.daily.own, object.daily.plan);
      this.setRecipients(object, object.recipients.own);
    }
  }

  /** Most objects follow the default: they share one (immutable) EffectiveLimit per level. */
  private defaultEffective: Partial<Record<Level, EffectiveLimit>> = {};

  private effectiveOf(level: Level, own: LimitOverride, plan: LimitOverride): EffectiveLimit {
    if (own !== null || plan !== null) return effectiveLimit(own, plan, this.settings.defaults[level]);
    return (this.defaultEffective[level] ??= Object.freeze(effectiveLimit(null, null, this.settings.defaults[level])));
  }
}

/** The domain part of an address, lower-cased; empty for an address without one (e.g. the null sender). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

/** Placeholder until the index sets an object's daily values (right after it is made). */
const NO_DAILY_LIMIT: WindowLimits = Object.freeze({ own: null, plan: null, effective: Object.freeze({ limit: 'unlimited' as const, source: 'default' as const }) });

const SEPARATOR = '\n';
/** Search answers kept per index; names only change with a new index, so they never go stale. */
const RECENT_SEARCHES = 16;

function joinNames(objects: readonly ChargedObject[]): { text: string; starts: Int32Array } {
  const starts = new Int32Array(objects.length + 1);
  let offset = 0;
  objects.forEach((object, i) => {
    starts[i] = offset;
    offset += object.name.length + SEPARATOR.length;
  });
  starts[objects.length] = offset;
  return { text: objects.map((o) => o.name).join(SEPARATOR) + SEPARATOR, starts };
}
