import type { DirectoryRecords, DirectoryRecordStreams, DomainRecord, MailboxRecord, SubscriptionRecord } from '../core/directory.js';
import type { DirectoryFile } from '../core/directory-file.js';
import { isLockingRole, type LimitLock } from '../core/limit-locks.js';
import type { Level, LimitOverride, PlanLimits } from '../core/limits.js';
import { bumpRevision, type Db } from './database.js';

/** Column encoding of a limit: NULL = use the default, -1 = unlimited, n = n per hour. */
export function toLimitColumn(limit: LimitOverride): number | null {
  return limit === null ? null : limit === 'unlimited' ? -1 : limit;
}

export function fromLimitColumn(value: number | null): LimitOverride {
  return value === null ? null : value === -1 ? 'unlimited' : value;
}

/** The plan columns of a subscription row: plan_name NULL = no plan; a level's NULL = the plan sets none. */
export interface PlanColumns {
  plan_name: string | null;
  plan_mailbox: number | null;
  plan_domain: number | null;
  plan_subscription: number | null;
  plan_mailbox_daily: number | null;
  plan_domain_daily: number | null;
  plan_subscription_daily: number | null;
}

export function toPlanColumns(plan: PlanLimits | null): PlanColumns {
  return {
    plan_name: plan?.name ?? null,
    plan_mailbox: toLimitColumn(plan?.mailbox ?? null),
    plan_domain: toLimitColumn(plan?.domain ?? null),
    plan_subscription: toLimitColumn(plan?.subscription ?? null),
    plan_mailbox_daily: toLimitColumn(plan?.daily?.mailbox ?? null),
    plan_domain_daily: toLimitColumn(plan?.daily?.domain ?? null),
    plan_subscription_daily: toLimitColumn(plan?.daily?.subscription ?? null),
  };
}

export function fromPlanColumns(row: PlanColumns): PlanLimits | null {
  if (row.plan_name === null) return null;
  return {
    name: row.plan_name,
    mailbox: fromLimitColumn(row.plan_mailbox),
    domain: fromLimitColumn(row.plan_domain),
    subscription: fromLimitColumn(row.plan_subscription),
    ...(row.plan_mailbox_daily === null && row.plan_domain_daily === null && row.plan_subscription_daily === null
      ? {}
      : { daily: { mailbox: fromLimitColumn(row.plan_mailbox_daily), domain: fromLimitColumn(row.plan_domain_daily), subscription: fromLimitColumn(row.plan_subscription_daily) } }),
  };
}

/** The lock columns of an object row: both NULL = open. */
interface LockColumns {
  locked_by: string | null;
  locked_by_role: string | null;
}

function fromLockColumns(row: LockColumns): LimitLock | null {
  // The column's CHECK keeps other roles out; a role without a login still locks: a fault never lifts a limit.
  if (row.locked_by_role === null || !isLockingRole(row.locked_by_role)) return null;
  return { login: row.locked_by ?? '', role: row.locked_by_role };
}

/** An object's own values as the store holds them: what administrators, resellers and customers set on it. */
export interface OwnValues {
  limit: LimitOverride;
  dailyLimit: LimitOverride;
  recipientLimit: LimitOverride;
  lock: LimitLock | null;
}

/** The columns of an object row that hold its own values (the rest place and name it). */
export const OWN_VALUE_COLUMNS: ReadonlySet<string> = new Set(['limit_value', 'daily_limit_value', 'recipient_limit_value', 'locked_by', 'locked_by_role']);

const OBJECT_TABLES: Record<Level, string> = { mailbox: 'mailboxes', domain: 'domains', subscription: 'subscriptions' };

