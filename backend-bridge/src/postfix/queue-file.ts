import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { displaySubject } from '../core/header-text.js';

/** Enough of a queue file for its envelope and first header line; envelopes with thousands of recipients are larger. */
const READ_BYTES = 256 * 1024;
const REC_TYPE_MESG = 'M'.charCodeAt(0);
const REC_TYPE_NORM = 'N'.charCodeAt(0);
const REC_TYPE_CONT = 'L'.charCodeAt(0);
const REC_TYPE_RCPT = 'R'.charCodeAt(0);
/** Padding where a record was taken out. */
const REC_TYPE_DTXT = 'w'.charCodeAt(0);
/** A pointer record (decimal file offset): cleanup links in headers a milter or header_checks changed. */
const REC_TYPE_PTR = 'p'.charCodeAt(0);

/** At most this many recipients are read from a queue file (the count is still complete within what was read). */
export const MAX_RECIPIENTS_READ = 100;
/** A Subject header longer than this (before decoding) is cut: it is shown shortened anyway. */
const MAX_RAW_SUBJECT = 4096;
/** Pointer records followed per file; a loop of pointers in a damaged file ends here. */
const MAX_POINTER_HOPS = 64;

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

interface QueueRecord {
  type: number;
  data: Buffer;
  /** Offset just past this record. */
  end: number;
}

/** The record at `at`; null when the bytes end inside it or its length is garbled. */
function recordAt(bytes: Buffer, at: number): QueueRecord | null {
  if (at >= bytes.length) return null;
  const type = bytes[at++]!;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= bytes.length || shift > 28) return null;
    const byte = bytes[at++]!;
    length |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
  }
  if (length < 0 || at + length > bytes.length) return null;
  return { type, data: bytes.subarray(at, at + length), end: at + length };
}

/** Walks the records up to the message content and returns its first line. */
export function parseFirstHeader(bytes: Buffer): string | null {
  let at = 0;
  let inContent = false;
  for (;;) {
    const record = recordAt(bytes, at);
    if (!record) return null;
    if (inContent && record.type === REC_TYPE_NORM) return record.data.toString('latin1');
    if (record.type === REC_TYPE_MESG) inContent = true;
    at = record.end;
  }
}

/** What a screen shows of a held message beyond its record: whom it goes to and its subject. */
export interface QueueFileSummary {
  /** The envelope recipients, at most MAX_RECIPIENTS_READ. */
  recipients: string[];
  /** The decoded subject (see core/header-text.ts); null when the message has none or it was not reached. */
  subject: string | null;
}

/**
 * Reads envelope recipients and the Subject header from the bytes of a queue file. The sender wrote the
 * header, so everything is bounded: recipients, subject length, pointer hops, and the bytes read.
 */
export function parseQueueFile(bytes: Buffer): QueueFileSummary {
  const recipients: string[] = [];
  let at = 0;
  let hops = 0;
  let inContent = false;
  // The header line being put together from its records (a long line comes as L records, then an N).
  let line = '';
  let subject: string | null = null;
  let inSubject = false;
  const endLine = (): boolean => {
    const current = line;
    line = '';
    if (current === '') return false; // The empty line ends the header.
    if (/^[ \t]/.test(current)) {
      if (inSubject && subject !== null && subject.length < MAX_RAW_SUBJECT) subject += `\n${current}`;
    } else {
      inSubject = false;
      const match = /^subject:[ \t]*/i.exec(current);
      if (match && subject === null) {
        subject = current.slice(match[0].length);
        inSubject = true;
      }
    }
    return true;
  };
  for (;;) {
    const record = recordAt(bytes, at);
    if (!record) break;
    at = record.end;
    if (record.type === REC_TYPE_PTR) {
      const offset = Number(record.data.toString('latin1'));
      if (!Number.isSafeInteger(offset) || offset < 0 || ++hops > MAX_POINTER_HOPS) break;
      // A pointer to 0 is "go on with the next record"; others jump to where the rest was written.
      if (offset > 0) at = offset;
      continue;
    }
    if (record.type === REC_TYPE_DTXT) continue;
    if (!inContent) {
      if (record.type === REC_TYPE_RCPT && recipients.length < MAX_RECIPIENTS_READ) recipients.push(record.data.toString('latin1'));
      if (record.type === REC_TYPE_MESG) inContent = true;
      continue;
    }
    if (record.type === REC_TYPE_CONT) {
      if (line.length < MAX_RAW_SUBJECT) line += record.data.toString('latin1');
      continue;
    }
    // Anything else (the end of the content, X or E) ends the header too.
    if (record.type !== REC_TYPE_NORM) break;
    if (line.length < MAX_RAW_SUBJECT) line += record.data.toString('latin1');
    if (!endLine()) break;
  }
  const raw = subject as string | null;
  return { recipients, subject: raw === null ? null : displaySubject(raw.slice(0, MAX_RAW_SUBJECT)) };
}

/**
 * The recipients and subject of a message in the hold queue (`hold/ID`, or `hold/X/ID` when hold is among
 * hash_queue_names); null when it is not there or cannot be read.
 */
export function heldQueueFileSummary(queueDirectory: string, queueId: string): QueueFileSummary | null {
  if (!/^[0-9A-Za-z]+$/.test(queueId)) return null;
  for (const file of [path.join(queueDirectory, 'hold', queueId), path.join(queueDirectory, 'hold', queueId.charAt(0), queueId)]) {
    const bytes = readHead(file);
    if (bytes) return parseQueueFile(bytes);
  }
  return null;
}
