/**
 * Who listens on a loopback TCP port, read from /proc without connecting.
 *
 * Some programs the tests and the bench start (Postfix's smtpd listener, smtp-sink, the bench's peers) cannot bind
 * port 0 and report what they got: a helper picks a port the kernel said was free and hands it on, and another
 * program may take it in between. A connection to the port cannot tell the two apart (someone else's server
 * answers too); the listening socket's inode, held open by our process or not, can.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

/** `ours`: a listener of one of the given processes; `other`: only someone else's; `none`: nobody listens. */
export type ListenerOwner = 'ours' | 'other' | 'none';

const TCP_LISTEN = '0A';
/** Local addresses (as /proc/net/tcp{,6} print them) that accept connections to 127.0.0.1. */
const REACHABLE_FROM_127_0_0_1 = new Set([
  '0100007F', // 127.0.0.1
  '00000000', // 0.0.0.0
  '00000000000000000000000000000000', // [::], dual-stack
  '0000000000000000FFFF00000100007F', // [::ffff:127.0.0.1]
]);

/** Inodes of the sockets listening where a connection to 127.0.0.1:port would arrive. */
export async function loopbackListenerInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'latin1');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [address, portHex] = (fields[1] ?? '').split(':');
      if (fields[3] !== TCP_LISTEN || address === undefined || portHex === undefined) continue;
      if (Number.parseInt(portHex, 16) !== port || !REACHABLE_FROM_127_0_0_1.has(address)) continue;
      const inode = fields[9];
      if (inode !== undefined && inode !== '0') inodes.add(inode);
    }
  }
  return inodes;
}

/** Socket inodes among the open files of `pid` (empty if it is gone). */
async function socketInodesOf(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const target = await readlink(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Whether 127.0.0.1:port is served by one of `pids`, by someone else, or by nobody. */
export async function loopbackListenerOwner(port: number, pids: readonly number[]): Promise<ListenerOwner> {
  const listening = await loopbackListenerInodes(port);
  if (listening.size === 0) return 'none';
  for (const pid of pids) {
    for (const inode of await socketInodesOf(pid)) {
      if (listening.has(inode)) return 'ours';
    }
  }
  return 'other';
}

/** The words a program prints when its bind() lost the port to another program. */
export const ADDRESS_IN_USE = /Address already in use|EADDRINUSE|Errno 98/i;

/** How many ports a helper tries before it gives up: each lost race needs another program to win it. */
export const PORT_TRIES = 5;

/** A start attempt found its port taken by another program (its bind failed, or someone else answers there). */
export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/**
 * Starts a program that must be told its port: `launch(port)` on `firstPort`, and after each PortTakenError on a
 * new port from `pickPort`, `PORT_TRIES` times at most. Without `pickPort` (the caller chose the port) a taken
 * port is an error at once. Any other error from `launch` ends the tries.
 */
export async function launchOnFreePort<T>(
  what: string,
  firstPort: number,
  pickPort: (() => Promise<number>) | null,
  launch: (port: number) => Promise<T>,
): Promise<T> {
  const lost: string[] = [];
  let port = firstPort;
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(port);
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      lost.push(`${port}: ${error.message}`);
      if (pickPort === null || attempt >= PORT_TRIES) {
        const why = pickPort === null ? 'the port was given, so no other was tried' : `gave up after ${PORT_TRIES} ports`;
        throw new Error(`${what} could not listen on 127.0.0.1 (${why}):\n${lost.join('\n')}`);
      }
      port = await pickPort();
    }
  }
}
