import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DOMAIN_NAME, LOGIN } from '../../core/directory-file.js';
import { ROLES, type Identity, type Role } from '../identity.js';

/**
 * Plesk mode: the PHP layer authenticates the person (pm_Session) and forwards each API request with these
 * headers, signed with the bridge secret. Header names as sent; Node hands them to us lower-cased.
 *
 * canonical = [METHOD (upper case), path with query string exactly as sent, sha256 hex of the raw body bytes,
 *              timestamp, nonce, login, userId, role, permitted subscriptions].join('\n')
 * X-OML-Signature = lowercase hex HMAC-SHA256(secret, canonical)
 *
 * "Permitted subscriptions" is the value of X-OML-Permitted-Subscriptions, or "" when the header is absent:
 * for a customer, the subscriptions (lower-case names, comma-separated) on which Plesk grants "Manage outgoing
 * mail limits". Absent and empty mean the same (none), so leaving the header out can never add rights; other
 * roles must not send it.
 *
 * The local command (`outgoing-limits` on the server itself) signs as login "root", role "admin", user id "":
 * an empty user id is accepted only in exactly that combination and yields `via: 'local'`.
 */
export const SIGNATURE_HEADERS = {
  login: 'X-OML-Login',
  userId: 'X-OML-User-Id',
  role: 'X-OML-Role',
  timestamp: 'X-OML-Timestamp',
  nonce: 'X-OML-Nonce',
  signature: 'X-OML-Signature',
} as const;

/** Optional, customers only; covered by the signature (see above). */
export const PERMITTED_SUBSCRIPTIONS_HEADER = 'X-OML-Permitted-Subscriptions';
/** More names than this is an error, not a truncation (the daemon also caps header bytes, see server.ts). */
export const MAX_PERMITTED_SUBSCRIPTIONS = 10_000;

/** How far a timestamp may be from our clock, either way. */
export const SIGNATURE_MAX_SKEW_SECONDS = 60;
/** Nonces are remembered this long: longer than the whole span (2 × skew) in which one timestamp is accepted. */
export const NONCE_MEMORY_SECONDS = 120;

const NONCE_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
const TIMESTAMP_PATTERN = /^\d{1,12}$/;
// Printable ASCII only: the canonical string is joined with newlines, and header bytes outside ASCII would be
// decoded differently by PHP and Node. The directory accepts owners by the same rule.
const LOGIN_PATTERN = LOGIN;
const USER_ID_PATTERN = /^[A-Za-z0-9_-]{0,64}$/;
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

export interface SignatureInput {
  method: string;
  path: string;
  body: Buffer;
  login: string;
  userId: string;
  role: Role;
  timestampSeconds: number;
  nonce: string;
  /** Customers only: subscriptions where Plesk grants "Manage outgoing mail limits"; undefined or [] = none. */
  permittedSubscriptions?: readonly string[] | undefined;
}

export function canonicalString(input: SignatureInput): string {
  return [
    input.method.toUpperCase(),
    input.path,
    createHash('sha256').update(input.body).digest('hex'),
    String(input.timestampSeconds),
    input.nonce,
    input.login,
    input.userId,
    input.role,
    input.permittedSubscriptions?.join(',') ?? '',
  ].join('\n');
}

function hmacHex(secret: Buffer, canonical: string): string {
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('hex');
}

/** A nonce that fits the accepted format (22 base64url characters = 128 random bits). */
export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** The headers to send with a request; the reference for the PHP layer's implementation. */
export function signRequest(secret: Buffer, input: SignatureInput): Record<string, string> {
  const headers: Record<string, string> = {
    [SIGNATURE_HEADERS.login]: input.login,
    [SIGNATURE_HEADERS.userId]: input.userId,
    [SIGNATURE_HEADERS.role]: input.role,
    [SIGNATURE_HEADERS.timestamp]: String(input.timestampSeconds),
    [SIGNATURE_HEADERS.nonce]: input.nonce,
    [SIGNATURE_HEADERS.signature]: hmacHex(secret, canonicalString(input)),
  };
  // An empty list is sent as no header at all (the same meaning, and HTTP clients drop empty headers anyway).
  if (input.permittedSubscriptions && input.permittedSubscriptions.length > 0) headers[PERMITTED_SUBSCRIPTIONS_HEADER] = input.permittedSubscriptions.join(',');
  return headers;
}

/** The names in X-OML-Permitted-Subscriptions, checked strictly: a malformed list is refused, never guessed at. */
export function parsePermittedSubscriptions(value: string): { ok: true; names: string[] } | { ok: false; reason: string } {
  if (value === '') return { ok: true, names: [] };
  const names = value.split(',');
  if (names.length > MAX_PERMITTED_SUBSCRIPTIONS) {
    return { ok: false, reason: `header ${PERMITTED_SUBSCRIPTIONS_HEADER} lists ${names.length} subscriptions; at most ${MAX_PERMITTED_SUBSCRIPTIONS} are accepted` };
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (!DOMAIN_NAME.test(name) || name !== name.toLowerCase()) {
      const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
      return { ok: false, reason: `header ${PERMITTED_SUBSCRIPTIONS_HEADER} must be lower-case subscription names separated by commas; ${shown} is not one` };
    }
    if (seen.has(name)) return { ok: false, reason: `header ${PERMITTED_SUBSCRIPTIONS_HEADER} names subscription ${name} twice` };
    seen.add(name);
  }
  return { ok: true, names };
}

