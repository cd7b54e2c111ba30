import { createServer, type Server } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../test-support/postfix-instance.js';
import { RedisServer } from '../test-support/redis-server.js';

const started: RedisServer[] = [];
const squatters: Server[] = [];

afterEach(async () => {
  for (const server of started.splice(0)) await server.stop();
  for (const squatter of squatters.splice(0)) await new Promise((resolve) => squatter.close(resolve));
});

/** Another program's listener on a loopback port: what a redis-server may find when its port was taken first. */
async function squat(): Promise<number> {
  const squatter = createServer();
  squatters.push(squatter);
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const address = squatter.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return address.port;
}

async function ping(connection: RedisOptions): Promise<string> {
  const client = new Redis({ ...connection, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

describe('RedisServer (test support)', () => {
  it('answers on its socket and its port, and keeps nothing unless asked', async () => {
    const server = await RedisServer.start();
    started.push(server);
    expect(await ping({ path: server.socketPath as string })).toBe('PONG');
    expect(await ping({ host: '127.0.0.1', port: server.port as number })).toBe('PONG');
    const client = new Redis(server.connection);
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
    } finally {
      client.disconnect();
    }
  });

  it('moves to another port when the one it was given first is taken by another program', async () => {
    const taken = await squat();
    const ports = [taken];
    const server = await RedisServer.start({ pickPort: async () => ports.shift() ?? freeLoopbackPort() });
    started.push(server);
    expect(server.port).not.toBe(taken);
    expect(await ping({ host: '127.0.0.1', port: server.port as number })).toBe('PONG');
  });

  it('is away after kill() and back on the same address after restart(), with its data only when persistent', async () => {
    for (const persistence of [false, true]) {
      const server = await RedisServer.start({ persistence });
      started.push(server);
      const client = new Redis(server.connection);
      await client.set('kept', 'yes');
      client.disconnect();
      const port = server.port;
      await server.kill();
      expect(server.running).toBe(false);
      await expect(ping({ path: server.socketPath as string })).rejects.toThrow();
      await server.restart();
      expect(server.port).toBe(port);
      const again = new Redis(server.connection);
      try {
        expect(await again.get('kept')).toBe(persistence ? 'yes' : null);
      } finally {
        again.disconnect();
      }
    }
  });

  it('names the port when another program took it while the server was away', async () => {
    const server = await RedisServer.start({ unixSocket: false });
    started.push(server);
    const port = server.port as number;
    await server.kill();
    const squatter = createServer();
    squatters.push(squatter);
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    await expect(server.restart()).rejects.toThrow(new RegExp(`the port was given.*\\n${port}:`));
  });
});
