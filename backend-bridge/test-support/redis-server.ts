/**
 * A throwaway redis-server (Debian's 7.0) for tests: its own directory, a UNIX socket and/or a loopback TCP port,
 * no persistence unless asked. It can be killed and started again on the same address, as a Redis that goes
 * away and comes back would be.
 *
 * Facts measured on Debian 12 / redis-server 7.0.15:
 * - `port 0` switches TCP off rather than binding a free port, so the port is chosen before redis-server runs
 *   and may be taken by another program first: redis-server then logs "Could not create server TCP listening
 *   socket 127.0.0.1:N: bind: Address already in use" and exits 1, and the helper tries a new port
 *   (loopback-listeners.ts). The server counts as up only once the listening socket is its own.
 * - Started as a child of this process (daemonize no), it is reaped by Node; SIGKILL stands for a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ADDRESS_IN_USE, launchOnFreePort, loopbackListenerOwner, PortTakenError } from './loopback-listeners.js';
import { freeLoopbackPort } from './postfix-instance.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const REDIS_SENTINEL = '/usr/bin/redis-sentinel';

/** What a sentinel watches: the primary's name and address, and how many sentinels must agree it is down. */
export interface SentinelWatch {
  masterName: string;
  host: string;
  port: number;
  quorum: number;
  /** How long the primary may be silent before a sentinel thinks it down (default 1000 ms). */
  downAfterMs?: number;
}

export interface RedisServerOptions {
  /** Listen on a loopback TCP port (default true). */
  tcp?: boolean;
  /** Listen on a UNIX socket in the server's directory (default true). */
  unixSocket?: boolean;
  /** Keep the data in an append-only file, so a restart after a kill finds it again (default: nothing kept). */
  persistence?: boolean;
  /** Extra redis.conf lines (`name value`), written after the defaults. */
  config?: Record<string, string>;
  /** Keep the directory after stop() (post-mortems). */
  keep?: boolean;
  /** Where the ports come from (default: freeLoopbackPort), first and after each port lost to another program. */
  pickPort?: () => Promise<number>;
  /** Run redis-sentinel watching this primary instead of a data server (TCP only). */
  sentinel?: SentinelWatch;
}

