import { LEVELS, parseLimit, type Limit } from '../core/limits.js';
import {
  INITIAL_SETTINGS,
  NOTIFY_PERIODS,
  OVER_LIMIT_ACTIONS,
  type CountingUnit,
  type NotificationSettings,
  type NotifyPeriod,
  type OverLimitAction,
  type ServerSettings,
} from '../core/settings.js';
import { MAX_EARLY_WARNING_PERCENT } from '../core/early-warning.js';
import { switchesForMode, type LimitsMode } from '../core/monitor-mode.js';
import { readRecipientDefaults } from '../core/recipient-limits.js';
import { ANOMALY_SIGNALS, MAX_ANOMALY_THRESHOLD, type AnomalySettings, type SignalSetting } from '../core/anomalies.js';
import { bumpRevision, type Db } from './database.js';

const COUNTING_UNITS: readonly CountingUnit[] = ['messages', 'recipients'];

/** Server settings, one row per key with a JSON value; keys absent from the table take INITIAL_SETTINGS. */
export function readSettings(db: Db): ServerSettings {
  const rows = db.prepare('SELECT key, value FROM settings').all() as Array<{ key: string; value: string }>;
  const stored = new Map(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
  const defaults = { ...INITIAL_SETTINGS.defaults };
  for (const level of LEVELS) {
    const parsed = parseLimit(stored.get(`${level}Limit`) ?? defaults[level], { allowDefault: false });
    if (parsed.ok && parsed.value !== null) defaults[level] = parsed.value;
  }
  const dailyDefaults = { ...INITIAL_SETTINGS.dailyDefaults };
  for (const level of LEVELS) {
    const parsed = parseLimit(stored.get(`${level}DailyLimit`) ?? dailyDefaults[level], { allowDefault: false });
    if (parsed.ok && parsed.value !== null) dailyDefaults[level] = parsed.value;
  }
  const enabled = stored.get('enabled');
  const monitorOnly = stored.get('monitorOnly');
  const earlyWarningPercent = stored.get('earlyWarningPercent');
  const unit = stored.get('countingUnit');
  const customersMay = stored.get('customersMayChangeLimits');
  const action = stored.get('overLimitAction');
  return {
    enabled: typeof enabled === 'boolean' ? enabled : INITIAL_SETTINGS.enabled,
    monitorOnly: typeof monitorOnly === 'boolean' ? monitorOnly : INITIAL_SETTINGS.monitorOnly,
    earlyWarningPercent: isEarlyWarningPercent(earlyWarningPercent) ? earlyWarningPercent : INITIAL_SETTINGS.earlyWarningPercent,
    defaults,
    dailyDefaults,
    recipientDefaults: readRecipientDefaults((level) => stored.get(`${level}RecipientLimit`)),
    countingUnit: COUNTING_UNITS.includes(unit as CountingUnit) ? (unit as CountingUnit) : INITIAL_SETTINGS.countingUnit,
    customersMayChangeLimits: typeof customersMay === 'boolean' ? customersMay : INITIAL_SETTINGS.customersMayChangeLimits,
    overLimitAction: OVER_LIMIT_ACTIONS.includes(action as OverLimitAction) ? (action as OverLimitAction) : INITIAL_SETTINGS.overLimitAction,
    notifications: readNotifications(stored.get('notifications')),
    anomalies: readAnomalies(stored.get('anomalies')),
  };
}

/** Stored as one JSON object; each signal and field falls back to its initial value on its own. */
function readAnomalies(stored: unknown): AnomalySettings {
  const value = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
  const anomalies = { ...INITIAL_SETTINGS.anomalies };
  for (const signal of ANOMALY_SIGNALS) {
    const initial = anomalies[signal];
    const given = (typeof value[signal] === 'object' && value[signal] !== null ? value[signal] : {}) as Record<string, unknown>;
    const threshold = given.threshold;
    anomalies[signal] = {
      threshold: threshold === null ? null : Number.isInteger(threshold) && (threshold as number) >= 0 && (threshold as number) <= MAX_ANOMALY_THRESHOLD ? (threshold as number) : initial.threshold,
      autoCompromise: typeof given.autoCompromise === 'boolean' ? given.autoCompromise : initial.autoCompromise,
    };
  }
  return anomalies;
}

/** Stored as one JSON object; each field falls back to its initial value on its own. */
function readNotifications(stored: unknown): NotificationSettings {
  const initial = INITIAL_SETTINGS.notifications;
  const value = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
  const text = (v: unknown, fallback: string | null) => (typeof v === 'string' && v !== '' ? v : v === null ? null : fallback);
  const flag = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);
  return {
    adminAddress: text(value.adminAddress, initial.adminAddress),
    notifyReseller: flag(value.notifyReseller, initial.notifyReseller),
    notifyCustomer: flag(value.notifyCustomer, initial.notifyCustomer),
    period: NOTIFY_PERIODS.includes(value.period as NotifyPeriod) ? (value.period as NotifyPeriod) : initial.period,
    webhookUrl: text(value.webhookUrl, initial.webhookUrl),
    screenUrl: text(value.screenUrl, initial.screenUrl),
  };
}

