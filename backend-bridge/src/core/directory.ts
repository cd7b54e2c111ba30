import { effectiveLimit, type EffectiveLimit, type Level, type LimitOverride } from './limits.js';
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
}

export interface DomainRecord {
  id: number;
  subscriptionId: number;
  name: string;
  limit: LimitOverride;
}

export interface MailboxRecord {
  id: number;
  domainId: number;
  address: string;
  limit: LimitOverride;
}

export interface DirectoryRecords {
  subscriptions: SubscriptionRecord[];
  domains: DomainRecord[];
  mailboxes: MailboxRecord[];
}

/** One object a message is charged to, with the limit that applies to it now. */
export interface ChargedObject {
  level: Level;
  id: number;
  /** Mailbox address, domain name or subscription name: what people read in answers. */
  name: string;
  /** Number that identifies the object's counter: unique across levels. */
  counterKey: number;
  effective: EffectiveLimit;
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
  readonly domainOfMailbox = new Map<number, ChargedObject>();
  readonly subscriptionOfDomain = new Map<number, ChargedObject>();
  readonly subscriptionsBySystemUser = new Map<string, ChargedObject>();
  readonly byCounterKey = new Map<number, ChargedObject>();

  constructor(records: DirectoryRecords, settings: ServerSettings) {
    const subscriptionsById = new Map<number, ChargedObject>();
    for (const s of records.subscriptions) {
      const object = this.charged('subscription', s.id, s.name, s.limit, settings);
      subscriptionsById.set(s.id, object);
      this.subscriptionsByName.set(s.name.toLowerCase(), object);
      if (s.systemUser) this.subscriptionsBySystemUser.set(s.systemUser, object);
    }
    const domainsById = new Map<number, ChargedObject>();
    for (const d of records.domains) {
      const object = this.charged('domain', d.id, d.name, d.limit, settings);
      domainsById.set(d.id, object);
      this.domainsByName.set(d.name.toLowerCase(), object);
      const subscription = subscriptionsById.get(d.subscriptionId);
      if (subscription) this.subscriptionOfDomain.set(d.id, subscription);
    }
    for (const m of records.mailboxes) {
      const object = this.charged('mailbox', m.id, m.address, m.limit, settings);
      this.mailboxesByAddress.set(m.address.toLowerCase(), object);
      const domain = domainsById.get(m.domainId);
      if (domain) this.domainOfMailbox.set(m.id, domain);
    }
  }

  private charged(level: Level, id: number, name: string, own: LimitOverride, settings: ServerSettings): ChargedObject {
    const object: ChargedObject = {
      level,
      id,
      name,
      counterKey: counterKey(level, id),
      effective: effectiveLimit(own, settings.defaults[level]),
    };
    this.byCounterKey.set(object.counterKey, object);
    return object;
  }

  /** The objects a message from this mailbox is charged to, innermost first. */
  chainForMailbox(mailbox: ChargedObject): ChargedObject[] {
    const domain = this.domainOfMailbox.get(mailbox.id);
    return domain ? [mailbox, ...this.chainForDomain(domain)] : [mailbox];
  }

  chainForDomain(domain: ChargedObject): ChargedObject[] {
    const subscription = this.subscriptionOfDomain.get(domain.id);
    return subscription ? [domain, subscription] : [domain];
  }
}

/** The domain part of an address, lower-cased; empty for an address without one (e.g. the null sender). */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}