export class RedisServerError extends Error {
  override name = 'RedisServerError';
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly options: RedisServerOptions,
    /** The loopback TCP port; null without TCP. */
    public port: number | null,
  ) {}

  /** Starts a server in a fresh temporary directory; stop() removes it. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    if (options.tcp === false && options.unixSocket === false) throw new RedisServerError('a Redis server needs a TCP port or a UNIX socket');
    if (options.sentinel && (options.tcp === false || options.unixSocket !== false)) throw new RedisServerError('a sentinel listens on TCP only (unixSocket: false)');
    const dir = await mkdtemp(path.join(tmpdir(), 'ol-redis-'));
    const server = new RedisServer(dir, options, null);
    try {
      if (options.tcp === false) {
        await server.launch(null);
      } else {
        const pickPort = options.pickPort ?? freeLoopbackPort;
        server.port = await launchOnFreePort('redis-server', await pickPort(), pickPort, async (port) => {
          await server.launch(port);
          return port;
        });
      }
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The UNIX socket path; null without one. */
  get socketPath(): string | null {
    return this.options.unixSocket === false ? null : path.join(this.dir, 'redis.sock');
  }

  /** redis://127.0.0.1:port (TCP only). */
  get url(): string {
    if (this.port === null) throw new RedisServerError('this Redis server has no TCP port');
    return `redis://127.0.0.1:${this.port}`;
  }

  /** What ioredis needs to connect: the socket when there is one, else the TCP port. */
  get connection(): { path: string } | { host: string; port: number } {
    const socket = this.socketPath;
    if (socket !== null) return { path: socket };
    return { host: '127.0.0.1', port: this.port as number };
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The server's log so far. */
  async log(): Promise<string> {
    return readFile(path.join(this.dir, 'redis.log'), 'utf8').catch(() => '');
  }

  /** Kills the server at once (SIGKILL), as a crash or a lost host would; clients see the connection drop. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Starts the server again on the same socket and port; an error names the port if another program took it. */
  async restart(): Promise<void> {
    if (this.child !== null) throw new RedisServerError('the Redis server is still running');
    const port = this.port;
    if (port === null) await this.launch(null);
    else await launchOnFreePort('redis-server', port, null, (p) => this.launch(p));
  }

  /** Stops the server (if running) and removes its directory unless `keep`. */
  async stop(): Promise<void> {
    await this.kill();
    if (!this.options.keep) await rm(this.dir, { recursive: true, force: true });
  }

  private async launch(port: number | null): Promise<void> {
    const socket = this.socketPath;
    const sentinel = this.options.sentinel;
    const lines: Record<string, string> = {
      bind: '127.0.0.1',
      port: String(port ?? 0),
      'protected-mode': 'yes',
      dir: this.dir,
      logfile: path.join(this.dir, 'redis.log'),
      daemonize: 'no',
      ...(sentinel ? {} : { save: '""', appendonly: this.options.persistence ? 'yes' : 'no' }),
      ...(socket === null ? {} : { unixsocket: socket, unixsocketperm: '700' }),
      ...this.options.config,
    };
    const text = Object.entries(lines).map(([name, value]) => `${name} ${value}`);
    if (sentinel) {
      const { masterName: name } = sentinel;
      text.push(
        `sentinel monitor ${name} ${sentinel.host} ${sentinel.port} ${sentinel.quorum}`,
        `sentinel down-after-milliseconds ${name} ${sentinel.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} 10000`,
      );
    }
    // A sentinel rewrites its own file (what it learnt of replicas and peers); a restart starts from ours again.
    const configPath = path.join(this.dir, sentinel ? 'sentinel.conf' : 'redis.conf');
    await writeFile(configPath, text.join('\n') + '\n');
    const logBefore = (await this.log()).length;
    const child = spawn(sentinel ? REDIS_SENTINEL : REDIS_SERVER, [configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let exitCode: number | null | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitCode = code ?? (signal === null ? -1 : 128);
        if (this.child === child) this.child = null;
        resolve();
      });
      child.once('error', (error) => {
        stderr += error.message;
        exitCode = -1;
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    this.child = child;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exitCode !== undefined) {
        const log = (await this.log()).slice(logBefore);
        const bindFailure = `${log}\n${stderr}`.split('\n').find((line) => ADDRESS_IN_USE.test(line));
        if (bindFailure !== undefined) throw new PortTakenError(bindFailure.trim());
        throw new RedisServerError(`redis-server exited (${exitCode}) before it was ready:\n${stderr}${log}`);
      }
      const tcpUp = port === null || (child.pid !== undefined && (await loopbackListenerOwner(port, [child.pid])) === 'ours');
      const socketUp = socket === null || existsSync(socket);
      // A sentinel never says "ready"; it is once it watches the primary (its listener is up by then).
      const ready = sentinel ? /\+monitor master/ : /ready to accept connections/i;
      if (tcpUp && socketUp && ready.test((await this.log()).slice(logBefore))) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await this.exited;
        throw new RedisServerError(`redis-server was not ready within 15 s:\n${stderr}${(await this.log()).slice(logBefore)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * A primary, one replica and three sentinels (quorum 2), all throwaway: what a cluster with failover looks like.
 * Clients connect through `sentinels` and `masterName`; killing `primary` makes the sentinels promote the replica.
 */
export class RedisSentinelGroup {
  private constructor(
    readonly masterName: string,
    readonly primary: RedisServer,
    readonly replica: RedisServer,
    readonly sentinelServers: readonly RedisServer[],
  ) {}

  static async start(masterName = 'outgoing-limits'): Promise<RedisSentinelGroup> {
    const servers: RedisServer[] = [];
    try {
      const primary = await RedisServer.start({ unixSocket: false });
      servers.push(primary);
      const replica = await RedisServer.start({ unixSocket: false, config: { replicaof: `127.0.0.1 ${primary.port}` } });
      servers.push(replica);
      const watch: SentinelWatch = { masterName, host: '127.0.0.1', port: primary.port as number, quorum: 2 };
      const sentinels: RedisServer[] = [];
      for (let i = 0; i < 3; i++) {
        const sentinel = await RedisServer.start({ unixSocket: false, sentinel: watch });
        servers.push(sentinel);
        sentinels.push(sentinel);
      }
      const group = new RedisSentinelGroup(masterName, primary, replica, sentinels);
      await group.waitUntilWatched();
      return group;
    } catch (error) {
      for (const server of servers) await server.stop();
      throw error;
    }
  }

  /**
   * Until the replica is in sync and every sentinel knows it and the two other sentinels: before that a failover
   * could not happen (no quorum, no replica to promote) or would lose what the primary had.
   */
  private async waitUntilWatched(): Promise<void> {
    const deadline = Date.now() + 30_000;
    const clients = [this.primary, ...this.sentinelServers].map((s) => new Redis({ host: '127.0.0.1', port: s.port as number, lazyConnect: true }));
    try {
      for (;;) {
        const replication = await (clients[0] as Redis).info('replication');
        let watched = /slave0:[^\r\n]*state=online/.test(replication);
        for (const sentinel of clients.slice(1)) {
          if (!watched) break;
          const fields = (await sentinel.call('SENTINEL', 'MASTER', this.masterName)) as string[];
          const field = (name: string) => fields[fields.indexOf(name) + 1];
          watched = field('num-slaves') === '1' && field('num-other-sentinels') === '2';
        }
        if (watched) return;
        if (Date.now() > deadline) throw new RedisServerError(`the sentinels did not all see the replica and each other within 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      for (const client of clients) client.disconnect();
    }
  }

  /** The sentinels' addresses, as ioredis takes them (`new Redis({ sentinels, name: masterName })`). */
  get sentinels(): { host: string; port: number }[] {
    return this.sentinelServers.map((s) => ({ host: '127.0.0.1', port: s.port as number }));
  }

  async stop(): Promise<void> {
    for (const server of [...this.sentinelServers, this.replica, this.primary]) await server.stop();
  }
}
