import { Command, CommanderError, Option } from 'commander';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness } from '../../test-support/api-harness.js';
import { bridgeSecretPath } from '../api/auth/bridge-secret.js';
import { apiSocketPath, listenApi } from '../api/server.js';
import { UserError } from './daemon-or-store.js';
import { registerHeldCommands } from './held-command.js';

/** The held commands as main.ts builds them, against a daemon's API on its unix socket. */
async function run(dataDir: string, args: string[]): Promise<void> {
  const program = new Command('outgoing-limits').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerHeldCommands(program, () => new Option('--data-dir <dir>').default(dataDir));
  await program.parseAsync(args, { from: 'user' });
}

describe('outgoing-limits held, for a message that does not exist', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await ApiHarness.start({ heldWithoutPostfix: true });
    api.nowMs = Date.now(); // the command signs with the real clock
    writeFileSync(bridgeSecretPath(api.dataDir), `${api.secret.toString('hex')}\n`, { mode: 0o600 });
    await listenApi(api.app, apiSocketPath(api.dataDir), null);
  });
  afterAll(() => api.close());

  // main.ts exits 2 without a word for a CommanderError, and 1 with the message for a UserError.
  for (const action of ['release', 'delete']) {
    it(`held ${action} NOPE is a user error naming the id, not a silent usage error`, async () => {
      const failure = await run(api.dataDir, ['held', action, 'NOPE']).catch((error: unknown) => error);
      expect(failure).not.toBeInstanceOf(CommanderError);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as Error).message).toMatch(/^no held message "NOPE": a Postfix queue id is 6 to 32 letters and digits/);
    });

    it(`held ${action} of a well-formed id the daemon does not hold says there is no such held message`, async () => {
      const failure = await run(api.dataDir, ['held', action, 'ABCDEF12345']).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as Error).message).toMatch(/^no held message "ABCDEF12345": there is none with that queue id/);
    });
  }
});
