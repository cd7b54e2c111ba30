import http from 'node:http';
import type { Role } from './identity.js';
import { newNonce, signRequest } from './auth/signature.js';

export interface SignedIdentity {
  login: string;
  userId: string;
  role: Role;
  /** Customers: the subscriptions on which Plesk grants "Manage outgoing mail limits" (see signature.ts). */
  permittedSubscriptions?: readonly string[];
}

/** The local command's identity: root on this server, acting as the administrator. */
export const LOCAL_ADMIN: SignedIdentity = { login: 'root', userId: '', role: 'admin' };

export interface ApiResponse {
  status: number;
  body: unknown;
}

export class BridgeUnavailableError extends Error {}

/**
 * Calls the bridge API with a signed identity, over the daemon's unix socket (or TCP): what the `outgoing-limits`
 * command does while the daemon runs, and the reference for the Plesk layer's BridgeClient.php.
 */
export class BridgeClient {
  constructor(
    private readonly secret: Buffer,
    private readonly target: { socketPath: string } | { host: string; port: number },
    private readonly identity: SignedIdentity = LOCAL_ADMIN,
  ) {}

  as(identity: SignedIdentity): BridgeClient {
    return new BridgeClient(this.secret, this.target, identity);
  }

  request(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      ...signRequest(this.secret, { method, path, body: payload, ...this.identity, timestampSeconds: Math.floor(Date.now() / 1000), nonce: newNonce() }),
    };
    if (payload.length > 0) headers['content-type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const request = http.request({ ...this.target, method, path, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? (JSON.parse(text) as unknown) : null;
          } catch {
            // not JSON: keep the text
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (['ENOENT', 'ECONNREFUSED', 'ECONNRESET'].includes(error.code ?? '')) reject(new BridgeUnavailableError(`the daemon is not running (${error.code})`));
        else reject(error);
      });
      request.end(payload);
    });
  }
}
