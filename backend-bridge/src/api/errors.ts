import type { RefusalCode } from '../core/hold-cause.js';

/** An answer other than success: status, a sentence for people, per-field messages for forms, and maybe a code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields?: Record<string, string>,
    readonly refusal?: RefusalCode,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`);
export const forbidden = (why: string) => new ApiError(403, why);

/** Throws the refusal of an access rule (core/access.ts) as the API's answer; nothing when there is none. */
export function throwIfRefused(refusal: { status: number; error: string; code?: string; params?: Record<string, unknown> } | null): void {
  if (refusal) throw new ApiError(refusal.status, refusal.error, undefined, refusal.code ? { code: refusal.code, params: refusal.params ?? {} } : undefined);
}
