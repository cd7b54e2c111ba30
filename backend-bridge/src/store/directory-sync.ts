import { domainOf } from '../core/directory.js';
import type { Level, PlanLimits } from '../core/limits.js';
import { bumpRevision, type Db } from './database.js';
import { toPlanColumns, type PlanColumns } from './directory-store.js';

/**
 * Single-object changes of the directory, as Plesk's events deliver them. Each is idempotent (an upsert of what
 * exists changes nothing; a delete of what is gone succeeds), and a rename keeps the object's id, so its counts
 * and its own limit stay with it. Callers run them inside a transaction.
 */

export class DirectoryConflict extends Error {}

export interface SubscriptionUpsert {
  name: string;
  owner: string;
  reseller: string | null;
  systemUser: string | null;
  previousName?: string | undefined;
  /** The service plan's values (null: follows no plan); absent: the stored plan stays as it is. */
  plan?: PlanLimits | null | undefined;
}

type Change = 'created' | 'updated' | 'renamed' | 'unchanged';

function renameIfAsked(db: Db, table: string, column: string, name: string, previous: string | undefined): boolean {
  if (!previous || previous === name) return false;
  const old = db.prepare(`SELECT id FROM ${table} WHERE ${column} = ?`).get(previous) as { id: number } | undefined;
  if (!old) return false;
  if (db.prepare(`SELECT 1 FROM ${table} WHERE ${column} = ?`).get(name)) {
    throw new DirectoryConflict(`cannot rename ${previous} to ${name}: ${name} exists already`);
  }
  db.prepare(`UPDATE ${table} SET ${column} = ? WHERE id = ?`).run(name, old.id);
  return true;
}

export function upsertSubscription(db: Db, input: SubscriptionUpsert): Change {
  const name = input.name.toLowerCase();
  const renamed = renameIfAsked(db, 'subscriptions', 'name', name, input.previousName?.toLowerCase());
  const existing = db
    .prepare(
      'SELECT owner, reseller, system_user, plan_name, plan_mailbox, plan_domain, plan_subscription, plan_mailbox_daily, plan_domain_daily, plan_subscription_daily FROM subscriptions WHERE name = ?',
    )
    .get(name) as (PlanColumns & { owner: string; reseller: string | null; system_user: string | null }) | undefined;
  let plan = input.plan === undefined ? null : toPlanColumns(input.plan);
  // Plesk's plans carry no daily values: a plan sent without them keeps the daily values stored for it.
  if (plan && input.plan && input.plan.daily === undefined && existing) {
    plan = { ...plan, plan_mailbox_daily: existing.plan_mailbox_daily, plan_domain_daily: existing.plan_domain_daily, plan_subscription_daily: existing.plan_subscription_daily };
  }
  let change: Change = renamed ? 'renamed' : 'unchanged';
  if (!existing) {
    db.prepare(
      `INSERT INTO subscriptions (name, owner, reseller, system_user, plan_name, plan_mailbox, plan_domain, plan_subscription, plan_mailbox_daily, plan_domain_daily, plan_subscription_daily)
       VALUES (@name, @owner, @reseller, @systemUser, @plan_name, @plan_mailbox, @plan_domain, @plan_subscription, @plan_mailbox_daily, @plan_domain_daily, @plan_subscription_daily)`,
    ).run({ name, owner: input.owner, reseller: input.reseller, systemUser: input.systemUser, ...(plan ?? toPlanColumns(null)) });
    change = 'created';
  } else {
    if (existing.owner !== input.owner || existing.reseller !== input.reseller || existing.system_user !== input.systemUser) {
      db.prepare('UPDATE subscriptions SET owner = ?, reseller = ?, system_user = ? WHERE name = ?').run(input.owner, input.reseller, input.systemUser, name);
      if (change === 'unchanged') change = 'updated';
    }
    if (plan && (Object.keys(plan) as Array<keyof PlanColumns>).some((column) => plan[column] !== existing[column])) {
      db.prepare(
        `UPDATE subscriptions SET plan_name = @plan_name, plan_mailbox = @plan_mailbox, plan_domain = @plan_domain, plan_subscription = @plan_subscription,
           plan_mailbox_daily = @plan_mailbox_daily, plan_domain_daily = @plan_domain_daily, plan_subscription_daily = @plan_subscription_daily WHERE name = @name`,
      ).run({ name, ...plan });
      if (change === 'unchanged') change = 'updated';
    }
  }
  if (change !== 'unchanged') bumpRevision(db, 'directory');
  return change;
}

