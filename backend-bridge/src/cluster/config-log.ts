import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../store/database.js';
import {
  applyEntry,
  capturedSince,
  directoryNames,
  dropStrayAppends,
  dryRun,
  forgetCaptured,
  lastCaptured,
  readMembership,
  snapshotOf,
  strayToShip,
  writeMembership,
  type ConfigEntry,
  type AppliedChange,
  type RowChange,
} from '../store/shared-config.js';
import { SerialQueue } from '../serial-queue.js';

/**
 * The cluster's configuration lives in Redis: a log of row changes (a stream), started by a snapshot of the
 * shared tables. Every change is appended under a cluster-wide lock by the node it is made on, after that node
 * has applied every entry before it; every node applies the log in order to its store, which is its copy of the
 * configuration to decide from and to start from while Redis is away.
 */
export const CONFIG_LOG_KEY = 'ol:{config}:log';
export const CONFIG_LOCK_KEY = 'ol:{config}:lock';
/** The cluster's id, made by the first node to join; a store remembers which cluster its copy comes from. */
export const CLUSTER_ID_KEY = 'ol:{config}:id';

/** How long a node may hold the write lock before others may take it (a node that died holding it). */
const LOCK_MS = 15_000;
/** How long a change waits for the lock before it is refused. */
const LOCK_WAIT_MS = 5_000;
/** Entries after the newest snapshot beyond which the writer writes a new snapshot and trims the log. */
const COMPACT_AFTER_ENTRIES = 1_000;
const READ_BATCH = 500;

/** Appends an entry if the lock is still this node's: a node whose lock ran out must not write over another. */
const APPEND_LOCKED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LOCKLOST the write lock ran out') end
return redis.call('XADD', KEYS[2], '*', 'node', ARGV[2], 'entry', ARGV[3])`;
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A change refused because the cluster's configuration cannot be reached; nothing was written. */
export class ConfigUnavailableError extends Error {}

/** The store's directory differs from the cluster's: joining would replace one with the other. */
export class DirectoryMismatchError extends Error {}

type StreamEntry = [id: string, fields: string[]];

function entryOf([id, fields]: StreamEntry): { id: string; node: string; entry: ConfigEntry } {
  const value = (name: string) => fields[fields.indexOf(name) + 1];
  const raw = value('entry');
  if (raw === undefined) throw new Error(`entry ${id} of the configuration log has no body`);
  return { id, node: value('node') ?? '?', entry: JSON.parse(raw) as ConfigEntry };
}

const unreachable = (error: unknown) =>
  new ConfigUnavailableError(`the cluster's configuration in Redis cannot be reached (${(error as Error).message}); nothing was changed: try again once Redis answers`);

export interface JoinOutcome {
  /** 'created': this store became the cluster's configuration; 'adopted': it took the cluster's; 'replaced': it replaced the cluster's. */
  how: 'created' | 'adopted' | 'replaced' | 'member';
  clusterId: string;
}

export class ConfigLog {
  /** Runs log work one piece at a time: applying, writing and shipping must not interleave. */
  private readonly serial = new SerialQueue();
  /** Why the last entry read could not be applied here (health shows it); null once entries apply again. */
  problem: string | null = null;
  /** Called after entries were applied, with the rows they changed (the live state follows). */
  onApplied: (changes: readonly AppliedChange[]) => void = () => undefined;