/** One object's own values, read as a reload reads them; null when the store has no such object. */
export function readOwnValues(db: Db, level: Level, id: number): OwnValues | null {
  const row = db.prepare(`SELECT limit_value, daily_limit_value, recipient_limit_value, locked_by, locked_by_role FROM ${OBJECT_TABLES[level]} WHERE id = ?`).get(id) as
    | (LockColumns & { limit_value: number | null; daily_limit_value: number | null; recipient_limit_value: number | null })
    | undefined;
  if (!row) return null;
  return { limit: fromLimitColumn(row.limit_value), dailyLimit: fromLimitColumn(row.daily_limit_value), recipientLimit: fromLimitColumn(row.recipient_limit_value), lock: fromLockColumns(row) };
}

/** Only objects with a daily value of their own carry one: most have none. */
function dailyOf(column: number | null): { dailyLimit?: LimitOverride } {
  return column === null ? {} : { dailyLimit: fromLimitColumn(column) };
}

/** The same for an own maximum of recipients per message. */
function recipientsOf(column: number | null): { recipientLimit?: LimitOverride } {
  return column === null ? {} : { recipientLimit: fromLimitColumn(column) };
}

type SubscriptionRow = PlanColumns & LockColumns & { id: number; name: string; owner: string; reseller: string | null; system_user: string | null; limit_value: number | null; daily_limit_value: number | null; recipient_limit_value: number | null };
type DomainRow = LockColumns & { id: number; subscription_id: number; name: string; limit_value: number | null; daily_limit_value: number | null; recipient_limit_value: number | null };
type MailboxRow = LockColumns & { id: number; domain_id: number; address: string; limit_value: number | null; daily_limit_value: number | null; recipient_limit_value: number | null };

/** Starts the query only when reading begins: one open cursor at a time on the connection. */
function* mapRows<Row, T>(rows: () => Iterable<unknown>, map: (row: Row) => T): Generator<T> {
  for (const row of rows()) yield map(row as Row);
}

/**
 * The directory as streams of records straight from the store: building the daemon's index from these never
 * holds 100,000 row objects and 100,000 records at once.
 */
export function streamDirectory(db: Db): DirectoryRecordStreams {
  return {
    subscriptions: mapRows(
      () => db.prepare('SELECT id, name, owner, reseller, system_user, limit_value, daily_limit_value, recipient_limit_value, locked_by, locked_by_role, plan_name, plan_mailbox, plan_domain, plan_subscription, plan_mailbox_daily, plan_domain_daily, plan_subscription_daily FROM subscriptions').iterate(),
      (r: SubscriptionRow): SubscriptionRecord => ({
        id: r.id,
        name: r.name,
        owner: r.owner,
        reseller: r.reseller,
        systemUser: r.system_user,
        limit: fromLimitColumn(r.limit_value),
        ...dailyOf(r.daily_limit_value),
        ...recipientsOf(r.recipient_limit_value),
      ...recipientsOf(r.recipient_limit_value),
        lock: fromLockColumns(r),
        plan: fromPlanColumns(r),
      }),
    ),
    domains: mapRows(() => db.prepare('SELECT id, subscription_id, name, limit_value, daily_limit_value, recipient_limit_value, locked_by, locked_by_role FROM domains').iterate(), (r: DomainRow): DomainRecord => ({
      id: r.id,
      subscriptionId: r.subscription_id,
      name: r.name,
      limit: fromLimitColumn(r.limit_value),
      ...dailyOf(r.daily_limit_value),
      ...recipientsOf(r.recipient_limit_value),
      lock: fromLockColumns(r),
    })),
    mailboxes: mapRows(() => db.prepare('SELECT id, domain_id, address, limit_value, daily_limit_value, recipient_limit_value, locked_by, locked_by_role FROM mailboxes').iterate(), (r: MailboxRow): MailboxRecord => ({
      id: r.id,
      domainId: r.domain_id,
      address: r.address,
      limit: fromLimitColumn(r.limit_value),
      ...dailyOf(r.daily_limit_value),
      ...recipientsOf(r.recipient_limit_value),
      lock: fromLockColumns(r),
    })),
  };
}

