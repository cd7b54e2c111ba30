/**
 * Fails the UI build when the Plesk module (htdocs/dist/main.js) is over its size budget, gzipped: Plesk pages
 * load it on every visit of a screen, next to Plesk's own scripts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const PLESK_BUNDLE_BUDGET_BYTES = 60 * 1024;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bundle = path.join(root, 'htdocs', 'dist', 'main.js');

const gzipped = gzipSync(readFileSync(bundle), { level: 9 }).length;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
if (gzipped > PLESK_BUNDLE_BUDGET_BYTES) {
  process.stderr.write(`htdocs/dist/main.js is ${kib(gzipped)} gzipped, over its budget of ${kib(PLESK_BUNDLE_BUDGET_BYTES)}.\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`htdocs/dist/main.js: ${kib(gzipped)} gzipped (budget ${kib(PLESK_BUNDLE_BUDGET_BYTES)}).\n`);
}
