import net from 'node:net';
import type { ListenAddress } from './listen-address.js';
import { removeStaleSocket, secureSocket } from './unix-socket.js';

/** Postfix closes idle policy and milter connections after a few minutes (300 s); we wait a little longer. */
const IDLE_TIMEOUT_MS = 330_000;
const MAX_CONNECTIONS = 2000;

/**
 * What the policy service and the milter share: a TCP listener whose connections are tracked, time out when
 * idle and are cut at close. Each subclass reads and answers its own protocol on every connection.
 */
export abstract class ConnectionServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor() {
    this.server = net.createServer({ noDelay: true }, (socket) => {
      this.sockets.add(socket);
      socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
      socket.on('close', () => this.sockets.delete(socket));
      this.serve(socket, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`);
    });
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port, backlog: 511 }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /**
   * Listens on TCP or on a UNIX socket. A socket file left by a daemon that died is replaced; one that another
   * process still serves is not (error). `socketGroup` gets the socket (mode 0660). Resolves to what was bound:
   * the socket, or the TCP address with the port picked when 0 was asked for.
   */
  async listenAt(address: ListenAddress, socketGroup: number): Promise<ListenAddress> {
    if (address.kind === 'tcp') {
      const bound = await this.listen(address.host, address.port);
      return { kind: 'tcp', host: bound.address, port: bound.port };
    }
    await removeStaleSocket(address.path);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ path: address.path, backlog: 511 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    try {
      await secureSocket(address.path, socketGroup);
    } catch (error) {
      await this.close();
      throw error;
    }
    return address;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Reads and answers one connection; `peer` is its address, for logs. */
  protected abstract serve(socket: net.Socket, peer: string): void;
}
