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
}

export type ParsedRequest = { ok: true; attributes: PolicyRequest } | { ok: false; error: string };

export class RequestTooLargeError extends Error {
  constructor(bytes: number) {
    super(`policy request exceeds ${MAX_REQUEST_BYTES} bytes without its terminating empty line (${bytes} bytes buffered)`);
  }
}

/** Splits a byte stream into policy requests; keeps the unfinished tail for the next chunk. */
export class PolicyRequestParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  /** Returns every request completed by this chunk; throws RequestTooLargeError when the sender floods. */
  feed(chunk: Buffer): ParsedRequest[] {
    this.buffer += this.decoder.write(chunk);
    const requests: ParsedRequest[] = [];
    for (;;) {
      const end = this.buffer.startsWith('\n') ? 0 : this.buffer.indexOf('\n\n');
      if (end < 0) break;
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end === 0 ? 1 : end + 2);
      requests.push(parseRequestText(text));
    }
    if (this.buffer.length > MAX_REQUEST_BYTES) throw new RequestTooLargeError(this.buffer.length);
    return requests;
  }

  /** Bytes of a request that was started but never finished (at connection close). */
  get pendingBytes(): number {
    return this.buffer.length;
  }
}

export function parseRequestText(text: string): ParsedRequest {
  if (text.length === 0) return { ok: false, error: 'empty request (a blank line with no attributes)' };
  const attributes: PolicyRequest = { protocolState: '', sender: '', saslUsername: '', recipientCount: '', queueId: '', clientAddress: '' };
  let request: string | undefined;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    let line = text.slice(lineStart, lineEnd);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const eq = line.indexOf('=');
    if (eq <= 0) return { ok: false, error: `malformed line ${JSON.stringify(line.slice(0, 80))}: expected name=value` };
    switch (line.slice(0, eq)) {
      case 'request':
        request = line.slice(eq + 1);
        break;
      case 'protocol_state':
        attributes.protocolState = line.slice(eq + 1);
        break;
      case 'sender':
        attributes.sender = line.slice(eq + 1);
        break;
      case 'sasl_username':
        attributes.saslUsername = line.slice(eq + 1);
        break;
      case 'recipient_count':
        attributes.recipientCount = line.slice(eq + 1);
        break;
      case 'queue_id':
        attributes.queueId = line.slice(eq + 1);
        break;
      case 'client_address':
        attributes.clientAddress = line.slice(eq + 1);
        break;
    }
    lineStart = lineEnd + 1;
  }
  if (request !== 'smtpd_access_policy') {
    return { ok: false, error: `unsupported request ${JSON.stringify(request ?? '(missing)')}: expected request=smtpd_access_policy` };
  }
  return { ok: true, attributes };
}

/** The answer lines; the text must stay on one line, or Postfix would read the rest as a new attribute. */
export function formatAction(action: string): string {
  return `action=${action.replace(/[\r\n]+/g, ' ')}\n\n`;
}
