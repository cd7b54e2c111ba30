/**
 * The Sendmail milter protocol, version 6, as Postfix speaks it: every packet is a 4-byte big-endian length,
 * then a one-byte command and its data (length counts command + data). Only the parts a counting milter needs.
 */

export const MILTER_VERSION = 6;

/** Actions (SMFIF_*): we only ever quarantine, which Postfix turns into its hold queue. */
export const SMFIF_QUARANTINE = 0x20;

/** Protocol flags (SMFIP_*): stages we do not need to see, and replies Postfix should not wait for. */
export const SMFIP = {
  NOCONNECT: 0x1,
  NOHELO: 0x2,
  NOMAIL: 0x4,
  NORCPT: 0x8,
  NOBODY: 0x10,
  NOHDRS: 0x20,
  NOEOH: 0x40,
  NR_HDR: 0x80,
  NOUNKNOWN: 0x100,
  NODATA: 0x200,
  NR_CONN: 0x1000,
  NR_HELO: 0x2000,
  NR_MAIL: 0x4000,
  NR_RCPT: 0x8000,
  NR_DATA: 0x10000,
  NR_UNKN: 0x20000,
  NR_EOH: 0x40000,
  NR_BODY: 0x80000,
} as const;

/**
 * What we ask Postfix for: MAIL (sender), RCPT (recipients) and the end of the message; no connect, HELO, DATA,
 * headers (Postfix does not send its own Received header with the submitting uid to milters), body or unknown
 * commands. We do not answer MAIL or RCPT: the decision is made once, at the end.
 */
export const WANTED_PROTOCOL =
  SMFIP.NOCONNECT | SMFIP.NOHELO | SMFIP.NOHDRS | SMFIP.NOBODY | SMFIP.NOEOH | SMFIP.NOUNKNOWN | SMFIP.NODATA | SMFIP.NR_MAIL | SMFIP.NR_RCPT;

/**
 * Largest packet we accept. Postfix sends body chunks of at most 65535 bytes and headers up to header_size_limit
 * (100 kB by default); anything far beyond is not Postfix, and is refused before a byte of it is buffered.
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

export interface MilterFrame {
  command: string;
  data: Buffer;
}

/** A packet no milter conversation can have; `kind` names the cause with no detail, for summarised logs. */
export class MilterProtocolError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits a byte stream into packets; keeps an unfinished one for the next chunk. Reassembly is linear: once a
 * packet's length is known it is allocated once, and every byte received is copied once, into its place (a
 * packet trickled in 128-byte writes costs what it costs in one write). Packets are taken one at a time
 * (`next`), so a server can stop taking them while its replies are not being read.
 */
export class MilterFrameParser {
  /** Received chunks not yet copied into a packet; the first from `offset` on. */
  private readonly queue: Buffer[] = [];
  private offset = 0;
  private queuedBytes = 0;
  private readonly header = Buffer.alloc(4);
  private headerBytes = 0;
  private packet: Buffer | null = null;
  private packetBytes = 0;
  private copied = 0;

  /** Adds received bytes (kept by reference until copied into their packet). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** The next complete packet, or null; throws MilterProtocolError on a length no milter packet can have. */
  next(): MilterFrame | null {
    if (this.packet === null) {
      this.headerBytes += this.take(this.header, this.headerBytes);
      if (this.headerBytes < 4) return null;
      const length = this.header.readUInt32BE(0);
      if (length === 0) throw new MilterProtocolError('empty-packet', 'empty milter packet (length 0, no command)');
      if (length > MAX_FRAME_BYTES) throw new MilterProtocolError('packet-too-large', `milter packet of ${length} bytes refused (at most ${MAX_FRAME_BYTES})`);
      this.packet = Buffer.allocUnsafe(length);
      this.packetBytes = 0;
    }
    this.packetBytes += this.take(this.packet, this.packetBytes);
    if (this.packetBytes < this.packet.length) return null;
    const packet = this.packet;
    this.packet = null;
    this.packetBytes = 0;
    this.headerBytes = 0;
    return { command: String.fromCharCode(packet[0] ?? 0), data: packet.subarray(1) };
  }

