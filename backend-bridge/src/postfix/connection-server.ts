import net from 'node:net';

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

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Reads and answers one connection; `peer` is its address, for logs. */
  protected abstract serve(socket: net.Socket, peer: string): void;
}
