// What the bench needs from a started policy server, plus helpers shared by ours.ts and peers.ts.

import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PolicyEndpoint } from './proc.js';

export interface RunningServer {
  /** Row label in the report. */
  readonly name: string;
  /** Where it answers policy requests: a loopback TCP port (peers) or a UNIX socket path (ours). */
  readonly endpoint: PolicyEndpoint;
  /** Process group holding the server and all its children. */
  readonly pgid: number;
  /** Process names in the group that are not the server itself (e.g. runuser). */
  readonly excludeComm: readonly string[];
  /** Exact command line and config, printed in the JSON so the run can be reproduced. */
  readonly command: string;
  readonly config: string;
  /** The answer to the readiness probe. */
  readonly probeAnswer: string;
  readonly startupMs: number;
  /** Stops the server and waits until no process of its group is left. */
  stop(): Promise<string>;
  /** Last lines of the server's own output, for error messages. */
  logTail(lines?: number): string;
  /** Removes temp dirs; call after stop(). */
  cleanup(): void;
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bench-${prefix}-`));
}

export function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort: a leftover temp dir must not hide the benchmark result
  }
}

/** A log file the server writes to directly (no pipe for the bench process to drain under load). */
export class LogFile {
  readonly fd: number;
  private closed = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }

  read(): string {
    try {
      return readFileSync(this.path, 'utf8');
    } catch {
      return '';
    }
  }

  tail(lines = 20): string {
    return this.read().trimEnd().split('\n').slice(-lines).join('\n');
  }
}

/** uid/gid of a system account by name (needed to chown temp dirs for servers that drop privileges). */
export function lookupId(file: '/etc/passwd' | '/etc/group', name: string): number {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) return Number(f[2]);
  }
  throw new Error(`${name} not found in ${file}`);
}

/** A server that failed to start: stop what did start, remove its files, and rethrow with its log tail. */
export async function abandonStart(err: unknown, stop: () => Promise<unknown>, dir: string, log: LogFile): Promise<never> {
  const tail = log.tail();
  await stop();
  removeDir(dir);
  throw new Error(`${err instanceof Error ? err.message : String(err)}${tail ? `\n${tail}` : ''}`);
}
