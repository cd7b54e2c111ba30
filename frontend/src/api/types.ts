/**
 * The bridge API's JSON shapes as the screens use them (see the README, "The bridge API"). Shapes the bridge
 * declares are taken from it (type-only: nothing of the bridge is bundled), so the two cannot drift apart.
 */
export type { Role } from '../../../backend-bridge/src/api/identity.js';
export type { Ceiling } from '../../../backend-bridge/src/core/access.js';
export type { Level, Limit } from '../../../backend-bridge/src/core/limits.js';
export type { ObjectPage, ObjectRow } from '../../../backend-bridge/src/core/object-query.js';
export type { NotificationSettings, NotifyPeriod, OverLimitAction, ServerSettings } from '../../../backend-bridge/src/core/settings.js';
export type { HeldStatus } from '../../../backend-bridge/src/store/held-store.js';
export type { HealthLine, HealthLineId, HealthReport, HealthState } from '../../../backend-bridge/src/core/health-check.js';
export type { LimitsState } from '../../../backend-bridge/src/api/routes/object-routes.js';
export type { ClusterAnswer } from '../../../backend-bridge/src/api/routes/cluster-routes.js';
export type { HeldClusterListing } from '../../../backend-bridge/src/api/routes/held-routes.js';
export type { NodeListing } from '../../../backend-bridge/src/core/cluster-nodes.js';
export type { HeldLeaving } from '../../../backend-bridge/src/core/held-release-time.js';
export type { LimitsMode } from '../../../backend-bridge/src/core/monitor-mode.js';
export type { SettingsAnswer } from '../../../backend-bridge/src/api/routes/settings-routes.js';
export type { MonitoringAnswer } from '../../../backend-bridge/src/api/routes/monitor-routes.js';
export type { ExemptionView } from '../../../backend-bridge/src/core/exemptions.js';
export type { AnomalyFigures, AnomalySettings, AnomalySignal, SignalSetting } from '../../../backend-bridge/src/core/anomalies.js';
export type { RowAnomaly } from '../../../backend-bridge/src/core/object-query.js';
export type { RecordedAnomaly } from '../../../backend-bridge/src/store/anomaly-store.js';
/** One row of GET /report: an object that reached a limit in the period. */
export type { ReportRow } from '../../../backend-bridge/src/core/report.js';
import type { HeldLeaving } from '../../../backend-bridge/src/core/held-release-time.js';
import type { Level, Limit } from '../../../backend-bridge/src/core/limits.js';
import type { Role } from '../../../backend-bridge/src/api/identity.js';
import type { HeldStatus } from '../../../backend-bridge/src/store/held-store.js';

export type OwnLimit = Limit | 'default';

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
  /** Set when the message was refused for good (action "reject") for its number of recipients: the maximum. */
  recipientMaximum?: number | null;
}

/** One clock hour of GET /stats: what left at once, what was held, what held mail left, what was deferred. */
export interface StatsBucket {
  start: string;
  /** In the counting unit (messages or recipients), releases not included. */
  sent: number;
  held: number;
  released: number;
  deferred: number;
}

/** The chart's periods: 24 hourly bars, 28 bars of 6 hours, 31 daily bars. */
export type StatsPeriod = '24h' | '7d' | '31d';

export interface Stats {
  level: Level | null;
  name: string | null;
  period: StatsPeriod | null;
  /** How many hours one bar (bucket) holds: 1, 6 or 24. */
  bucketHours: number;
  buckets: StatsBucket[];
}

export interface SessionInfo {
  login: string;
  role: Role;
  csrfToken: string | null;
  /** How the caller came in: through Plesk's PHP layer, a session of the standalone app, or the local socket. */
  via?: 'plesk' | 'session' | 'local';
}

export const COLLECTION: Record<Level, string> = { subscription: 'subscriptions', domain: 'domains', mailbox: 'mailboxes' };

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
  /** Decoded, bounded plain text the sender wrote: shown as text, never as markup. */
  subject: string | null;
  reason: string;
  status: HeldStatus;
  resolvedAtMs: number | null;
  resolvedBy: string | null;
  /** What this user may do with it while it is held (the API still decides); for customers, per subscription. */
  mayRelease: boolean;
  mayDelete: boolean;
  /** Mark the mailbox it counts against as compromised; false when it counts against no mailbox. */
  mayMarkCompromised: boolean;
  /** When it leaves, as of now; null once it is no longer held. */
  leaves: HeldLeaving | null;
  /** Why it was held, as data (the screens word it in the person's language; `reason` is Postfix's English). */
  cause: HoldCause;
  /** In a cluster: the server whose Postfix holds it (absent on a single server). */
  node?: string;
}

/** Why a message is held (the API's core/hold-cause.ts). */
export type HoldCause =
  | { kind: 'limitReached'; level: Level; name: string; limit: number | null; window: 'hour' | 'day' }
  | { kind: 'notAllowed'; level: Level; name: string; limit: 0; window: 'hour' | 'day' }
  | { kind: 'tooManyRecipients'; level: Level; name: string; limit: number; recipients: number; window: 'hour' | 'day' }
  | { kind: 'notEnoughLeft'; level: Level; name: string; limit: number; left: number; recipients: number; window: 'hour' | 'day' }
  | { kind: 'compromised'; level: 'mailbox'; name: string };

export type HeldBulkAction = 'release' | 'delete' | 'compromise';

/** One message of POST /held/bulk: done, or the status and error the single action would have answered. */
export interface HeldBulkResult {
  queueId: string;
  /** In a cluster: the server that holds it. */
  node?: string;
  ok: boolean;
  status?: HeldStatus;
  httpStatus?: number;
  error?: string;
  /** What the refusal is, for the screens' own words (as ApiFailure.code and params). */
  code?: string;
  params?: Record<string, unknown>;
}

/** The most messages one bulk request may name (the API refuses more). */
export const MAX_BULK_HELD = 500;

/** One line of the audit log (GET /audit): who changed what, when, old value → new value. */
export interface AuditEntry {
  id: number;
  atMs: number;
  actorLogin: string;
  actorRole: string;
  action: string;
  level: Level | null;
  objectName: string | null;
  oldValue: unknown;
  newValue: unknown;
}

export interface AuditQuery {
  name?: string;
  actor?: string;
  limit?: number;
  before?: number;
}

export interface HeldQuery {
  status?: HeldStatus | 'all';
  name?: string;
  limit?: number;
  /** In a cluster: one server's held mail only. */
  node?: string;
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

