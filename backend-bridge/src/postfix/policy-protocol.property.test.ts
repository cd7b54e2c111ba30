import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogSummariser } from '../log/log-summariser.js';
import { PolicyRequestParser, RequestTooLargeError, STRAY_BLANK_LINE, type ParsedRequest } from './policy-protocol.js';
import { PolicySession } from './policy-server.js';
import { chunked } from '../../test-support/protocol-bytes.js';

/** Bounded so that `npm test` stays quick; a failure prints its seed to replay. */
const RUNS = { numRuns: 300 };


type Outcome = Array<ParsedRequest | typeof STRAY_BLANK_LINE> | { thrown: string };

function parseAll(chunks: Buffer[]): Outcome {
  const parser = new PolicyRequestParser();
  const out: Array<ParsedRequest | typeof STRAY_BLANK_LINE> = [];
  try {
    for (const chunk of chunks) out.push(...parser.feed(chunk));
  } catch (error) {
    if (!(error instanceof RequestTooLargeError)) throw error;
    return { thrown: 'too large' };
  }
  return out;
}

/** Bytes that look like policy traffic often enough to reach every branch: newlines, '=', CR, cut UTF-8. */
const policyishBytes = fc
  .array(
    fc.oneof(
      fc.constantFrom(...Buffer.from('\n\n=\r\nrequest=smtpd_access_policy\nsender=a\nx')).map((b) => [b]),
      fc.constantFrom([0xc3, 0xb6], [0xc3], [0xe2, 0x82], [0xff], [0]),
      fc.integer({ min: 0, max: 255 }).map((b) => [b]),
    ),
    { maxLength: 600 },
  )
  .map((parts) => Buffer.from(parts.flat()));

/** A value Postfix could send: any text without a newline (it ends the line), multi-byte characters included. */
const value = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ''));

type Item = { kind: 'request'; sender: string; extra: Array<[string, string]> } | { kind: 'malformed'; text: string } | { kind: 'blank' };

const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('request' as const), sender: value, extra: fc.array(fc.tuple(fc.stringMatching(/^[a-z_]{1,15}$/), value), { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('malformed' as const), text: fc.stringMatching(/^[a-z ]{1,20}$/) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'blank' as const }) },
);

function serialise(items: Item[]): Buffer {
  return Buffer.from(
    items
      .map((i) => {
        if (i.kind === 'blank') return '\n';
        if (i.kind === 'malformed') return `${i.text}\n\n`;
        const extra = i.extra.filter(([name]) => name !== 'sender' && name !== 'request');
        return `request=smtpd_access_policy\n${extra.map(([n, v]) => `${n}=${v}\n`).join('')}sender=${i.sender}\n\n`;
      })
      .join(''),
  );
}

describe('policy parser, property-based', () => {
  it('arbitrary bytes in arbitrary chunks: only its own error, and the same result however they are cut', () => {
    fc.assert(
      fc.property(policyishBytes, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
        const whole = parseAll([bytes]);
        const pieces = parseAll(chunked(bytes, cuts));
        expect(pieces).toEqual(whole);
      }),
      RUNS,
    );
  });

  it('well-formed requests among stray blank lines and malformed ones, cut anywhere: one answer per request, in order', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 25 }), fc.array(fc.nat(), { maxLength: 30 }), (items, cuts) => {
        const session = new PolicySession((attributes) => `PREPEND X-Sender: ${attributes.sender}`, new LogSummariser(pino({ level: 'silent' })), 'test');
        const answers: string[] = [];
        for (const chunk of chunked(serialise(items), cuts)) {
          session.receive(chunk);
          for (let answer = session.answerNext(); answer !== null; answer = session.answerNext()) {
            if (typeof answer !== 'string') throw new Error('a synchronous handler was answered asynchronously');
            if (answer !== '') answers.push(answer);
          }
        }
        const expected = items.flatMap((i) => (i.kind === 'blank' ? [] : i.kind === 'malformed' ? ['action=DUNNO\n\n'] : [`action=PREPEND X-Sender: ${i.sender}\n\n`]));
        expect(answers).toEqual(expected);
        expect(session.pendingBytes).toBe(0);
      }),
      RUNS,
    );
  });
});
