import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, constants, fchmodSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The key the PHP layer (and the local command) sign API requests with; 32 random bytes as hex text. */
export const BRIDGE_SECRET_FILE = 'bridge.secret';
export const BRIDGE_SECRET_BYTES = 32;

export function bridgeSecretPath(dataDir: string): string {
  return path.join(dataDir, BRIDGE_SECRET_FILE);
}

/**
 * Who else may read the secret: nobody (mode 0600), or the members of one group (mode 0640, that group) when
 * the daemon runs with `--api-group` — on Plesk, the panel's user psaadm, which signs the panel's requests.
 */
export interface SecretSharing {
  group?: number | null;
}

/**
 * Reads `<dataDir>/bridge.secret`, creating it on first start; with `sharing.group`, hands it to that group
 * (0640) so that only the daemon's owner and that group can read it.
 *
 * Creation is race-free: the secret is written to a private temporary file (O_EXCL, mode 0600, fsynced) and
 * published with link(2), which fails with EEXIST when another process got there first; the loser then reads the
 * winner's complete file, so two daemons starting together always agree on one secret and nobody ever reads a
 * half-written file.
 *
 * A secret file that group or others may read or write is refused, not silently tightened: it may already have
 * been copied, so the administrator must decide (chmod 600 to keep it, or delete it to make a new one).
 */
export function loadOrCreateBridgeSecret(dataDir: string, sharing: SecretSharing = {}): Buffer {
  const secret = loadOrCreatePrivateSecret(dataDir, sharing);
  if (sharing.group !== undefined && sharing.group !== null) {
    const file = bridgeSecretPath(dataDir);
    chownSync(file, -1, sharing.group);
    chmodSync(file, 0o640);
  }
  return secret;
}

function loadOrCreatePrivateSecret(dataDir: string, sharing: SecretSharing): Buffer {
  const existing = readBridgeSecret(dataDir, sharing);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o750 });
  const target = bridgeSecretPath(dataDir);
  const temporary = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const secret = randomBytes(BRIDGE_SECRET_BYTES);
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600); // the umask may only narrow the mode, but be explicit
    writeSync(fd, `${secret.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, target);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another process created it between our read and our link: use theirs.
    const theirs = readBridgeSecret(dataDir, sharing);
    if (!theirs) throw new Error(`${target} vanished while being created; start again`);
    return theirs;
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * The secret, or null when it was never created (the daemon has not started yet). Throws on a bad file.
 * Mode 0600 is always accepted; 0640 only when the file belongs to `sharing.group`.
 */
export function readBridgeSecret(dataDir: string, sharing: SecretSharing = {}): Buffer | null {
  const file = bridgeSecretPath(dataDir);
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted in the data directory must not redirect us to another file.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new Error(`${file} is a symbolic link; refusing to use it`);
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${file} is not a regular file`);
    const mode = stat.mode & 0o777;
    const sharedAsAsked = sharing.group !== undefined && sharing.group !== null && stat.gid === sharing.group && (mode & 0o037) === 0;
    if ((mode & 0o077) !== 0 && !sharedAsAsked) {
      throw new Error(
        `${file} is accessible to other users (mode ${mode.toString(8).padStart(4, '0')}); run "chmod 600 ${file}" to keep it, or delete it to create a new secret`,
      );
    }
    const text = readFileSync(fd, 'utf8').trim();
    if (!new RegExp(`^[0-9a-fA-F]{${BRIDGE_SECRET_BYTES * 2}}$`).test(text)) {
      throw new Error(`${file} does not hold ${BRIDGE_SECRET_BYTES * 2} hexadecimal digits; delete it to create a new secret`);
    }
    return Buffer.from(text, 'hex');
  } finally {
    closeSync(fd);
  }
}
