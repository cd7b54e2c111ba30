/** The bridge API's JSON shapes as the screens use them (see the README, "The bridge API"). */

export type Level = 'subscription' | 'domain' | 'mailbox';
export type Role = 'admin' | 'reseller' | 'customer';
export type Limit = number | 'unlimited';
export type OwnLimit = Limit | 'default';

export interface Ceiling {
  max: number;
  reason: string;
}

export interface ObjectRow {
  level: Level;
  name: string;
  domain: string | null;
  subscription: string;
  ownLimit: OwnLimit;
  effectiveLimit: Limit;
  limitSource: 'own' | 'plan' | 'default';
  defaultLimit: Limit;
  ceiling: Ceiling | null;
  /** Whether this user may change the limit at all (the API still decides each value). */
  mayChangeLimit: boolean;
  used: number;
  blocked: boolean;
  freesInSeconds: number | null;
}

export interface ObjectPage {
  items: ObjectRow[];
  total: number;
  page: number;
  pageSize: number;
}

export interface ListQuery {
  search?: string;
  subscription?: string;
  domain?: string;
  blocked?: boolean;
  sort?: 'name' | 'used' | 'limit';
  order?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface ServerSettings {
  enabled: boolean;
  defaults: Record<Level, Limit>;
  countingUnit: 'messages' | 'recipients';
  customersMayChangeLimits: boolean;
  overLimitAction: OverLimitAction;
  notifications: NotificationSettings;
}

/** What happens to a message over its limit: held in Postfix's hold queue (the default) or deferred (450 4.7.1). */
export type OverLimitAction = 'hold' | 'defer';
export type NotifyPeriod = '15m' | '1h' | '6h' | '12h' | '1d';

export interface NotificationSettings {
  adminAddress: string | null;
  notifyReseller: boolean;
  notifyCustomer: boolean;
  period: NotifyPeriod;
  webhookUrl: string | null;
  screenUrl: string | null;
}

export interface OverLimitEvent {
  atMs: number;
  level: Level;
  objectId: number;
  objectName: string;
  sender: string | null;
  saslUsername: string | null;
  recipientCount: number;
  queueId: string | null;
  clientAddress: string | null;
  action: string;
  reason: string;
}

export interface StatsBucket {
  start: string;
  sent: number;
  blocked: number;
}

export interface Stats {
  level: Level | null;
  name: string | null;
  buckets: StatsBucket[];
}

export interface SessionInfo {
  login: string;
  role: Role;
  csrfToken: string | null;
}

export const COLLECTION: Record<Level, string> = { subscription: 'subscriptions', domain: 'domains', mailbox: 'mailboxes' };

export type HeldStatus = 'held' | 'released' | 'deleted' | 'gone';

/** A message a limit put into Postfix's hold queue (GET /held). */
export interface HeldMessage {
  id: number;
  queueId: string;
  heldAtMs: number;
  source: 'smtpd' | 'milter' | 'compromised';
  sender: string | null;
  saslUsername: string | null;
  chargedLevel: Level | null;
  chargedName: string | null;
  trippedLevel: Level;
  trippedName: string;
  recipientCount: number;
  recipients: string[] | null;
  reason: string;
  status: HeldStatus;
  resolvedAtMs: number | null;
  resolvedBy: string | null;
  /** What this user may do with it while it is held (the API still decides); for customers, per subscription. */
  mayRelease: boolean;
  mayDelete: boolean;
  /** Mark the mailbox it counts against as compromised; false when it counts against no mailbox. */
  mayMarkCompromised: boolean;
}

export interface HeldQuery {
  status?: HeldStatus | 'all';
  name?: string;
  limit?: number;
}

/** A mailbox marked compromised (GET /compromised): what a restore brings back. */
export interface CompromisedMailbox {
  address: string;
  previousLimit: OwnLimit;
  markedAtMs: number;
  markedBy: string;
  /** Whether this user may restore it (change that mailbox's limit). */
  mayRestore: boolean;
}
