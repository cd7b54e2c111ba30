import { encodeFrame } from '../src/postfix/milter-protocol.js';

/** Cuts `bytes` at the given points (any numbers; taken modulo the length, sorted): a stream as TCP may cut it. */
export function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Postfix's milter option negotiation: version 6, every action and every protocol flag offered. */
export function postfixMilterOffer(): Buffer {
  const data = Buffer.alloc(12);
  data.writeUInt32BE(6, 0);
  data.writeUInt32BE(0x1ff, 4);
  data.writeUInt32BE(0x1fffff, 8);
  return encodeFrame('O', data);
}
