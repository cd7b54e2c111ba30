import net from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeFrame, MAX_FRAME_BYTES, MilterFrameParser, type MilterFrame } from './milter-protocol.js';
import { MilterServer, type LocalMessage, type MilterVerdict } from './milter-server.js';
import type { ConnectionLimits } from './connection-server.js';
import { eventually } from '../../test-support/daemon-process.js';
import { postfixMilterOffer } from '../../test-support/protocol-bytes.js';

const text = (value: string) => Buffer.from(value, 'latin1');


/** A milter client speaking as Postfix's cleanup does for one local message. */
class Client {
  private readonly parser = new MilterFrameParser();
  private frames: MilterFrame[] = [];
  private waiting: (() => void) | null = null;
  closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.parser.feed(chunk));
      this.waiting?.();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  async replies(count: number): Promise<MilterFrame[]> {
    while (this.frames.length < count) await new Promise<void>((resolve) => (this.waiting = resolve));
    return this.frames.splice(0, count);
  }

  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** One whole message; returns the replies to its end. */
  async message(sender: string, recipients: string[], queueId: string): Promise<MilterFrame[]> {
    this.send(
      encodeFrame('D', text(`Mi\0${queueId}\0{mail_addr}\0${sender}\0`)),
      encodeFrame('M', text(`<${sender}>\0`)),
      ...recipients.map((r) => encodeFrame('R', text(`<${r}>\0`))),
      encodeFrame('D', text(`Ei\0${queueId}\0`)),
      encodeFrame('E'),
    );
    const first = await this.replies(1);
    return first[0]?.command === 'q' ? [...first, ...(await this.replies(1))] : first;
  }
}

let server: MilterServer;
let port: number;
const seen: LocalMessage[] = [];
let verdict: (message: LocalMessage) => MilterVerdict | Promise<MilterVerdict>;

async function start(limits: Partial<ConnectionLimits> = {}): Promise<void> {
  server = new MilterServer(
    (message) => {
      seen.push(message);
      return verdict(message);
    },
    pino({ level: 'silent' }),
    limits,
  );
  port = (await server.listen('127.0.0.1', 0)).port;
}

beforeEach(async () => {
  seen.length = 0;
  verdict = () => ({ action: 'accept' });
  await start();
});

afterEach(async () => {
  await server.close();
});

async function negotiated(): Promise<Client> {
  const client = await Client.connect(port);
  client.send(postfixMilterOffer());
  const [reply] = await client.replies(1);
  expect(reply?.command).toBe('O');
  return client;
}

describe('milter server', () => {
  it('hands the sender, recipients and queue id to the handler and accepts', async () => {
    const client = await negotiated();
    const replies = await client.message('www-data@host.test', ['a@remote.test', 'b@other.test'], 'ABC123');
    expect(replies.map((r) => r.command)).toEqual(['a']);
    expect(seen).toEqual([{ queueId: 'ABC123', sender: 'www-data@host.test', recipients: ['a@remote.test', 'b@other.test'], recipientCount: 2 }]);
    client.send(encodeFrame('Q'));
    await client.closed;
  });

  it('quarantines with the reason, then accepts; the next message on a reused connection starts clean', async () => {
    verdict = (message) => (message.sender === 'over@example.com' ? { action: 'quarantine', reason: 'Outgoing limit reached' } : { action: 'accept' });
    const client = await negotiated();
    const held = await client.message('over@example.com', ['a@remote.test'], 'Q1');
    expect(held.map((r) => r.command)).toEqual(['q', 'a']);
    expect(held[0]!.data.toString('latin1')).toBe('Outgoing limit reached\0');
    client.send(encodeFrame('K'));
    expect((await client.message('fine@example.com', ['b@remote.test'], 'Q2')).map((r) => r.command)).toEqual(['a']);
    expect(seen[1]).toMatchObject({ queueId: 'Q2', sender: 'fine@example.com', recipients: ['b@remote.test'], recipientCount: 1 });
    client.socket.destroy();
  });

  it('answers commands it asked to skip with continue, so an MTA that ignores the flags still gets through', async () => {
    const client = await negotiated();
    client.send(
      encodeFrame('C', text('host\x004\x00\x00\x00127.0.0.1\0')),
      encodeFrame('H', text('host\0')),
      encodeFrame('T'),
      encodeFrame('L', text('Subject\0hi\0')),
      encodeFrame('N'),
      encodeFrame('B', text('body')),
    );
    expect((await client.replies(6)).map((r) => r.command)).toEqual(['c', 'c', 'c', 'c', 'c', 'c']);
    client.socket.destroy();
  });

  it('bad input closes only that connection: unknown command, 100 MB length, cut mid-message; the others go on', async () => {
    const healthy = await negotiated();
    const unknown = await negotiated();
    unknown.send(encodeFrame('Z', text('what')));
    await unknown.closed;

    const huge = await Client.connect(port);
    const prefix = Buffer.alloc(8);
    prefix.writeUInt32BE(100 * 1024 * 1024, 0);
    huge.send(prefix);
    await huge.closed;

    const cut = await negotiated();
    cut.send(encodeFrame('M', text('<x@example.com>\0')), encodeFrame('R', text('<y@remote.test>\0')).subarray(0, 6));
    cut.socket.destroy();
    await cut.closed;

    verdict = () => {
      throw new Error('handler bug');
    };
    const failing = await negotiated();
    // A failing handler is a bug of ours: the message is accepted (fail-open), the connection stays usable.
    expect((await failing.message('x@example.com', ['y@remote.test'], 'Q9')).map((r) => r.command)).toEqual(['a']);
    failing.socket.destroy();

    verdict = () => ({ action: 'accept' });
    expect((await healthy.message('alice@example.com', ['z@remote.test'], 'Q3')).map((r) => r.command)).toEqual(['a']);
    healthy.socket.destroy();
  });
});

