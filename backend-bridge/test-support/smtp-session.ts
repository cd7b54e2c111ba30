import net from 'node:net';

export interface SubmittedMessage {
  subject: string;
  code: number;
  text: string;
  queueId: string | null;
}

/**
 * Many messages over one SMTP connection, one transaction after the other: swaks starts a process per message,
 * which is too slow for tests that send hundreds. Replies are read whole (multi-line aware); no pipelining.
 */
export async function sendOverOneConnection(
  port: number,
  messages: ReadonlyArray<{ from: string; to: string; subject: string }>,
): Promise<SubmittedMessage[]> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const waiters: Array<(reply: { code: number; text: string }) => void> = [];
  const failed = new Promise<never>((_, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('SMTP connection closed')));
  });
  failed.catch(() => undefined);
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const end = buffer.search(/^\d{3} .*\r?\n/m);
      if (end < 0) break;
      const lineEnd = buffer.indexOf('\n', end);
      const reply = buffer.slice(0, lineEnd + 1);
      buffer = buffer.slice(lineEnd + 1);
      waiters.shift()?.({ code: Number(reply.slice(end, end + 3)), text: reply.trim() });
    }
  });
  const next = () => Promise.race([new Promise<{ code: number; text: string }>((resolve) => waiters.push(resolve)), failed]);
  const command = async (line: string) => {
    const reply = next();
    socket.write(`${line}\r\n`);
    return reply;
  };
  const expectCode = (reply: { code: number; text: string }, code: number, what: string) => {
    if (reply.code !== code) throw new Error(`${what}: expected ${code}, got ${reply.text}`);
  };
  expectCode(await next(), 220, 'greeting');
  expectCode(await command('EHLO batch.localhost'), 250, 'EHLO');
  const results: SubmittedMessage[] = [];
  for (const message of messages) {
    expectCode(await command(`MAIL FROM:<${message.from}>`), 250, 'MAIL');
    expectCode(await command(`RCPT TO:<${message.to}>`), 250, 'RCPT');
    expectCode(await command('DATA'), 354, 'DATA');
    const reply = await command(`From: <${message.from}>\r\nTo: <${message.to}>\r\nSubject: ${message.subject}\r\n\r\nbatch message\r\n.`);
    results.push({ subject: message.subject, code: reply.code, text: reply.text, queueId: /queued as ([0-9A-Za-z]+)/.exec(reply.text)?.[1] ?? null });
    if (reply.code !== 250) await command('RSET');
  }
  await command('QUIT').catch(() => undefined);
  socket.destroy();
  return results;
}
