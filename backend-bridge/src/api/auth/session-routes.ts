import type { FastifyBaseLogger, FastifyRequest, FastifyTypeProvider } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../store/database.js';
import type { Identity } from '../identity.js';
import { errorResponses, fieldErrors } from '../route-table.js';
import { sendError, type ApiInstance } from './authenticate.js';
import './fastify-augment.js';
import { verifyAgainstDummy, verifyPassword } from './passwords.js';
import { SESSION_COOKIE, THROTTLE_MAX_ADDRESS_FAILURES, THROTTLE_MAX_FAILURES, type LoginThrottle, type SessionStore } from './sessions.js';
import { findUser } from './users-store.js';

export const SESSION_PATH = '/api/v1/session';
const WRONG_CREDENTIALS = 'wrong login or password';

const LoginBody = z.strictObject({
  login: z.string().min(1, 'required').max(64, 'at most 64 characters'),
  password: z.string().min(1, 'required').max(1024, 'at most 1024 characters'),
});

export interface SessionRoutesOptions {
  db: Db;
  sessions: SessionStore;
  throttle: LoginThrottle;
}

/**
 * For registerAuthentication's `refreshSessionIdentity`: the session's user as the store has it now (role
 * changes apply at once), or null when the user was removed.
 */
export function sessionIdentityFromDb(db: Db): (identity: Identity) => Identity | null {
  return (identity) => {
    if (identity.via !== 'session') return identity;
    const user = findUser(db, identity.login);
    if (!user || String(user.id) !== identity.userId) return null;
    return user.role === identity.role ? identity : { ...identity, role: user.role };
  };
}

function describe(identity: Identity, csrfToken: string | null) {
  return { login: identity.login, role: identity.role, csrfToken, via: identity.via };
}

function loginRequestError(error: z.ZodError): { error: string; fields?: Record<string, string> } {
  const fields = fieldErrors(error);
  delete fields['(body)'];
  return Object.keys(fields).length > 0
    ? { error: 'invalid login request', fields }
    : { error: 'expected a JSON object {"login": ..., "password": ...}' };
}

function clientAddress(request: FastifyRequest): string | undefined {
  // On the unix socket there is no address (unless a trusted proxy supplies one); then the login alone counts.
  return request.ip || undefined;
}

/** The session routes in the OpenAPI document (they are registered here, not through the route table). */
export function sessionOpenApiPaths(): Record<string, Record<string, unknown>> {
  const session = { tags: ['session'], parameters: [] };
  return {
    [SESSION_PATH]: {
      post: {
        ...session,
        summary: 'Log in (standalone UI): sets the session cookie and answers {login, role, csrfToken}; writes then need X-CSRF-Token',
        security: [],
        requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(LoginBody, { io: 'input' }) } } },
        responses: {
          '200': { description: 'logged in' },
          ...errorResponses({
            method: 'POST',
            pathParameters: false,
            extra: {
              401: 'wrong login or password',
              429: `too many failed logins of this login from this address (${THROTTLE_MAX_FAILURES} in 15 minutes), or from this address (${THROTTLE_MAX_ADDRESS_FAILURES}); Retry-After says when to try again`,
            },
          }),
        },
      },
      get: { ...session, summary: 'Who is logged in: {login, role, csrfToken, via}', responses: { '200': { description: 'success' }, ...errorResponses({ method: 'GET', pathParameters: false }) } },
      delete: { ...session, summary: 'Log out (a write: needs X-CSRF-Token)', responses: { '204': { description: 'logged out' }, ...errorResponses({ method: 'DELETE', pathParameters: false }) } },
    },
  };
}

/**
 * POST /api/v1/session (public): log in with {login, password}; GET: who am I; DELETE: log out.
 * Needs registerAuthentication first (cookies, request.identity).
 */
export function registerSessionRoutes<L extends FastifyBaseLogger, T extends FastifyTypeProvider>(app: ApiInstance<L, T>, options: SessionRoutesOptions): void {
  const { db, sessions, throttle } = options;

  app.post(SESSION_PATH, { config: { public: true } }, async (request, reply) => {
    const parsed = LoginBody.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send(loginRequestError(parsed.error));
    const { login, password } = parsed.data;

    const address = clientAddress(request);
    // Counted before the password is checked: parallel guesses cannot slip past the limit while scrypt runs.
    const verdict = throttle.begin(login, address);
    if (!verdict.allowed) {
      reply.header('Retry-After', String(verdict.retryAfterSeconds));
      return sendError(reply, 429, `too many failed logins; try again in ${verdict.retryAfterSeconds} seconds`);
    }

    const user = findUser(db, login);
    const valid = user ? await verifyPassword(password, user.passwordHash) : await verifyAgainstDummy(password);
    if (!user || !valid) {
      request.log.info({ login, ip: request.ip }, 'failed login');
      return sendError(reply, 401, WRONG_CREDENTIALS);
    }
    throttle.succeeded(verdict.attempt);

    // Always a fresh id: a session id known before login (fixation) must never become authenticated.
    const previous = request.cookies[SESSION_COOKIE];
    if (previous) sessions.destroy(previous);
    const session = sessions.create({ login: user.login, role: user.role, userId: String(user.id), via: 'session' });
    reply.setCookie(SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: request.protocol === 'https',
    });
    request.log.info({ login: user.login, role: user.role }, 'logged in');
    return reply.code(200).send({ login: user.login, role: user.role, csrfToken: session.csrfToken });
  });

  // Not public: registerAuthentication answers 401 before this runs when nobody is logged in.
  app.get(SESSION_PATH, async (request, reply) => {
    const identity = request.identity;
    if (!identity) return sendError(reply, 401, 'authentication required');
    return reply.send(describe(identity, request.authSession?.csrfToken ?? null));
  });

  // Not public either: logging out is a write, so it needs the session and its CSRF token.
  app.delete(SESSION_PATH, async (request, reply) => {
    if (request.authSession) sessions.destroy(request.authSession.id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });
}