  /** Every packet completed by this chunk (push, then next until null). */
  feed(chunk: Buffer): MilterFrame[] {
    this.push(chunk);
    const frames: MilterFrame[] = [];
    for (let frame = this.next(); frame !== null; frame = this.next()) frames.push(frame);
    return frames;
  }

  /** Bytes received and not yet returned in a packet: an unfinished packet, or packets not taken yet. */
  get pendingBytes(): number {
    return this.headerBytes + this.packetBytes + this.queuedBytes;
  }

  /** Bytes copied so far; equal to the bytes consumed, since each is copied once (what keeps this linear). */
  get copiedBytes(): number {
    return this.copied;
  }

  /** Fills `target` from `at` with as many queued bytes as it can hold; returns how many it copied. */
  private take(target: Buffer, at: number): number {
    let filled = at;
    while (filled < target.length && this.queue.length > 0) {
      const chunk = this.queue[0]!;
      const count = chunk.copy(target, filled, this.offset, Math.min(chunk.length, this.offset + target.length - filled));
      filled += count;
      this.offset += count;
      if (this.offset === chunk.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    const copied = filled - at;
    this.queuedBytes -= copied;
    this.copied += copied;
    return copied;
  }
}

export function encodeFrame(command: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const frame = Buffer.alloc(5 + data.length);
  frame.writeUInt32BE(1 + data.length, 0);
  frame.write(command, 4, 'latin1');
  data.copy(frame, 5);
  return frame;
}

export interface Negotiation {
  version: number;
  actions: number;
  protocol: number;
}

export function parseNegotiation(data: Buffer): Negotiation {
  if (data.length < 12) throw new MilterProtocolError('short-negotiation', `option negotiation of ${data.length} bytes (expected 12)`);
  return { version: data.readUInt32BE(0), actions: data.readUInt32BE(4), protocol: data.readUInt32BE(8) };
}

/** Our answer to Postfix's offer: version 6, and of the actions and flags offered only those we want. */
export function negotiationReply(offer: Negotiation): Buffer {
  const data = Buffer.alloc(12);
  data.writeUInt32BE(Math.min(MILTER_VERSION, offer.version), 0);
  data.writeUInt32BE(offer.actions & SMFIF_QUARANTINE, 4);
  data.writeUInt32BE(offer.protocol & WANTED_PROTOCOL, 8);
  return encodeFrame('O', data);
}

/** NUL-terminated strings one after the other (MAIL and RCPT arguments, header name and value). */
export function parseStrings(data: Buffer): string[] {
  const text = data.toString('utf8');
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** A `D` packet: the command the macros belong to, then name/value pairs. */
export function parseMacros(data: Buffer): { stage: string; macros: Array<[string, string]> } {
  if (data.length === 0) throw new MilterProtocolError('macro-without-stage', 'macro packet without a stage');
  const stage = String.fromCharCode(data[0] ?? 0);
  const strings = parseStrings(data.subarray(1));
  const macros: Array<[string, string]> = [];
  for (let i = 0; i + 1 < strings.length; i += 2) macros.push([(strings[i] ?? '').replace(/^\{(.*)\}$/, '$1'), strings[i + 1] ?? '']);
  return { stage, macros };
}

/** `<alice@example.com>` → alice@example.com; the null sender `<>` → ''. */
export function unbracket(address: string): string {
  const trimmed = address.trim();
  return trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1) : trimmed;
}

/** A quarantine reason travels as a C string: no NUL inside, one line, bounded. */
export function quarantineFrame(reason: string): Buffer {
  const clean = reason.replace(/[\0\r\n]+/g, ' ').slice(0, 900);
  return encodeFrame('q', Buffer.from(`${clean}\0`, 'utf8'));
}

/**
 * A custom reply (`y`): "554 5.5.3 text" refuses the message with that code. Used only for the one permanent
 * refusal (too many recipients); one line, bounded, no NUL, as a C string.
 */
export function replyCodeFrame(reply: string): Buffer {
  const clean = reply.replace(/[\0\r\n]+/g, ' ').slice(0, 900);
  return encodeFrame('y', Buffer.from(`${clean}\0`, 'utf8'));
}

export const CONTINUE = encodeFrame('c');
export const ACCEPT = encodeFrame('a');
