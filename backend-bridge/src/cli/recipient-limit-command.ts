import type { Level, LimitOverride } from '../core/limits.js';
import { parseRecipientLimit } from '../core/recipient-limits.js';
import { setObjectRecipientLimit } from '../store/directory-store.js';
import { expectOk, UserError, viaDaemonOrStore } from './daemon-or-store.js';

const COLLECTION_OF: Record<Level, string> = { mailbox: 'mailboxes', domain: 'domains', subscription: 'subscriptions' };

/**
 * `limit set LEVEL NAME VALUE --recipients`: the object's own maximum of recipients per message, through the
 * daemon's API when it runs (audited there), else straight into the store. The value was read as a limit; a
 * maximum must be at least 1, so it is checked again here.
 */
export async function setRecipientLimit(level: Level, name: string, value: LimitOverride, dataDir: string): Promise<void> {
  const checked = parseRecipientLimit(value, { allowDefault: true });
  if (!checked.ok) throw new UserError(`invalid maximum of recipients: ${checked.error}`);
  await viaDaemonOrStore(
    dataDir,
    async (client) => expectOk(await client.request('PUT', `/api/v1/${COLLECTION_OF[level]}/${encodeURIComponent(name)}/limit`, { recipientLimit: value ?? 'default' })),
    (db) => {
      if (!setObjectRecipientLimit(db, level, name, value)) throw new UserError(`no ${level} named ${name.toLowerCase()}`);
    },
    'write',
  );
  const shown = value === null ? 'the server default' : value === 'unlimited' ? 'Unlimited' : `${value} per message`;
  process.stdout.write(`Maximum recipients of ${level} ${name.toLowerCase()} set to ${shown}.\n`);
}
