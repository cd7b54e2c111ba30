import { DEFAULT_EARLY_WARNING_PERCENT } from './early-warning.js';
import { INITIAL_ANOMALY_SETTINGS, type AnomalySettings } from './anomalies.js';
import type { Level, Limit } from './limits.js';
import { UNLIMITED_RECIPIENTS } from './recipient-limits.js';

/** What one message costs: one per message, or one per recipient. */
export type CountingUnit = 'messages' | 'recipients';

/**
 * What happens to a message over its limit. "hold": Postfix accepts it into its hold queue and it is released
 * automatically once the window has budget again. "defer": the client gets 450 4.7.1 and retries on its own.
 * Neither loses the message; Plesk's own feature rejects it permanently.
 */
export const OVER_LIMIT_ACTIONS = ['hold', 'defer'] as const;
export type OverLimitAction = (typeof OVER_LIMIT_ACTIONS)[number];

/** How often at most one object causes a notification. */
export const NOTIFY_PERIODS = ['15m', '1h', '6h', '12h', '1d'] as const;
export type NotifyPeriod = (typeof NOTIFY_PERIODS)[number];
export const NOTIFY_PERIOD_SECONDS: Record<NotifyPeriod, number> = { '15m': 900, '1h': 3600, '6h': 21_600, '12h': 43_200, '1d': 86_400 };

export interface NotificationSettings {
  /** Where the administrator's notifications go; null sends none to the administrator. */
  adminAddress: string | null;
  /** Also mail the reseller / the owning customer (at the address recorded for their login). */
  notifyReseller: boolean;
  notifyCustomer: boolean;
  period: NotifyPeriod;
  /** Optional JSON POST of every notification. */
  webhookUrl: string | null;
  /** Base address of the "Held messages" screen, for the link in notifications; null: the Plesk module's address. */
  screenUrl: string | null;
}

export interface ServerSettings {
  /** "Switch on limitations on outgoing email messages". When off, mail passes but is still counted. */
  enabled: boolean;
  /**
   * With `enabled`: count and decide as if enforced, record what would have happened, hold or defer nothing
   * (see core/monitor-mode.ts for why it is a second flag and not a new value of `enabled`).
   */
  monitorOnly: boolean;
  /** Notify when an object passes this share of a limit, in percent (1-99); 0: no early warnings. */
  earlyWarningPercent: number;
  defaults: Record<Level, Limit>;
  /** Server defaults of the daily (rolling 24 hours) limits; unlimited unless the administrator sets one. */
  dailyDefaults: Record<Level, Limit>;
  /** Server defaults of the maximum number of recipients of one message; unlimited unless the administrator sets one. */
  recipientDefaults: Record<Level, Limit>;
  countingUnit: CountingUnit;
  /** Whether customers may set the limits of their own domains and mailboxes (below their parent's). */
  customersMayChangeLimits: boolean;
  overLimitAction: OverLimitAction;
  notifications: NotificationSettings;
  /** Unusual sending (core/anomalies.ts): per signal its threshold (null: off) and whether it marks compromised. */
  anomalies: AnomalySettings;
}

export const INITIAL_NOTIFICATIONS: NotificationSettings = {
  adminAddress: null,
  notifyReseller: false,
  notifyCustomer: false,
  period: '1h',
  webhookUrl: null,
  screenUrl: null,
};

export const UNLIMITED_DAILY: Readonly<Record<Level, Limit>> = Object.freeze({ mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' });

export const INITIAL_SETTINGS: ServerSettings = {
  enabled: true,
  monitorOnly: false,
  earlyWarningPercent: DEFAULT_EARLY_WARNING_PERCENT,
  defaults: { mailbox: 100, domain: 1000, subscription: 5000 },
  dailyDefaults: UNLIMITED_DAILY,
  recipientDefaults: UNLIMITED_RECIPIENTS,
  countingUnit: 'messages',
  customersMayChangeLimits: true,
  overLimitAction: 'hold',
  notifications: INITIAL_NOTIFICATIONS,
  anomalies: INITIAL_ANOMALY_SETTINGS,
};

/** The budget one message uses: at least 1, so a request without a recipient count still counts. */
export function messageWeight(unit: CountingUnit, recipientCount: number): number {
  if (unit === 'messages') return 1;
  return Number.isInteger(recipientCount) && recipientCount > 0 ? recipientCount : 1;
}
