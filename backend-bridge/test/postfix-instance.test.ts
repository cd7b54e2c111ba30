import { createServer, type Server, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostfixInstance, parseSwaksTranscript } from '../test-support/postfix-instance.js';

const ALICE = { login: 'alice@example.com', password: 'alice-secret' };

/** A minimal policy service: records every request, defers mail from blocked@example.com, else DUNNO. */
interface PolicyStub {
  port: number;
  requests: Array<Record<string, string>>;
  close: () => Promise<void>;
}

async function startPolicyStub(): Promise<PolicyStub> {
  const requests: Array<Record<string, string>> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      // Postfix sends name=value lines ended by an empty line, several requests per connection.
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const request: Record<string, string> = {};
        for (const line of buffer.slice(0, end).split('\n')) {
          const eq = line.indexOf('=');
          if (eq > 0) request[line.slice(0, eq)] = line.slice(eq + 1);
        }
        buffer = buffer.slice(end + 2);
        requests.push(request);
        const action = request.sender === 'blocked@example.com' ? 'DEFER_IF_PERMIT 4.7.1 over the test limit' : 'DUNNO';
        socket.write(`action=${action}\n\n`);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Postfix keeps policy connections open; close() waits for them otherwise.
        for (const socket of sockets) socket.destroy();
      }),
  };
}

describe('PostfixInstance (real Postfix on loopback)', () => {
  let postfix: PostfixInstance;
  let policy: PolicyStub;

  beforeAll(async () => {
    [postfix, policy] = await Promise.all([PostfixInstance.start({ saslUsers: [ALICE] }), startPolicyStub()]);
  });

  afterAll(async () => {
    await postfix?.stop();
    await policy?.close();
  });

  it('relays unauthenticated mail from 127.0.0.1 (mynetworks) to the sink', async () => {
    const result = await postfix.sendMail({ from: 'sender@example.com', to: ['rcpt@example.net'], subject: 'unauthenticated hello' });
    expect(result.accepted, result.transcript).toBe(true);
    expect(result.code).toBe(250);
    expect(result.enhanced).toBe('2.0.0');
    expect(result.stage).toBe('END-OF-DATA');
    expect(result.queueId).toMatch(/^[0-9A-F]+$/);

    const delivered = await postfix.waitForDelivered(1);
    const message = delivered.find((m) => m.subject === 'unauthenticated hello');
    expect(message, JSON.stringify(delivered.map((m) => m.subject))).toBeDefined();
    expect(message?.mailFrom).toBe('sender@example.com');
    expect(message?.recipients).toEqual(['rcpt@example.net']);
    expect(message?.raw).toContain(`id ${result.queueId ?? '?'}`);
  });

  it('authenticates alice and hands her login to a policy service as sasl_username', async () => {
    await postfix.postconf(['-e', `smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:${policy.port}`]);
    await postfix.reload();

    const result = await postfix.sendMail({
      from: 'alice@example.com',
      to: ['friend@example.net'],
      subject: 'authenticated hello',
      auth: ALICE,
    });
    expect(result.accepted, result.transcript).toBe(true);

    const request = policy.requests.find((r) => r.protocol_state === 'END-OF-MESSAGE' && r.queue_id === result.queueId);
    expect(request, JSON.stringify(policy.requests)).toBeDefined();
    expect(request?.sasl_username).toBe('alice@example.com');
    expect(request?.sasl_method).toBe('PLAIN');

    await postfix.waitForLog(new RegExp(`${result.queueId ?? '?'}: client=.*sasl_username=alice@example\\.com`));
    const delivered = await postfix.waitForDelivered(2);
    const message = delivered.find((m) => m.subject === 'authenticated hello');
    expect(message?.headers.some((h) => h.name === 'received' && h.value.includes('(Authenticated sender: alice@example.com)'))).toBe(true);
  });

  it('returns the reply to DATA (not 221 Bye) when the end of data is deferred', async () => {
    const result = await postfix.sendMail({ from: 'blocked@example.com', to: ['friend@example.net'], subject: 'deferred' });
    expect(result.accepted).toBe(false);
    expect(result.code).toBe(450);
    expect(result.enhanced).toBe('4.7.1');
    expect(result.stage).toBe('END-OF-DATA');
    expect(result.text).toContain('over the test limit');
    expect(result.swaksExitCode).not.toBe(0);
  });

  it('fails AUTH with a wrong password', async () => {
    const result = await postfix.sendMail({
      from: 'alice@example.com',
      to: ['friend@example.net'],
      auth: { login: ALICE.login, password: 'wrong' },
    });
    expect(result.accepted).toBe(false);
    expect(result.stage).toBe('AUTH');
    expect(result.code).toBe(535);
    expect(result.enhanced).toBe('5.7.8');
  });

  it('restarts with its edited main.cf and lists the queue', async () => {
    const masterBefore = await postfix.masterPid();
    await postfix.restart();
    const masterAfter = await postfix.masterPid();
    expect(masterAfter).not.toBeNull();
    expect(masterAfter).not.toBe(masterBefore);
    expect((await postfix.postconf(['-h', 'smtpd_end_of_data_restrictions'])).trim()).toBe(`check_policy_service inet:127.0.0.1:${policy.port}`);
    expect(await postfix.queue()).toEqual([]);
    const result = await postfix.sendMail({ from: 'sender@example.com', to: ['rcpt@example.net'], subject: 'after restart' });
    expect(result.accepted, result.transcript).toBe(true);
    const delivered = await postfix.waitForDelivered(3);
    expect(delivered.map((m) => m.subject)).toContain('after restart');
  });

  it('runs a second instance side by side', async () => {
    const other = await PostfixInstance.start();
    try {
      expect(other.smtpPort).not.toBe(postfix.smtpPort);
      const result = await other.sendMail({ from: 'a@example.com', to: ['b@example.net'], subject: 'second instance' });
      expect(result.accepted, result.transcript).toBe(true);
      const delivered = await other.waitForDelivered(1);
      expect(delivered[0]?.subject).toBe('second instance');
      // No saslUsers: this instance does not offer AUTH, and swaks gives up before MAIL.
      const noAuth = await other.sendMail({ from: 'a@example.com', to: ['b@example.net'], auth: ALICE });
      expect(noAuth).toMatchObject({ accepted: false, code: 0, stage: 'EHLO' });
      expect(noAuth.text).toMatch(/authentication/i);
    } finally {
      await other.stop();
    }
    expect(await other.processes()).toEqual([]);
    expect(existsSync(other.baseDir)).toBe(false);
  });

  it('stops without leaving a master process behind, and stop() is idempotent', async () => {
    const master = await postfix.masterPid();
    expect(master).not.toBeNull();
    expect((await postfix.processes()).some((p) => p.pid === master)).toBe(true);

    await postfix.stop();
    expect(await postfix.processes()).toEqual([]);
    expect(await postfix.masterPid()).toBeNull();
    expect(existsSync(postfix.baseDir)).toBe(false);
    await postfix.stop();
  });
});

