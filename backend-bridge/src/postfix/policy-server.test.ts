import { ANOMALIES_OFF } from '../core/anomalies.js';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
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
import { PolicyServer, type PolicyHandler } from './policy-server.js';
import type { ConnectionLimits } from './connection-server.js';
import { INITIAL_NOTIFICATIONS, UNLIMITED_DAILY } from '../core/settings.js';

interface LogLine {
  level: number;
  msg: string;
  error?: string;
  repeated?: number;
}

let server: PolicyServer;
let port: number;
let logLines: LogLine[];
let log: Logger;
let handler: PolicyHandler;

/** Replaces the server of this test with one that has these limits (and handler). */
async function restart(limits: Partial<ConnectionLimits>, answer: PolicyHandler = handler): Promise<void> {
  await server.close();
  server = new PolicyServer(answer, log, limits);
  port = (await server.listen('127.0.0.1', 0)).port;
}

beforeEach(async () => {
  const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-policy-')));
  replaceDirectory(db, exampleDirectory({ 'dave@example.com': 'unlimited', 'example.com': 'unlimited', 'sub:example.com': 'unlimited' }));
  const enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), null, null);
  enforcer.load({ enabled: true, defaults: { mailbox: 3, domain: 5, subscription: 8 }, dailyDefaults: UNLIMITED_DAILY, recipientDefaults: UNLIMITED_DAILY, countingUnit: 'messages', customersMayChangeLimits: true, overLimitAction: 'defer', notifications: INITIAL_NOTIFICATIONS, monitorOnly: false, earlyWarningPercent: 0, anomalies: ANOMALIES_OFF }, readDirectory(db));
  db.close();
  logLines = [];
  log = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line) as LogLine) });
  handler = smtpdPolicyHandler(enforcer, null, log);
  server = new PolicyServer(handler, log);
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
    expect(await client.request({ request: 'something_else', protocol_state: 'END-OF-MESSAGE' })).toBe('action=DUNNO');
    // The first of a kind is logged whole; the next one is counted, and summarised later.
    expect(logLines.filter((l) => l.msg === 'malformed policy request answered DUNNO').map((l) => l.error)).toEqual([
      'malformed line "this is not a policy request": expected name=value',
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

/** A plain socket that counts answers (`action=...` + blank line) and can stop reading. */
class RawClient {
  answers: string[] = [];
  answerCount = 0;
  private tail = '';
  readonly closed: Promise<void>;
  isClosed = false;

  private constructor(
    readonly socket: net.Socket,
    private readonly keepAnswers: boolean,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      const all = this.tail + text;
      let from = 0;
      let end: number;
      while ((end = all.indexOf('\n\n', from)) >= 0) {
        this.answerCount++;
        if (this.keepAnswers) this.answers.push(all.slice(from, end));
        from = end + 2;
      }
      this.tail = all.slice(from);
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
  }

  static connect(keepAnswers = true): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawClient(socket, keepAnswers)));
      socket.once('error', reject);
    });
  }
}

const request = (sender: string) => `request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsender=${sender}\n\n`;

/** Resolves with `promise`, or fails naming `what` after the deadline: for events, never as a timing check. */
function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error as Error);
      },
    );
  });
}

