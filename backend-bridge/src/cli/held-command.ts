import type { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { readBridgeSecret } from '../api/auth/bridge-secret.js';
import { BridgeClient, BridgeUnavailableError, type ApiResponse } from '../api/bridge-client.js';
import { apiSocketPath } from '../api/server.js';
import { formatWait } from '../core/decision.js';
import type { CompromisedMailbox } from '../enforcement/held-mail.js';
import { QUEUE_ID } from '../postfix/queue.js';
import type { HeldMessage } from '../store/held-store.js';
import { expectOk, UserError } from './daemon-or-store.js';

/**
 * Held mail is moved in and out of Postfix's hold queue by the daemon, which also counts each release: these
 * commands only ask the running daemon.
 */
async function daemonRequest(dataDir: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const secret = existsSync(apiSocketPath(dataDir)) ? readBridgeSecret(dataDir) : null;
  if (!secret) throw new UserError(`the daemon is not running (no API socket in ${dataDir}); held mail is handled by the daemon`);
  try {
    return await new BridgeClient(secret, { socketPath: apiSocketPath(dataDir) }).request(method, path, body);
  } catch (error) {
    if (error instanceof BridgeUnavailableError) throw new UserError(`${error.message}; held mail is handled by the daemon`);
    throw error;
  }
}

const noSuchMessage = (id: string, why: string) =>
  new UserError(`no held message ${JSON.stringify(id)}: ${why}; "outgoing-limits held list --status all" lists them`);

/**
 * The API path of one held message. An id that cannot be a queue id names no held message: said as such, with
 * exit code 1 like every other user error (not commander's silent usage exit).
 */
function heldMessagePath(id: string, action = '', node?: string): string {
  if (!QUEUE_ID.test(id)) throw noSuchMessage(id, 'a Postfix queue id is 6 to 32 letters and digits, such as 3F2A12122C5');
  return `/api/v1/held/${id}${action}${node !== undefined ? `?${new URLSearchParams({ node }).toString()}` : ''}`;
}

/** The API's answer about one held message; a 404 says that no such held message exists, naming the id. */
function expectHeldMessage(id: string, response: ApiResponse): unknown {
  if (response.status === 404) throw noSuchMessage(id, 'there is none with that queue id');
  return expectOk(response);
}

function heldTable(items: ReadonlyArray<HeldMessage & { node?: string }>, nowMs: number): string {
  if (items.length === 0) return 'No held messages.';
  // A node of a cluster lists every server's held mail: the server that holds each comes first.
  const inCluster = items.some((m) => m.node !== undefined);
  const table = [[...(inCluster ? ['NODE'] : []), 'QUEUE ID', 'HELD', 'SENDER', 'OBJECT', 'TRIPPED', 'RECIPIENTS', 'STATUS']];
  for (const m of items) {
    table.push([
      ...(inCluster ? [m.node ?? '-'] : []),
      m.queueId,
      `${formatWait((nowMs - m.heldAtMs) / 1000)} ago`,
      m.sender ?? '<>',
      m.chargedName ? `${m.chargedLevel} ${m.chargedName}` : '-',
      `${m.trippedLevel} ${m.trippedName}`,
      String(m.recipientCount),
      m.status,
    ]);
  }
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => (line[column] ?? '').length)));
  return table.map((line) => line.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function registerHeldCommands(program: Command, dataDirOption: () => Option): void {
  const held = program.command('held').description('over-limit mail in the Postfix hold queue');
  held
    .command('list')
    .description('held messages, newest first')
    .addOption(dataDirOption())
    .option('--status <status>', 'held, released, deleted, gone or all', 'held')
    .option('--name <name>', 'only mail of this mailbox, domain or subscription')
    .option('--json', 'machine-readable output')
    .action(async (options: { dataDir: string; status: string; name?: string; json?: boolean }) => {
      const query = new URLSearchParams({ status: options.status, limit: '1000', ...(options.name ? { name: options.name } : {}) });
      const { items } = expectOk(await daemonRequest(options.dataDir, 'GET', `/api/v1/held?${query.toString()}`)) as { items: HeldMessage[] };
      process.stdout.write(options.json ? `${JSON.stringify(items, null, 2)}\n` : `${heldTable(items, Date.now())}\n`);
    });
  held
    .command('release <queue-id>')
    .description('release a held message now (within the budget; --force: beyond it, counted and audited)')
    .addOption(dataDirOption())
    .option('--force', 'release even if the sender has no budget left')
    .option('--node <name>', 'in a cluster: the server that holds it (queue ids are unique per Postfix only)')
    .action(async (id: string, options: { dataDir: string; force?: boolean; node?: string }) => {
      expectHeldMessage(id, await daemonRequest(options.dataDir, 'POST', heldMessagePath(id, '/release', options.node), { force: options.force === true }));
      process.stdout.write(`Released ${id}${options.force ? ' (beyond the limit)' : ''}.\n`);
    });
  held
    .command('delete <queue-id>')
    .description('delete a held message from the hold queue for good')
    .addOption(dataDirOption())
    .option('--node <name>', 'in a cluster: the server that holds it (queue ids are unique per Postfix only)')
    .action(async (id: string, options: { dataDir: string; node?: string }) => {
      expectHeldMessage(id, await daemonRequest(options.dataDir, 'DELETE', heldMessagePath(id, '', options.node)));
      process.stdout.write(`Deleted ${id}.\n`);
    });

  const mailbox = program.command('mailbox').description('a mailbox that sends what its owner did not write');
  mailbox
    .command('compromised <address>')
    .description('mark compromised: limit 0, its queued mail held, people notified (undo with restore)')
    .addOption(dataDirOption())
    .action(async (address: string, options: { dataDir: string }) => {
      const result = expectOk(await daemonRequest(options.dataDir, 'POST', `/api/v1/mailboxes/${encodeURIComponent(address)}/compromised`)) as {
        entry: CompromisedMailbox;
        heldNow: number | null;
      };
      process.stdout.write(
        `Mailbox ${result.entry.address} marked compromised: limit 0 (was ${String(result.entry.previousLimit)}); ` +
          `${result.heldNow === null ? 'its queued mail could not be listed (is Postfix running?)' : `${result.heldNow} queued messages put on hold`}.\n`,
      );
    });
  mailbox
    .command('restore <address>')
    .description('undo "compromised": the limit from before comes back, held mail leaves by the normal rules')
    .addOption(dataDirOption())
    .action(async (address: string, options: { dataDir: string }) => {
      const entry = expectOk(await daemonRequest(options.dataDir, 'DELETE', `/api/v1/mailboxes/${encodeURIComponent(address)}/compromised`)) as CompromisedMailbox;
      process.stdout.write(`Mailbox ${entry.address} restored: limit ${String(entry.previousLimit)}.\n`);
    });
}
