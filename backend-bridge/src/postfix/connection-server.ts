import net from 'node:net';
import type { Logger } from 'pino';
import { LogSummariser } from '../log/log-summariser.js';
import type { ListenAddress } from './listen-address.js';
import { removeStaleSocket, secureSocket } from './unix-socket.js';

/** What one connection's protocol does with the bytes it receives: the policy service's and the milter's. */
export interface ProtocolSession {
  /** Adds received bytes. */
  receive(chunk: Buffer): void;
  /**
   * Reads the next complete request and returns its answer ('' or an empty buffer when it gets none), or null
   * when no complete request is buffered. Throws when the client broke the protocol: the connection is closed.
   * An answer that needs a round trip (the cluster's counts) is a promise: nothing more is read from that
   * connection until it is settled, so answers stay in order; a rejected one closes the connection.
   */
  answerNext(): string | Buffer | null | Promise<string | Buffer>;
  /** The client said goodbye (the milter's Q): the connection ends once the answers so far are written. */
  readonly finished: boolean;
  /** Bytes received and not answered yet: an unfinished request (or requests not taken while paused). */
  readonly pendingBytes: number;
}

export interface ConnectionLimits {
  /**
   * A connection that has started a request must make progress (finish a request, or take its answers) within
   * this, counted from the request's first byte: Postfix writes a request whole, so only a stalled or trickling
   * client waits here.
   */
  stallTimeoutMs: number;
  /** Between requests: Postfix keeps policy connections up to smtpd_policy_service_max_idle (300 s); a little more. */
  idleTimeoutMs: number;
  /** Open connections at most; the next one closes the connection that has gone longest without progress. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = { stallTimeoutMs: 10_000, idleTimeoutMs: 330_000, maxConnections: 2000 };

/** One connection as `describeConnections` shows it (for diagnostics and tests). */
export interface ConnectionState {
  peer: string;
  bytesRead: number;
  pendingBytes: number;
  /** Not reading from the client because it does not read its answers. */
  paused: boolean;
}

interface Connection {
  readonly socket: net.Socket;
  readonly peer: string;
  readonly session: ProtocolSession;
  stallTimer: NodeJS.Timeout | null;
  paused: boolean;
  /** An answer is being worked out (a promise from answerNext): the client is not read from meanwhile. */
  awaiting: boolean;
}

/**
 * What the policy service and the milter share: a listener whose connections are tracked and kept in bounds,
 * whatever a client does. A request started and not finished within the stall timeout closes its connection;
 * idle connections between requests stay until the idle timeout. At the connection cap a new connection is
 * never refused: the one that has gone longest without progress makes room. A client that does not read its
 * answers is not read from until it does (its answers, not its requests, are what buffer up). Repeated
 * warnings are summarised. Each subclass speaks its protocol through a ProtocolSession per connection.
 */
export abstract class ConnectionServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Open connections, the one whose last progress (opened, request finished, answers taken) is oldest first. */
  private readonly byProgress = new Set<Connection>();
  private readonly limits: ConnectionLimits;
  private accepted = 0;
  /** One per server, not per connection: a client reconnecting for each bad request must not get a line each. */
  protected readonly warnings: LogSummariser;

