import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

/**
 * Draws the extension's icon (an envelope on a blue rounded square, with an hourly bar below it) as PNG files:
 * _meta/icons/{32x32,64x64,128x128}.png for Plesk's extension catalog and htdocs/images/icon-32.png for the
 * buttons. Run with `npm run icons`; the files are committed.
 */

type Rgba = [number, number, number, number];
const BLUE: Rgba = [0x1e, 0x6f, 0xd9, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const AMBER: Rgba = [0xff, 0xb0, 0x20, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

function pixel(x: number, y: number): Rgba {
  // Coordinates in 0..1; the picture is defined once and sampled at every size.
  const radius = 0.18;
  const cx = Math.min(Math.max(x, radius), 1 - radius);
  const cy = Math.min(Math.max(y, radius), 1 - radius);
  if ((x - cx) ** 2 + (y - cy) ** 2 > radius ** 2) return CLEAR;
  const inEnvelope = x > 0.2 && x < 0.8 && y > 0.25 && y < 0.62;
  if (inEnvelope) {
    const flap = Math.abs(y - 0.25 - 0.3 * (1 - Math.abs(x - 0.5) / 0.3)) < 0.035 && y < 0.55;
    const border = x < 0.24 || x > 0.76 || y < 0.29 || y > 0.58;
    return flap || border ? WHITE : BLUE;
  }
  if (y > 0.7 && y < 0.78 && x > 0.2 && x < 0.8) return x < 0.58 ? AMBER : WHITE;
  return BLUE;
}

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

export function iconPng(size: number): Buffer {
  const samples = 4; // 4×4 supersampling for smooth edges
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let x = 0; x < size; x++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const [r, g, b, a] = pixel((x + (sx + 0.5) / samples) / size, (y + (sy + 0.5) / samples) / size);
          sum[0]! += r * a;
          sum[1]! += g * a;
          sum[2]! += b * a;
          sum[3]! += a;
        }
      }
      const alpha = sum[3]! / samples ** 2;
      for (let c = 0; c < 3; c++) row[1 + x * 4 + c] = sum[3]! === 0 ? 0 : Math.round(sum[c]! / sum[3]!);
      row[1 + x * 4 + 3] = Math.round(alpha);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

if (process.argv[1] && path.basename(process.argv[1]) === 'icons.js') {
  const root = path.resolve(path.dirname(process.argv[1]), '../..');
  mkdirSync(path.join(root, '_meta/icons'), { recursive: true });
  mkdirSync(path.join(root, 'htdocs/images'), { recursive: true });
  for (const size of [32, 64, 128]) writeFileSync(path.join(root, `_meta/icons/${size}x${size}.png`), iconPng(size));
  writeFileSync(path.join(root, 'htdocs/images/icon-32.png'), iconPng(32));
  process.stdout.write('Icons written to _meta/icons and htdocs/images.\n');
}
