import { describe, expect, it } from 'vitest';
import { formatAction, parseRequestText, PolicyRequestParser, RequestTooLargeError, STRAY_BLANK_LINE, type ParsedRequest } from './policy-protocol.js';

/** The sender of a well-formed request, the error of a malformed one, or 'blank line'. */
function outline(request: ParsedRequest | typeof STRAY_BLANK_LINE | undefined): string | undefined {
  if (request === undefined) return undefined;
  if (request === STRAY_BLANK_LINE) return 'blank line';
  return request.ok ? request.attributes.sender : request.error;
}

describe('parseRequestText', () => {
  it('keeps the attributes acted on, ignores the others, tolerates CRLF', () => {
    const text = [
      'request=smtpd_access_policy',
      'protocol_state=END-OF-MESSAGE',
      'sasl_sender=not-this@example.com',
      'sender=alice@example.com\r',
      'sasl_username=alice@example.com',
      'recipient=',
      'recipient_count=3',
      'client_address=192.0.2.7',
      'queue_id=4F2A1',
      'instance=1a2b.64f0c3d1.5e6f7.0',
      'recipients=decoy',
      'senders=decoy',
      'size=1234',
    ].join('\n');
    expect(parseRequestText(text)).toEqual({
      ok: true,
      attributes: {
        protocolState: 'END-OF-MESSAGE',
        sender: 'alice@example.com',
        saslUsername: 'alice@example.com',
        recipientCount: '3',
        queueId: '4F2A1',
        clientAddress: '192.0.2.7',
        recipient: '',
        instance: '1a2b.64f0c3d1.5e6f7.0',
      },
    });
  });

  it('keeps everything after the first = in a value', () => {
    const parsed = parseRequestText('request=smtpd_access_policy\nsender=a=b@example.com');
    expect(parsed.ok && parsed.attributes.sender).toBe('a=b@example.com');
  });

  it('names a line without name=value, and an unsupported request', () => {
    expect(parseRequestText('request=smtpd_access_policy\n=nameless')).toEqual({ ok: false, error: 'malformed line "=nameless": expected name=value' });
    expect(parseRequestText('request=smtpd_access_policy\nno equals sign')).toMatchObject({ ok: false, error: expect.stringContaining('"no equals sign"') });
    expect(parseRequestText('sender=x@example.com')).toMatchObject({ ok: false, error: expect.stringContaining('"(missing)"') });
  });
});

describe('PolicyRequestParser', () => {
  it('splits requests across chunk borders, including inside a multi-byte character', () => {
    const parser = new PolicyRequestParser();
    const bytes = Buffer.from('request=smtpd_access_policy\nsender=jörg@example.com\n\nrequest=smtpd_access_policy\n\n');
    const cut = bytes.indexOf(0xb6); // second byte of ö
    expect(parser.feed(bytes.subarray(0, cut))).toEqual([]);
    const requests = parser.feed(bytes.subarray(cut));
    expect(requests).toHaveLength(2);
    expect(outline(requests[0])).toBe('jörg@example.com');
    expect(parser.pendingBytes).toBe(0);
  });

  it('reads several requests from one chunk, a lone blank line as no request, and keeps the rest', () => {
    const parser = new PolicyRequestParser();
    const chunk = Buffer.from('request=smtpd_access_policy\nsender=a@example.com\n\n\nrequest=smtpd_access_policy\r\nsender=b@example.com\r\n\nrequest=smtpd_');
    const requests = parser.feed(chunk);
    expect(requests.map(outline)).toEqual(['a@example.com', 'blank line', 'b@example.com']);
    chunk.fill(0); // the socket's buffer may be reused: the unfinished request must not change with it
    expect(parser.pendingBytes).toBe('request=smtpd_'.length);
    const last = parser.feed(Buffer.from('access_policy\nsender=c@example.com\n\n'));
    expect(last).toHaveLength(1);
    expect(outline(last[0])).toBe('c@example.com');
  });

  it('refuses to buffer a request past the size limit', () => {
    const parser = new PolicyRequestParser();
    expect(() => parser.feed(Buffer.alloc(70_000, 'a'))).toThrow(RequestTooLargeError);
  });
});

describe('formatAction', () => {
  it('keeps an answer on one line', () => {
    expect(formatAction('DEFER_IF_PERMIT 4.7.1 two\nlines')).toBe('action=DEFER_IF_PERMIT 4.7.1 two lines\n\n');
    expect(formatAction('DUNNO')).toBe('action=DUNNO\n\n');
  });
});
