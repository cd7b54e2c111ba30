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
  const usage = plainUsageText(text, row);
  return row.overLimitCause === null ? usage : text('rowState.usageWhy', { usage, why: text(`rowState.overLimit.${row.overLimitCause}`) });
}

function plainUsageText(text: Text, row: ObjectRow): string {
  if (row.effectiveLimit === 'unlimited') return text('limit.usageUnlimited', { used: row.used });
  if (row.freesInSeconds !== null && row.used > 0) {
    return text('limit.usageFrees', { used: row.used, limit: row.effectiveLimit, minutes: Math.max(1, Math.ceil(row.freesInSeconds / 60)) });
  }
  return text('limit.usage', { used: row.used, limit: row.effectiveLimit });
}
