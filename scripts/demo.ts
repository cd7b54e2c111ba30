/**
 * The quick-start demo: the daemon with its SQLite store and a small directory, plus a throwaway loopback-only
 * Postfix wired to it (its own config and queue under a temp dir; the machine's Postfix is never touched),
 * relaying everything to a local SMTP sink. Stops everything on Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostfixInstance } from '../backend-bridge/test-support/postfix-instance.js';
import { addUser, findUser } from '../backend-bridge/src/api/auth/users-store.js';
import type { Role } from '../backend-bridge/src/api/identity.js';
import { createLogger } from '../backend-bridge/src/cli/logger.js';
import { parseDirectoryFile } from '../backend-bridge/src/core/directory-file.js';
import { Daemon } from '../backend-bridge/src/daemon.js';
import { describeAddress } from '../backend-bridge/src/postfix/listen-address.js';
import { unwirePostfix, wirePostfix } from '../backend-bridge/src/postfix/wiring.js';
import { openDatabase } from '../backend-bridge/src/store/database.js';
import { replaceDirectory } from '../backend-bridge/src/store/directory-store.js';
import { updateSettings } from '../backend-bridge/src/store/settings-store.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = process.env.OUTGOING_LIMITS_DATA_DIR ?? path.join(root, '.demo', 'data');
const SMTP_PORT = Number(process.env.DEMO_SMTP_PORT ?? 2525);
const HTTP = { host: '127.0.0.1', port: Number(process.env.DEMO_HTTP_PORT ?? 8025) };
const ALICE = { login: 'alice@example.com', password: 'demo' };
/** Logins of the web interface; customer and reseller ownership comes from demo-directory.json. */
const DEMO_LOGINS: Array<{ login: string; role: Role; owns: string }> = [
  { login: 'admin', role: 'admin', owns: 'everything' },
  { login: 'res1', role: 'reseller', owns: 'the subscriptions of its customer jdoe' },
  { login: 'jdoe', role: 'customer', owns: 'subscription example.com' },
  { login: 'mary', role: 'customer', owns: 'subscription shop.test' },
];
const DEMO_PASSWORD = 'demo';

async function prepareStore(): Promise<void> {
  const parsed = parseDirectoryFile(JSON.parse(readFileSync(path.join(root, 'scripts', 'demo-directory.json'), 'utf8')));
  if (!parsed.ok) throw new Error(`demo directory is invalid: ${JSON.stringify(parsed.errors)}`);
  const db = openDatabase(dataDir);
  try {
    replaceDirectory(db, parsed.directory);
    updateSettings(db, { enabled: true, defaults: { mailbox: 3, domain: 10, subscription: 20 }, countingUnit: 'messages' });
    for (const { login, role } of DEMO_LOGINS) if (!findUser(db, login)) await addUser(db, { login, role, password: DEMO_PASSWORD });
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  await prepareStore();
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  const postfix = await PostfixInstance.start({ smtpPort: SMTP_PORT, saslUsers: [ALICE] });
  let daemon: Daemon;
  try {
    // Default sockets: outgoing-limits/policy and /milter in the instance's queue directory, group postfix.
    daemon = await Daemon.start({ dataDir, http: HTTP, postfixConfigDir: postfix.configDir }, log);
  } catch (error) {
    await postfix.stop();
    throw error;
  }
  await wirePostfix({ configDir: postfix.configDir, failOpen: true, reload: false });
  await postfix.reload();

  const cli = path.relative(process.cwd(), path.join(root, 'bin/outgoing-limits'));
  process.stderr.write(`
Outgoing Mail Limits demo is running.
  Web interface:                      http://${HTTP.host}:${HTTP.port}/
${DEMO_LOGINS.map(({ login, role, owns }) => `    ${`${login} / ${DEMO_PASSWORD}`.padEnd(16)} ${role}: ${owns}`).join('\n')}
  Postfix (throwaway, loopback only): 127.0.0.1:${SMTP_PORT}, config ${postfix.configDir}
  delivered mail lands in:            ${postfix.sinkDir}
  policy service:                     ${describeAddress(daemon.policyAddress)}, data ${dataDir}
  milter (local mail, sendmail):      ${daemon.milterAddress ? describeAddress(daemon.milterAddress) : 'off'}
  limits: mailbox 3, domain 10, subscription 20 per hour; newsletter@example.com 50; domain shop.test 0

Send mail; the 4th message from alice within an hour is held in Postfix's hold queue and sent when the hour frees:
  swaks --server 127.0.0.1:${SMTP_PORT} --from alice@example.com --to someone@remote.test
Authenticated (counted by login, whatever the envelope sender):
  swaks --server 127.0.0.1:${SMTP_PORT} --auth PLAIN --auth-user alice@example.com --auth-password demo --from bob@example.com --to someone@remote.test
Watch usage and change limits while it runs:
  ${cli} usage --data-dir ${dataDir}
  ${cli} limit set mailbox alice@example.com 10 --data-dir ${dataDir}
Held mail: list, release now (--force: beyond the limit), delete:
  ${cli} held list --data-dir ${dataDir}
  ${cli} held release QUEUE_ID --force --data-dir ${dataDir}

Ctrl-C stops the demo.
`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await unwirePostfix(postfix.configDir, { reload: false });
  await postfix.stop();
  await daemon.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
