/** Plesk's roles, which the API enforces on every endpoint. */
export const ROLES = ['admin', 'reseller', 'customer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking: from Plesk's signed headers, from a standalone login session, or the local command. */
export interface Identity {
  login: string;
  role: Role;
  /** Plesk's client id, or the standalone user's id; null for the local command. */
  userId: string | null;
  via: 'plesk' | 'session' | 'local';
  /**
   * Plesk customers only: the subscriptions (by name) on which Plesk grants them "Manage outgoing mail limits".
   * Set by the signature check for every Plesk customer (empty when the header is absent); absent for everyone
   * else. See holdsLimitPermission in core/access.ts for why a missing list grants nothing.
   */
  permittedSubscriptions?: ReadonlySet<string>;
}