  constructor(
    /** `policy` or `milter`, in log lines. */
    private readonly protocolName: string,
    protected readonly log: Logger,
    limits: Partial<ConnectionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
    this.warnings = new LogSummariser(log);
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('close', () => this.warnings.close());
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

  /** Open connections, the longest without progress first. */
  describeConnections(): ConnectionState[] {
    return [...this.byProgress].map((c) => ({ peer: c.peer, bytesRead: c.socket.bytesRead, pendingBytes: c.session.pendingBytes, paused: c.paused }));
  }

  /** The protocol of one new connection; `peer` is its address, for logs. */
  protected abstract openSession(peer: string): ProtocolSession;

  private accept(socket: net.Socket): void {
    if (this.byProgress.size >= this.limits.maxConnections) this.makeRoom();
    // A UNIX-socket peer has no address; the connection's number tells them apart in logs.
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort ?? '?'}` : `unix#${++this.accepted}`;
    const connection: Connection = { socket, peer, session: this.openSession(peer), stallTimer: null, paused: false, awaiting: false };
    this.sockets.add(socket);
    this.byProgress.add(connection);
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      connection.session.receive(chunk);
      this.answer(connection);
    });
    socket.on('drain', () => {
      // The client took its answers: that is progress, and the requests it sent meanwhile may be read now.
      this.progressed(connection);
      if (connection.paused) {
        connection.paused = false;
        if (!connection.awaiting) socket.resume();
      }
      this.answer(connection, true);
    });
    socket.on('end', () => {
      if (connection.session.pendingBytes > 0) {
        this.warnings.warn(`${this.protocolName}-ended-mid-request`, { peer, bytes: connection.session.pendingBytes }, `${this.protocolName} connection ended inside an unfinished request`);
      }
      socket.end();
    });
    socket.on('error', (error) => this.log.debug({ peer, error: error.message }, `${this.protocolName} connection error`));
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.byProgress.delete(connection);
      if (connection.stallTimer) clearTimeout(connection.stallTimer);
    });
  }

  /**
   * Answers the complete requests buffered. When the socket's buffer fills with answers the client has not read,
   * the client is not read from until it has ('drain'): its unread requests wait in its own socket, not in ours.
   */
  private answer(connection: Connection, progressed = false): void {
    const { socket, session } = connection;
    if (connection.awaiting || socket.destroyed || socket.writableEnded || socket.writableNeedDrain) return;
    let answered = false;
    let failure: unknown = null;
    let pending: Promise<string | Buffer> | null = null;
    let more = true;
    // Postfix sends one request at a time: one answer, written as it is. Only pipelining clients make batches,
    // each at most the socket's buffer; the next is made only if the kernel took the last one whole.
    while (more && failure === null) {
      const room = socket.writableHighWaterMark - socket.writableLength;
      let first: string | Buffer | null = null;
      let batch: Array<string | Buffer> | null = null;
      let size = 0;
      more = false;
      try {
        for (;;) {
          const answer = session.answerNext();
          if (answer === null) break;
          answered = true;
          if (typeof answer !== 'string' && !Buffer.isBuffer(answer)) {
            pending = answer;
            break;
          }
          if (answer.length > 0) {
            if (first === null) first = answer;
            else (batch ??= [first]).push(answer);
            size += answer.length;
          }
          if (session.finished) break;
          if (size >= room) {
            more = true;
            break;
          }
        }
      } catch (error) {
        failure = error;
      }
      if (first !== null && !socket.write(batch === null ? first : typeof first === 'string' ? batch.join('') : Buffer.concat(batch as Buffer[]))) more = false;
    }
    if (failure !== null) {
      this.closeFailed(connection, failure);
      return;
    }
    if (pending !== null) {
      this.awaitAnswer(connection, pending);
      return;
    }
    if (session.finished) {
      socket.end();
      return;
    }
    if (answered) this.progressed(connection);
    if (socket.writableNeedDrain && !connection.paused) {
      connection.paused = true;
      socket.pause();
    }
    this.watchForStall(connection, answered || progressed);
  }

  private closeFailed(connection: Connection, failure: unknown): void {
    // Protocol errors name their cause (`kind`): each cause is logged whole once, then counted.
    const kind = failure instanceof Error && 'kind' in failure && typeof failure.kind === 'string' ? failure.kind : 'unexpected';
    this.warnings.warn(`${this.protocolName}-closed-${kind}`, { peer: connection.peer, error: failure instanceof Error ? failure.message : String(failure) }, `${this.protocolName} connection closed`);
    connection.socket.destroy();
  }

  /** Writes an answer worked out asynchronously, then goes on with what the client sent meanwhile. */
  private awaitAnswer(connection: Connection, pending: Promise<string | Buffer>): void {
    const { socket } = connection;
    connection.awaiting = true;
    socket.pause();
    pending.then(
      (answer) => {
        connection.awaiting = false;
        if (socket.destroyed || socket.writableEnded) return;
        if (answer.length > 0) socket.write(answer);
        this.progressed(connection);
        if (!connection.paused) socket.resume();
        this.answer(connection, true);
      },
      (error: unknown) => {
        connection.awaiting = false;
        if (!socket.destroyed) this.closeFailed(connection, error);
      },
    );
  }

  private progressed(connection: Connection): void {
    this.byProgress.delete(connection);
    this.byProgress.add(connection);
  }

  /**
   * Arms the stall timer when the connection holds an unfinished request or unread answers, counting from the
   * first byte of that request (more bytes of the same request do not move the deadline, so a trickle of one
   * byte every few seconds cannot hold a connection); clears it when the connection is idle again.
   */
  private watchForStall(connection: Connection, progressed: boolean): void {
    const busy = connection.session.pendingBytes > 0 || connection.socket.writableLength > 0;
    if (connection.stallTimer && (!busy || progressed)) {
      clearTimeout(connection.stallTimer);
      connection.stallTimer = null;
    }
    if (busy && !connection.stallTimer && !connection.socket.destroyed) {
      connection.stallTimer = setTimeout(() => {
        this.warnings.warn(
          `${this.protocolName}-stalled`,
          { peer: connection.peer, bytes: connection.session.pendingBytes, unreadAnswerBytes: connection.socket.writableLength, timeoutMs: this.limits.stallTimeoutMs },
          `${this.protocolName} connection closed: a request was started and not finished in time, or its answers were not read`,
        );
        connection.socket.destroy();
      }, this.limits.stallTimeoutMs);
    }
  }

  /**
   * At the cap, the connection that has gone longest without progress is closed for the new one. Idle
   * connections (Postfix's kept between requests among them) lose nothing: Postfix reconnects when it next needs
   * one. A connection stalled inside a request for longer than any other has gone without progress is closed
   * before them: Postfix writes a request whole and reads its answer at once, so a long stall is not Postfix.
   * Refusing the new connection instead would let its mail through unchecked (fail-open) or defer it.
   */
  private makeRoom(): void {
    const oldest = this.byProgress.values().next();
    if (oldest.done) return;
    const victim = oldest.value;
    this.byProgress.delete(victim);
    this.warnings.warn(
      `${this.protocolName}-cap`,
      { peer: victim.peer, maxConnections: this.limits.maxConnections, pendingBytes: victim.session.pendingBytes },
      `${this.protocolName} connection cap reached: closed the connection longest without progress`,
    );
    victim.socket.destroy();
  }
}