describe('policy connections under abuse', () => {
  it('a request started and left unfinished is closed after the stall timeout; a connection idle between requests stays', async () => {
    await restart({ stallTimeoutMs: 300 });
    const idle = await PolicyClient.connect(port);
    expect(await idle.request(endOfMessage({ sender: 'bob@example.com' }))).toBe('action=DUNNO');
    const stalled = await PolicyClient.connect(port);
    stalled.write('request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsender=al');
    await within(stalled.closed, 'the stalled connection to be closed');
    // The idle one has waited longer than the stall timeout, with no request open: it is still served.
    expect(await idle.request(endOfMessage({ sender: 'bob@example.com' }))).toBe('action=DUNNO');
    expect(logLines.filter((l) => l.msg.startsWith('policy connection closed: a request was started and not finished'))).toHaveLength(1);
    idle.end();
  });

  it('a request trickled a byte at a time is closed at the stall timeout counted from its first byte', async () => {
    await restart({ stallTimeoutMs: 300 });
    const trickler = await RawClient.connect();
    const text = `request=smtpd_access_policy\nsender=${'a'.repeat(10_000)}`;
    // One byte every 20 ms would take minutes; each byte is fresh activity, yet the deadline does not move.
    for (let i = 0; !trickler.isClosed && i < text.length; i++) {
      trickler.socket.write(text[i]!);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(trickler.isClosed).toBe(true);
    expect(trickler.answerCount).toBe(0);
  });

  it('at the connection cap a new connection is served and the one longest without progress is closed', async () => {
    await restart({ maxConnections: 3 });
    const first = await PolicyClient.connect(port);
    const second = await PolicyClient.connect(port);
    const third = await PolicyClient.connect(port);
    for (const client of [first, second, third]) expect(await client.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    const fourth = await PolicyClient.connect(port);
    expect(await fourth.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    await within(first.closed, 'the oldest idle connection to make room');
    for (const client of [second, third, fourth]) expect(await client.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    expect(server.describeConnections()).toHaveLength(3);
    expect(logLines.filter((l) => l.msg.startsWith('policy connection cap reached'))).toHaveLength(1);
    for (const client of [second, third, fourth]) client.end();
  });

  it('at the cap with every connection stalled mid-request, the one stalled longest makes room; a newer idle one stays', async () => {
    await restart({ maxConnections: 3 });
    const stalledFirst = await RawClient.connect();
    stalledFirst.socket.write('request=smtpd_');
    const stalledSecond = await RawClient.connect();
    stalledSecond.socket.write('request=smtpd_');
    const idle = await PolicyClient.connect(port);
    expect(await idle.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    await eventually(() => server.describeConnections().filter((c) => c.pendingBytes > 0).length === 2, 'both partial requests to arrive');
    const newcomer = await PolicyClient.connect(port);
    expect(await newcomer.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    await within(stalledFirst.closed, 'the connection stalled longest to make room');
    const another = await PolicyClient.connect(port);
    expect(await another.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    await within(stalledSecond.closed, 'the next stalled connection to make room');
    expect(await idle.request(endOfMessage({ sender: 'dave@example.com' }))).toBe('action=DUNNO');
    for (const client of [idle, newcomer, another]) client.end();
  });

  it('stops reading from a client that does not read its answers, and resumes when it does', async () => {
    // Long answers to short requests fill the socket buffers quickly, as a client that never reads would.
    const padding = 'x'.repeat(400);
    await restart({ stallTimeoutMs: 60_000 }, () => `PREPEND X-Padding: ${padding}`);
    const client = await RawClient.connect(false);
    client.socket.pause();
    const one = Buffer.from('request=smtpd_access_policy\n\n');
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => one));
    const batches = 40; // 11.6 MB of requests, 4 million answer bytes each 10,000
    for (let i = 0; i < batches; i++) client.socket.write(batch);
    const written = batch.length * batches;
    await eventually(() => server.describeConnections()[0]?.paused === true, 'the server to stop reading from the client');
    const [connection] = server.describeConnections();
    // About 0.4 MB of 11.6 MB here; the rest waits in the kernel's socket buffers and the client's own memory.
    expect(connection!.bytesRead).toBeLessThan(written / 4);
    expect(client.socket.writableLength).toBeGreaterThan(written / 4);
    client.socket.resume();
    await eventually(() => client.answerCount === 10_000 * batches, 'every request to be answered once the client reads', 60_000);
    expect(server.describeConnections()[0]).toMatchObject({ bytesRead: written, pendingBytes: 0, paused: false });
    client.socket.end();
  }, 90_000);

  it('a flood of malformed requests and stray blank lines writes a few summarised lines, not one per request', async () => {
    const client = await RawClient.connect(false);
    const flood = Buffer.from('x\n\n'.repeat(100 * 1024));
    client.socket.write(flood);
    client.socket.write('\n'.repeat(50_000));
    await eventually(() => client.answerCount === 100 * 1024, 'every malformed request to be answered DUNNO', 30_000);
    const warnings = () => logLines.filter((l) => l.level >= 40);
    expect(warnings().map((l) => l.msg)).toEqual(['malformed policy request answered DUNNO', 'blank line outside a policy request ignored (no answer)']);
    client.socket.end();
    await client.closed;
    await server.close();
    expect(warnings().map((l) => [l.msg, l.repeated])).toEqual([
      ['malformed policy request answered DUNNO', undefined],
      ['blank line outside a policy request ignored (no answer)', undefined],
      ['malformed policy request answered DUNNO (repeated 102399 more times)', 102_399],
      ['blank line outside a policy request ignored (no answer) (repeated 49999 more times)', 49_999],
    ]);
    server = new PolicyServer(handler, log);
  });

  it('a blank line with no request before it gets no answer, so answers stay in step with requests', async () => {
    const client = await RawClient.connect();
    client.socket.write(`\n\n\n${request('alice@example.com')}\n${request('alice@example.com')}${request('alice@example.com')}\n\n${request('alice@example.com')}`);
    await eventually(() => client.answers.length >= 4, 'four answers');
    expect(client.answers).toEqual([
      'action=DUNNO',
      'action=DUNNO',
      'action=DUNNO',
      'action=DEFER_IF_PERMIT 4.7.1 Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; try again in 60 minutes',
    ]);
    // One more request: its answer is the next one, not a late answer to a blank line.
    client.socket.write(request('bob@example.com'));
    await eventually(() => client.answers.length === 5, 'the fifth answer');
    expect(client.answers[4]).toBe('action=DUNNO');
    client.socket.end();
  });

  it('answers worked out asynchronously go out in the order of the requests, one request at a time; a failed one is DUNNO', async () => {
    const pending: Array<{ sender: string; settle: (action: string | Error) => void }> = [];
    await restart({}, (attributes) =>
      new Promise<string>((resolve, reject) => {
        pending.push({ sender: attributes.sender, settle: (action) => (action instanceof Error ? reject(action) : resolve(action)) });
      }),
    );
    const client = await PolicyClient.connect(port);
    const serialise = (sender: string) => `${Object.entries(endOfMessage({ sender })).map(([name, value]) => `${name}=${value}\n`).join('')}\n`;
    // Three requests in one write: the second is only looked at once the first is answered.
    const answers = [client.sendRaw(serialise('a@example.com') + serialise('b@example.com') + serialise('c@example.com')), client.sendRaw(''), client.sendRaw('')];
    await eventually(() => pending.length === 1, 'the first request to reach the handler');
    expect(pending.map((p) => p.sender)).toEqual(['a@example.com']);
    pending[0]!.settle('PREPEND X-First: yes');
    await eventually(() => pending.length === 2, 'the second request to reach the handler');
    pending[1]!.settle(new Error('the counts could not be reached'));
    await eventually(() => pending.length === 3, 'the third request to reach the handler');
    pending[2]!.settle('DEFER_IF_PERMIT 4.7.1 third');
    expect(await Promise.all(answers)).toEqual(['action=PREPEND X-First: yes', 'action=DUNNO', 'action=DEFER_IF_PERMIT 4.7.1 third']);
    expect(logLines.some((line) => line.msg === 'policy handler failed; answered DUNNO')).toBe(true);
    client.end();
  });
});