export function upsertDomain(db: Db, input: { name: string; subscription: string; previousName?: string | undefined }): Change {
  const name = input.name.toLowerCase();
  const subscription = db.prepare('SELECT id FROM subscriptions WHERE name = ?').get(input.subscription.toLowerCase()) as { id: number } | undefined;
  if (!subscription) throw new DirectoryConflict(`no subscription named ${input.subscription.toLowerCase()}`);
  const renamed = renameIfAsked(db, 'domains', 'name', name, input.previousName?.toLowerCase());
  const existing = db.prepare('SELECT subscription_id FROM domains WHERE name = ?').get(name) as { subscription_id: number } | undefined;
  let change: Change = renamed ? 'renamed' : 'unchanged';
  if (!existing) {
    db.prepare('INSERT INTO domains (subscription_id, name) VALUES (?, ?)').run(subscription.id, name);
    change = 'created';
  } else if (existing.subscription_id !== subscription.id) {
    db.prepare('UPDATE domains SET subscription_id = ? WHERE name = ?').run(subscription.id, name);
    if (change === 'unchanged') change = 'updated';
  }
  if (renamed) {
    // Mailbox addresses follow their domain's new name.
    const id = (db.prepare('SELECT id FROM domains WHERE name = ?').get(name) as { id: number }).id;
    db.prepare(`UPDATE mailboxes SET address = substr(address, 1, instr(address, '@')) || ? WHERE domain_id = ?`).run(name, id);
  }
  if (change !== 'unchanged') bumpRevision(db, 'directory');
  return change;
}

export function upsertMailbox(db: Db, input: { address: string; previousAddress?: string | undefined }): Change {
  const address = input.address.toLowerCase();
  const domain = db.prepare('SELECT id FROM domains WHERE name = ?').get(domainOf(address)) as { id: number } | undefined;
  if (!domain) throw new DirectoryConflict(`no domain named ${domainOf(address) || '(none)'} for mailbox ${address}`);
  const renamed = renameIfAsked(db, 'mailboxes', 'address', address, input.previousAddress?.toLowerCase());
  const existing = db.prepare('SELECT domain_id FROM mailboxes WHERE address = ?').get(address) as { domain_id: number } | undefined;
  let change: Change = renamed ? 'renamed' : 'unchanged';
  if (!existing) {
    db.prepare('INSERT INTO mailboxes (domain_id, address) VALUES (?, ?)').run(domain.id, address);
    change = 'created';
  } else if (existing.domain_id !== domain.id) {
    db.prepare('UPDATE mailboxes SET domain_id = ? WHERE address = ?').run(domain.id, address);
    if (change === 'unchanged') change = 'updated';
  }
  if (change !== 'unchanged') bumpRevision(db, 'directory');
  return change;
}

const TABLES: Record<Level, { table: string; column: string }> = {
  mailbox: { table: 'mailboxes', column: 'address' },
  domain: { table: 'domains', column: 'name' },
  subscription: { table: 'subscriptions', column: 'name' },
};

/**
 * Deletes an object with everything below it. Their journal steps stay until they leave the window: ids are
 * never reused, and the daemon forgets counts of objects the directory no longer has. Returns false when it
 * did not exist.
 */
export function deleteObject(db: Db, level: Level, name: string): boolean {
  const { table, column } = TABLES[level];
  const row = db.prepare(`SELECT id FROM ${table} WHERE ${column} = ?`).get(name.toLowerCase()) as { id: number } | undefined;
  if (!row) return false;
  db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(row.id);
  bumpRevision(db, 'directory');
  return true;
}
