import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `npm run pack`: dist/outgoing-mail-limits-VERSION-RELEASE.zip with exactly what Plesk installs —
 *   meta.xml, DESCRIPTION.md and CHANGES.md at the top (where Plesk's extension structure puts them), _meta/
 *   (icons, screenshots), htdocs/ (index.php, images, dist/ = the
 *   frontend's Plesk build), plib/ (controllers, hooks, library, scripts, resources) and plib/bridge/ (the
 *   bridge's built JavaScript, its launcher, package.json and the lock file; post-install runs npm ci there).
 * No TypeScript sources, tests, source maps or node_modules.
 */

/** The checkout: the nearest directory above this file with meta.xml (source and dist/ differ in depth). */
function findRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'meta.xml'))) return dir;
  }
  throw new Error('meta.xml not found above the packaging script');
}

const ROOT = findRoot();
const PLIB_PARTS = ['controllers', 'hooks', 'library', 'scripts', 'resources'];
/**
 * The screenshots Plesk shows in its extension catalogue: pages of the simulated Plesk page test
 * (frontend/e2e/plesk-page.spec.ts). A copy is kept in _meta/screenshots; a test run's newer ones replace it.
 */
export const CATALOGUE_SCREENSHOTS = ['plesk-domain-mailboxes.png', 'plesk-limit-dialog.png', 'plesk-overview.png'];

/** Each catalogue screenshot from the last test run when there is one, else the kept copy. */
function copyScreenshots(target: string): void {
  mkdirSync(target, { recursive: true });
  for (const name of CATALOGUE_SCREENSHOTS) {
    const fresh = path.join(ROOT, 'test-output/screenshots', name);
    const kept = path.join(ROOT, '_meta/screenshots', name);
    const source = existsSync(fresh) ? fresh : kept;
    if (!existsSync(source)) throw new Error(`screenshot ${name} is missing from test-output/screenshots and _meta/screenshots`);
    cpSync(source, path.join(target, name));
  }
}

export interface PackResult {
  zip: string;
  version: string;
}

/**
 * The package's CHANGES.md, made from the project's CHANGES.md so there is one changelog: each "## VERSION ..."
 * section becomes "# VERSION-RELEASE" (Plesk's catalogue shows a changelog headed by version and release; the
 * release of older versions is not kept, so they keep their version alone). Refuses a changelog without a section
 * for the version being packed: a package must say what it changes.
 */
export function packageChangelog(projectChanges: string, version: string, release: string): string {
  const heading = /^## +(\d+\.\d+\.\d+)\b.*$/gm;
  if (![...projectChanges.matchAll(heading)].some((match) => match[1] === version)) {
    throw new Error(`CHANGES.md has no "## ${version}" section: say what this version changes before packing it`);
  }
  const sections = projectChanges.slice(projectChanges.search(heading));
  return `${sections.replace(heading, (_line, found: string) => (found === version ? `# ${version}-${release}` : `# ${found}`)).trimEnd()}\n`;
}

function metaFields(): { version: string; release: string } {
  const meta = readFileSync(path.join(ROOT, 'meta.xml'), 'utf8');
  const version = /<version>([^<]+)<\/version>/.exec(meta)?.[1];
  const release = /<release>([^<]+)<\/release>/.exec(meta)?.[1];
  if (!version || !release) throw new Error('meta.xml has no <version> or <release>');
  const packageVersion = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  if (packageVersion !== version) throw new Error(`meta.xml version ${version} differs from package.json version ${packageVersion}`);
  return { version, release };
}

/** Copies the built bridge: every .js file of dist/backend-bridge/src except tests. */
function copyBridgeCode(target: string): void {
  const source = path.join(ROOT, 'dist/backend-bridge/src');
  if (!existsSync(path.join(source, 'cli/main.js'))) throw new Error('dist/backend-bridge is missing: run npm run build first');
  cpSync(source, path.join(target, 'dist/backend-bridge/src'), {
    recursive: true,
    filter: (file) => statSync(file).isDirectory() || (file.endsWith('.js') && !file.endsWith('.test.js')),
  });
}

export function pack(options: { outDir?: string } = {}): PackResult {
  const meta = metaFields();
  const version = `${meta.version}-${meta.release}`;
  const frontend = path.join(ROOT, 'htdocs/dist/main.js');
  if (!existsSync(frontend) && process.env.OML_PACK_WITHOUT_FRONTEND !== '1') {
    throw new Error('htdocs/dist/main.js is missing: build the frontend for Plesk first (the screens need it)');
  }
  const stage = mkdtempSync(path.join(os.tmpdir(), 'oml-pack-'));
  try {
    cpSync(path.join(ROOT, 'meta.xml'), path.join(stage, 'meta.xml'));
    cpSync(path.join(ROOT, 'DESCRIPTION.md'), path.join(stage, 'DESCRIPTION.md'));
    writeFileSync(path.join(stage, 'CHANGES.md'), packageChangelog(readFileSync(path.join(ROOT, 'CHANGES.md'), 'utf8'), meta.version, meta.release));
    cpSync(path.join(ROOT, '_meta'), path.join(stage, '_meta'), { recursive: true, filter: (file) => !file.includes(`${path.sep}screenshots${path.sep}`) });
    copyScreenshots(path.join(stage, '_meta/screenshots'));
    cpSync(path.join(ROOT, 'htdocs'), path.join(stage, 'htdocs'), { recursive: true, filter: (file) => !file.endsWith('.map') });
    for (const part of PLIB_PARTS) cpSync(path.join(ROOT, 'plib', part), path.join(stage, 'plib', part), { recursive: true });
    const bridge = path.join(stage, 'plib/bridge');
    copyBridgeCode(bridge);
    cpSync(path.join(ROOT, 'bin/outgoing-limits'), path.join(bridge, 'bin/outgoing-limits'));
    // The lock file lists the development packages too; npm ci --omit=dev installs only the runtime ones.
    cpSync(path.join(ROOT, 'package.json'), path.join(bridge, 'package.json'));
    cpSync(path.join(ROOT, 'package-lock.json'), path.join(bridge, 'package-lock.json'));

    const outDir = options.outDir ?? path.join(ROOT, 'dist');
    mkdirSync(outDir, { recursive: true });
    const zip = path.join(outDir, `outgoing-mail-limits-${version}.zip`);
    rmSync(zip, { force: true });
    execFileSync('zip', ['-q', '-r', '-X', zip, ...readdirSync(stage).sort()], { cwd: stage });
    return { zip, version };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.basename(process.argv[1]) === 'pack.js') {
  try {
    const { zip } = pack();
    process.stdout.write(`${zip}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
