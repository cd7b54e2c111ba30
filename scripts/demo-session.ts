/**
 * The demo's machinery, apart from its command line (scripts/demo.ts): a store seeded once with the demo's
 * directory, settings and logins, and a loopback-only Postfix whose files live beside the store, so a restarted
 * demo has its held mail, its limits and its counts as they were. `reset` starts over.
 *
 * Layout under `demoDir` (default `.demo/` in the checkout):
 *   data/      the daemon's data directory (store, backups)
 *   postfix/   the throwaway Postfix: etc/ (rewritten at each start), queue/ (kept: held mail lives here), sink/, maillog
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { PostfixInstance } from '../backend-bridge/test-support/postfix-instance.js';
import { addUser, findUser } from '../backend-bridge/src/api/auth/users-store.js';
import type { Role } from '../backend-bridge/src/api/identity.js';
import { parseDirectoryFile } from '../backend-bridge/src/core/directory-file.js';
import { Daemon } from '../backend-bridge/src/daemon.js';
import { BACKUP_FILE, STATE_FILE, unwirePostfix, wirePostfix } from '../backend-bridge/src/postfix/wiring.js';
import { openDatabase } from '../backend-bridge/src/store/database.js';
import { replaceDirectory } from '../backend-bridge/src/store/directory-store.js';
import { updateSettings } from '../backend-bridge/src/store/settings-store.js';

export const DEMO_PASSWORD = 'demo';
/** SMTP AUTH login of the demo's Postfix. */
export const DEMO_SASL_USER = { login: 'alice@example.com', password: DEMO_PASSWORD };
/** Logins of the web interface; customer and reseller ownership comes from demo-directory.json. */
export const DEMO_LOGINS: Array<{ login: string; role: Role; owns: string }> = [
  { login: 'admin', role: 'admin', owns: 'everything' },
  { login: 'res1', role: 'reseller', owns: 'the subscriptions of its customer jdoe' },
  { login: 'jdoe', role: 'customer', owns: 'subscription example.com' },
  { login: 'mary', role: 'customer', owns: 'subscription shop.test' },
];
export const DEMO_DEFAULTS = { mailbox: 3, domain: 10, subscription: 20 } as const;

export interface DemoOptions {
  /** The checkout: scripts/demo-directory.json is read from it. */
  root: string;
  /** Where the demo keeps its store and its Postfix; default `<root>/.demo`. */
  demoDir?: string;
  /** Data directory of the store; default `<demoDir>/data`. */
  dataDir?: string;
  /** Loopback port of the demo's smtpd; default a free one (see PostfixInstance). */
  smtpPort?: number;
  /** Address of the web interface; port 0 lets the daemon pick one (see `Demo.httpPort`). */
  http: { host: string; port: number };
  /** Start over: the store, the Postfix queue and everything changed in them are removed first. */
  reset?: boolean;
  log: Logger;
}

export interface Demo {
  postfix: PostfixInstance;
  daemon: Daemon;
  dataDir: string;
  /** Whether this start seeded the store (a new or reset demo) rather than finding the last run's. */
  seeded: boolean;
  httpPort: number | null;
  stop(): Promise<void>;
}

/**
 * Seeds a store that has no directory yet with the demo's directory and settings; a store from an earlier run is
 * left as it is (limits changed in the UI stay changed). Missing demo logins are added either way.
 */
async function prepareStore(root: string, dataDir: string): Promise<boolean> {
  const db = openDatabase(dataDir);
  try {
    const hasDirectory = (db.prepare('SELECT COUNT(*) AS n FROM subscriptions').get() as { n: number }).n > 0;
    if (!hasDirectory) {
      const parsed = parseDirectoryFile(JSON.parse(readFileSync(path.join(root, 'scripts', 'demo-directory.json'), 'utf8')));
      if (!parsed.ok) throw new Error(`demo directory is invalid: ${JSON.stringify(parsed.errors)}`);
      replaceDirectory(db, parsed.directory);
      updateSettings(db, { enabled: true, defaults: { ...DEMO_DEFAULTS }, countingUnit: 'messages' });
    }
    for (const { login, role } of DEMO_LOGINS) if (!findUser(db, login)) await addUser(db, { login, role, password: DEMO_PASSWORD });
    return !hasDirectory;
  } finally {
    db.close();
  }
}

/**
 * Removes an earlier demo: its Postfix is started once more only so that processes a killed run left behind are
 * stopped the way PostfixInstance knows (by its own files), then everything goes.
 */
async function removeDemo(postfixDir: string, dataDir: string): Promise<void> {
  if (existsSync(postfixDir)) {
    const leftover = await PostfixInstance.start({ baseDir: postfixDir });
    await leftover.stop();
  }
  await rm(dataDir, { recursive: true, force: true });
  await rm(postfixDir, { recursive: true, force: true });
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const demoDir = options.demoDir ?? path.join(options.root, '.demo');
  const dataDir = options.dataDir ?? path.join(demoDir, 'data');
  const postfixDir = path.join(demoDir, 'postfix');
  if (options.reset) await removeDemo(postfixDir, dataDir);
  // Made before the store makes it (0700): Postfix, user postfix, must get through it to its queue.
  await mkdir(demoDir, { recursive: true, mode: 0o755 });

  const seeded = await prepareStore(options.root, dataDir);
  // main.cf is written anew at each start: a wiring record of a run that was killed describes a file that is gone.
  for (const file of [STATE_FILE, BACKUP_FILE]) await rm(path.join(postfixDir, 'etc', file), { force: true });
  // keep: stopping leaves the queue (held mail) and the sink in place for the next start.
  const postfix = await PostfixInstance.start({ baseDir: postfixDir, keep: true, saslUsers: [DEMO_SASL_USER], ...(options.smtpPort ? { smtpPort: options.smtpPort } : {}) });
  let daemon: Daemon;
  try {
    // Default sockets: outgoing-limits/policy and /milter in the instance's queue directory, group postfix.
    daemon = await Daemon.start({ dataDir, http: options.http, postfixConfigDir: postfix.configDir }, options.log);
    await wirePostfix({ configDir: postfix.configDir, failOpen: true, reload: false });
    await postfix.reload();
  } catch (error) {
    await postfix.stop();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  return {
    postfix,
    daemon,
    dataDir,
    seeded,
    httpPort: daemon.apiAddress?.tcpPort ?? null,
    stop: () =>
      (stopping ??= (async () => {
        await unwirePostfix(postfix.configDir, { reload: false });
        await postfix.stop();
        await daemon.stop();
      })()),
  };
}
