import { LEVELS, parseLimit, type Limit } from '../core/limits.js';
import { INITIAL_SETTINGS, type CountingUnit, type ServerSettings } from '../core/settings.js';
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
  const enabled = stored.get('enabled');
  const unit = stored.get('countingUnit');
  const customersMay = stored.get('customersMayChangeLimits');
  return {
    enabled: typeof enabled === 'boolean' ? enabled : INITIAL_SETTINGS.enabled,
    defaults,
    countingUnit: COUNTING_UNITS.includes(unit as CountingUnit) ? (unit as CountingUnit) : INITIAL_SETTINGS.countingUnit,
    customersMayChangeLimits: typeof customersMay === 'boolean' ? customersMay : INITIAL_SETTINGS.customersMayChangeLimits,
  };
}

export interface SettingsChange {
  enabled?: boolean;
  defaults?: Partial<Record<(typeof LEVELS)[number], Limit>>;
  countingUnit?: CountingUnit;
  customersMayChangeLimits?: boolean;
}

/** Applies a validated change in one transaction and returns the settings as they are afterwards. */
export function updateSettings(db: Db, change: SettingsChange): ServerSettings {
  const put = db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  db.transaction(() => {
    if (change.enabled !== undefined) put.run('enabled', JSON.stringify(change.enabled));
    if (change.countingUnit !== undefined) put.run('countingUnit', JSON.stringify(change.countingUnit));
    if (change.customersMayChangeLimits !== undefined) put.run('customersMayChangeLimits', JSON.stringify(change.customersMayChangeLimits));
    for (const level of LEVELS) {
      const value = change.defaults?.[level];
      if (value !== undefined) put.run(`${level}Limit`, JSON.stringify(value));
    }
    bumpRevision(db, 'settings');
  }).immediate();
  return readSettings(db);
}
