import net from 'node:net';
import type { Logger } from 'pino';
import { formatAction, PolicyRequestParser, RequestTooLargeError, type PolicyRequest } from './policy-protocol.js';

/** Postfix closes idle policy connections after smtpd_policy_service_max_idle (300 s); we wait a little longer. */
const IDLE_TIMEOUT_MS = 330_000;
const MAX_CONNECTIONS = 2000;

/** Answers one well-formed request with an action such as `DUNNO` or `DEFER_IF_PERMIT 4.7.1 ...`. */
export type PolicyHandler = (attributes: PolicyRequest) => string;

/** Fail-open answer for requests we cannot read: mail is never stopped because of our own parse problem. */
const MALFORMED_ANSWER = formatAction('DUNNO');

/**
 * The TCP side of the policy service. Each connection has its own parser; a bad request gets a logged DUNNO,
 * a flood or a broken stream closes only that connection, and nothing that arrives can stop the others.
 */
export class PolicyServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly handler: PolicyHandler,
    private readonly log: Logger,
  ) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.serve(socket));
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

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    const parser = new PolicyRequestParser();
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let answers = '';
      try {
        for (const request of parser.feed(chunk)) {
          if (request.ok) {
            answers += formatAction(this.answer(request.attributes, peer));
          } else {
            this.log.warn({ peer, error: request.error }, 'malformed policy request answered DUNNO');
            answers += MALFORMED_ANSWER;
          }
        }
      } catch (error) {
        if (answers) socket.write(answers);
        const message = error instanceof RequestTooLargeError ? error.message : String(error);
        this.log.warn({ peer, error: message }, 'policy connection closed');
        socket.destroy();
        return;
      }
      if (answers) socket.write(answers);
    });
    socket.on('end', () => {
      if (parser.pendingBytes > 0) this.log.warn({ peer, bytes: parser.pendingBytes }, 'policy connection ended inside an unfinished request');
      socket.end();
    });
    socket.on('error', (error) => this.log.debug({ peer, error: error.message }, 'policy connection error'));
    socket.on('close', () => this.sockets.delete(socket));
  }

  private answer(attributes: PolicyRequest, peer: string): string {
    try {
      return this.handler(attributes);
    } catch (error) {
      // A bug of ours must not stop mail: answer as if the service were unreachable with fail-open wiring.
      this.log.error({ peer, err: error }, 'policy handler failed; answered DUNNO');
      return 'DUNNO';
    }
  }
}
