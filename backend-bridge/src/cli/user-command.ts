import { InvalidArgumentError, type Command, type Option } from 'commander';
import { randomInt } from 'node:crypto';
import { hashPassword } from '../api/auth/passwords.js';
import { findUser, insertUser, isRole, isValidLogin, listUsers, removeUser, type UserRecord } from '../api/auth/users-store.js';
import { ROLES, type Role } from '../api/identity.js';
import { bumpRevision, type Db } from '../store/database.js';
import { openStoreForCommand } from './daemon-or-store.js';

/** Where the command reads a password from and writes its output; tests replace both. */
export interface UserCommandIo {
  readStdin: () => Promise<string>;
  write: (text: string) => void;
}

const processIo: UserCommandIo = {
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  },
  write: (text) => process.stdout.write(text),
};

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'; // no 0/O, 1/l/I: read aloud, typed by hand
const GENERATED_PASSWORD_LENGTH = 16;
const MAX_PASSWORD_LENGTH = 1024; // the login endpoint accepts no more

export function generatePassword(): string {
  let password = '';
  for (let i = 0; i < GENERATED_PASSWORD_LENGTH; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}

function parseLogin(raw: string): string {
  if (!isValidLogin(raw)) throw new InvalidArgumentError(`expected 1-64 characters of letters, digits and . _ @ -, got "${raw}"`);
  return raw;
}

function parseRole(raw: string): Role {
  if (isRole(raw)) return raw;
  throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}, got "${raw}"`);
}

/** Subscriptions whose owner (customer) or reseller (reseller) is this login. */
function subscriptionsOf(db: Db, user: UserRecord): string[] {
  if (user.role === 'admin') return [];
  const column = user.role === 'customer' ? 'owner' : 'reseller';
  return db.prepare(`SELECT name FROM subscriptions WHERE ${column} = ? ORDER BY name`).pluck().all(user.login) as string[];
}

/**
 * `user add|remove|list`: logins of the standalone UI. Inside Plesk nobody needs these: Plesk's own logins
 * reach the API through the PHP layer's signed requests.
 */
export function registerUserCommands(program: Command, dataDirOption: () => Option, io: UserCommandIo = processIo): void {
  const user = program.command('user').description('logins of the standalone web interface');

  user
    .command('add')
    .description('create a login; prints a generated password unless --password-stdin')
    .argument('<login>', '1-64 characters of letters, digits and . _ @ -', parseLogin)
    .requiredOption('--role <role>', ROLES.join(', '), parseRole)
    .option('--owner-of <subscription...>', 'subscriptions this customer owns, or this reseller manages')
    .option('--password-stdin', 'read the password from standard input (first line)')
    .addOption(dataDirOption())
    .action(async (login: string, options: { role: Role; ownerOf?: string[]; passwordStdin?: boolean; dataDir: string }) => {
      const subscriptions = [...new Set((options.ownerOf ?? []).map((name) => name.trim().toLowerCase()))];
      if (options.role === 'admin' && subscriptions.length > 0) {
        throw new Error('--owner-of is for customers and resellers; an admin sees every subscription');
      }
      let password: string;
      let generated = false;
      if (options.passwordStdin) {
        // Only the first line: `echo secret | outgoing-limits user add ...` must not store the newline.
        password = (await io.readStdin()).split(/\r?\n/)[0] ?? '';
        if (password === '') throw new Error('no password on standard input');
        if (password.length > MAX_PASSWORD_LENGTH) throw new Error(`the password is longer than ${MAX_PASSWORD_LENGTH} characters`);
      } else {
        password = generatePassword();
        generated = true;
      }

      const db = openStoreForCommand(options.dataDir, 'write');
      try {
        if (findUser(db, login)) throw new Error(`a user named ${login} already exists`); // before the slow hash
        const passwordHash = await hashPassword(password);
        const column = options.role === 'customer' ? 'owner' : 'reseller';
        db.transaction(() => {
          const exists = db.prepare('SELECT 1 FROM subscriptions WHERE name = ?').pluck();
          const unknown = subscriptions.filter((name) => exists.get(name) === undefined);
          if (unknown.length > 0) throw new Error(`no subscription named ${unknown.join(', ')}; nothing changed`);
          insertUser(db, { login, role: options.role, passwordHash });
          if (subscriptions.length > 0) {
            const assign = db.prepare(`UPDATE subscriptions SET ${column} = ? WHERE name = ?`);
            for (const name of subscriptions) assign.run(login, name);
            bumpRevision(db, 'directory');
          }
        }).immediate();
      } finally {
        db.close();
      }

      const owns = subscriptions.length > 0 ? `; ${options.role === 'customer' ? 'owner' : 'reseller'} of ${subscriptions.join(', ')}` : '';
      io.write(`Created ${options.role} ${login}${owns}.\n`);
      if (generated) io.write(`Password (shown only now): ${password}\n`);
    });

  user
    .command('remove')
    .description('delete a login (its subscriptions keep their owner names)')
    .argument('<login>', 'the login to delete')
    .addOption(dataDirOption())
    .action((login: string, options: { dataDir: string }) => {
      const db = openStoreForCommand(options.dataDir, 'read');
      try {
        if (!removeUser(db, login)) throw new Error(`no user named ${login}`);
      } finally {
        db.close();
      }
      io.write(`Removed user ${login}.\n`);
    });

  user
    .command('list')
    .description('print the logins')
    .addOption(dataDirOption())
    .option('--json', 'machine-readable output')
    .action((options: { dataDir: string; json?: boolean }) => {
      const db = openStoreForCommand(options.dataDir, 'read');
      try {
        const rows = listUsers(db).map((u) => ({
          login: u.login,
          role: u.role,
          created: new Date(u.createdMs).toISOString(),
          subscriptions: subscriptionsOf(db, u),
        }));
        if (options.json) {
          io.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          io.write('No users. Add one with: outgoing-limits user add LOGIN --role admin\n');
          return;
        }
        const table = [['LOGIN', 'ROLE', 'CREATED', 'SUBSCRIPTIONS'], ...rows.map((r) => [r.login, r.role, r.created.slice(0, 16).replace('T', ' '), r.subscriptions.join(', ')])];
        const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
        io.write(`${table.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`);
      } finally {
        db.close();
      }
    });
}
