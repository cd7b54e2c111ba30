import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const COMMAND_ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

/** The socket's directory: its owner and Postfix's group enter it, no one else. */
export const SOCKET_DIRECTORY_MODE = 0o750;
/** The socket itself: the daemon and Postfix's group may connect. */
export const SOCKET_MODE = 0o660;

export class SocketSetupError extends Error {}

/** Reads a parameter of a Postfix instance with postconf; the error names the instance and the cause. */
export async function postconfValue(configDir: string, name: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync('postconf', ['-c', configDir, '-h', name], { env: COMMAND_ENV });
    const value = stdout.trim();
    if (!value) throw new Error(`${name} is empty`);
    return value;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new SocketSetupError(`cannot read ${name} of the Postfix in ${configDir}: ${(failed.stderr || failed.message).trim()}`);
  }
}

/**
 * Postfix's group: the primary group of mail_owner, which smtpd and cleanup run as. Looked up with getent, so
 * NSS users work too.
 */
export async function postfixGroup(configDir: string): Promise<{ user: string; gid: number }> {
  const user = await postconfValue(configDir, 'mail_owner');
  let entry: string;
  try {
    entry = (await execFileAsync('getent', ['passwd', user], { env: COMMAND_ENV })).stdout;
  } catch {
    throw new SocketSetupError(`Postfix's mail_owner "${user}" (from ${configDir}) is not a user of this system`);
  }
  const gid = Number(entry.split(':')[3]);
  if (!Number.isInteger(gid)) throw new SocketSetupError(`cannot read the group of user "${user}" from getent`);
  return { user, gid };
}

function others(mode: number): number {
  return mode & 0o007;
}

/**
 * Makes sure no user outside the daemon and Postfix's group can enter the socket's directory.
 * - `dedicated` (our default directory inside the queue directory): created if missing, and its owner, group
 *   and mode are set every start, since nothing else is kept there.
 * - a directory named with --policy/--milter unix:PATH: created the same way if missing; an existing one is
 *   never changed (it may hold other things) but must already be closed to other users, else the start fails.
 */
export async function prepareSocketDirectory(directory: string, gid: number, options: { dedicated: boolean }): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  let existing = await lstat(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new SocketSetupError(`cannot look at socket directory ${directory}: ${error.message}`);
  });
  if (existing === null) {
    try {
      await mkdir(directory, { mode: SOCKET_DIRECTORY_MODE });
    } catch (error) {
      throw new SocketSetupError(`cannot create socket directory ${directory}: ${(error as Error).message}`);
    }
    existing = await lstat(directory);
    options = { dedicated: true };
  }
  // A symbolic link could point anywhere another user chose.
  if (!existing.isDirectory()) throw new SocketSetupError(`socket directory ${directory} is not a directory (a symbolic link or a file is not accepted)`);
  if (options.dedicated) {
    try {
      await chown(directory, uid, gid);
      await chmod(directory, SOCKET_DIRECTORY_MODE);
    } catch (error) {
      throw new SocketSetupError(`cannot give socket directory ${directory} owner ${uid}, group ${gid}, mode 0750: ${(error as Error).message}`);
    }
    return;
  }
  const mode = existing.mode & 0o777;
  const problems: string[] = [];
  if (existing.uid !== uid && existing.uid !== 0) problems.push(`it belongs to uid ${existing.uid}, not to the daemon (uid ${uid}) or root`);
  if (others(mode) !== 0) problems.push(`its mode ${mode.toString(8).padStart(4, '0')} lets every user in`);
  if ((mode & 0o070) !== 0 && existing.gid !== gid) problems.push(`its group ${existing.gid} is not Postfix's group ${gid}, yet may enter it`);
  if (problems.length > 0) {
    throw new SocketSetupError(
      `socket directory ${directory} is not safe: ${problems.join('; ')}. Other users could reach the socket there. ` +
        `Use a directory owned by the daemon's user, group Postfix's, mode 0750 (chown ${uid}:${gid} ${directory}; chmod 0750 ${directory}), or a path in a directory that does not exist yet (it is then created so).`,
    );
  }
}

/**
 * Clears the way for a new socket at `socketPath`: a socket left by a daemon that died is removed; a socket that
 * still answers belongs to a running daemon and is left alone (error); anything else there is not ours (error).
 */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  const existing = await lstat(socketPath).catch(() => null);
  if (existing === null) return;
  if (!existing.isSocket()) throw new SocketSetupError(`${socketPath} exists and is not a socket; remove it or choose another path`);
  const answered = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path: socketPath });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answered) throw new SocketSetupError(`${socketPath} is served by another running process (another daemon?); stop it first or choose another path`);
  try {
    await unlink(socketPath);
  } catch (error) {
    throw new SocketSetupError(`cannot remove the stale socket ${socketPath}: ${(error as Error).message}`);
  }
}

/** Owner the daemon, group Postfix's, 0660: Postfix connects; other users are kept out by this and the directory. */
export async function secureSocket(socketPath: string, gid: number): Promise<void> {
  try {
    await chown(socketPath, process.getuid?.() ?? 0, gid);
    await chmod(socketPath, SOCKET_MODE);
  } catch (error) {
    throw new SocketSetupError(`cannot give socket ${socketPath} group ${gid} and mode 0660: ${(error as Error).message}`);
  }
}
