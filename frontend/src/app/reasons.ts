import { useCallback, useMemo } from 'react';
import { ApiFailure } from '../api/client';
import type { HoldCause } from '../api/types';
import { useText, type TextParams } from './text';

/** The refusal codes the API answers (see the API's Error schema) that have a text under `reasons.refusal`. */
const REFUSAL_CODES = new Set([
  'noRoom',
  'notHeld',
  'heldNotFound',
  'alreadyCompromised',
  'notCompromised',
  'noEmailAddress',
  'forceAdminOnly',
  'locked',
  'lockNotForCustomers',
  'noPermission',
  'customersMayNotChange',
  'subscriptionByProvider',
  'aboveCeiling',
  'heldOfNobody',
  'nodeUnanswered',
  'clusterConfigUnavailable',
]);

const isCause = (value: unknown): value is HoldCause =>
  typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string' && typeof (value as { name?: unknown }).name === 'string';

const plain = (value: unknown): string | number => (typeof value === 'number' ? value : String(value ?? ''));

/**
 * Why a message is held and why a request was refused, in the person's language, from the facts the API answers
 * beside its English sentence. A refusal without a known code (an older daemon, a network failure) is shown as
 * the API or the browser said it.
 */
export function useReasonText(): { cause: (cause: HoldCause) => string; refusal: (failure: unknown) => string; bulkRefusal: (result: { error?: string; code?: string; params?: Record<string, unknown> }) => string } {
  const text = useText();
  const level = useCallback((name: string) => text(`reasons.levelOf.${name}`), [text]);

  const cause = useCallback(
    (c: HoldCause): string => {
      const at = { level: level(c.level), name: c.name };
      if (c.kind === 'compromised') return text('reasons.cause.compromised', { name: c.name });
      if (c.kind === 'notAllowed') return text('reasons.cause.notAllowed', at);
      // A daily limit's cause says "daily limit of 500", an hourly one "500 per hour".
      const texts = c.window === 'day' ? 'reasons.causeDaily' : 'reasons.cause';
      switch (c.kind) {
        case 'tooManyRecipients':
          return text(`${texts}.tooManyRecipients`, { ...at, limit: c.limit, recipients: c.recipients });
        case 'notEnoughLeft':
          return text(`${texts}.notEnoughLeft`, { ...at, limit: c.limit, left: c.left, recipients: c.recipients });
        case 'limitReached':
          return c.limit === null ? text(`${texts}.limitReachedUnknown`, at) : text(`${texts}.limitReached`, { ...at, limit: c.limit });
      }
    },
    [text, level],
  );

  const coded = useCallback(
    (code: string | null | undefined, params: Record<string, unknown>, fallback: string): string => {
      if (!code || !REFUSAL_CODES.has(code)) return fallback;
      if (code === 'noRoom') {
        if (!isCause(params.cause)) return fallback;
        const why = cause(params.cause);
        const seconds = params.inSeconds;
        return typeof seconds === 'number'
          ? text('reasons.refusal.noRoom', { cause: why, minutes: Math.max(1, Math.ceil(seconds / 60)) })
          : text('reasons.refusal.noRoomNever', { cause: why });
      }
      const values: TextParams = Object.fromEntries(Object.entries(params).map(([name, value]) => [name, plain(value)]));
      if (code === 'locked') {
        values.level = level(String(params.level));
        values.role = text(`roles.${String(params.role)}`);
      }
      return text(`reasons.refusal.${code}`, values);
    },
    [text, level, cause],
  );

  const refusal = useCallback(
    (failure: unknown): string => (failure instanceof ApiFailure ? coded(failure.code, failure.params, failure.message) : String(failure)),
    [coded],
  );
  const bulkRefusal = useCallback(
    (result: { error?: string; code?: string; params?: Record<string, unknown> }): string => coded(result.code, result.params ?? {}, result.error ?? ''),
    [coded],
  );
  return useMemo(() => ({ cause, refusal, bulkRefusal }), [cause, refusal, bulkRefusal]);
}
