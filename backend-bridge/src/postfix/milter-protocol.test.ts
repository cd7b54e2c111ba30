import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  MAX_FRAME_BYTES,
  MilterFrameParser,
  MilterProtocolError,
  negotiationReply,
  parseMacros,
  parseNegotiation,
  parseStrings,
  quarantineFrame,
  SMFIF_QUARANTINE,
  SMFIP,
  unbracket,
  WANTED_PROTOCOL,
} from './milter-protocol.js';

const text = (value: string) => Buffer.from(value, 'latin1');

describe('milter frame parser', () => {
  it('reads packets split anywhere across chunks, and several in one chunk', () => {
    const stream = Buffer.concat([encodeFrame('M', text('<alice@example.com>\0SIZE=10\0')), encodeFrame('R', text('<bob@remote.test>\0')), encodeFrame('E')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new MilterFrameParser();
      const frames = [...parser.feed(stream.subarray(0, cut)), ...parser.feed(stream.subarray(cut))];
      expect(frames.map((f) => f.command)).toEqual(['M', 'R', 'E']);
      expect(parseStrings(frames[0]!.data)).toEqual(['<alice@example.com>', 'SIZE=10']);
      expect(frames[2]!.data.length).toBe(0);
      expect(parser.pendingBytes).toBe(0);
    }
  });

  it('keeps a short packet (fewer bytes than its length says) pending instead of reading past it', () => {
    const parser = new MilterFrameParser();
    const frame = encodeFrame('L', text('Subject\0hello\0'));
    expect(parser.feed(frame.subarray(0, 3))).toEqual([]);
    expect(parser.feed(frame.subarray(3, frame.length - 1))).toEqual([]);
    expect(parser.pendingBytes).toBe(frame.length - 1);
    expect(parser.feed(frame.subarray(frame.length - 1)).map((f) => f.command)).toEqual(['L']);
  });

  it('refuses a 100 MB length prefix at once, before any of it arrives', () => {
    const parser = new MilterFrameParser();
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(100 * 1024 * 1024, 0);
    prefix.write('B', 4, 'latin1');
    expect(() => parser.feed(prefix)).toThrow(MilterProtocolError);
    expect(() => new MilterFrameParser().feed(prefix)).toThrow(`milter packet of ${100 * 1024 * 1024} bytes refused (at most ${MAX_FRAME_BYTES})`);
  });

  it('copies each byte once, however finely a packet is split (linear reassembly)', () => {
    const packet = encodeFrame('B', Buffer.alloc(MAX_FRAME_BYTES - 1, 'x'));
    const parser = new MilterFrameParser();
    const frames = [];
    for (let at = 0; at < packet.length; at += 128) frames.push(...parser.feed(packet.subarray(at, at + 128)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.equals(packet.subarray(5))).toBe(true);
    // Copying the whole buffer on every chunk, as a concatenating parser does, would be about 4 GiB here.
    expect(parser.copiedBytes).toBe(packet.length);
  });

  it('refuses a packet of length 0 (no command)', () => {
    expect(() => new MilterFrameParser().feed(Buffer.alloc(4))).toThrow('empty milter packet');
  });
});

describe('milter packets', () => {
  it('negotiates version 6 with only quarantine, and of the offered flags only those it wants', () => {
    const offer = Buffer.alloc(12);
    offer.writeUInt32BE(6, 0);
    offer.writeUInt32BE(0x1ff, 4);
    offer.writeUInt32BE(0x1fffff, 8);
    const reply = negotiationReply(parseNegotiation(offer));
    expect(reply.readUInt32BE(0)).toBe(13);
    expect(String.fromCharCode(reply[4]!)).toBe('O');
    expect(reply.readUInt32BE(5)).toBe(6);
    expect(reply.readUInt32BE(9)).toBe(SMFIF_QUARANTINE);
    expect(reply.readUInt32BE(13)).toBe(WANTED_PROTOCOL);
    expect(WANTED_PROTOCOL & (SMFIP.NOMAIL | SMFIP.NORCPT)).toBe(0);
    // An MTA that offers fewer flags gets no more than it offered.
    const small = Buffer.alloc(12);
    small.writeUInt32BE(6, 0);
    small.writeUInt32BE(0, 4);
    small.writeUInt32BE(SMFIP.NOCONNECT, 8);
    const limited = negotiationReply(parseNegotiation(small));
    expect(limited.readUInt32BE(9)).toBe(0);
    expect(limited.readUInt32BE(13)).toBe(SMFIP.NOCONNECT);
    expect(() => parseNegotiation(Buffer.alloc(5))).toThrow('option negotiation of 5 bytes');
  });

  it('reads macros with and without braces, addresses with and without brackets', () => {
    expect(parseMacros(text('Ei\0ABC123\0{mail_addr}\0alice@example.com\0'))).toEqual({
      stage: 'E',
      macros: [
        ['i', 'ABC123'],
        ['mail_addr', 'alice@example.com'],
      ],
    });
    expect(() => parseMacros(Buffer.alloc(0))).toThrow('macro packet without a stage');
    expect(unbracket('<alice@example.com>')).toBe('alice@example.com');
    expect(unbracket('<>')).toBe('');
    expect(unbracket('bob@example.com')).toBe('bob@example.com');
  });

  it('writes a quarantine reason as one line ending in NUL', () => {
    const frame = quarantineFrame('limit\r\nreached\0now');
    expect(String.fromCharCode(frame[4]!)).toBe('q');
    expect(frame.subarray(5).toString('latin1')).toBe('limit reached now\0');
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  });
});