/**
 * Nonces seen recently, so a captured request cannot be sent again. Entries older than NONCE_MEMORY_SECONDS
 * are forgotten; the number of entries is capped, and when the cap is reached with only fresh entries the new
 * request is refused rather than an entry dropped early (dropping would re-open a replay). Only requests with a
 * valid signature are recorded, so only a holder of the secret can fill it.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries = 100_000) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records the nonce; 'replay' if it was seen within the memory span, 'full' if no room. */
  remember(nonce: string, nowSeconds: number): 'ok' | 'replay' | 'full' {
    this.forgetOlderThan(nowSeconds - NONCE_MEMORY_SECONDS);
    const seenAt = this.seen.get(nonce);
    if (seenAt !== undefined) return 'replay';
    if (this.seen.size >= this.maxEntries) return 'full';
    this.seen.set(nonce, nowSeconds);
    return 'ok';
  }

  private forgetOlderThan(limit: number): void {
    // Insertion order is time order (give or take clock steps), so the old entries are at the front.
    for (const [nonce, at] of this.seen) {
      if (at > limit) break;
      this.seen.delete(nonce);
    }
  }
}

export interface SignedRequest {
  method: string;
  /** Path and query string exactly as received (request.raw.url). */
  path: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export type VerifyResult = { ok: true; identity: Identity } | { ok: false; reason: string };

function header(headers: SignedRequest['headers'], name: string): string | undefined | { repeated: true } {
  const value = headers[name.toLowerCase()];
  if (Array.isArray(value)) return { repeated: true };
  return value;
}

export function verifySignedRequest(secret: Buffer, request: SignedRequest, nowSeconds: number, replayCache: ReplayCache): VerifyResult {
  const values: Partial<Record<keyof typeof SIGNATURE_HEADERS, string>> = {};
  for (const [key, name] of Object.entries(SIGNATURE_HEADERS) as Array<[keyof typeof SIGNATURE_HEADERS, string]>) {
    const value = header(request.headers, name);
    if (value === undefined) return { ok: false, reason: `missing header ${name}` };
    if (typeof value !== 'string') return { ok: false, reason: `header ${name} given more than once` };
    values[key] = value;
  }
  const { login = '', userId = '', role = '', timestamp = '', nonce = '', signature = '' } = values;

  if (!LOGIN_PATTERN.test(login)) return { ok: false, reason: `header ${SIGNATURE_HEADERS.login} must be 1-255 printable ASCII characters` };
  if (!USER_ID_PATTERN.test(userId)) return { ok: false, reason: `header ${SIGNATURE_HEADERS.userId} must be up to 64 of [A-Za-z0-9_-]` };
  if (!(ROLES as readonly string[]).includes(role)) return { ok: false, reason: `unknown role "${role}" in ${SIGNATURE_HEADERS.role}` };
  if (!TIMESTAMP_PATTERN.test(timestamp)) return { ok: false, reason: `header ${SIGNATURE_HEADERS.timestamp} must be unix seconds` };
  if (!NONCE_PATTERN.test(nonce)) return { ok: false, reason: `header ${SIGNATURE_HEADERS.nonce} must be 16-64 of [A-Za-z0-9_-]` };
  if (userId === '' && (login !== 'root' || role !== 'admin')) {
    return { ok: false, reason: `empty ${SIGNATURE_HEADERS.userId} is only allowed for the local command (login root, role admin)` };
  }
  if (!SIGNATURE_PATTERN.test(signature)) return { ok: false, reason: `header ${SIGNATURE_HEADERS.signature} must be 64 lowercase hex digits` };

  const permittedHeader = header(request.headers, PERMITTED_SUBSCRIPTIONS_HEADER);
  if (typeof permittedHeader === 'object') return { ok: false, reason: `header ${PERMITTED_SUBSCRIPTIONS_HEADER} given more than once` };
  const permittedValue = permittedHeader ?? '';
  const permitted = parsePermittedSubscriptions(permittedValue);
  if (!permitted.ok) return permitted;
  if (permitted.names.length > 0 && role !== 'customer') return { ok: false, reason: `header ${PERMITTED_SUBSCRIPTIONS_HEADER} is for customers only, not for role ${role}` };

  const timestampSeconds = Number(timestamp);
  if (nowSeconds - timestampSeconds > SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, reason: 'signature expired' };
  if (timestampSeconds - nowSeconds > SIGNATURE_MAX_SKEW_SECONDS) return { ok: false, reason: 'signature timestamp is in the future' };

  const expected = Buffer.from(
    hmacHex(
      secret,
      canonicalString({ method: request.method, path: request.path, body: request.body, login, userId, role: role as Role, timestampSeconds, nonce, permittedSubscriptions: permitted.names }),
    ),
    'hex',
  );
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return { ok: false, reason: 'bad signature' };

  // Checked only now so that unsigned junk can neither fill the cache nor burn a legitimate nonce.
  const replay = replayCache.remember(nonce, nowSeconds);
  if (replay === 'replay') return { ok: false, reason: 'nonce already used (replayed request)' };
  if (replay === 'full') return { ok: false, reason: 'too many signed requests; try again shortly' };

  if (userId === '') return { ok: true, identity: { login, role: 'admin', userId: null, via: 'local' } };
  const identity: Identity = { login, role: role as Role, userId, via: 'plesk' };
  // Every Plesk customer carries a list, empty when the header was absent: see holdsLimitPermission.
  if (role === 'customer') identity.permittedSubscriptions = new Set(permitted.names);
  return { ok: true, identity };
}
