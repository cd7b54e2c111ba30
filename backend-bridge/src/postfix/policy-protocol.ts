import { StringDecoder } from 'node:string_decoder';

/**
 * Postfix's SMTP access policy delegation protocol: a request is `name=value` lines ended by an empty line;
 * the answer is `action=...` and an empty line. One connection carries many requests, one at a time.
 * Real smtpd requests are 1-2 kB; anything far larger is not Postfix talking.
 */
export const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * The attributes we act on. Postfix sends about thirty; the rest are read past without being kept, which
 * matters at tens of thousands of requests per second (less garbage, shorter GC pauses).
 */
export interface PolicyRequest {
  protocolState: string;
  sender: string;
  saslUsername: string;
  recipientCount: string;
  queueId: string;
  clientAddress: string;
  /** Given at END-OF-MESSAGE only when the message has one recipient; at RCPT, the recipient of that command. */
  recipient: string;
  /** Postfix's id of the SMTP transaction: the same at RCPT and at END-OF-MESSAGE of one message. */
  instance: string;
}

export type ParsedRequest = { ok: true; attributes: PolicyRequest } | { ok: false; error: string };

export class RequestTooLargeError extends Error {
  /** The cause with no detail, for summarised logs. */
  readonly kind = 'request-too-large';

  constructor(bytes: number) {
    super(`policy request exceeds ${MAX_REQUEST_BYTES} bytes without its terminating empty line (${bytes} bytes buffered)`);
  }
}

/**
 * A blank line where a request should start: it ends no request, so it gets no answer (answering it would put
 * every later answer one request behind its request).
 */
export const STRAY_BLANK_LINE = Symbol('stray blank line');

/**
 * Splits a byte stream into policy requests; keeps the unfinished tail for the next chunk. Requests are taken
 * one at a time (`next`), so a server can stop taking them while its answers are not being read.
 */
export class PolicyRequestParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  /** Where the next request starts in `buffer`: requests are read in place, not cut off one by one. */
  private position = 0;

  /** Adds received bytes. */
  push(chunk: Buffer): void {
    const text = this.decoder.write(chunk);
    if (this.position >= this.buffer.length) this.buffer = text;
    else this.buffer = (this.position > 0 ? this.buffer.slice(this.position) : this.buffer) + text;
    this.position = 0;
  }

  /**
   * The next complete request, STRAY_BLANK_LINE, or null when no complete request is buffered. Throws
   * RequestTooLargeError when the unfinished request grows past MAX_REQUEST_BYTES (a flood, not Postfix).
   */
  next(): ParsedRequest | typeof STRAY_BLANK_LINE | null {
    const start = this.position;
    if (start < this.buffer.length && this.buffer.charCodeAt(start) === 10) {
      this.position = start + 1;
      return STRAY_BLANK_LINE;
    }
    const end = this.buffer.indexOf('\n\n', start);
    if (end < 0) {
      if (this.buffer.length - start > MAX_REQUEST_BYTES) throw new RequestTooLargeError(this.buffer.length - start);
      return null;
    }
    this.position = end + 2;
    return parseRequestText(this.buffer.slice(start, end));
  }

  /** Every request completed by this chunk (push, then next until null). */
  feed(chunk: Buffer): Array<ParsedRequest | typeof STRAY_BLANK_LINE> {
    this.push(chunk);
    const requests: Array<ParsedRequest | typeof STRAY_BLANK_LINE> = [];
    for (let request = this.next(); request !== null; request = this.next()) requests.push(request);
    return requests;
  }

  /** Bytes received and not yet read as a request: an unfinished request, or requests not taken yet. */
  get pendingBytes(): number {
    return this.buffer.length - this.position;
  }
}

/**
 * Reads one request. Lines are scanned in place and only the values we act on are cut out: this runs for every
 * message the server accepts, so it avoids making a string per line.
 */
export function parseRequestText(text: string): ParsedRequest {
  const attributes: PolicyRequest = { protocolState: '', sender: '', saslUsername: '', recipientCount: '', queueId: '', clientAddress: '', recipient: '', instance: '' };
  let request: string | undefined;
  const length = text.length;
  let position = 0;
  while (position <= length) {
    let next = text.indexOf('\n', position);
    if (next < 0) next = length;
    const lineEnd = next > position && text.charCodeAt(next - 1) === 13 ? next - 1 : next; // tolerate CRLF
    const eq = text.indexOf('=', position);
    if (eq <= position || eq >= lineEnd) {
      return { ok: false, error: `malformed line ${JSON.stringify(text.slice(position, Math.min(lineEnd, position + 80)))}: expected name=value` };
    }
    switch (eq - position) {
      case 6:
        if (text.startsWith('sender', position)) attributes.sender = text.slice(eq + 1, lineEnd);
        break;
      case 7:
        if (text.startsWith('request', position)) request = text.slice(eq + 1, lineEnd);
        break;
      case 8:
        if (text.startsWith('queue_id', position)) attributes.queueId = text.slice(eq + 1, lineEnd);
        else if (text.startsWith('instance', position)) attributes.instance = text.slice(eq + 1, lineEnd);
        break;
      case 9:
        if (text.startsWith('recipient', position)) attributes.recipient = text.slice(eq + 1, lineEnd);
        break;
      case 13:
        if (text.startsWith('sasl_username', position)) attributes.saslUsername = text.slice(eq + 1, lineEnd);
        break;
      case 14:
        if (text.startsWith('protocol_state', position)) attributes.protocolState = text.slice(eq + 1, lineEnd);
        else if (text.startsWith('client_address', position)) attributes.clientAddress = text.slice(eq + 1, lineEnd);
        break;
      case 15:
        if (text.startsWith('recipient_count', position)) attributes.recipientCount = text.slice(eq + 1, lineEnd);
        break;
    }
    position = next + 1;
  }
  if (request !== 'smtpd_access_policy') {
    return { ok: false, error: `unsupported request ${JSON.stringify(request ?? '(missing)')}: expected request=smtpd_access_policy` };
  }
  return { ok: true, attributes };
}

/** The answer lines; the text must stay on one line, or Postfix would read the rest as a new attribute. */
export function formatAction(action: string): string {
  return action === 'DUNNO' ? DUNNO_ANSWER : `action=${action.replace(/[\r\n]+/g, ' ')}\n\n`;
}

const DUNNO_ANSWER = 'action=DUNNO\n\n';
