import { expect } from 'vitest';
import { cli } from './daemon-process.js';
import { PostfixInstance, type PostfixInstanceOptions, type SmtpResult } from './postfix-instance.js';

/**
 * A throwaway Postfix wired to a policy service on `policyPort` with the product's own `postfix wire`, and to the
 * milter on `milterPort` (when given; else the default address, where nothing of this test listens).
 */
export async function startWiredPostfix(policyPort: number, options: PostfixInstanceOptions = {}, milterPort?: number): Promise<PostfixInstance> {
  const postfix = await PostfixInstance.start(options);
  const milter = milterPort === undefined ? [] : ['--milter', `127.0.0.1:${milterPort}`];
  await cli(['postfix', 'wire', '--config-dir', postfix.configDir, '--policy', `127.0.0.1:${policyPort}`, ...milter]);
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
