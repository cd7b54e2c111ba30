import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { launchOnFreePort, loopbackListenerOwner, PORT_TRIES, PortTakenError } from '../test-support/loopback-listeners.js';

async function listen(host: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('loopbackListenerOwner', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) if (server.listening) await close(server);
  });

  it("tells a process's own listener from another process's, and a closed port from both", async () => {
    const { server, port } = await listen('127.0.0.1');
    servers.push(server);
    expect(await loopbackListenerOwner(port, [process.pid])).toBe('ours');
    // PID 1 holds no socket of ours: to it, the listener belongs to someone else.
    expect(await loopbackListenerOwner(port, [1])).toBe('other');
    await close(server);
    expect(await loopbackListenerOwner(port, [process.pid])).toBe('none');
  });

  it('sees a listener on the wildcard address too: it answers connections to 127.0.0.1', async () => {
    const { server, port } = await listen('0.0.0.0');
    servers.push(server);
    expect(await loopbackListenerOwner(port, [1])).toBe('other');
    expect(await loopbackListenerOwner(port, [process.pid])).toBe('ours');
  });

  it("finds a child process's listener by the child's pid", async () => {
    const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port); })"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        child.once('exit', (code) => reject(new Error(`child exited ${String(code)}`)));
      });
      expect(await loopbackListenerOwner(port, [child.pid ?? -1])).toBe('ours');
      expect(await loopbackListenerOwner(port, [process.pid])).toBe('other');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('launchOnFreePort', () => {
  it('tries new ports while the program loses its port, and returns what the winning start returned', async () => {
    const tried: number[] = [];
    const nextPorts = [2002, 2003];
    const result = await launchOnFreePort('test server', 2001, async () => nextPorts.shift() ?? 0, async (port) => {
      tried.push(port);
      if (port !== 2003) throw new PortTakenError('Address already in use');
      return `up on ${port}`;
    });
    expect(result).toBe('up on 2003');
    expect(tried).toEqual([2001, 2002, 2003]);
  });

  it(`stops after ${PORT_TRIES} lost ports and lists each with its reason`, async () => {
    let next = 3000;
    let starts = 0;
    const failed = await launchOnFreePort('test server', next, async () => ++next, async (port) => {
      starts++;
      throw new PortTakenError(`someone else on ${port}`);
    }).catch((error: unknown) => error as Error);
    expect(starts).toBe(PORT_TRIES);
    expect(failed.message).toContain(`test server could not listen on 127.0.0.1 (gave up after ${PORT_TRIES} ports)`);
    expect(failed.message).toContain('3000: someone else on 3000');
    expect(failed.message).toContain(`${3000 + PORT_TRIES - 1}: someone else on ${3000 + PORT_TRIES - 1}`);
  });

  it('never moves a port the caller chose, and passes any other failure through at once', async () => {
    let starts = 0;
    const taken = await launchOnFreePort('test server', 4000, null, async () => {
      starts++;
      throw new PortTakenError('Address already in use');
    }).catch((error: unknown) => error as Error);
    expect(starts).toBe(1);
    expect(taken.message).toContain('the port was given, so no other was tried');

    const broken = new Error('config file missing');
    await expect(
      launchOnFreePort('test server', 4001, async () => 4002, async () => {
        throw broken;
      }),
    ).rejects.toBe(broken);
  });
});
