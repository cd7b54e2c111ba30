import type { Identity, Role } from '../api/identity.js';
import type { ChargedObject } from './directory.js';
import { isLockedFor, isLockingRole, lockRefusal } from './limit-locks.js';
import { MAX_LIMIT, type Level, type Limit, type LimitWindow } from './limits.js';

/**
 * Temporary exemptions: one object's hourly and/or daily limit raised to a value (or lifted) from now until an
 * end time ("the newsletter until tomorrow 18:00"). An exemption is resolved against the clock at every
 * decision, so it ends exactly at its end time even if nothing else happens then; a sweep only records the end
 * and removes the row afterwards.
 */

/** The longest exemption: a month-end campaign fits, a forgotten exemption does not outlive the month. */
export const MAX_EXEMPTION_DAYS = 31;
export const MAX_EXEMPTION_MS = MAX_EXEMPTION_DAYS * 86_400_000;

/** Who set an exemption: like a lock, only the roles below theirs are stopped from replacing or ending it. */
export interface ExemptionSetter {
  login: string;
  role: Role;
}

/** One object's exemption. A window left null keeps its normal limit. */
export interface Exemption {
  hourly: Limit | null;
  daily: Limit | null;
  startsAtMs: number;
  /** Whole seconds (see validateExemption): the exemption applies at every second before this one. */
  endsAtMs: number;
  setBy: ExemptionSetter;
}

/** Whether the exemption still applies at `atSecond` (the clock of the decision, in whole seconds). */
export function exemptionActive(exemption: Exemption | null | undefined, atSecond: number): exemption is Exemption {
  return exemption !== null && exemption !== undefined && atSecond * 1000 < exemption.endsAtMs;
}

/**
 * The limit of one window with an exemption: the more generous of the normal limit and the raised value, so an
 * exemption never lowers a limit (the normal one may have been raised meanwhile). A limit of 0 is a block (a
 * mailbox marked compromised, a prohibited sender), not a rate: no exemption lifts it.
 */
export function limitWithExemption(normal: Limit, exemption: Exemption | null | undefined, window: LimitWindow, atSecond: number): Limit {
  if (!exemptionActive(exemption, atSecond)) return normal;
  const raised = window === 'hour' ? exemption.hourly : exemption.daily;
  if (raised === null || normal === 0 || normal === 'unlimited') return normal;
  if (raised === 'unlimited') return 'unlimited';
  return Math.max(normal, raised);
}

/**
 * Reads an end time as people write it: an ISO 8601 date-time with a zone ("2026-12-05T18:00:00Z",
 * "2026-12-05T18:00+01:00"), or a span from now: "+6h", "+90m", "+2d" (also "+1h30m"). A date-time without a
 * zone is refused: on a server the zone would be a guess.
 */
