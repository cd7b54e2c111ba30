import type { Logger } from 'pino';
import type { LogSummariser } from '../log/log-summariser.js';
import { ConnectionServer, type ConnectionLimits, type ProtocolSession } from './connection-server.js';
import { formatAction, PolicyRequestParser, STRAY_BLANK_LINE, type PolicyRequest } from './policy-protocol.js';

/**
 * Answers one well-formed request with an action such as `DUNNO` or `DEFER_IF_PERMIT 4.7.1 ...`; a promise when
 * the answer needs a round trip (the cluster's counts).
 */
export type PolicyHandler = (attributes: PolicyRequest) => string | Promise<string>;

/** Fail-open answer for requests we cannot read: mail is never stopped because of our own parse problem. */
const MALFORMED_ANSWER = formatAction('DUNNO');

/**
 * One policy connection: one answer per request, in order. A malformed request gets a DUNNO (Postfix waits for
 * an answer to whatever it sent); a blank line that ends no request gets none. Both are logged, summarised.
 */
export class PolicySession implements ProtocolSession {
  private readonly parser = new PolicyRequestParser();
  readonly finished = false;

  constructor(
    private readonly handler: PolicyHandler,
    private readonly warnings: LogSummariser,
    private readonly peer: string,
  ) {}

  receive(chunk: Buffer): void {
    this.parser.push(chunk);
  }

  answerNext(): string | Promise<string> | null {
    const request = this.parser.next();
    if (request === null) return null;
    if (request === STRAY_BLANK_LINE) {
      this.warnings.warn('policy-stray-blank-line', { peer: this.peer }, 'blank line outside a policy request ignored (no answer)');
      return '';
    }
    if (!request.ok) {
      this.warnings.warn('policy-malformed', { peer: this.peer, error: request.error }, 'malformed policy request answered DUNNO');
      return MALFORMED_ANSWER;
    }
    const action = this.decide(request.attributes);
    return typeof action === 'string' ? formatAction(action) : action.then(formatAction, (error: unknown) => formatAction(this.failed(error)));
  }

  get pendingBytes(): number {
    return this.parser.pendingBytes;
  }

  private decide(attributes: PolicyRequest): string | Promise<string> {
    try {
      return this.handler(attributes);
    } catch (error) {
      return this.failed(error);
    }
  }

  private failed(error: unknown): string {
    // A bug of ours must not stop mail: answer as if the service were unreachable with fail-open wiring.
    this.warnings.error('policy-handler-failed', { peer: this.peer, err: error }, 'policy handler failed; answered DUNNO');
    return 'DUNNO';
  }
}

/**
 * The socket side of the policy service. Each connection has its own parser; a flood or a broken stream
 * closes only that connection, and nothing that arrives can stop the others.
 */
export class PolicyServer extends ConnectionServer {
  constructor(
    private readonly handler: PolicyHandler,
    log: Logger,
    limits: Partial<ConnectionLimits> = {},
  ) {
    super('policy', log, limits);
  }

  protected openSession(peer: string): PolicySession {
    return new PolicySession(this.handler, this.warnings, peer);
  }
}
