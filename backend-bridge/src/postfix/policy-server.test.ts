import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { eventually } from '../../test-support/daemon-process.js';
import { endOfMessage, PolicyClient } from '../../test-support/policy-client.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { Enforcer, HOUR_SECONDS } from '../enforcement/enforcer.js';
import { openDatabase } from '../store/database.js';
import { readDirectory, replaceDirectory } from '../store/directory-store.js';
import { smtpdPolicyHandler } from './policy-handler.js';
import { MAX_REQUEST_BYTES } from './policy-protocol.js';
import { PolicyServer } from './policy-server.js';
import { INITIAL_NOTIFICATIONS } from '../core/settings.js';

interface LogLine {
  level: number;
  msg: string;
  error?: string;
}

let server: PolicyServer;
let port: number;
let logLines: LogLine[];

beforeEach(async () => {
  const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-policy-')));
  replaceDirectory(db, exampleDirectory({ 'dave@example.com': 'unlimited', 'example.com': 'unlimited', 'sub:example.com': 'unlimited' }));
  const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null);
  enforcer.load({ enabled: true, defaults: { mailbox: 3, domain: 5, subscription: 8 }, countingUnit: 'messages', customersMayChangeLimits: true, overLimitAction: 'defer', notifications: INITIAL_NOTIFICATIONS }, readDirectory(db));
  db.close();
  logLines = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line) as LogLine) });
  server = new PolicyServer(smtpdPolicyHandler(enforcer, null, log), log);
  port = (await server.listen('127.0.0.1', 0)).port;
});

afterEach(async () => {
  await server.close();
});

describe('policy service', () => {
  it('answers DUNNO within the limit and DEFER_IF_PERMIT 4.7.1 with the reason beyond it, on one persistent connection', async () => {
    const client = await PolicyClient.connect(port);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await client.request(endOfMessage({ sender: 'alice@example.com' })));
    expect(answers.slice(0, 3)).toEqual(['action=DUNNO', 'action=DUNNO', 'action=DUNNO']);
    expect(answers[3]).toBe('action=DEFER_IF_PERMIT 4.7.1 Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; try again in 60 minutes');
    client.end();
  });

  it('does not count requests of other protocol states', async () => {
    const client = await PolicyClient.connect(port);
    for (let i = 0; i < 5; i++) expect(await client.request({ ...endOfMessage({ sender: 'bob@example.com' }), protocol_state: 'RCPT' })).toBe('action=DUNNO');
    expect(await client.request(endOfMessage({ sender: 'bob@example.com' }))).toBe('action=DUNNO');
    client.end();
  });

  it('50 concurrent sessions never let an object pass its limit', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => PolicyClient.connect(port)));
    // All 50 arrive at once for carol, whose mailbox limit is 3.
    const rounds = await Promise.all(clients.map((c) => c.request(endOfMessage({ sender: 'carol@example.com' }))));
    expect(rounds.filter((a) => a === 'action=DUNNO')).toHaveLength(3);
    expect(rounds.filter((a) => a.startsWith('action=DEFER_IF_PERMIT 4.7.1 '))).toHaveLength(47);
    for (const c of clients) c.end();
  });

  it('a request with an unknown attribute, binary bytes or no sender is answered, not fatal', async () => {
    const client = await PolicyClient.connect(port);
    expect(await client.request({ ...endOfMessage({ sender: 'bob@example.com' }), future_attribute: 'x' })).toBe('action=DUNNO');
    const binary = Buffer.concat([Buffer.from('request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsender=\xff\xfe'), Buffer.from([0, 1, 2, 0xc3]), Buffer.from('@example.com\n\n')]);
    expect(await client.sendRaw(binary)).toBe('action=DUNNO');
    const { sender: _ignored, ...withoutSender } = endOfMessage({ sender: 'x' });
    expect(await client.request(withoutSender)).toBe('action=DUNNO');
    expect(await client.sendRaw('this is not a policy request\n\n')).toBe('action=DUNNO');
    expect(await client.sendRaw('\n')).toBe('action=DUNNO');
    expect(await client.request({ request: 'something_else', protocol_state: 'END-OF-MESSAGE' })).toBe('action=DUNNO');
    expect(logLines.filter((l) => l.msg === 'malformed policy request answered DUNNO').map((l) => l.error)).toEqual([
      'malformed line "this is not a policy request": expected name=value',
      'empty request (a blank line with no attributes)',
      'unsupported request "something_else": expected request=smtpd_access_policy',
    ]);
    // The connection still works after all of that.
    expect(await client.request(endOfMessage({ sender: 'bob@example.com' }))).toBe('action=DUNNO');
    client.end();
  });

  it('a 1 MiB attribute closes only that connection; the others keep being served', async () => {
    const flooder = await PolicyClient.connect(port);
    const bystander = await PolicyClient.connect(port);
    flooder.write(`request=smtpd_access_policy\nsender=${'a'.repeat(1024 * 1024)}`);
    await flooder.closed;
    expect(logLines.some((l) => l.msg === 'policy connection closed' && l.error?.includes(`exceeds ${MAX_REQUEST_BYTES} bytes`))).toBe(true);
    expect(await bystander.request(endOfMessage({ sender: 'bob@example.com' }))).toBe('action=DUNNO');
    bystander.end();
  });

  it('a request without its blank line is logged when the client goes away', async () => {
    const client = await PolicyClient.connect(port);
    client.write('request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsender=alice@example.com\n');
    client.end();
    await client.closed;
    await eventually(() => logLines.some((l) => l.msg === 'policy connection ended inside an unfinished request'), 'the unfinished request to be logged');
    const next = await PolicyClient.connect(port);
    expect(await next.request(endOfMessage({ sender: 'alice@example.com' }))).toBe('action=DUNNO');
    next.end();
  });
});