describe('parseSwaksTranscript', () => {
  it('picks the multi-line reply to the end of DATA', () => {
    const transcript = [
      '<-  220 host ESMTP Postfix',
      ' -> EHLO x',
      '<-  250-host',
      '<-  250 CHUNKING',
      ' -> MAIL FROM:<a@example.com>',
      '<-  250 2.1.0 Ok',
      ' -> RCPT TO:<b@example.net>',
      '<-  250 2.1.5 Ok',
      ' -> DATA',
      '<-  354 End data with <CR><LF>.<CR><LF>',
      ' -> Subject: x',
      ' -> ',
      ' -> .',
      '<** 550-5.7.1 first line',
      '<** 550 5.7.1 second line',
      ' -> QUIT',
      '<-  221 2.0.0 Bye',
    ].join('\n');
    expect(parseSwaksTranscript(transcript)).toEqual({
      code: 550,
      enhanced: '5.7.1',
      text: 'first line\nsecond line',
      accepted: false,
      stage: 'END-OF-DATA',
      queueId: null,
    });
  });

  it('reports a rejected recipient when DATA never started', () => {
    const transcript = ['<-  220 host', ' -> EHLO x', '<-  250 host', ' -> MAIL FROM:<a@x>', '<-  250 2.1.0 Ok', ' -> RCPT TO:<b@y>', '<** 454 4.7.1 <b@y>: Relay access denied', ' -> QUIT', '<-  221 2.0.0 Bye'].join('\n');
    expect(parseSwaksTranscript(transcript)).toMatchObject({ code: 454, enhanced: '4.7.1', stage: 'RCPT', accepted: false });
  });

  it('reports code 0 with swaks\' own complaint when swaks gives up without an SMTP failure', () => {
    const stdout = ['<-  220 host', ' -> EHLO x', '<-  250 host', ' -> QUIT', '<-  221 2.0.0 Bye'].join('\n');
    expect(parseSwaksTranscript(stdout, '*** Host did not advertise authentication\n')).toMatchObject({
      code: 0,
      accepted: false,
      stage: 'EHLO',
      text: 'Host did not advertise authentication',
    });
  });

  it('returns null without any reply', () => {
    expect(parseSwaksTranscript('=== Trying 127.0.0.1:1...\n*** Error connecting to 127.0.0.1:1:\n')).toBeNull();
  });
});
