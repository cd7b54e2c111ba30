import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const frontendDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('the standalone app page', () => {
  it('links a favicon that exists and is an SVG picture', () => {
    const page = new DOMParser().parseFromString(readFileSync(path.join(frontendDir, 'index.html'), 'utf8'), 'text/html');
    const icon = page.querySelector('link[rel="icon"]');
    expect(icon?.getAttribute('type')).toBe('image/svg+xml');
    const file = path.join(frontendDir, icon?.getAttribute('href') ?? 'missing');
    expect(existsSync(file)).toBe(true);
    const svg = new DOMParser().parseFromString(readFileSync(file, 'utf8'), 'image/svg+xml');
    expect(svg.documentElement.nodeName).toBe('svg');
    expect(svg.querySelector('parsererror')).toBeNull();
  });
});
