import { MAX_EARLY_WARNING_PERCENT } from '../core/early-warning.js';
import { LIMITS_MODES, type LimitsMode } from '../core/monitor-mode.js';
import { MAX_ANOMALY_THRESHOLD } from '../core/anomalies.js';
import { InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { LEVELS, parseLimit, type Level, type Limit, type LimitOverride } from '../core/limits.js';
import { parseRecipientLimit } from '../core/recipient-limits.js';
import { NOTIFY_PERIODS, OVER_LIMIT_ACTIONS, type CountingUnit, type NotifyPeriod, type OverLimitAction } from '../core/settings.js';
import { ADDRESS } from '../core/directory-file.js';
import { parseListenAddress, type ListenAddress } from '../postfix/listen-address.js';
import { ClusterUrlError, clusterRedisOptions } from '../cluster/cluster-url.js';
import { nodeNameProblem } from '../core/cluster-nodes.js';

/** Parsers for command-line values: each throws InvalidArgumentError with the text the user sees. */

export function hostPort(raw: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/.exec(raw.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || !match[1] || port > 65535) throw new InvalidArgumentError(`expected HOST:PORT such as 127.0.0.1:10040, got "${raw}"`);
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** `unix:/ABS/PATH` or `HOST:PORT`: where the policy service or the milter listens. */
export function listenAddress(raw: string): ListenAddress {
  const parsed = parseListenAddress(raw);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.value;
}

export function onOff(raw: string): boolean {
  if (raw === 'on' || raw === 'true' || raw === 'yes') return true;
  if (raw === 'off' || raw === 'false' || raw === 'no') return false;
  throw new InvalidArgumentError(`expected on or off, got "${raw}"`);
}

export function serverLimit(raw: string): Limit {
  const parsed = parseLimit(raw, { allowDefault: false });
  if (!parsed.ok || parsed.value === null) throw new InvalidArgumentError(parsed.ok ? 'expected a limit' : parsed.error);
  return parsed.value;
}

/** A server default of the maximum recipients per message: 1 or more, or "unlimited". */
export function serverRecipientLimit(raw: string): Limit {
  const parsed = parseRecipientLimit(raw, { allowDefault: false });
  if (!parsed.ok || parsed.value === null) throw new InvalidArgumentError(parsed.ok ? 'expected a maximum of recipients' : parsed.error);
  return parsed.value;
}

export function objectLimit(raw: string): LimitOverride {
  const parsed = parseLimit(raw, { allowDefault: true });
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.value;
}

export function level(raw: string): Level {
  if ((LEVELS as readonly string[]).includes(raw)) return raw as Level;
  throw new InvalidArgumentError(`expected one of ${LEVELS.join(', ')}, got "${raw}"`);
}

export function countingUnit(raw: string): CountingUnit {
  if (raw === 'messages' || raw === 'recipients') return raw;
  throw new InvalidArgumentError(`expected messages or recipients, got "${raw}"`);
}

/** A group name (looked up with getent, so NSS groups work too) or a numeric id. */
export function groupId(raw: string): number {
  const name = raw.trim();
  if (/^\d{1,10}$/.test(name)) return Number(name);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new InvalidArgumentError(`expected a group name or id, got "${raw}"`);
  let entry = '';
  try {
    entry = execFileSync('getent', ['group', name], { encoding: 'utf8' });
  } catch {
    throw new InvalidArgumentError(`there is no group "${name}" on this system`);
  }
  const gid = Number(entry.split(':')[2]);
  if (!Number.isInteger(gid)) throw new InvalidArgumentError(`cannot read the id of group "${name}"`);
  return gid;
}

export function overLimitAction(raw: string): OverLimitAction {
  if ((OVER_LIMIT_ACTIONS as readonly string[]).includes(raw)) return raw as OverLimitAction;
  throw new InvalidArgumentError(`expected hold or defer, got "${raw}"`);
}

export function notifyPeriod(raw: string): NotifyPeriod {
  if ((NOTIFY_PERIODS as readonly string[]).includes(raw)) return raw as NotifyPeriod;
  throw new InvalidArgumentError(`expected one of ${NOTIFY_PERIODS.join(', ')}, got "${raw}"`);
}

/** "none" switches the setting off: '' (commander keeps no null from a parser), read back with `|| null`. */
export function addressOrNone(raw: string): string {
  if (raw === 'none') return '';
  if (ADDRESS.test(raw)) return raw;
  throw new InvalidArgumentError(`expected an email address such as admin@example.com, or none; got "${raw}"`);
}

export function urlOrNone(raw: string): string {
  if (raw === 'none') return '';
  if (/^https?:\/\/[^\s/]+/i.test(raw) && URL.canParse(raw)) return raw;
  throw new InvalidArgumentError(`expected an http:// or https:// address, or none; got "${raw}"`);
}

export function limitsMode(raw: string): LimitsMode {
  if ((LIMITS_MODES as readonly string[]).includes(raw)) return raw as LimitsMode;
  throw new InvalidArgumentError(`expected enforce, monitor or off, got "${raw}"`);
}

/** A share of a limit in whole percent, 1 to 99; "off" (or 0) for no early warnings. */
export function earlyWarningPercent(raw: string): number {
  if (raw === 'off' || raw === '0') return 0;
  const percent = Number(raw.endsWith('%') ? raw.slice(0, -1) : raw);
  if (Number.isInteger(percent) && percent >= 1 && percent <= MAX_EARLY_WARNING_PERCENT) return percent;
  throw new InvalidArgumentError(`expected a whole number of percent from 1 to ${MAX_EARLY_WARNING_PERCENT}, or off, got "${raw}"`);
}

/**
 * An anomaly threshold: a whole number from 1, or "off" to switch the signal off. "off" stays a word here:
 * commander turns a null from a parser into an empty string.
 */
export function anomalyThreshold(raw: string): number | 'off' {
  if (raw === 'off') return 'off';
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > MAX_ANOMALY_THRESHOLD) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_ANOMALY_THRESHOLD} or "off", got "${raw}"`);
  return value;
}

/** How far back `anomalies` looks: whole hours up to the 31 days anomalies are kept. */
export function anomalyHours(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 744) throw new InvalidArgumentError(`expected a whole number of hours from 1 to 744, got "${raw}"`);
  return value;
}

/** `--cluster`: checked whole before the daemon starts; the error never repeats a password. */
export function clusterUrl(raw: string): string {
  try {
    clusterRedisOptions(raw);
  } catch (error) {
    if (error instanceof ClusterUrlError) throw new InvalidArgumentError(error.message);
    throw error;
  }
  return raw;
}

/** `--node-name`: how the other nodes and `cluster status` name this one. */
export function nodeName(raw: string): string {
  const problem = nodeNameProblem(raw);
  if (problem) throw new InvalidArgumentError(problem);
  return raw;
}

/** The node name when `--node-name` is not given: the host's short name. */
export function defaultNodeName(): string {
  return nodeName(os.hostname().split('.')[0] || 'node');
}
