/**
 * The quick-start demo: the daemon with its SQLite store and a small directory, plus a loopback-only Postfix
 * wired to it (its own config and queue under .demo/postfix; the machine's Postfix is never touched), relaying
 * everything to a local SMTP sink. Stops everything on Ctrl-C and keeps it for the next start; `--reset` starts over.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../backend-bridge/src/cli/logger.js';
import { describeAddress } from '../backend-bridge/src/postfix/listen-address.js';
import { DEMO_LOGINS, DEMO_PASSWORD, startDemo } from './demo-session.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SMTP_PORT = Number(process.env.DEMO_SMTP_PORT ?? 2525);
const HTTP = { host: '127.0.0.1', port: Number(process.env.DEMO_HTTP_PORT ?? 8025) };

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--reset');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(' ')} (the demo takes only --reset)`);
  const reset = args.includes('--reset');
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  const demo = await startDemo({
    root,
    ...(process.env.OUTGOING_LIMITS_DATA_DIR ? { dataDir: process.env.OUTGOING_LIMITS_DATA_DIR } : {}),
    smtpPort: SMTP_PORT,
    http: HTTP,
    reset,
    log,
  });
  const { postfix, daemon, dataDir } = demo;

  const cli = path.relative(process.cwd(), path.join(root, 'bin/outgoing-limits'));
  process.stderr.write(`
Outgoing Mail Limits demo is running.
  Web interface:                      http://${HTTP.host}:${HTTP.port}/
${DEMO_LOGINS.map(({ login, role, owns }) => `    ${`${login} / ${DEMO_PASSWORD}`.padEnd(16)} ${role}: ${owns}`).join('\n')}
  Postfix (the demo's, loopback):   127.0.0.1:${SMTP_PORT}, config ${postfix.configDir}
  delivered mail lands in:            ${postfix.sinkDir}
  policy service:                     ${describeAddress(daemon.policyAddress)}, data ${dataDir}
  milter (local mail, sendmail):      ${daemon.milterAddress ? describeAddress(daemon.milterAddress) : 'off'}
  ${demo.seeded ? 'limits: mailbox 3, domain 10, subscription 20 per hour; newsletter@example.com 50; domain shop.test 0' : 'limits, counts and held mail: as the last run left them (scripts/demo.sh --reset starts over)'}

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

Ctrl-C stops the demo; held mail, limits and counts are kept for the next start (scripts/demo.sh --reset starts over).
`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await demo.stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