export function readDirectory(db: Db): DirectoryRecords {
  const streams = streamDirectory(db);
  return { subscriptions: [...streams.subscriptions], domains: [...streams.domains], mailboxes: [...streams.mailboxes] };
}

export interface ImportSummary {
  subscriptions: number;
  domains: number;
  mailboxes: number;
  removed: number;
}

/**
 * Replaces the whole directory with the file's content in one transaction. Objects are matched by name, so
 * those that remain keep their ids, and with them their counters and journal; removed objects lose both.
 */
export function replaceDirectory(db: Db, file: DirectoryFile): ImportSummary {
  return db
    .transaction((): ImportSummary => {
      const upsertSubscription = db.prepare(
        `INSERT INTO subscriptions (name, owner, reseller, system_user, limit_value, daily_limit_value, plan_name, plan_mailbox, plan_domain, plan_subscription,
           plan_mailbox_daily, plan_domain_daily, plan_subscription_daily)
         VALUES (@name, @owner, @reseller, @systemUser, @limit, @daily, @plan_name, @plan_mailbox, @plan_domain, @plan_subscription,
           @plan_mailbox_daily, @plan_domain_daily, @plan_subscription_daily)
         ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, reseller = excluded.reseller,
           system_user = excluded.system_user, limit_value = excluded.limit_value, plan_name = excluded.plan_name,
           plan_mailbox = excluded.plan_mailbox, plan_domain = excluded.plan_domain, plan_subscription = excluded.plan_subscription,
           plan_mailbox_daily = excluded.plan_mailbox_daily, plan_domain_daily = excluded.plan_domain_daily,
           plan_subscription_daily = excluded.plan_subscription_daily,
           daily_limit_value = CASE WHEN @dailyGiven THEN excluded.daily_limit_value ELSE daily_limit_value END
         RETURNING id`,
      );
      // A daily value the file leaves out stays as stored (@dailyGiven 0).
      const upsertDomain = db.prepare(
        `INSERT INTO domains (subscription_id, name, limit_value, daily_limit_value) VALUES (@parent, @name, @limit, @daily)
         ON CONFLICT(name) DO UPDATE SET subscription_id = excluded.subscription_id, limit_value = excluded.limit_value,
           daily_limit_value = CASE WHEN @dailyGiven THEN excluded.daily_limit_value ELSE daily_limit_value END
         RETURNING id`,
      );
      const upsertMailbox = db.prepare(
        `INSERT INTO mailboxes (domain_id, address, limit_value, daily_limit_value) VALUES (@parent, @name, @limit, @daily)
         ON CONFLICT(address) DO UPDATE SET domain_id = excluded.domain_id, limit_value = excluded.limit_value,
           daily_limit_value = CASE WHEN @dailyGiven THEN excluded.daily_limit_value ELSE daily_limit_value END
         RETURNING id`,
      );
      const dailyParams = (daily: LimitOverride | undefined) => ({ daily: toLimitColumn(daily ?? null), dailyGiven: daily === undefined ? 0 : 1 });
      const keep = { subscription: new Set<number>(), domain: new Set<number>(), mailbox: new Set<number>() };
      let domainCount = 0;
      let mailboxCount = 0;
      for (const s of file.subscriptions) {
        const { id: subscriptionId } = upsertSubscription.get({
          name: s.name,
          owner: s.owner,
          reseller: s.reseller,
          systemUser: s.systemUser,
          limit: toLimitColumn(s.limit),
          ...dailyParams(s.dailyLimit),
          ...toPlanColumns(s.plan ?? null),
        }) as { id: number };
        keep.subscription.add(subscriptionId);
        for (const d of s.domains) {
          const { id: domainId } = upsertDomain.get({ parent: subscriptionId, name: d.name, limit: toLimitColumn(d.limit), ...dailyParams(d.dailyLimit) }) as { id: number };
          keep.domain.add(domainId);
          domainCount++;
          for (const m of d.mailboxes) {
            const { id: mailboxId } = upsertMailbox.get({ parent: domainId, name: m.address, limit: toLimitColumn(m.limit), ...dailyParams(m.dailyLimit) }) as { id: number };
            keep.mailbox.add(mailboxId);
            mailboxCount++;
          }
        }
      }
      const removed =
        removeAllExcept(db, 'mailboxes', keep.mailbox) +
        removeAllExcept(db, 'domains', keep.domain) +
        removeAllExcept(db, 'subscriptions', keep.subscription);
      bumpRevision(db, 'directory');
      return { subscriptions: file.subscriptions.length, domains: domainCount, mailboxes: mailboxCount, removed };
    })
    .immediate();
}

