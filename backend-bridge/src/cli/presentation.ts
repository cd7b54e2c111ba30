import { formatWait } from '../core/decision.js';
import type { Limit, LimitSource } from '../core/limits.js';
import type { ServerSettings } from '../core/settings.js';
import type { UsageRow } from '../core/usage.js';

/** How the command prints things for people; --json prints the same data unformatted. */

export function describeLimit(limit: Limit, unit: string): string {
  return limit === 'unlimited' ? 'Unlimited' : `${limit} ${unit} per hour`;
}

export function describeSettings(settings: ServerSettings): string {
  const unit = settings.countingUnit;
  return [
    `Limitations on outgoing email messages: ${settings.enabled ? 'on' : 'off'}`,
    `Default limit on outgoing messages from a mailbox:      ${describeLimit(settings.defaults.mailbox, unit)}`,
    `Default limit on outgoing messages from a domain:       ${describeLimit(settings.defaults.domain, unit)}`,
    `Default limit on outgoing messages from a subscription: ${describeLimit(settings.defaults.subscription, unit)}`,
    `Counting unit: ${unit}`,
    `Over the limit: ${settings.overLimitAction === 'hold' ? 'hold (released automatically when the window frees)' : 'defer (450 4.7.1, the client retries)'}`,
    `Notify the administrator at: ${settings.notifications.adminAddress ?? 'nobody'}`,
    `Notify resellers: ${settings.notifications.notifyReseller ? 'yes' : 'no'}; customers: ${settings.notifications.notifyCustomer ? 'yes' : 'no'}`,
    `At most one notification per object every: ${settings.notifications.period}`,
    `Webhook: ${settings.notifications.webhookUrl ?? 'none'}`,
  ].join('\n');
}

export function usageTable(rows: readonly UsageRow[]): string {
  if (rows.length === 0) return 'No messages sent in the last hour.';
  const table = [['LEVEL', 'NAME', 'USED', 'LIMIT', 'FROM', 'STATUS', 'FREES IN']];
  const SOURCE_TEXT: Record<LimitSource, string> = { own: 'own value', plan: 'service plan', default: 'server default' };
  for (const row of rows) {
    table.push([
      row.level,
      row.name,
      String(row.used),
      row.limit === 'unlimited' ? 'Unlimited' : String(row.limit),
      SOURCE_TEXT[row.source],
      row.blocked ? 'Not sending' : 'Sending',
      row.freesInSeconds === null ? '-' : formatWait(row.freesInSeconds),
    ]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table.map((line) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}