function isEarlyWarningPercent(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_EARLY_WARNING_PERCENT;
}

export interface SettingsChange {
  enabled?: boolean;
  /** Sets enabled and monitorOnly together; given with `enabled`, the API refuses the pair. */
  mode?: LimitsMode;
  earlyWarningPercent?: number;
  defaults?: Partial<Record<(typeof LEVELS)[number], Limit>>;
  dailyDefaults?: Partial<Record<(typeof LEVELS)[number], Limit>>;
  recipientDefaults?: Partial<Record<(typeof LEVELS)[number], Limit>>;
  countingUnit?: CountingUnit;
  customersMayChangeLimits?: boolean;
  overLimitAction?: OverLimitAction;
  /** Only the fields given change. */
  notifications?: Partial<NotificationSettings>;
  /** Only the signals and fields given change. */
  anomalies?: Partial<Record<(typeof ANOMALY_SIGNALS)[number], Partial<SignalSetting>>>;
}

/** Applies a validated change in one transaction and returns the settings as they are afterwards. */
export function updateSettings(db: Db, change: SettingsChange): ServerSettings {
  const put = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  db.transaction(() => {
    if (change.mode !== undefined) {
      const switches = switchesForMode(change.mode);
      put.run('enabled', JSON.stringify(switches.enabled));
      put.run('monitorOnly', JSON.stringify(switches.monitorOnly));
    } else if (change.enabled !== undefined) {
      // The old switch alone (Plesk, older clients): off clears monitoring, as mode "off" does; on keeps a monitoring "on".
      put.run('enabled', JSON.stringify(change.enabled));
      if (!change.enabled) put.run('monitorOnly', JSON.stringify(false));
    }
    if (change.earlyWarningPercent !== undefined) put.run('earlyWarningPercent', JSON.stringify(change.earlyWarningPercent));
    if (change.countingUnit !== undefined) put.run('countingUnit', JSON.stringify(change.countingUnit));
    if (change.customersMayChangeLimits !== undefined) put.run('customersMayChangeLimits', JSON.stringify(change.customersMayChangeLimits));
    if (change.overLimitAction !== undefined) put.run('overLimitAction', JSON.stringify(change.overLimitAction));
    if (change.notifications !== undefined) {
      const given = Object.fromEntries(Object.entries(change.notifications).filter(([, value]) => value !== undefined));
      put.run('notifications', JSON.stringify({ ...readSettings(db).notifications, ...given }));
    }
    if (change.anomalies !== undefined) {
      const anomalies = { ...readSettings(db).anomalies };
      for (const signal of ANOMALY_SIGNALS) {
        const given = Object.fromEntries(Object.entries(change.anomalies[signal] ?? {}).filter(([, value]) => value !== undefined));
        anomalies[signal] = { ...anomalies[signal], ...given };
      }
      put.run('anomalies', JSON.stringify(anomalies));
    }
    for (const level of LEVELS) {
      const value = change.defaults?.[level];
      if (value !== undefined) put.run(`${level}Limit`, JSON.stringify(value));
      const daily = change.dailyDefaults?.[level];
      if (daily !== undefined) put.run(`${level}DailyLimit`, JSON.stringify(daily));
      const recipients = change.recipientDefaults?.[level];
      if (recipients !== undefined) put.run(`${level}RecipientLimit`, JSON.stringify(recipients));
    }
    bumpRevision(db, 'settings');
  }).immediate();
  return readSettings(db);
}
