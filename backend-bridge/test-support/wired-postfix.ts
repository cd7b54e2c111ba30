import { expect } from 'vitest';
import { cli } from './daemon-process.js';
import { PostfixInstance, type PostfixInstanceOptions, type SendMailOptions, type SmtpResult } from './postfix-instance.js';

/**
 * A throwaway Postfix wired with the product's own `postfix wire` and its defaults: the policy service and the
 * milter on their sockets in the instance's queue directory, where a daemon started with
 * `--postfix-config-dir postfix.configDir` listens. `wireArgs` are added (e.g. --no-milter).
 */
export async function startWiredPostfix(options: PostfixInstanceOptions = {}, wireArgs: string[] = []): Promise<PostfixInstance> {
  const postfix = await PostfixInstance.start(options);
  await cli(['postfix', 'wire', '--config-dir', postfix.configDir, ...wireArgs]);
  await postfix.reload();
  return postfix;
}

export function expectAccepted(result: SmtpResult): void {
  expect(result.accepted, result.transcript).toBe(true);
  expect(result.code).toBe(250);
}

/** What a sender over its limit sees: 450 4.7.1 at the end of the message, with the reason. */
export function expectDeferred(result: SmtpResult, text: string | RegExp): void {
  expect(result.accepted, result.transcript).toBe(false);
  expect(result.stage).toBe('END-OF-DATA');
  expect(result.code).toBe(450);
  expect(result.enhanced).toBe('4.7.1');
  expect(result.text).toMatch(text);
}

/** The Postfix queue the message `queueId` is in ('hold', 'active', …); null once it has left the queue. */
export async function queueNameIn(postfix: PostfixInstance, queueId: string): Promise<string | null> {
  return (await postfix.queue()).find((q) => q.queue_id === queueId)?.queue_name ?? null;
}

/** Sends one message by SMTP that Postfix must accept, and returns its queue id. */
export async function sendAccepted(postfix: PostfixInstance, message: SendMailOptions): Promise<string> {
  const result = await postfix.sendMail(message);
  expectAccepted(result);
  expect(result.queueId).not.toBeNull();
  return result.queueId!;
}
