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
