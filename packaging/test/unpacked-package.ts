import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pack } from '../pack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Whether this checkout has the frontend's Plesk build (htdocs/dist/main.js) to put in the package. */
export const FRONTEND_BUILT = existsSync(path.join(ROOT, 'htdocs/dist/main.js'));

/**
 * Packs the extension as `npm run pack` does and unpacks it into a fresh directory; returns that directory.
 * `inCheckout` unpacks below test-output/ of this checkout, where Node finds the checkout's node_modules by
 * walking up: the installed runtime packages post-install looks for, without a copy.
 */
export function unpackedPackage(options: { inCheckout?: boolean } = {}): string {
  if (!FRONTEND_BUILT) process.env.OML_PACK_WITHOUT_FRONTEND = '1';
  const parent = options.inCheckout ? path.join(ROOT, 'test-output') : os.tmpdir();
  mkdirSync(parent, { recursive: true });
  const out = mkdtempSync(path.join(parent, 'oml-zip-'));
  const { zip } = pack({ outDir: out });
  const into = path.join(out, 'unpacked');
  execFileSync('unzip', ['-q', zip, '-d', into]);
  return into;
}
