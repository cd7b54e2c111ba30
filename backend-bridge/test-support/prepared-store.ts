import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { readBridgeSecret } from '../src/api/auth/bridge-secret.js';
import { BridgeClient, type SignedIdentity } from '../src/api/bridge-client.js';
import { apiSocketPath } from '../src/api/server.js';
import type { DirectoryFile } from '../src/core/directory-file.js';
import { cli, tempDataDir } from './daemon-process.js';

/** The Plesk administrator as the PHP layer signs them. */
export const PLESK_ADMIN: SignedIdentity = { login: 'admin', userId: '1', role: 'admin' };

/**
 * A fresh data directory set up the way an administrator does it, through the command: `directory` imported
 * from a directory file, then `settings set` with `settingsArgs` when there are any.
 */
export async function preparedDataDir(directory: DirectoryFile, settingsArgs: readonly string[] = []): Promise<string> {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'directory.json');
  writeFileSync(file, JSON.stringify(directory));
  await cli(['directory', 'import', file, '--data-dir', dataDir]);
  if (settingsArgs.length > 0) await cli(['settings', 'set', '--data-dir', dataDir, ...settingsArgs]);
  return dataDir;
}

/** The bridge API of the daemon that uses `dataDir`, signed as `identity` (the local root by default). */
export function bridgeApi(dataDir: string, identity?: SignedIdentity): BridgeClient {
  return new BridgeClient(readBridgeSecret(dataDir)!, { socketPath: apiSocketPath(dataDir) }, identity);
}

/** GET `url` through `api`; the answer must be 200 (the test fails, showing the body, otherwise). */
export async function getOk<T>(api: BridgeClient, url: string): Promise<T> {
  const response = await api.request('GET', url);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as T;
}
