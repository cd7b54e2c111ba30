// What the observe-only recipient stage (`postfix wire --recipient-domains`) costs the policy service: one more
// request per recipient. Measures, on one persistent connection over a unix socket as smtpd uses it, the round
// trip of END-OF-MESSAGE requests alone and of a RCPT request followed by its END-OF-MESSAGE.
// Run after `npm run build`: node dist/bench/recipient-stage-cost.js

import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { exampleDirectory } from '../backend-bridge/test-support/directory-fixture.js';
import { endOfMessage, PolicyClient } from '../backend-bridge/test-support/policy-client.js';
import { INITIAL_SETTINGS } from '../backend-bridge/src/core/settings.js';
import { RollingWindowCounters } from '../backend-bridge/src/counters/rolling-window.js';
import { watchAnomalies } from '../backend-bridge/src/enforcement/anomaly-response.js';
import { Enforcer, HOUR_SECONDS } from '../backend-bridge/src/enforcement/enforcer.js';
import type { HeldMail } from '../backend-bridge/src/enforcement/held-mail.js';
import { openDatabase } from '../backend-bridge/src/store/database.js';
import { readDirectory, replaceDirectory } from '../backend-bridge/src/store/directory-store.js';
import { smtpdPolicyHandler } from '../backend-bridge/src/postfix/policy-handler.js';
import { PolicyServer } from '../backend-bridge/src/postfix/policy-server.js';

const MESSAGES = 20_000;
const dir = mkdtempSync(path.join(os.tmpdir(), 'oml-rcpt-cost-'));
const db = openDatabase(dir);
replaceDirectory(db, exampleDirectory({ 'dave@example.com': 'unlimited', 'example.com': 'unlimited', 'sub:example.com': 'unlimited' }));
const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null);
enforcer.load({ ...INITIAL_SETTINGS, defaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' } }, readDirectory(db));
const log = pino({ level: 'silent' });
enforcer.anomalyWatch = watchAnomalies({ db, enforcer, held: { compromisedEntry: () => null } as unknown as HeldMail, log, notify: () => undefined });
const server = new PolicyServer(smtpdPolicyHandler(enforcer, null, log), log);
const socket = path.join(dir, 'policy');
await server.listenAt({ kind: 'unix', path: socket }, -1);
const client = await PolicyClient.connect(socket);

const eom = endOfMessage({ sender: 'dave@example.com' });
const rcpt = (i: number) => ({ ...eom, protocol_state: 'RCPT', recipient: `someone@d${i % 50}.example`, recipient_count: 0, queue_id: '' });

async function run(label: string, withRecipient: boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (withRecipient) await client.request(rcpt(i));
    await client.request(eom);
  }
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    if (withRecipient) await client.request({ ...rcpt(i), instance: `i${i}` });
    await client.request({ ...eom, instance: `i${i}` });
  }
  const perMessage = ((performance.now() - started) * 1000) / MESSAGES;
  console.log(`${label}: ${perMessage.toFixed(1)} µs per message (${Math.round(1e6 / perMessage)} messages/s on one connection)`);
}

await run('END-OF-MESSAGE only', false);
await run('one RCPT + END-OF-MESSAGE', true);
client.end();
await server.close();
db.close();
