import type { AnomalySettings } from '../core/anomalies.js';
import { formatWait } from '../core/decision.js';
import type { Limit, LimitSource } from '../core/limits.js';
import { limitsMode, type LimitsMode } from '../core/monitor-mode.js';
import type { ServerSettings } from '../core/settings.js';
import type { UsageRow } from '../core/usage.js';

/** How the command prints things for people; --json prints the same data unformatted. */

export function describeLimit(limit: Limit, unit: string): string {
  return limit === 'unlimited' ? 'Unlimited' : `${limit} ${unit} per hour`;
}

const MODE_WORDS: Record<LimitsMode, string> = { enforce: 'on', monitor: 'monitor only (nothing is held or deferred; what would have been is recorded)', off: 'off' };

export function describeSettings(settings: ServerSettings): string {
  const unit = settings.countingUnit;
  return [
    `Limitations on outgoing email messages: ${MODE_WORDS[limitsMode(settings)]}`,
    `Early warning at: ${settings.earlyWarningPercent === 0 ? 'off' : `${settings.earlyWarningPercent} % of a limit`}`,
    `Default limit on outgoing messages from a mailbox:      ${describeLimit(settings.defaults.mailbox, unit)}`,
    `Default limit on outgoing messages from a domain:       ${describeLimit(settings.defaults.domain, unit)}`,
    `Default limit on outgoing messages from a subscription: ${describeLimit(settings.defaults.subscription, unit)}`,
    `Default daily limit from a mailbox:      ${describeDailyLimit(settings.dailyDefaults.mailbox, unit)}`,
    `Default daily limit from a domain:       ${describeDailyLimit(settings.dailyDefaults.domain, unit)}`,
    `Default daily limit from a subscription: ${describeDailyLimit(settings.dailyDefaults.subscription, unit)}`,
    `Most recipients per message from a mailbox:      ${describeRecipientLimit(settings.recipientDefaults.mailbox)}`,
    `Most recipients per message from a domain:       ${describeRecipientLimit(settings.recipientDefaults.domain)}`,
    `Most recipients per message from a subscription: ${describeRecipientLimit(settings.recipientDefaults.subscription)}`,
    `Counting unit: ${unit}`,
    `Over the limit: ${settings.overLimitAction === 'hold' ? 'hold (released automatically when the window frees)' : 'defer (450 4.7.1, the client retries)'}`,
    `Notify the administrator at: ${settings.notifications.adminAddress ?? 'nobody'}`,
    `Notify resellers: ${settings.notifications.notifyReseller ? 'yes' : 'no'}; customers: ${settings.notifications.notifyCustomer ? 'yes' : 'no'}`,
    `At most one notification per object every: ${settings.notifications.period}`,
    `Webhook: ${settings.notifications.webhookUrl ?? 'none'}`,
    ...describeAnomalySettings(settings.anomalies),
  ].join('\n');
}

/** A maximum of recipients per message as the command prints it. */
export function describeRecipientLimit(limit: Limit): string {
  return limit === 'unlimited' ? 'Unlimited' : `${limit} recipients`;
}

/** The "Unusual sending" settings, one line per signal. */
export function describeAnomalySettings(anomalies: AnomalySettings): string[] {
  const auto = (on: boolean) => (on ? '; marks the mailbox compromised automatically' : '');
  const { loginAddresses: logins, recipientDomains: domains, volumeSurge: surge } = anomalies;
  return [
    `Unusual sending, logins from many addresses: ${logins.threshold === null ? 'off' : `more than ${logins.threshold} client addresses of one login in an hour${auto(logins.autoCompromise)}`}`,
    `Unusual sending, many recipient domains: ${domains.threshold === null ? 'off' : `more than ${domains.threshold} recipient domains in an hour${auto(domains.autoCompromise)}`}`,
    `Unusual sending, an hour far above the usual: ${surge.threshold === null ? 'off' : `more than max(20, ${surge.threshold} × the 95th percentile of the last 7 days)${auto(surge.autoCompromise)}`}`,
  ];
}

/** A daily limit (rolling 24 hours) as the command prints it. */
export function describeDailyLimit(limit: Limit, unit: string): string {
  return limit === 'unlimited' ? 'Unlimited' : `${limit} ${unit} per day`;
}

/** When a blocked object sends again: once every full window has room (the later of the two); "-" when never by itself. */
function freesIn(row: UsageRow): string {
  const waits = [row.blocked ? row.freesInSeconds : 0, row.day.blocked ? row.day.freesInSeconds : 0];
  if (!row.blocked && !row.day.blocked) return '-';
  if (waits.some((w) => w === null)) return '-';
  return formatWait(Math.max(...(waits as number[])));
}

export function usageTable(rows: readonly UsageRow[]): string {
  if (rows.length === 0) return 'No messages sent in the last 24 hours.';
  const table = [['LEVEL', 'NAME', 'USED', 'LIMIT', 'FROM', 'TODAY', 'DAILY LIMIT', 'STATUS', 'FREES IN']];
  const SOURCE_TEXT: Record<LimitSource, string> = { own: 'own value', plan: 'service plan', default: 'server default' };
  for (const row of rows) {
    table.push([
      row.level,
      row.name,
      String(row.used),
      row.limit === 'unlimited' ? 'Unlimited' : String(row.limit),
      SOURCE_TEXT[row.source],
      String(row.day.used),
      row.day.limit === 'unlimited' ? 'Unlimited' : String(row.day.limit),
      row.blocked || row.day.blocked ? 'Not sending' : 'Sending',
      freesIn(row),
    ]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table.map((line) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}
