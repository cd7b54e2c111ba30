import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, DaemonProcess, tempDataDir } from '../../backend-bridge/test-support/daemon-process.js';
import type { DirectoryFile } from '../../backend-bridge/src/core/directory-file.js';
import type { Role } from '../../backend-bridge/src/api/identity.js';

export interface Login {
  login: string;
  password: string;
}

/** A standalone login made with `outgoing-limits user add`, with the password the command generated. */
export async function addUser(dataDir: string, login: string, role: Role, ownerOf: string[] = []): Promise<Login> {
  const output = await cli(['user', 'add', login, '--role', role, ...(ownerOf.length ? ['--owner-of', ...ownerOf] : []), '--data-dir', dataDir]);
  const password = /Password \(shown only now\): (\S+)/.exec(output)?.[1];
  if (!password) throw new Error(`no generated password in: ${output}`);
  return { login, password };
}

/** A data dir with `directory` imported and settings applied with the command, as an admin would prepare it. */
export async function prepareDataDir(directory: DirectoryFile, settings: string[]): Promise<string> {
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'directory.json');
  writeFileSync(file, JSON.stringify(directory));
  await cli(['directory', 'import', file, '--data-dir', dataDir]);
  await cli(['settings', 'set', '--data-dir', dataDir, ...settings]);
  return dataDir;
}

/**
 * The daemon with --http: the API and the built standalone UI on a loopback port the daemon binds itself (port 0)
 * and reports in its log; `extraArgs` go to the daemon (--postfix-config-dir of the test's Postfix puts the policy
 * and milter sockets where that Postfix reaches them).
 */
export async function startStandaloneDaemon(dataDir: string, extraArgs: string[] = []): Promise<{ daemon: DaemonProcess; baseUrl: string }> {
  const daemon = await DaemonProcess.start(dataDir, ['--http', '127.0.0.1:0', ...extraArgs]);
  // The whole line: its last field is msg, so the closing brace means the port is in too.
  await daemon.waitForLog('"msg":"API listening"}');
  const listening = apiListening(daemon.log);
  if (!listening.ui) throw new Error(`the daemon serves no UI (run npm run build:ui first):\n${daemon.log}`);
  return { daemon, baseUrl: `http://127.0.0.1:${listening.tcpPort}` };
}

/** The daemon's "API listening" log line: the TCP port it bound for --http and the UI it serves. */
function apiListening(log: string): { tcpPort: number; ui: string | null } {
  for (const line of log.split('\n')) {
    if (!line.includes('"msg":"API listening"')) continue;
    const entry = JSON.parse(line) as { tcpPort?: unknown; ui?: unknown };
    if (typeof entry.tcpPort !== 'number' || entry.tcpPort <= 0) break;
    return { tcpPort: entry.tcpPort, ui: typeof entry.ui === 'string' ? entry.ui : null };
  }
  throw new Error(`the daemon did not report the port it bound for --http:\n${log}`);
}
