import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, DaemonProcess, eventually, tempDataDir } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * A client that may connect (anything in Postfix's group on the default sockets; any local user where the daemon
 * listens on TCP for a Postfix on another host) holds 2,500 connections open to the policy service and 2,500 to
 * the milter, more than the daemon's cap of 2,000 on each, while a real Postfix sends mail through both. carol@example.com has a limit of
 * 0: her mail must be held, whoever else holds connections; everyone else's mail must pass. The connection
 * counts are the daemon's defaults: no test-only setting is involved.
 */
const HELD_OPEN = 2_500;
const CAP = 2_000;
const OUTSIDE = ['someone@remote.test'];

let postfix: PostfixInstance;
let daemon: DaemonProcess;
const flood: net.Socket[] = [];

/**
 * Opens `count` connections one after another, as a hostile local user would: every other one sends one byte
 * (the start of a request it never finishes), the others send nothing.
 */
async function holdOpen(socketPath: string, count: number): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = await connectWhenAccepted(socketPath);
    socket.on('error', () => undefined);
    if (i % 2 === 1) socket.write('r');
    sockets.push(socket);
  }
  return sockets;
}

/**
 * A UNIX socket's connect fails at once with EAGAIN while the listener's backlog is full (TCP would wait): a
 * flooding client simply tries again once the daemon had its turn to accept.
 */
async function connectWhenAccepted(socketPath: string): Promise<net.Socket> {
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const opened = net.connect(socketPath, () => resolve(opened));
        opened.once('error', reject);
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      await new Promise((resolve) => setTimeout(resolve, 5)); // a back-off, not a wait for a condition: the next try checks it
    }
  }
}

const stillOpen = (sockets: net.Socket[]) => sockets.filter((s) => !s.destroyed && !s.readableEnded).length;

beforeAll(async () => {
  postfix = await startWiredPostfix();
  const dataDir = tempDataDir();
  const file = path.join(dataDir, 'directory.json');
  writeFileSync(file, JSON.stringify(exampleDirectory({ 'carol@example.com': 0 })));
  await cli(['directory', 'import', file, '--data-dir', dataDir]);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
});

afterAll(async () => {
  for (const socket of flood) socket.destroy();
  await daemon?.stop();
  await postfix?.stop();
});

describe('connections held open by a local user', () => {
  it(`${HELD_OPEN} connections held open to each service do not lock Postfix out: a limit-0 mailbox is held, others pass`, async () => {
    const policy = await holdOpen(daemon.policySocket, HELD_OPEN);
    const milter = await holdOpen(daemon.milterSocket, HELD_OPEN);
    flood.push(...policy, ...milter);
    // The cap holds: the oldest made room for the newer ones (or the stall timeout closed them first).
    await eventually(() => stillOpen(policy) <= CAP && stillOpen(milter) <= CAP, `the daemon to keep at most ${CAP} connections on each service`, 30_000);

    // SMTP, through the policy service.
    const held = await postfix.sendMail({ from: 'carol@example.com', to: OUTSIDE, subject: 'carol over smtp' });
    expectAccepted(held);
    expect(held.queueId).not.toBeNull();
    await eventually(async () => (await postfix.queue()).some((q) => q.queue_id === held.queueId && q.queue_name === 'hold'), 'carol\'s SMTP message in the hold queue', 20_000);
    expectAccepted(await postfix.sendMail({ from: 'alice@example.com', to: OUTSIDE, subject: 'alice over smtp' }));

    // Local mail, through the milter.
    await postfix.sendLocalMail({ from: 'carol@example.com', to: OUTSIDE, subject: 'carol by sendmail' });
    await postfix.sendLocalMail({ from: 'bob@example.com', to: OUTSIDE, subject: 'bob by sendmail' });
    await eventually(
      async () => (await postfix.queue()).filter((q) => q.sender === 'carol@example.com' && q.queue_name === 'hold').length === 2,
      'carol\'s local message in the hold queue too',
      30_000,
    );
    await eventually(async () => {
      const subjects = (await postfix.deliveredMessages()).map((m) => m.subject);
      return subjects.includes('alice over smtp') && subjects.includes('bob by sendmail');
    }, 'alice\'s and bob\'s mail to reach the sink', 30_000);
    expect((await postfix.deliveredMessages()).map((m) => m.subject)).not.toContain('carol over smtp');
    const log = await postfix.logTail(400);
    expect(log).not.toMatch(/problem talking to server|milter.*(timeout|error|unavailable)/i);
    expect(daemon.log).toContain('connection cap reached');
    // The connections that started a request and never finished it are closed by the daemon (10 s stall timeout).
    const started = [...policy, ...milter].filter((_, i) => i % 2 === 1);
    await eventually(() => stillOpen(started) === 0, 'every connection stalled after one byte to be closed', 60_000);
    expect(daemon.log).toContain('a request was started and not finished in time');
  }, 180_000);
});
