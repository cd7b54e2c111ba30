import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';

/** Enough of a queue file for its envelope and first header line; envelopes with thousands of recipients are larger. */
const READ_BYTES = 256 * 1024;
const REC_TYPE_MESG = 'M'.charCodeAt(0);
const REC_TYPE_NORM = 'N'.charCodeAt(0);

/**
 * The first header line of a message in Postfix's incoming queue, read from its queue file (records of: type
 * byte, length in 7-bit groups low first, data). For locally submitted mail that is the header Postfix adds:
 * `Received: by host (Postfix, from userid 33)`. Postfix does not pass this header to milters, and the milter
 * protocol has no uid, so the milter looks here while cleanup still holds the file in `incoming`.
 */
export function firstHeaderLine(queueDirectory: string, queueId: string): string | null {
  if (!/^[0-9A-Za-z]+$/.test(queueId)) return null;
  for (const file of [path.join(queueDirectory, 'incoming', queueId), path.join(queueDirectory, 'incoming', queueId.charAt(0), queueId)]) {
    const bytes = readHead(file);
    if (bytes) return parseFirstHeader(bytes);
  }
  return null;
}

function readHead(file: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const buffer = Buffer.alloc(READ_BYTES);
    const length = readSync(fd, buffer, 0, READ_BYTES, 0);
    return buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Walks the records up to the message content and returns its first line. */
export function parseFirstHeader(bytes: Buffer): string | null {
  let at = 0;
  let inContent = false;
  while (at < bytes.length) {
    const type = bytes[at++]!;
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 28) return null;
      const byte = bytes[at++]!;
      length |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    if (at + length > bytes.length) return null;
    if (inContent && type === REC_TYPE_NORM) return bytes.subarray(at, at + length).toString('latin1');
    if (type === REC_TYPE_MESG) inContent = true;
    at += length;
  }
  return null;
}