describe('milter connections under abuse', () => {
  it('a packet started and left unfinished is closed after the stall timeout; a conversation waiting between packets stays', async () => {
    await server.close();
    await start({ stallTimeoutMs: 300 });
    const waiting = await negotiated();
    waiting.send(encodeFrame('M', text('<alice@example.com>\0')));
    const stalled = await negotiated();
    stalled.send(encodeFrame('R', text('<someone@remote.test>\0')).subarray(0, 9));
    await stalled.closed;
    // The other conversation sat between packets for longer than the stall timeout: it goes on.
    waiting.send(encodeFrame('R', text('<b@remote.test>\0')), encodeFrame('D', text('Ei\0Q7\0')), encodeFrame('E'));
    expect((await waiting.replies(1)).map((r) => r.command)).toEqual(['a']);
    expect(seen.at(-1)).toMatchObject({ queueId: 'Q7', sender: 'alice@example.com', recipients: ['b@remote.test'] });
    waiting.socket.destroy();
  });

  it('at the connection cap a new conversation is served and the oldest idle one is closed', async () => {
    await server.close();
    await start({ maxConnections: 2 });
    const oldest = await negotiated();
    const newer = await negotiated();
    const newcomer = await negotiated();
    await oldest.closed;
    expect((await newcomer.message('a@example.com', ['x@remote.test'], 'Q1')).map((r) => r.command)).toEqual(['a']);
    expect((await newer.message('b@example.com', ['y@remote.test'], 'Q2')).map((r) => r.command)).toEqual(['a']);
    expect(server.describeConnections()).toHaveLength(2);
    newer.socket.destroy();
    newcomer.socket.destroy();
  });

  it('a 1 MiB packet trickled in 128-byte writes by 8 connections at once is read whole by each', async () => {
    const body = Buffer.alloc(MAX_FRAME_BYTES - 1, 'b');
    const packet = encodeFrame('B', body);
    const clients = await Promise.all(Array.from({ length: 8 }, () => negotiated()));
    for (let at = 0; at < packet.length; at += 128) for (const client of clients) client.send(packet.subarray(at, at + 128));
    const replies = await Promise.all(clients.map((client) => client.replies(1)));
    expect(replies.map((r) => r[0]?.command)).toEqual(Array.from({ length: 8 }, () => 'c'));
    await eventually(() => server.describeConnections().every((c) => c.pendingBytes === 0), 'every packet to be read');
    for (const client of clients) client.socket.destroy();
  }, 30_000);

  it('a verdict worked out asynchronously is answered in order, and a failed one accepts the message', async () => {
    const settle: Array<(outcome: MilterVerdict | Error) => void> = [];
    verdict = () => new Promise<MilterVerdict>((resolve, reject) => settle.push((outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome))));
    const client = await negotiated();
    const first = client.message('over@example.com', ['a@remote.test'], 'Q1');
    await eventually(() => settle.length === 1, 'the first verdict to be asked for');
    settle[0]!({ action: 'quarantine', reason: 'Outgoing limit reached' });
    expect((await first).map((r) => r.command)).toEqual(['q', 'a']);
    const second = client.message('www-data@host.test', ['b@remote.test'], 'Q2');
    await eventually(() => settle.length === 2, 'the second verdict to be asked for');
    settle[1]!(new Error('the counts could not be reached'));
    expect((await second).map((r) => r.command)).toEqual(['a']);
    client.send(encodeFrame('Q'));
    await client.closed;
  });
});
