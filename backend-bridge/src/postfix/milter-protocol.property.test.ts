import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, MAX_FRAME_BYTES, MilterFrameParser, MilterProtocolError, type MilterFrame } from './milter-protocol.js';
import { MilterSession, type LocalMessage, type MilterReplies } from './milter-server.js';
import { chunked, postfixMilterOffer } from '../../test-support/protocol-bytes.js';

/** Bounded so that `npm test` stays quick; a failure prints its seed to replay. */
const RUNS = { numRuns: 300 };


const latin1 = (text: string) => Buffer.from(text, 'latin1');

/** Packets of every command Postfix sends (and some it never does), with arbitrary data, mixed with raw bytes. */
const milterishBytes = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...'OCDHMRTLNBUEAKQZ\0'), fc.uint8Array({ maxLength: 40 })).map(([c, d]) => encodeFrame(c, Buffer.from(d))) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((d) => Buffer.from(d)) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])) },
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.concat(parts));

type Outcome = { frames: MilterFrame[]; replies: Buffer[]; error: string | null };

/** Feeds the chunks through a parser and a session, as the server does; stops at the first protocol error. */
function run(chunks: Buffer[]): Outcome {
  const parser = new MilterFrameParser();
  const session = new MilterSession((message) => (message.sender === 'over@example.com' ? { action: 'quarantine', reason: 'over' } : { action: 'accept' }));
  const outcome: Outcome = { frames: [], replies: [], error: null };
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let frame = parser.next(); frame !== null; frame = parser.next()) {
        outcome.frames.push({ command: frame.command, data: Buffer.from(frame.data) });
        const { replies, close } = answeredAtOnce(session.handle(frame));
        outcome.replies.push(...replies);
        if (close) return outcome;
      }
    }
  } catch (error) {
    if (!(error instanceof MilterProtocolError)) throw error;
    outcome.error = error.message;
  }
  return outcome;
}


const address = fc.stringMatching(/^[a-z0-9.]{1,12}@[a-z]{1,8}\.test$/);
const message = fc.record({
  sender: fc.oneof(address, fc.constant('over@example.com')),
  recipients: fc.array(address, { minLength: 1, maxLength: 4 }),
  queueId: fc.stringMatching(/^[0-9A-F]{6,12}$/),
  then: fc.constantFrom('K', 'A', ''),
});

describe('milter parser and session, property-based', () => {
  it('arbitrary bytes in arbitrary chunks: only the protocol error, and the same packets however they are cut', () => {
    fc.assert(
      fc.property(milterishBytes, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const whole = run([bytes]);
        expect(run(chunked(bytes, cuts))).toEqual(whole);
        expect(whole.frames.every((f) => f.data.length < MAX_FRAME_BYTES)).toBe(true);
      }),
      RUNS,
    );
  });

  it('conversations as Postfix has them, cut anywhere: the replies, in order, and every message seen whole', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (messages, cuts) => {
        const stream = Buffer.concat([
          postfixMilterOffer(),
          ...messages.flatMap((m) => [
            encodeFrame('D', latin1(`Mi\0${m.queueId}\0{mail_addr}\0${m.sender}\0`)),
            encodeFrame('M', latin1(`<${m.sender}>\0`)),
            ...m.recipients.map((r) => encodeFrame('R', latin1(`<${r}>\0`))),
            encodeFrame('E'),
            ...(m.then ? [encodeFrame(m.then)] : []),
          ]),
          encodeFrame('Q'),
        ]);
        const seen: LocalMessage[] = [];
        const parser = new MilterFrameParser();
        const session = new MilterSession((local) => {
          seen.push(local);
          return local.sender === 'over@example.com' ? { action: 'quarantine', reason: 'over' } : { action: 'accept' };
        });
        const replies: string[] = [];
        let closed = false;
        for (const chunk of chunked(stream, cuts)) {
          parser.push(chunk);
          for (let frame = parser.next(); frame !== null; frame = parser.next()) {
            const result = answeredAtOnce(session.handle(frame));
            replies.push(...result.replies.map((r) => String.fromCharCode(r[4]!)));
            closed ||= result.close;
          }
        }
        expect(closed).toBe(true);
        expect(parser.pendingBytes).toBe(0);
        // MAIL and RCPT were negotiated without replies: the negotiation, then one verdict per message.
        expect(replies).toEqual(['O', ...messages.flatMap((m) => (m.sender === 'over@example.com' ? ['q', 'a'] : ['a']))]);
        expect(seen).toEqual(messages.map((m) => ({ queueId: m.queueId, sender: m.sender, recipients: m.recipients, recipientCount: m.recipients.length })));
      }),
      RUNS,
    );
  });
});

/** A handler that answers at once makes the session answer at once: a promise here is a fault. */
function answeredAtOnce(handled: MilterReplies | Promise<MilterReplies>): MilterReplies {
  if ('then' in handled) throw new Error('a synchronous verdict was answered asynchronously');
  return handled;
}
