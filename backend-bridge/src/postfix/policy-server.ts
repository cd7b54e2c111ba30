import type net from 'node:net';
import type { Logger } from 'pino';
import { ConnectionServer } from './connection-server.js';
import { formatAction, PolicyRequestParser, RequestTooLargeError, type PolicyRequest } from './policy-protocol.js';

/** Answers one well-formed request with an action such as `DUNNO` or `DEFER_IF_PERMIT 4.7.1 ...`. */
export type PolicyHandler = (attributes: PolicyRequest) => string;

/** Fail-open answer for requests we cannot read: mail is never stopped because of our own parse problem. */
const MALFORMED_ANSWER = formatAction('DUNNO');

/**
 * The TCP side of the policy service. Each connection has its own parser; a bad request gets a logged DUNNO,
 * a flood or a broken stream closes only that connection, and nothing that arrives can stop the others.
 */
export class PolicyServer extends ConnectionServer {
  constructor(
    private readonly handler: PolicyHandler,
    private readonly log: Logger,
  ) {
    super();
  }

  protected serve(socket: net.Socket, peer: string): void {
    const parser = new PolicyRequestParser();
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