export function parseExemptionEnd(raw: string, nowMs: number): { ok: true; endsAtMs: number } | { ok: false; error: string } {
  const text = raw.trim();
  const span = /^\+(?:(\d{1,3})d)?(?:(\d{1,4})h)?(?:(\d{1,6})m)?$/.exec(text);
  if (span && text !== '+') {
    const [days, hours, minutes] = [span[1], span[2], span[3]].map((part) => (part === undefined ? 0 : Number(part)));
    const ms = (((days ?? 0) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60_000;
    return { ok: true, endsAtMs: nowMs + ms };
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    return { ok: false, error: `expected a date-time with its zone (e.g. 2026-12-05T18:00+01:00 or 2026-12-05T17:00Z) or a span from now (e.g. +6h, +90m, +2d), got ${JSON.stringify(raw)}` };
  }
  const endsAtMs = Date.parse(text);
  // Date.parse rolls 30 February over into March: the day must exist in its month.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  if (Number.isNaN(endsAtMs) || new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return { ok: false, error: `${JSON.stringify(raw)} is not a date-time that exists` };
  return { ok: true, endsAtMs };
}

export interface ExemptionRequest {
  hourly: Limit | null;
  daily: Limit | null;
  endsAtMs: number;
}

/**
 * Checks what a person asks for, against the object's normal limits now. Answers the request with its end
 * rounded up to a whole second (decisions are made per second), or one error per wrong field.
 */
export function validateExemption(
  request: ExemptionRequest,
  normal: Record<LimitWindow, Limit>,
  nowMs: number,
): { ok: true; value: ExemptionRequest } | { ok: false; errors: Partial<Record<'hourly' | 'daily' | 'until', string>> } {
  const errors: Partial<Record<'hourly' | 'daily' | 'until', string>> = {};
  if (request.hourly === null && request.daily === null) errors.hourly = 'give a raised hourly limit, a raised daily limit, or both';
  for (const [field, window] of [['hourly', 'hour'], ['daily', 'day']] as const) {
    const value = request[field];
    if (value === null) continue;
    if (value !== 'unlimited' && (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT)) {
      errors[field] = `expected a whole number from 1 to ${MAX_LIMIT} or "unlimited"`;
      continue;
    }
    const current = normal[window];
    const per = window === 'hour' ? 'per hour' : 'per day';
    if (current === 0) errors[field] = `the ${window === 'hour' ? 'hourly' : 'daily'} limit is 0 (sending is blocked): a block is lifted by changing the limit, not by an exemption`;
    else if (current === 'unlimited') errors[field] = `the ${window === 'hour' ? 'hourly' : 'daily'} limit is already unlimited`;
    else if (value !== 'unlimited' && value <= current) errors[field] = `${value} is not above the current limit of ${current} ${per}`;
  }
  if (!Number.isFinite(request.endsAtMs)) errors.until = 'expected an end time';
  else if (request.endsAtMs <= nowMs) errors.until = 'the end time must be in the future';
  else if (request.endsAtMs - nowMs > MAX_EXEMPTION_MS) errors.until = `an exemption lasts at most ${MAX_EXEMPTION_DAYS} days`;
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { ...request, endsAtMs: Math.ceil(request.endsAtMs / 1000) * 1000 } };
}

/** "Raised to 5000 per hour and unlimited per day until 2026-12-05T17:00:00.000Z": the command's and the log's words. */
export function describeExemption(level: Level, name: string, exemption: Pick<Exemption, 'hourly' | 'daily' | 'endsAtMs'>): string {
  const parts: string[] = [];
  const word = (value: Limit, per: string) => (value === 'unlimited' ? `unlimited ${per}` : `raised to ${value} ${per}`);
  if (exemption.hourly !== null) parts.push(word(exemption.hourly, 'per hour'));
  if (exemption.daily !== null) parts.push(word(exemption.daily, 'per day'));
  return `${level} ${name}: ${parts.join(' and ')} until ${new Date(exemption.endsAtMs).toISOString()}`;
}

/** A refusal of an exemption to this person, with the screens' code (see hold-cause.ts RefusalCode). */
export type ExemptionRefusal = { status: 403; error: string; code: string; params: Record<string, unknown> };

/**
 * Who may raise or lift a limit for a while: the administrator anywhere, a reseller on its customers' objects.
 * A customer may not: within the provider's ceiling a customer changes its own values already, and an exemption
 * beyond the ceiling would lift the provider's cap. Like any value, the object's lock stops the roles below the
 * one who locked, and an exemption set by a higher role is theirs to replace or end.
 */
export function exemptionRefusal(identity: Identity, object: ChargedObject): ExemptionRefusal | null {
  if (identity.role === 'customer' || (identity.role === 'reseller' && object.owner.reseller !== identity.login)) {
    return { status: 403, error: 'Only the administrator or the reseller of the customer can exempt an object from its limits for a while.', code: 'exemptionNotForYou', params: {} };
  }
  const locked = lockRefusal(identity, object);
  if (locked) return locked;
  const exemption = object.exemption;
  if (exemption && isLockedFor(identity, isLockingRole(exemption.setBy.role) ? { login: exemption.setBy.login, role: exemption.setBy.role } : null)) {
    return {
      status: 403,
      error: `The exemption of ${object.level} ${object.name} was set by the administrator ${exemption.setBy.login}; only they (or a higher role) can change or end it.`,
      code: 'exemptionByHigherRole',
      params: { level: object.level, name: object.name, role: exemption.setBy.role, login: exemption.setBy.login },
    };
  }
  return null;
}

/** One exemption as the lists, the rows and the command show it. */
export interface ExemptionView {
  level: Level;
  name: string;
  /** The hourly limit until the end; null: the hourly limit is not raised. */
  hourly: Limit | null;
  daily: Limit | null;
  startsAt: string;
  endsAt: string;
  setBy: string;
  setByRole: string;
  /** Whether the asking person may replace or end it. */
  mayChange: boolean;
}

export function exemptionView(object: ChargedObject, exemption: Exemption, identity: Identity): ExemptionView {
  return {
    level: object.level,
    name: object.name,
    hourly: exemption.hourly,
    daily: exemption.daily,
    startsAt: new Date(exemption.startsAtMs).toISOString(),
    endsAt: new Date(exemption.endsAtMs).toISOString(),
    setBy: exemption.setBy.login,
    setByRole: exemption.setBy.role,
    mayChange: exemptionRefusal(identity, object) === null,
  };
}

/** The object's exemption now, if it has one that has not ended. */
export function currentExemption(object: ChargedObject, nowMs: number): Exemption | null {
  return exemptionActive(object.exemption, Math.floor(nowMs / 1000)) ? object.exemption : null;
}
