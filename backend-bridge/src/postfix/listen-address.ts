import path from 'node:path';

/**
 * Where the policy service or the milter listens: a UNIX-domain socket (the default: only Postfix's group may
 * open it) or TCP (for a Postfix on another host; any local user can reach a TCP port).
 */
export type ListenAddress = UnixAddress | { kind: 'tcp'; host: string; port: number };
export type UnixAddress = { kind: 'unix'; path: string };

/** sun_path holds 108 bytes on Linux, the last one the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** `unix:/ABS/PATH`, or `HOST:PORT` (also `inet:HOST:PORT`, `[::1]:PORT`). */
export function parseListenAddress(raw: string): Parsed<ListenAddress> {
  const text = raw.trim();
  if (text.startsWith('unix:')) {
    const socketPath = text.slice('unix:'.length);
    if (!path.isAbsolute(socketPath)) return { ok: false, error: `a unix: socket path must be absolute, such as unix:/var/spool/postfix/outgoing-limits/policy; got "${raw}"` };
    if (socketPath.includes('\0')) return { ok: false, error: 'a socket path cannot contain a NUL character' };
    const normal = path.normalize(socketPath);
    if (normal.endsWith('/')) return { ok: false, error: `"${raw}" names a directory, not a socket` };
    if (Buffer.byteLength(normal) > MAX_SOCKET_PATH_BYTES) return { ok: false, error: `socket path ${normal} is ${Buffer.byteLength(normal)} bytes long; a UNIX socket path may have at most ${MAX_SOCKET_PATH_BYTES}` };
    return { ok: true, value: { kind: 'unix', path: normal } };
  }
  const match = /^(?:inet:)?(.+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !match[1] || port > 65535) return { ok: false, error: `expected unix:/ABSOLUTE/PATH or HOST:PORT such as 127.0.0.1:10040, got "${raw}"` };
  return { ok: true, value: { kind: 'tcp', host: match[1].replace(/^\[(.*)\]$/, '$1'), port } };
}

/** The form the daemon logs and parseListenAddress reads back. */
export function describeAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Our own directory inside Postfix's queue directory: chrooted smtpd and cleanup see it too (see README). */
export const SOCKET_DIRECTORY_NAME = 'outgoing-limits';

export function defaultSocketAddress(queueDirectory: string, service: 'policy' | 'milter'): UnixAddress {
  return { kind: 'unix', path: path.join(queueDirectory, SOCKET_DIRECTORY_NAME, service) };
}
