import net from 'node:net';

/** A persistent policy connection that sends one request at a time, as Postfix smtpd does. */
export class PolicyClient {
  private buffer = '';
  private waiting: Array<{ resolve: (answer: string) => void; reject: (error: Error) => void }> = [];
  private closedWith: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffer += text;
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const answer = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        this.waiting.shift()?.resolve(answer);
      }
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        for (const waiter of this.waiting.splice(0)) waiter.reject(this.closedWith ?? new Error('connection closed before an answer'));
        resolve();
      }),
    );
    socket.on('error', (error) => (this.closedWith = error));
  }

  /** `to`: a UNIX socket path, or a TCP port on `host`. */
  static connect(to: string | number, host = '127.0.0.1'): Promise<PolicyClient> {
    return new Promise((resolve, reject) => {
      const options = typeof to === 'string' ? { path: to } : { port: to, host };
      const socket = net.connect(options, () => resolve(new PolicyClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends raw bytes (for malformed-input tests) and waits for the next answer. */
  sendRaw(data: string | Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(this.closedWith ?? new Error('connection closed'));
      this.waiting.push({ resolve, reject });
      this.socket.write(data);
    });
  }

  request(attributes: Record<string, string | number>): Promise<string> {
    const lines = Object.entries(attributes).map(([name, value]) => `${name}=${value}\n`);
    return this.sendRaw(`${lines.join('')}\n`);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  end(): void {
    this.socket.end();
  }
}

/** The attributes Postfix 3.7 smtpd sends at END-OF-MESSAGE, with what a test wants to vary. */
export function endOfMessage(fields: { sender: string; sasl?: string; recipients?: number; queueId?: string }): Record<string, string | number> {
  return {
    request: 'smtpd_access_policy',
    protocol_state: 'END-OF-MESSAGE',
    protocol_name: 'ESMTP',
    client_address: '127.0.0.1',
    client_name: 'localhost',
    reverse_client_name: 'localhost',
    helo_name: 'client.test',
    sender: fields.sender,
    recipient: '',
    recipient_count: fields.recipients ?? 1,
    queue_id: fields.queueId ?? 'ABC123',
    instance: '1a2b.3c4d.5e6f.0',
    size: 1234,
    etrn_domain: '',
    stress: '',
    sasl_method: fields.sasl ? 'PLAIN' : '',
    sasl_username: fields.sasl ?? '',
    sasl_sender: '',
    ccert_subject: '',
    ccert_issuer: '',
    ccert_fingerprint: '',
    ccert_pubkey_fingerprint: '',
    encryption_protocol: '',
    encryption_cipher: '',
    encryption_keysize: 0,
    policy_context: '',
    server_address: '127.0.0.1',
    server_port: 25,
    compatibility_level: '3.6',
    mail_version: '3.7.11',
  };
}

/** `count` END-OF-MESSAGE requests from `sender` on one connection, one at a time as smtpd sends them: the answers. */
export async function sendMessages(socketPath: string, sender: string, count: number): Promise<string[]> {
  const client = await PolicyClient.connect(socketPath);
  const answers: string[] = [];
  for (let i = 0; i < count; i++) answers.push(await client.request(endOfMessage({ sender })));
  client.end();
  return answers;
}