function removeAllExcept(db: Db, table: 'mailboxes' | 'domains' | 'subscriptions', keep: Set<number>): number {
  const ids = (db.prepare(`SELECT id FROM ${table}`).pluck().all() as number[]).filter((id) => !keep.has(id));
  const removeObject = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
  for (const id of ids) removeObject.run(id);
  return ids.length;
}

const TABLE_OF: Record<Level, { table: string; nameColumn: string }> = {
  mailbox: { table: 'mailboxes', nameColumn: 'address' },
  domain: { table: 'domains', nameColumn: 'name' },
  subscription: { table: 'subscriptions', nameColumn: 'name' },
};

/** Sets one object's own limit (null = back to the default). Returns false when no such object exists. */
export function setObjectLimit(db: Db, level: Level, name: string, limit: LimitOverride): boolean {
  const { table, nameColumn } = TABLE_OF[level];
  return db
    .transaction(() => {
      const result = db.prepare(`UPDATE ${table} SET limit_value = ? WHERE ${nameColumn} = ?`).run(toLimitColumn(limit), name.toLowerCase());
      if (result.changes > 0) bumpRevision(db, 'directory');
      return result.changes > 0;
    })
    .immediate();
}

/** Sets one object's own daily limit (null = back to the plan's or the default). Returns false when no such object exists. */
export function setObjectDailyLimit(db: Db, level: Level, name: string, limit: LimitOverride): boolean {
  const { table, nameColumn } = TABLE_OF[level];
  return db
    .transaction(() => {
      const result = db.prepare(`UPDATE ${table} SET daily_limit_value = ? WHERE ${nameColumn} = ?`).run(toLimitColumn(limit), name.toLowerCase());
      if (result.changes > 0) bumpRevision(db, 'directory');
      return result.changes > 0;
    })
    .immediate();
}

/**
 * Sets one object's own maximum of recipients per message (null = back to the default). Directory imports and
 * Plesk's sync never write this column, so they keep it. Returns false when no such object exists.
 */
export function setObjectRecipientLimit(db: Db, level: Level, name: string, limit: LimitOverride): boolean {
  const { table, nameColumn } = TABLE_OF[level];
  return db
    .transaction(() => {
      const result = db.prepare(`UPDATE ${table} SET recipient_limit_value = ? WHERE ${nameColumn} = ?`).run(toLimitColumn(limit), name.toLowerCase());
      if (result.changes > 0) bumpRevision(db, 'directory');
      return result.changes > 0;
    })
    .immediate();
}

/** Sets who holds the lock on one object's own value (null: open). Returns false when no such object exists. */
export function setObjectLock(db: Db, level: Level, name: string, lock: LimitLock | null): boolean {
  const { table, nameColumn } = TABLE_OF[level];
  return db
    .transaction(() => {
      const result = db.prepare(`UPDATE ${table} SET locked_by = ?, locked_by_role = ? WHERE ${nameColumn} = ?`).run(lock?.login ?? null, lock?.role ?? null, name.toLowerCase());
      if (result.changes > 0) bumpRevision(db, 'directory');
      return result.changes > 0;
    })
    .immediate();
}
