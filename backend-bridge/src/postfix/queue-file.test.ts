import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { submittingUid } from '../core/identity.js';
import { firstHeaderLine, heldQueueFileSummary, MAX_RECIPIENTS_READ, parseFirstHeader, parseQueueFile } from './queue-file.js';

/** One queue-file record: type, length in 7-bit groups (low first, high bit = more), data. */
function record(type: string, data: string): Buffer {
  const bytes = Buffer.from(data, 'latin1');
  const length: number[] = [];
  let rest = bytes.length;
  do {
    let byte = rest & 0x7f;
    rest >>= 7;
    if (rest) byte |= 0x80;
    length.push(byte);
  } while (rest);
  return Buffer.concat([Buffer.from(type, 'latin1'), Buffer.from(length), bytes]);
}

const QUEUE_FILE = Buffer.concat([
  record('C', '             366              53               1               0             366               0'),
  record('T', '1795824153 12345'),
  // An envelope that mentions the pattern must not be taken for the header.
  record('S', '(Postfix, from userid 0)@forged.test'),
  record('R', 'x'.repeat(300)),
  record('M', ''),
  record('N', 'Received: by host.test (Postfix, from userid 33)'),
  record('N', '\tid EFC0921231F; Sat, 28 Nov 2026 00:02:33 +0000 (UTC)'),
  record('N', 'Received: by forged (Postfix, from userid 0)'),
]);

describe('queue file', () => {
  it('finds the first header line after the envelope, with multi-byte record lengths', () => {
    const first = parseFirstHeader(QUEUE_FILE);
    expect(first).toBe('Received: by host.test (Postfix, from userid 33)');
    expect(submittingUid(first!)).toBe(33);
    expect(submittingUid('Received: from mail.example.com (mail.example.com [192.0.2.1])')).toBeNull();
  });

  it('gives up on a truncated or garbled file instead of reading past it', () => {
    expect(parseFirstHeader(QUEUE_FILE.subarray(0, 40))).toBeNull();
    expect(parseFirstHeader(Buffer.from([0x4e, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBeNull();
    expect(parseFirstHeader(Buffer.alloc(0))).toBeNull();
  });

  it('reads the file of a queue id from the incoming queue, hashed or not', () => {
    const queue = mkdtempSync(path.join(os.tmpdir(), 'oml-queue-'));
    mkdirSync(path.join(queue, 'incoming', 'A'), { recursive: true });
    writeFileSync(path.join(queue, 'incoming', 'ABC123'), QUEUE_FILE);
    writeFileSync(path.join(queue, 'incoming', 'A', 'A99999'), QUEUE_FILE);
    expect(firstHeaderLine(queue, 'ABC123')).toContain('from userid 33');
    expect(firstHeaderLine(queue, 'A99999')).toContain('from userid 33');
    expect(firstHeaderLine(queue, 'FFFFFF')).toBeNull();
    expect(firstHeaderLine(queue, '../../etc/passwd')).toBeNull();
  });

  it('reads envelope recipients and the decoded subject of a held message, bounded', () => {
    const file = Buffer.concat([
      record('C', '             366              53               1               0             366               0'),
      record('S', 'alice@example.com'),
      record('R', 'a@remote.test'),
      record('R', 'b@remote.test'),
      record('M', ''),
      record('N', 'Received: by host.test (Postfix, from userid 33)'),
      record('L', 'Subject: =?UTF-8?B?R3LDvMOfZQ==?= '),
      record('N', '<b>aus</b>'),
      record('N', '\t=?iso-8859-1?Q?K=F6ln?='),
      record('N', 'Subject: a second one is not the subject'),
      record('N', ''),
      record('N', 'Subject: in the body'),
      record('X', ''),
      record('E', ''),
    ]);
    expect(parseQueueFile(file)).toEqual({ recipients: ['a@remote.test', 'b@remote.test'], subject: 'Grüße <b>aus</b> Köln' });
    expect(parseQueueFile(file.subarray(0, 60))).toEqual({ recipients: [], subject: null });

    const many = Buffer.concat([...Array.from({ length: 5000 }, (_, i) => record('R', `r${i}@remote.test`)), record('M', ''), record('N', `Subject: ${'x'.repeat(100_000)}`)]);
    const summary = parseQueueFile(many);
    expect(summary.recipients).toHaveLength(MAX_RECIPIENTS_READ);
    expect(summary.subject!.length).toBeLessThanOrEqual(200);
  });

  it('follows pointer records, and a loop of pointers ends', () => {
    const head = Buffer.concat([record('R', 'a@remote.test'), record('M', ''), record('N', 'From: a')]);
    const tail = record('N', 'Subject: moved');
    const pointerTo = (offset: number) => record('p', String(offset).padStart(15, ' '));
    const pointerLength = pointerTo(0).length;
    const jumped = Buffer.concat([head, pointerTo(head.length + pointerLength + 5), Buffer.from('junk!'), tail, record('N', '')]);
    expect(parseQueueFile(jumped).subject).toBe('moved');
    const loop = Buffer.concat([head, pointerTo(head.length)]);
    expect(parseQueueFile(loop)).toEqual({ recipients: ['a@remote.test'], subject: null });
  });

  it('finds a held message in the hold queue, hashed or not, and nothing outside it', () => {
    const queue = mkdtempSync(path.join(os.tmpdir(), 'oml-queue-'));
    mkdirSync(path.join(queue, 'hold', 'B'), { recursive: true });
    const file = Buffer.concat([record('R', 'a@remote.test'), record('M', ''), record('N', 'Subject: hi'), record('N', '')]);
    writeFileSync(path.join(queue, 'hold', 'ABC123'), file);
    writeFileSync(path.join(queue, 'hold', 'B', 'B99999'), file);
    expect(heldQueueFileSummary(queue, 'ABC123')).toEqual({ recipients: ['a@remote.test'], subject: 'hi' });
    expect(heldQueueFileSummary(queue, 'B99999')?.subject).toBe('hi');
    expect(heldQueueFileSummary(queue, 'FFFFFF')).toBeNull();
    expect(heldQueueFileSummary(queue, '../hold/ABC123')).toBeNull();
  });
});
