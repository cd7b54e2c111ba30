import type { Limit, ObjectRow } from '../api/types';
import type { TextParams } from '../app/text';

type Text = (key: string, params?: TextParams) => string;

export function limitText(text: Text, limit: Limit): string {
  return limit === 'unlimited' ? text('limit.unlimited') : text('limit.perHour', { value: limit });
}

const SOURCE_KEY: Record<ObjectRow['limitSource'], string> = { own: 'limit.ownSuffix', plan: 'limit.planSuffix', default: 'limit.defaultSuffix' };

/** "100 per hour (own value)", "From the service plan (20 per hour)" or "Unlimited (server default)". */
export function effectiveLimitText(text: Text, row: ObjectRow): string {
  return text(SOURCE_KEY[row.limitSource], { value: limitText(text, row.effectiveLimit) });
}

/**
 * "37 of 100 this hour, frees in 14 min": minutes rounded up, so "frees in 0 min" never shows while still blocked.
 * Usage above the limit says why, as the API gives it: "4 of 3 this hour (released by an administrator beyond the limit)".
 */
export function usageText(text: Text, row: ObjectRow): string {
  const plain = plainUsageText(text, row);
  const hour = row.overLimitCause === null ? plain : text('rowState.usageWhy', { usage: plain, why: text(`rowState.overLimit.${row.overLimitCause}`) });
  // The last 24 hours are shown only where a daily limit applies: "3 of 5 this hour · 3 of 3 today, frees in 23 h 30 min".
  return row.daily.effectiveLimit === 'unlimited' ? hour : text('daily.usageWith', { hour, day: dailyUsageText(text, row.daily) });
}

function dailyUsageText(text: Text, daily: ObjectRow['daily']): string {
  if (daily.blocked && daily.freesInSeconds !== null && daily.used > 0) {
    const minutes = Math.max(1, Math.ceil(daily.freesInSeconds / 60));
    return text('daily.usageFrees', { used: daily.used, limit: daily.effectiveLimit, hours: Math.floor(minutes / 60), minutes: minutes % 60 });
  }
  return text('daily.usage', { used: daily.used, limit: daily.effectiveLimit });
}

function plainUsageText(text: Text, row: ObjectRow): string {
  if (row.effectiveLimit === 'unlimited') return text('limit.usageUnlimited', { used: row.used });
  if (row.freesInSeconds !== null && row.used > 0) {
    return text('limit.usageFrees', { used: row.used, limit: row.effectiveLimit, minutes: Math.max(1, Math.ceil(row.freesInSeconds / 60)) });
  }
  return text('limit.usage', { used: row.used, limit: row.effectiveLimit });
}
