import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build:ui` puts the standalone app, relative to the package root. */
const UI_DIR = path.join('frontend', 'dist');

/** The built standalone UI of this package (found above this file, in the source tree and in dist/), or null. */
export function findStandaloneUi(): string | null {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const ui = path.join(dir, UI_DIR);
      return existsSync(path.join(ui, 'index.html')) ? ui : null;
    }
  }
  return null;
}

/**
 * Serves the standalone app's files from `dir`. Hashed assets may be cached for good; index.html never, so a
 * new build is picked up on the next load.
 */
export function registerStandaloneUi(app: FastifyInstance, dir: string): void {
  void app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: 'index.html',
    wildcard: true,
    // @fastify/static serves dotfiles by default: nothing of a build directory's .files is for the browser.
    dotfiles: 'ignore',
    setHeaders: (reply, filePath) => {
      reply.header('Cache-Control', filePath.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}

const ASSET_EXTENSIONS = new Set(['.js', '.css', '.map', '.svg', '.png', '.ico', '.woff', '.woff2', '.json', '.txt']);

/**
 * The app's own paths (/, /settings, /domains/example.com ...) are screens, not files: a GET for anything outside
 * /api that is not a file gets index.html, and the app shows the screen. Returns false when it does not apply.
 */
export function sendAppPage(request: FastifyRequest, reply: FastifyReply): boolean {
  const pathname = request.url.split('?')[0] ?? '/';
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (pathname === '/api' || pathname.startsWith('/api/')) return false;
  // A missing asset stays a 404; screen paths may end like files (/domains/example.com), so only asset types count.
  if (pathname.startsWith('/assets/') || ASSET_EXTENSIONS.has(path.extname(pathname).toLowerCase())) return false;
  reply.header('Cache-Control', 'no-cache');
  void reply.sendFile('index.html');
  return true;
}
