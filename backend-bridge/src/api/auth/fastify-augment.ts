import type { Identity } from '../identity.js';
import type { Session } from './sessions.js';

/**
 * Request properties the API relies on. `rawBody` is set by the server's application/json parser (an empty
 * Buffer when there is no body) because a Plesk signature covers the exact bytes sent; `identity` and
 * `authSession` are decorated and set by registerAuthentication.
 */
declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer;
    identity: Identity | null;
    /** The standalone login session behind `identity`, when it came from the `oml_session` cookie. */
    authSession: Session | null;
  }
  interface FastifyContextConfig {
    /** Reachable without an identity (login, health, OpenAPI document). */
    public?: boolean;
  }
}

export {};