  constructor(
    private readonly redis: Redis,
    private readonly db: Db,
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  /** Resolves when the log work under way is done (for a clean stop). */
  idle(): Promise<void> {
    return this.serial.idle();
  }

  get membership() {
    return readMembership(this.db);
  }

  /**
   * Makes this store a copy of the cluster's configuration. An empty cluster takes this store's (a snapshot);
   * a cluster with the same directory is taken as it is; one with another directory is refused unless
   * `replace`, which makes this store's the cluster's for every node.
   */
  join(options: { replace?: boolean } = {}): Promise<JoinOutcome> {
    return this.serial.run(async () => {
      const token = await this.lock();
      try {
        const clusterId = await this.redis.get(CLUSTER_ID_KEY);
        const member = readMembership(this.db);
        if (clusterId !== null && member?.clusterId === clusterId && !options.replace) return { how: 'member' as const, clusterId };
        const snapshotEntries = clusterId === null ? [] : await this.allEntries();
        const snapshotStart = snapshotEntries.findLastIndex((e) => e.entry.kind === 'snapshot');
        if (clusterId === null || snapshotStart < 0 || options.replace) {
          const id = clusterId ?? randomUUID();
          await this.redis.set(CLUSTER_ID_KEY, id);
          const appended = await this.append(token, snapshotOf(this.db));
          await this.redis.xtrim(CONFIG_LOG_KEY, 'MINID', appended);
          this.db.transaction(() => writeMembership(this.db, { clusterId: id, lastApplied: appended }))();
          return { how: clusterId === null ? ('created' as const) : ('replaced' as const), clusterId: id };
        }
        const fromSnapshot = snapshotEntries.slice(snapshotStart);
        const mine = directoryNames(this.db);
        const theirs = this.directoryAfter(fromSnapshot.map((e) => e.entry));
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
          throw new DirectoryMismatchError(
            `the cluster's directory (${theirs.subscriptions.length} subscriptions, ${theirs.domains.length} domains, ${theirs.mailboxes.length} mailboxes) differs from this store's (${mine.subscriptions.length}, ${mine.domains.length}, ${mine.mailboxes.length}); ` +
              'join with --replace to make this store the configuration of every node, or start from a store with the cluster\'s directory',
          );
        }
        this.applyInOrder(fromSnapshot, clusterId);
        return { how: 'adopted' as const, clusterId };
      } finally {
        await this.unlock(token);
      }
    });
  }

  /** The directory the given entries make, worked out on a scratch copy of the store inside a rolled-back transaction. */
  private directoryAfter(entries: readonly ConfigEntry[]): ReturnType<typeof directoryNames> {
    return dryRun(this.db, () => {
      for (const entry of entries) applyEntry(this.db, entry);
      return directoryNames(this.db);
    }).value;
  }

  /** Applies what the cluster wrote since this store's last entry. */
  catchUp(): Promise<number> {
    return this.serial.run(() => this.catchUpNow());
  }

  /**
   * Makes a change of the shared configuration: under the cluster's lock, after every earlier entry is applied,
   * `change` runs once to learn its rows (rolled back), the rows go to the log, and only then are they applied
   * here as on every other node. Redis unreachable: nothing is written and ConfigUnavailableError says so.
   */
  write<T>(change: () => T): Promise<T> {
    return this.serial.run(async () => {
      const token = await this.lock();
      try {
        await this.catchUpNow();
        const { value, changes } = dryRun(this.db, change);
        if (changes.length > 0) await this.appendAndApply(token, changes);
        return value;
      } finally {
        await this.unlock(token);
      }
    });
  }

  /**
   * Sends to the log the changes of the shared tables committed here outside `write`: the audit lines of held-mail
   * actions (which belong with this server's queue and held records), and whatever was written while Redis was
   * away. No change stays this node's own.
   */
  shipStray(): Promise<number> {
    return this.serial.run(async () => {
      if (!readMembership(this.db)) return 0;
      const upTo = lastCaptured(this.db);
      if (upTo === 0) return 0;
      const changes = capturedSince(this.db, 0, upTo);
      const token = await this.lock();
      try {
        await this.append(token, { kind: 'changes', changes: strayToShip(this.db, changes) });
        this.db.transaction(() => {
          const before = lastCaptured(this.db);
          dropStrayAppends(this.db, changes);
          forgetCaptured(this.db, before);
          forgetCaptured(this.db, 0, upTo);
        })();
        await this.catchUpNow();
        await this.compactIfLong(token);
        return changes.length;
      } finally {
        await this.unlock(token);
      }
    });
  }

  private async appendAndApply(token: string, changes: RowChange[]): Promise<void> {
    await this.append(token, { kind: 'changes', changes });
    await this.catchUpNow();
    await this.compactIfLong(token);
  }

