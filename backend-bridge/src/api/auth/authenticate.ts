import fastifyCookie from '@fastify/cookie';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, FastifyTypeProvider, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { Identity } from '../identity.js';
import './fastify-augment.js';
import { csrfTokenMatches, SESSION_COOKIE, type SessionStore } from './sessions.js';
import { ReplayCache, SIGNATURE_HEADERS, verifySignedRequest } from './signature.js';

export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const EMPTY_BODY = Buffer.alloc(0);

/** Any fastify instance on a plain http server, whatever its logger (pino via loggerInstance) or type provider. */
export type ApiInstance<L extends FastifyBaseLogger = FastifyBaseLogger, T extends FastifyTypeProvider = FastifyTypeProvider> = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  L,
  T
>;

export interface AuthenticationOptions {
  /** The bridge secret (loadOrCreateBridgeSecret). */
  secret: Buffer;
  sessions: SessionStore;
  log: Pick<FastifyBaseLogger, 'warn' | 'info' | 'debug'>;
  /** Clock for signature timestamps, in milliseconds; tests pin it. */
  nowMs?: () => number;
  replayCache?: ReplayCache;
  /**
   * Re-reads a session's user on every request, so that removing a user (or changing the role) with the
   * command takes effect at once instead of when the session expires; return null to end the session.
   * See sessionIdentityFromDb in session-routes.ts.
   */
  refreshSessionIdentity?: (identity: Identity) => Identity | null;
}

/** Answers with the API's error shape. */
export function sendError(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error });
}

function isPublic(request: FastifyRequest): boolean {
  return request.routeOptions.config.public === true;
}

/** Everything under /api/ needs an identity unless its route says `config: { public: true }`. */
function needsIdentity(request: FastifyRequest): boolean {
  if (isPublic(request)) return false;
  const path = request.routeOptions.url ?? request.url.split('?')[0] ?? '';
  return path === '/api' || path.startsWith('/api/');
}

/**
 * Establishes `request.identity` (and `request.authSession`) for every request:
 * 1. a request carrying X-OML-Signature must verify (Plesk mode or local command), else 401;
 * 2. else a live `oml_session` cookie gives the session's identity; writes (any method but GET/HEAD/OPTIONS)
 *    must carry X-CSRF-Token equal to the session's token, else 403 (on public routes the session is
 *    ignored instead, so a stale cookie can never block logging in again);
 * 3. else identity is null, and non-public /api/ routes answer 401.
 *
 * Runs as a preValidation hook: after the body parser (rawBody is there) and before schema validation, so
 * unauthenticated callers learn nothing about request shapes. Registers @fastify/cookie itself and decorates
 * the request with `identity` and `authSession`: the server must do neither.
 */
export function registerAuthentication<L extends FastifyBaseLogger, T extends FastifyTypeProvider>(app: ApiInstance<L, T>, options: AuthenticationOptions): void {
  const replayCache = options.replayCache ?? new ReplayCache();
  const nowMs = options.nowMs ?? Date.now;
  void app.register(fastifyCookie);
  app.decorateRequest('identity', null);
  app.decorateRequest('authSession', null);

  app.addHook('preValidation', async (request, reply) => {
    request.identity = null;
    request.authSession = null;

    if (request.headers[SIGNATURE_HEADERS.signature.toLowerCase()] !== undefined) {
      const result = verifySignedRequest(
        options.secret,
        {
          method: request.method,
          path: request.raw.url ?? request.url,
          // Requests without a body never reach the JSON parser; the signature then covers zero bytes.
          body: request.rawBody ?? EMPTY_BODY,
          headers: request.headers,
        },
        Math.floor(nowMs() / 1000),
        replayCache,
      );
      if (!result.ok) {
        options.log.warn({ reason: result.reason, method: request.method, url: request.url, ip: request.ip }, 'signed API request rejected');
        return sendError(reply, 401, result.reason);
      }
      request.identity = result.identity;
      return;
    }

    const session = options.sessions.get(request.cookies[SESSION_COOKIE]);
    if (session) {
      const identity = options.refreshSessionIdentity ? options.refreshSessionIdentity(session.identity) : session.identity;
      if (!identity) {
        options.sessions.destroy(session.id);
      } else if (SAFE_METHODS.has(request.method) || csrfTokenMatches(session, request.headers[CSRF_HEADER.toLowerCase()])) {
        session.identity = identity;
        request.identity = identity;
        request.authSession = session;
        return;
      } else if (!isPublic(request)) {
        return sendError(reply, 403, 'missing or wrong CSRF token');
      }
    }

    if (needsIdentity(request)) return sendError(reply, 401, 'authentication required');
  });
}
