import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loopbackListenerOwner, PORT_TRIES } from '../test-support/loopback-listeners.js';
import { freeLoopbackPort, PostfixInstance, type PortService } from '../test-support/postfix-instance.js';

/** The built helper, so a separate process can start an instance and die without stopping it. */
const BUILT_HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/backend-bridge/test-support/postfix-instance.js');

/** Another program's server on a loopback port: greets like an SMTP server and counts who came. */
interface Squatter {
  port: number;
  connections: number;
  close: () => Promise<void>;
}

async function squat(port = 0): Promise<Squatter> {
  const squatter: Squatter = { port: 0, connections: 0, close: async () => undefined };
  const server: Server = createServer((socket) => {
    squatter.connections++;
    socket.on('error', () => undefined);
    socket.end('220 someone-else ESMTP\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  squatter.port = (server.address() as AddressInfo).port;
  squatter.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return squatter;
}

/** Hands out `taken` for the first `times` picks of `service`, then free ports; records every pick. */
function pickerHandingOut(service: PortService, taken: number, times = 1) {
  const picks: Array<{ service: PortService; port: number }> = [];
  let left = times;
  const pickPort = async (asked: PortService) => {
    const port = asked === service && left-- > 0 ? taken : await freeLoopbackPort();
    picks.push({ service: asked, port });
    return port;
  };
  return { picks, pickPort };
}

async function expectMailReachesTheSink(postfix: PostfixInstance, subject: string): Promise<void> {
  const result = await postfix.sendMail({ from: 'sender@example.com', to: ['rcpt@example.net'], subject });
  expect(result.accepted, result.transcript).toBe(true);
  const delivered = await postfix.waitForDelivered(1);
  expect(delivered.map((m) => m.subject)).toContain(subject);
}

describe('PostfixInstance ports lost to another program', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('moves smtpd to a new port when master finds the chosen one taken', async () => {
    const squatter = await squat();
    cleanups.push(squatter.close);
    const { picks, pickPort } = pickerHandingOut('smtpd', squatter.port);
    const postfix = await PostfixInstance.start({ pickPort });
    cleanups.push(() => postfix.stop());

    // The first try really hit the taken port, and master said so; the second got its own.
    expect(await postfix.logTail()).toContain(`fatal: bind 127.0.0.1 port ${squatter.port}: Address already in use`);
    expect(picks.filter((p) => p.service === 'smtpd').map((p) => p.port)).toEqual([squatter.port, postfix.smtpPort]);
    expect(postfix.smtpPort).not.toBe(squatter.port);
    await expectMailReachesTheSink(postfix, 'smtpd moved');
    expect(squatter.connections).toBe(0);
  });

  it('moves the sink to a new port when smtp-sink finds the chosen one taken, so relayed mail never goes to the other program', async () => {
    const squatter = await squat();
    cleanups.push(squatter.close);
    const { picks, pickPort } = pickerHandingOut('sink', squatter.port);
    const postfix = await PostfixInstance.start({ pickPort });
    cleanups.push(() => postfix.stop());

    expect(picks.filter((p) => p.service === 'sink').map((p) => p.port)).toEqual([squatter.port, postfix.sinkPort]);
    expect(postfix.sinkPort).not.toBe(squatter.port);
    expect((await postfix.postconf(['-h', 'relayhost'])).trim()).toBe(`[127.0.0.1]:${postfix.sinkPort}`);
    await expectMailReachesTheSink(postfix, 'sink moved');
    expect(squatter.connections).toBe(0);
  });

  it('on restart, moves off both ports when other programs took them while it was stopped', async () => {
    const postfix = await PostfixInstance.start();
    cleanups.push(() => postfix.stop());
    await postfix.stop({ keepFiles: true });
    const [smtpSquatter, sinkSquatter] = [await squat(postfix.smtpPort), await squat(postfix.sinkPort)];
    cleanups.push(smtpSquatter.close, sinkSquatter.close);

    await postfix.start();
    expect(postfix.smtpPort).not.toBe(smtpSquatter.port);
    expect(postfix.sinkPort).not.toBe(sinkSquatter.port);
    await expectMailReachesTheSink(postfix, 'after restart on new ports');
    expect(smtpSquatter.connections + sinkSquatter.connections).toBe(0);
  });

  it('does not move a port the caller chose: it says which port is taken and removes what it made', async () => {
    const squatter = await squat();
    cleanups.push(squatter.close);
    const baseDir = path.join(tmpdir(), `postfix-given-port-${process.pid}-${Date.now()}`);
    const failed = await PostfixInstance.start({ baseDir, sinkPort: squatter.port }).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(failed?.message).toContain('the port was given, so no other was tried');
    expect(failed?.message).toContain(`${squatter.port}: `);
    expect(failed?.message).toMatch(/Address already in use/);
    expect(existsSync(baseDir)).toBe(false);

    const smtpdFailed = await PostfixInstance.start({ baseDir, smtpPort: squatter.port }).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(smtpdFailed?.message).toContain('smtpd could not listen on 127.0.0.1 (the port was given, so no other was tried)');
    expect(smtpdFailed?.message).toContain(`${squatter.port}: master: fatal: bind 127.0.0.1 port ${squatter.port}: Address already in use`);
    expect(existsSync(baseDir)).toBe(false);
  });

  it(`gives up after ${PORT_TRIES} taken ports with every port and reason in the error`, async () => {
    const squatter = await squat();
    cleanups.push(squatter.close);
    const { picks, pickPort } = pickerHandingOut('sink', squatter.port, Number.POSITIVE_INFINITY);
    const failed = await PostfixInstance.start({ pickPort }).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(picks.filter((p) => p.service === 'sink')).toHaveLength(PORT_TRIES);
    expect(failed?.message).toContain(`gave up after ${PORT_TRIES} ports`);
    expect(failed?.message.match(new RegExp(`^${squatter.port}: .*Address already in use$`, 'gm'))).toHaveLength(PORT_TRIES);
  });

  it('takes over the baseDir of a run killed before stop(): its master and sink are stopped, mail flows on new ports', async () => {
    const baseDir = path.join(tmpdir(), `postfix-crashed-run-${process.pid}-${Date.now()}`);
    cleanups.push(async () => rmSync(baseDir, { recursive: true, force: true }));
    const script = `import { PostfixInstance } from ${JSON.stringify(BUILT_HELPER)};
      const p = await PostfixInstance.start({ baseDir: ${JSON.stringify(baseDir)} });
      console.log(JSON.stringify({ smtpPort: p.smtpPort, sinkPort: p.sinkPort, master: await p.masterPid() }));
      process.kill(process.pid, 'SIGKILL');`;
    const crashed = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    crashed.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve) => crashed.once('exit', () => resolve()));
    const left = JSON.parse(output) as { smtpPort: number; sinkPort: number; master: number };
    expect(await loopbackListenerOwner(left.smtpPort, [left.master])).toBe('ours');

    const postfix = await PostfixInstance.start({ baseDir });
    cleanups.push(() => postfix.stop());
    expect(await postfix.masterPid()).not.toBe(left.master);
    expect(await loopbackListenerOwner(left.smtpPort, [])).toBe('none');
    expect(await loopbackListenerOwner(left.sinkPort, [])).toBe('none');
    await expectMailReachesTheSink(postfix, 'after a crashed run');
  });
});
