import type { Logger } from 'pino';
import { ConnectionServer, type ConnectionLimits, type ProtocolSession } from './connection-server.js';
import {
  ACCEPT,
  CONTINUE,
  MilterFrameParser,
  MilterProtocolError,
  negotiationReply,
  parseMacros,
  parseNegotiation,
  parseStrings,
  quarantineFrame,
  replyCodeFrame,
  SMFIP,
  unbracket,
  type MilterFrame,
} from './milter-protocol.js';

/** What the milter knows of one locally submitted message at its end. */
export interface LocalMessage {
  queueId: string | undefined;
  sender: string | undefined;
  /** The first MAX_KEPT_RECIPIENTS recipients; recipientCount counts them all. */
  recipients: string[];
  recipientCount: number;
}

/** `reject` carries a whole permanent SMTP reply ("554 5.5.3 ..."): only a message that can never be sent gets it. */
export type MilterVerdict = { action: 'accept' } | { action: 'quarantine'; reason: string } | { action: 'reject'; reply: string };
/** A promise when the verdict needs a round trip (the cluster's counts). */
export type MilterHandler = (message: LocalMessage) => MilterVerdict | Promise<MilterVerdict>;

/** What one packet gets: replies, and `close` when the conversation is over (Q) or cannot go on. */
export interface MilterReplies {
  replies: Buffer[];
  close: boolean;
}

/** A flood of RCPTs must not grow memory without end; the count stays right past this. */
const MAX_KEPT_RECIPIENTS = 1000;

/** Replies to commands we did not ask Postfix to skip, unless the negotiated flag says "no reply". */
const NO_REPLY_FLAG: Record<string, number> = {
  C: SMFIP.NR_CONN,
  H: SMFIP.NR_HELO,
  M: SMFIP.NR_MAIL,
  R: SMFIP.NR_RCPT,
  T: SMFIP.NR_DATA,
  L: SMFIP.NR_HDR,
  N: SMFIP.NR_EOH,
  B: SMFIP.NR_BODY,
  U: SMFIP.NR_UNKN,
};

/** The state of one milter connection: one per message with Postfix, but reused when it says so (K). */
export class MilterSession {
  private protocol = 0;
  private readonly macros = new Map<string, string>();
  private sender: string | undefined;
  private recipients: string[] = [];
  private recipientCount = 0;

  constructor(private readonly handler: MilterHandler) {}

  /** Replies to one packet; a promise only for the end of a message whose verdict is one. */
  handle(frame: MilterFrame): MilterReplies | Promise<MilterReplies> {
    switch (frame.command) {
      case 'O': {
        const reply = negotiationReply(parseNegotiation(frame.data));
        this.protocol = reply.readUInt32BE(13);
        return { replies: [reply], close: false };
      }
      case 'D': {
        for (const [name, value] of parseMacros(frame.data).macros) this.macros.set(name, value);
        return { replies: [], close: false };
      }
      case 'M':
        this.resetMessage();
        this.sender = unbracket(parseStrings(frame.data)[0] ?? '');
        return this.continueUnless('M');
      case 'R': {
        const recipient = unbracket(parseStrings(frame.data)[0] ?? '');
        this.recipientCount++;
        if (this.recipients.length < MAX_KEPT_RECIPIENTS) this.recipients.push(recipient);
        return this.continueUnless('R');
      }
      case 'C':
      case 'H':
      case 'L':
      case 'T':
      case 'N':
      case 'B':
      case 'U':
        return this.continueUnless(frame.command);
      case 'E': {
        const replies = this.endOfMessage();
        return Array.isArray(replies) ? { replies, close: false } : replies.then((later) => ({ replies: later, close: false }));
      }
      case 'A':
        this.resetMessage();
        return { replies: [], close: false };
      case 'K':
        this.resetMessage();
        this.macros.clear();
        return { replies: [], close: false };
      case 'Q':
        return { replies: [], close: true };
      default:
        throw new MilterProtocolError('unknown-command', `unknown milter command ${JSON.stringify(frame.command)} (0x${frame.command.charCodeAt(0).toString(16)})`);
    }
  }

  private continueUnless(command: string): MilterReplies {
    return { replies: this.protocol & (NO_REPLY_FLAG[command] ?? 0) ? [] : [CONTINUE], close: false };
  }

  private endOfMessage(): Buffer[] | Promise<Buffer[]> {
    const sender = this.sender ?? this.macros.get('mail_addr');
    const message: LocalMessage = {
      queueId: this.macros.get('i') || undefined,
      sender: sender || undefined,
      recipients: this.recipients,
      recipientCount: this.recipientCount,
    };
    const verdict = this.handler(message);
    this.resetMessage();
    return 'then' in verdict ? verdict.then(verdictReplies) : verdictReplies(verdict);
  }

  private resetMessage(): void {
    this.sender = undefined;
    this.recipients = [];
    this.recipientCount = 0;
  }
}

const NO_REPLY = Buffer.alloc(0);

function verdictReplies(verdict: MilterVerdict): Buffer[] {
  if (verdict.action === 'reject') return [replyCodeFrame(verdict.reply)];
  return verdict.action === 'quarantine' ? [quarantineFrame(verdict.reason), ACCEPT] : [ACCEPT];
}

/** One milter connection as the connection server drives it: packets in, replies out, in order. */
class MilterConnection implements ProtocolSession {
  private readonly parser = new MilterFrameParser();
  private readonly session: MilterSession;
  finished = false;

  constructor(
    handler: MilterHandler,
    private readonly log: Logger,
    private readonly peer: string,
  ) {
    this.session = new MilterSession(handler);
  }

  receive(chunk: Buffer): void {
    this.parser.push(chunk);
  }

  answerNext(): Buffer | Promise<Buffer> | null {
    const frame = this.parser.next();
    if (frame === null) return null;
    this.log.trace({ peer: this.peer, command: frame.command, bytes: frame.data.length }, 'milter packet');
    const handled = this.session.handle(frame);
    return 'then' in handled ? handled.then((later) => this.joined(later)) : this.joined(handled);
  }

  private joined({ replies, close }: MilterReplies): Buffer {
    this.finished = close;
    if (replies.length === 0) return NO_REPLY;
    return replies.length === 1 ? replies[0]! : Buffer.concat(replies);
  }

  get pendingBytes(): number {
    return this.parser.pendingBytes;
  }
}

/**
 * The socket side of the milter. Each connection has its own parser and session; a bad packet, an oversized
 * length or a handler failure closes only that connection (Postfix then applies milter_default_action, which
 * the wiring sets to accept), and nothing one connection sends can stop the others.
 */
export class MilterServer extends ConnectionServer {
  constructor(
    private readonly handler: MilterHandler,
    log: Logger,
    limits: Partial<ConnectionLimits> = {},
  ) {
    super('milter', log, limits);
  }

  protected openSession(peer: string): ProtocolSession {
    return new MilterConnection((message) => this.decide(message), this.log, peer);
  }

  private decide(message: LocalMessage): MilterVerdict | Promise<MilterVerdict> {
    try {
      const verdict = this.handler(message);
      return 'then' in verdict ? verdict.catch((error: unknown) => this.failed(error, message)) : verdict;
    } catch (error) {
      return this.failed(error, message);
    }
  }

  private failed(error: unknown, message: LocalMessage): MilterVerdict {
    // A bug of ours must not stop local mail: accept, as Postfix would with the daemon down.
    this.warnings.error('milter-handler-failed', { err: error, queueId: message.queueId }, 'milter handler failed; message accepted');
    return { action: 'accept' };
  }
}
