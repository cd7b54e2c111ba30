import { chmodSync, chownSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { bridgeSecretPath, loadOrCreateBridgeSecret, readBridgeSecret } from './bridge-secret.js';

/** Lets a test run code just before the secret is published, to play the other process in a start-up race. */
const race = vi.hoisted(() => ({ beforeLink: null as null | ((target: string) => void) }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    linkSync: (existing: string, target: string) => {
      race.beforeLink?.(target);
      fs.linkSync(existing, target);
    },
  };
});

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'oml-secret-'));

describe('bridge secret', () => {
  it('is created once, 32 bytes as hex, mode 0600, and read back unchanged', () => {
    const dir = path.join(tempDir(), 'data');
    expect(readBridgeSecret(dir)).toBeNull();
    const secret = loadOrCreateBridgeSecret(dir);
    expect(secret).toHaveLength(32);
    const file = bridgeSecretPath(dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toBe(`${secret.toString('hex')}\n`);
    expect(loadOrCreateBridgeSecret(dir).equals(secret)).toBe(true);
    expect(readBridgeSecret(dir)?.equals(secret)).toBe(true);
    expect(readdirSync(dir)).toEqual(['bridge.secret']); // no temporary file left behind
  });

  it('refuses a secret readable by others, naming the fix', () => {
    const dir = tempDir();
    loadOrCreateBridgeSecret(dir);
    chmodSync(bridgeSecretPath(dir), 0o644);
    expect(() => loadOrCreateBridgeSecret(dir)).toThrow(/accessible to other users \(mode 0644\); run "chmod 600 .*bridge\.secret"/);
    expect(() => readBridgeSecret(dir)).toThrow(/accessible to other users/);
  });

  it('refuses a damaged file instead of replacing it', () => {
    const dir = tempDir();
    writeFileSync(bridgeSecretPath(dir), 'not hex\n', { mode: 0o600 });
    expect(() => loadOrCreateBridgeSecret(dir)).toThrow(/does not hold 64 hexadecimal digits/);
  });

  it('refuses a symbolic link', () => {
    const dir = tempDir();
    const elsewhere = path.join(tempDir(), 'x');
    writeFileSync(elsewhere, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    symlinkSync(elsewhere, bridgeSecretPath(dir));
    expect(() => readBridgeSecret(dir)).toThrow(/symbolic link/);
  });

  it('when another process publishes its secret first, uses that one', () => {
    const dir = tempDir();
    const theirs = 'cd'.repeat(32);
    race.beforeLink = (target) => writeFileSync(target, `${theirs}\n`, { mode: 0o600 });
    try {
      expect(loadOrCreateBridgeSecret(dir).toString('hex')).toBe(theirs);
    } finally {
      race.beforeLink = null;
    }
    expect(readdirSync(dir)).toEqual(['bridge.secret']);
    expect(readFileSync(bridgeSecretPath(dir), 'utf8')).toBe(`${theirs}\n`);
  });

  describe('shared with the API group (--api-group)', () => {
    // Root may give a file to any group; anyone else only to a group of its own.
    const group = process.getuid?.() === 0 ? 65534 : process.getgid!();
    const otherGroup = group === 65534 ? 65533 : group + 1;

    it('becomes 0640 owned by the group, and is read back only with that group named', () => {
      const dir = tempDir();
      const secret = loadOrCreateBridgeSecret(dir, { group });
      const stat = statSync(bridgeSecretPath(dir));
      expect(stat.mode & 0o777).toBe(0o640);
      expect(stat.gid).toBe(group);
      expect(readBridgeSecret(dir, { group })?.equals(secret)).toBe(true);
      expect(loadOrCreateBridgeSecret(dir, { group }).equals(secret)).toBe(true);
      expect(() => readBridgeSecret(dir)).toThrow(/accessible to other users \(mode 0640\)/);
    });

    it('an existing private secret is handed to the group unchanged', () => {
      const dir = tempDir();
      const secret = loadOrCreateBridgeSecret(dir);
      expect(loadOrCreateBridgeSecret(dir, { group }).equals(secret)).toBe(true);
      expect(statSync(bridgeSecretPath(dir)).mode & 0o777).toBe(0o640);
    });

    it('still refuses a group-writable, world-readable or other-group file', () => {
      const dir = tempDir();
      loadOrCreateBridgeSecret(dir, { group });
      const file = bridgeSecretPath(dir);
      chmodSync(file, 0o660);
      expect(() => readBridgeSecret(dir, { group })).toThrow(/mode 0660/);
      chmodSync(file, 0o644);
      expect(() => readBridgeSecret(dir, { group })).toThrow(/mode 0644/);
      chmodSync(file, 0o640);
      if (process.getuid?.() === 0) {
        chownSync(file, -1, otherGroup);
        expect(() => readBridgeSecret(dir, { group })).toThrow(/mode 0640/);
      }
    });
  });
});