  private async append(token: string, entry: ConfigEntry): Promise<string> {
    try {
      return (await this.redis.eval(APPEND_LOCKED, 2, CONFIG_LOCK_KEY, CONFIG_LOG_KEY, token, this.nodeName, JSON.stringify(entry))) as string;
    } catch (error) {
      throw unreachable(error);
    }
  }

  /** A long log makes joining slow: past COMPACT_AFTER_ENTRIES, this node's copy (just caught up) becomes the new start. */
  private async compactIfLong(token: string): Promise<void> {
    const length = await this.redis.xlen(CONFIG_LOG_KEY).catch(() => 0);
    if (length <= COMPACT_AFTER_ENTRIES) return;
    try {
      const id = await this.append(token, snapshotOf(this.db));
      await this.redis.xtrim(CONFIG_LOG_KEY, 'MINID', id);
      await this.catchUpNow();
    } catch (error) {
      this.log.warn({ error: (error as Error).message }, 'compacting the configuration log failed; will try at the next change');
    }
  }

  private async catchUpNow(): Promise<number> {
    const member = readMembership(this.db);
    if (!member) throw new ConfigUnavailableError('this store has not joined the cluster yet');
    let applied = 0;
    let after = member.lastApplied;
    const changes: AppliedChange[] = [];
    for (;;) {
      const entries = await this.entriesAfter(after);
      if (entries.length === 0) break;
      try {
        // A snapshot holds a row per mailbox: too many for one push(...) call.
        for (const change of this.applyInOrder(entries, member.clusterId)) changes.push(change);
      } catch (error) {
        this.problem = `entry ${entries[0]?.id ?? '?'} of the configuration log: ${(error as Error).message}`;
        throw error;
      }
      applied += entries.length;
      after = entries[entries.length - 1]!.id;
      if (entries.length < READ_BATCH) break;
    }
    // Everything the log holds is applied (an entry that failed may have been removed from it meanwhile).
    this.problem = null;
    if (applied > 0) this.onApplied(changes);
    return applied;
  }

  private applyInOrder(entries: ReadonlyArray<{ id: string; entry: ConfigEntry }>, clusterId: string): AppliedChange[] {
    const last = entries[entries.length - 1];
    if (!last) return [];
    return this.db.transaction(() => {
      const applied = entries.flatMap(({ entry }) => applyEntry(this.db, entry));
      writeMembership(this.db, { clusterId, lastApplied: last.id });
      return applied;
    })();
  }

  private async allEntries(): Promise<Array<{ id: string; node: string; entry: ConfigEntry }>> {
    const all: Array<{ id: string; node: string; entry: ConfigEntry }> = [];
    let after = '-';
    for (;;) {
      const entries = await this.entriesAfter(after);
      all.push(...entries);
      if (entries.length < READ_BATCH) return all;
      after = entries[entries.length - 1]!.id;
    }
  }

  private async entriesAfter(id: string): Promise<Array<{ id: string; node: string; entry: ConfigEntry }>> {
    let raw: StreamEntry[];
    try {
      raw = (await this.redis.xrange(CONFIG_LOG_KEY, id === '-' ? '-' : `(${id}`, '+', 'COUNT', READ_BATCH)) as StreamEntry[];
    } catch (error) {
      throw unreachable(error);
    }
    return raw.map(entryOf);
  }

  private async lock(): Promise<string> {
    const token = `${this.nodeName}:${randomUUID()}`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      let taken: string | null;
      try {
        taken = await this.redis.set(CONFIG_LOCK_KEY, token, 'PX', LOCK_MS, 'NX');
      } catch (error) {
        throw unreachable(error);
      }
      if (taken === 'OK') return token;
      if (Date.now() > deadline) throw new ConfigUnavailableError('another server of the cluster has been changing the configuration for more than 5 seconds; nothing was changed: try again');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async unlock(token: string): Promise<void> {
    await this.redis.eval(RELEASE_LOCK, 1, CONFIG_LOCK_KEY, token).catch(() => undefined);
  }
}
