import type { Command, Option } from 'commander';
import { openStoreForCommand } from './daemon-or-store.js';
import { setContactAddress } from '../store/notification-contacts.js';
import * as parse from './arguments.js';

/**
 * Where a reseller's or customer's notifications go. Plesk knows these addresses; on plain Postfix they are set
 * here. The daemon reads them from the store each time it notifies, so no restart is needed.
 */
export function registerNotifyCommands(program: Command, dataDirOption: () => Option): void {
  const notify = program.command('notify').description('who gets notified when an object reaches its limit');
  notify
    .command('contact <login> <address>')
    .description('set the address of a reseller or customer login ("none" removes it)')
    .addOption(dataDirOption())
    .action((login: string, raw: string, options: { dataDir: string }) => {
      const address = parse.addressOrNone(raw) || null;
      const db = openStoreForCommand(options.dataDir, 'write');
      try {
        setContactAddress(db, login, address);
      } finally {
        db.close();
      }
      process.stdout.write(address === null ? `Notifications for ${login}: none.\n` : `Notifications for ${login} go to ${address}.\n`);
    });
}
