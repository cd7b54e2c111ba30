import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import { readBridgeSecret } from '../api/auth/bridge-secret.js';
import { BridgeClient, BridgeUnavailableError, type ApiResponse } from '../api/bridge-client.js';
import { apiSocketPath } from '../api/server.js';
import { openDatabase, type Db } from '../store/database.js';

/**
 * The command's own way into the store: checked like the daemon's (a damaged store is refused, with how to
 * recover), and created only for a write; a read where there is no store says so and creates nothing.
 */
export function openStoreForCommand(dataDir: string, kind: 'read' | 'write'): Db {
  return openDatabase(dataDir, { create: kind === 'write', check: true });
}

/** A failure the user can fix: printed as one line, exit code 1, no stack trace. */
export class UserError extends Error {}

/**
 * Runs a command through the daemon's API when the daemon runs (so the change is validated, audited and
 * applied at once), else directly on the store, and says which, on stderr.
 */
export async function viaDaemonOrStore<T>(
  dataDir: string,
  viaApi: (client: BridgeClient) => Promise<T>,
  direct: (db: Db) => T | Promise<T>,
  kind: 'read' | 'write',
): Promise<T> {
  const socketPath = apiSocketPath(dataDir);
  // A daemon started with --api-group gives the socket and the secret to the same group: that is the sharing
  // it chose, so the secret may then be group-readable.
  const secret = existsSync(socketPath) ? readBridgeSecret(dataDir, { group: statSync(socketPath).gid }) : null;
  if (secret) {
    try {
      return await viaApi(new BridgeClient(secret, { socketPath: apiSocketPath(dataDir) }));
    } catch (error) {
      if (!(error instanceof BridgeUnavailableError)) throw error;
    }
  }
  const db = openStoreForCommand(dataDir, kind);
  process.stderr.write(
    kind === 'write'
      ? 'The daemon is not running: changed the store directly; the daemon applies it when it starts.\n'
      : 'The daemon is not running: read from the store.\n',
  );
  try {
    return await direct(db);
  } finally {
    db.close();
  }
}

/**
 * Whether a daemon answers on the data directory's API socket (a stale socket file of a crashed one does not):
 * what a command that must not change the store under a running daemon asks.
 */
export function daemonAnswers(dataDir: string): Promise<boolean> {
  const socketPath = apiSocketPath(dataDir);
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true); // something holds the socket: treat it as running rather than restore under it
    });
    socket.once('error', () => resolve(false));
  });
}

/** The API's answer as the command's result, or its error (with field messages) as a UserError. */
export function expectOk(response: ApiResponse): unknown {
  if (response.status >= 200 && response.status < 300) return response.body;
  const body = response.body as { error?: string; fields?: Record<string, string> } | null;
  const fields = Object.entries(body?.fields ?? {}).map(([field, message]) => `\n  ${field}: ${message}`);
  throw new UserError(`${body?.error ?? `the daemon answered ${response.status}`}${fields.join('')}`);
}
