import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { submittingUid } from '../core/identity.js';
import { firstHeaderLine, parseFirstHeader } from './queue-file.js';

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
});
