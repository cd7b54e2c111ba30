import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CATALOGUE_SCREENSHOTS, packageChangelog } from '../pack.js';
import { FRONTEND_BUILT, unpackedPackage } from './unpacked-package.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function filesBelow(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesBelow(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/** The zip Plesk installs: its layout and meta.xml. */
describe('the extension package', () => {
  let unpacked: string;
  let files: string[];

  beforeAll(() => {
    unpacked = unpackedPackage();
    files = filesBelow(unpacked).sort();
  });

  it('holds exactly the Plesk layout at its top', () => {
    expect(readdirSync(unpacked).sort()).toEqual(['CHANGES.md', 'DESCRIPTION.md', '_meta', 'htdocs', 'meta.xml', 'plib']);
    expect(readdirSync(path.join(unpacked, 'plib')).sort()).toEqual(['bridge', 'controllers', 'hooks', 'library', 'resources', 'scripts']);
    expect(statSync(path.join(unpacked, '_meta/screenshots')).isDirectory()).toBe(true);
    for (const file of [
      'htdocs/index.php',
      'htdocs/images/icon-32.png',
      'plib/controllers/IndexController.php',
      'plib/controllers/UiController.php',
      'plib/controllers/ApiController.php',
      'plib/hooks/CustomButtons.php',
      'plib/hooks/Form.php',
      'plib/hooks/Permissions.php',
      'plib/library/EventListener.php',
      'plib/library/BridgeClient.php',
      'plib/scripts/post-install.php',
      'plib/scripts/pre-uninstall.php',
      'plib/scripts/resync.php',
      'plib/resources/locales/en-US.php',
      'plib/bridge/package.json',
      'plib/bridge/package-lock.json',
      'plib/bridge/bin/outgoing-limits',
      'plib/bridge/dist/backend-bridge/src/cli/main.js',
      'plib/bridge/dist/backend-bridge/src/daemon.js',
    ]) {
      expect(files).toContain(file);
    }
    if (FRONTEND_BUILT) expect(files).toContain('htdocs/dist/main.js');
  });

  it('has DESCRIPTION.md and CHANGES.md at its top, the changelog made from the project’s CHANGES.md', () => {
    expect(files.filter((file) => file.startsWith('_meta/') && file.endsWith('.md'))).toEqual([]);
    expect(readFileSync(path.join(unpacked, 'DESCRIPTION.md'), 'utf8')).toBe(readFileSync(path.join(ROOT, 'DESCRIPTION.md'), 'utf8'));
    const meta = readFileSync(path.join(unpacked, 'meta.xml'), 'utf8');
    const version = /<version>([^<]+)<\/version>/.exec(meta)?.[1] ?? '';
    const release = /<release>([^<]+)<\/release>/.exec(meta)?.[1] ?? '';
    const changes = readFileSync(path.join(unpacked, 'CHANGES.md'), 'utf8');
    expect(changes.split('\n')[0]).toBe(`# ${version}-${release}`);
    const project = readFileSync(path.join(ROOT, 'CHANGES.md'), 'utf8');
    expect(changes).toBe(packageChangelog(project, version, release));
    // Every entry of the project's changelog is in the package's: one changelog, not a second hand-kept copy.
    for (const entry of project.split('\n').filter((line) => line.startsWith('- '))) expect(changes).toContain(entry);
  });

  it('carries the catalogue screenshots of the Plesk page, as PNG images', () => {
    expect(readdirSync(path.join(unpacked, '_meta/screenshots')).sort()).toEqual([...CATALOGUE_SCREENSHOTS].sort());
    for (const name of CATALOGUE_SCREENSHOTS) {
      const png = readFileSync(path.join(unpacked, '_meta/screenshots', name));
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(png.readUInt32BE(16)).toBe(1280);
    }
  });

  it('carries icons of 32, 64 and 128 pixels', () => {
    for (const size of [32, 64, 128]) {
      const png = readFileSync(path.join(unpacked, `_meta/icons/${size}x${size}.png`));
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
    }
  });

  it('leaves out sources, tests, maps and installed packages', () => {
    const unwanted = files.filter((file) => /\.ts$|\.test\.js$|\.map$|(^|\/)node_modules\/|(^|\/)test(s|-support)?\/|plib-tests|frontend\/src/.test(file));
    expect(unwanted).toEqual([]);
    expect(files.filter((file) => file.startsWith('plib/bridge/')).every((file) => /^plib\/bridge\/(package(-lock)?\.json|bin\/outgoing-limits|dist\/backend-bridge\/src\/.+\.js)$/.test(file))).toBe(true);
  });

  it('describes itself in meta.xml as Plesk reads it', () => {
    const meta = readFileSync(path.join(unpacked, 'meta.xml'), 'utf8');
    const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(meta)?.[1];
    expect(field('id')).toBe('outgoing-mail-limits');
    expect(field('name')).toBe('Outgoing Mail Limits');
    expect(field('category')).toBeTruthy();
    expect(field('description')).toMatch(/per hour/);
    expect(field('version')).toBe((JSON.parse(readFileSync(path.join(unpacked, 'plib/bridge/package.json'), 'utf8')) as { version: string }).version);
    expect(field('release')).toMatch(/^\d+$/);
    expect(field('vendor')).toBeTruthy();
    expect(field('url')).toMatch(/^https:\/\//);
    expect(field('os')).toBe('unix');
    expect(field('plesk_min_version')).toBe('18.0.41');
    expect(meta).toMatch(/<!--[^>]*18\.0\.41[^>]*FORM_EMAIL_ADDRESS_SETTINGS[^>]*-->\s*<plesk_min_version>/);
    // Well-formed XML: PHP's parser (as Plesk's) reads it.
    const parsed = execFileSync('php', ['-r', 'echo (string) simplexml_load_file($argv[1])->id;', path.join(unpacked, 'meta.xml')], { encoding: 'utf8' });
    expect(parsed).toBe('outgoing-mail-limits');
  });

  it('htdocs/index.php runs the Plesk application and nothing else', () => {
    const index = readFileSync(path.join(unpacked, 'htdocs/index.php'), 'utf8');
    expect(index.replace(/^\s*\/\/.*$/gm, '').replace(/\s+/g, '')).toBe('<?php(newpm_Application)->run();');
  });
});

describe('the package changelog', () => {
  const project = '# Changes\n\nIntro.\n\n## 0.2.0 (unreleased)\n- **New.** Text\n  wrapped.\n\n## 0.1.0\n- First.\n';

  it('heads the packed version with version and release and keeps every entry as written', () => {
    expect(packageChangelog(project, '0.2.0', '3')).toBe('# 0.2.0-3\n- **New.** Text\n  wrapped.\n\n# 0.1.0\n- First.\n');
  });

  it('refuses a changelog that says nothing of the packed version', () => {
    expect(() => packageChangelog(project, '0.3.0', '1')).toThrow('CHANGES.md has no "## 0.3.0" section');
  });
});
