import { limitsMode } from '../core/monitor-mode.js';
import type { Logger } from 'pino';
import { readRevisions, type Db } from '../store/database.js';
import { applyStoredExemptions } from './exemption-ends.js';
import { counterKey, type ChargedObject } from '../core/directory.js';
import { readOwnValues, streamDirectory, type OwnValues } from '../store/directory-store.js';
import type { AppliedChange } from '../store/shared-config.js';
import { liveUpdateOf } from './config-in-place.js';
import { readSettings } from '../store/settings-store.js';
import type { StoreHealth } from '../store/store-health.js';
import type { Enforcer } from './enforcer.js';

type Revisions = ReturnType<typeof readRevisions>;

/**
 * Keeps the enforcer's live state equal to the store. Changes made by other processes (the command while the
 * daemon runs) are noticed through revision numbers and reloaded whole; changes made in this process are
 * applied in place, so a limit set through the API governs the next message without a rebuild.
 */
export class StoreSync {
  private known: Revisions = { settings: -1, directory: -1 };
  /**
   * A node of a cluster writes the shared configuration through the cluster's log (cluster/config-log.ts), which
   * applies it here as on every node; null on a single server.
   */
  clustered: { write<T>(change: () => T): Promise<T> } | null = null;

  constructor(
    private readonly db: Db,
    private readonly enforcer: Enforcer,
    private readonly log: Logger,
    /** Where read failures are reported (logged once, summed up, shown by /health); null: logged each time. */
    private readonly health: StoreHealth | null = null,
  ) {}

  /**
   * Reloads when another process changed the store. A read that fails, even midway through the directory,
   * changes nothing: the last good settings, directory and counts keep being enforced, and it is retried on
   * the next tick.
   */
  reloadIfChanged(): void {
    try {
      const current = readRevisions(this.db);
      if (current.settings !== this.known.settings || current.directory !== this.known.directory) this.reload(current);
      this.health?.succeeded('read');
    } catch (error) {
      if (this.health) this.health.failed('read', error);
      else this.log.error({ err: error }, 'reloading settings and directory failed');
    }
  }

  /**
   * Loads settings and directory now, whatever the revisions say: at start (a store that cannot be read must stop
   * the start, not leave nothing enforced), and on a node of a cluster after changes that cannot apply in place.
   */
  loadNow(): void {
    this.reload(readRevisions(this.db));
  }

  /**
   * After entries of the cluster's log were applied to the store: the objects whose own values changed, and the
   * exemptions, are updated in place (read back from the store, as a reload reads them); anything else reloads.
   */
  applyClusterChanges(changes: readonly AppliedChange[]): 'in place' | 'reloaded' {
    const update = liveUpdateOf(changes);
    if (update.reload) {
      this.loadNow();
      return 'reloaded';
    }
    const directory = this.enforcer.directory;
    const found: Array<{ object: ChargedObject; own: OwnValues }> = [];
    for (const { level, id } of update.objects) {
      const object = directory.byCounterKey.get(counterKey(level, id));
      const own = readOwnValues(this.db, level, id);
      // An object the live state lacks, or the store no longer has: the two differ, and only a reload is sure.
      if (!object || !own) {
        this.loadNow();
        return 'reloaded';
      }
      found.push({ object, own });
    }
    for (const { object, own } of found) {
      directory.setOwnLimit(object, own.limit);
      directory.setOwnDailyLimit(object, own.dailyLimit);
      directory.setOwnRecipientLimit(object, own.recipientLimit);
      directory.setLock(object, own.lock);
    }
    if (update.exemptions) {
      for (const object of directory.byCounterKey.values()) if (object.exemption) directory.setExemption(object, null);
      applyStoredExemptions(this.db, directory);
    }
    this.known = readRevisions(this.db);
    if (found.length > 0 || update.exemptions) this.log.debug({ objects: found.map(({ object }) => object.name), exemptions: update.exemptions }, "the cluster's configuration changes applied in place");
    return 'in place';
  }

  private reload(current: Revisions): void {
    const settings = readSettings(this.db);
    this.enforcer.load(settings, streamDirectory(this.db));
    applyStoredExemptions(this.db, this.enforcer.directory);
    this.known = current;
    this.log.info(
      { enabled: settings.enabled, mode: limitsMode(settings), defaults: settings.defaults, countingUnit: settings.countingUnit, mailboxes: this.enforcer.directory.mailboxesByAddress.size },
      'settings and directory loaded',
    );
  }

  /**
   * Runs `change` in one IMMEDIATE transaction, then brings the live state up to date: with `applyInPlace` when
   * nobody else wrote since our last look (the cheap path), else by a full reload that includes both. On a node
   * of a cluster the change goes through the cluster's log and the live state is reloaded once it is applied.
   */
  async write<T>(change: () => T, applyInPlace: ((result: T) => void) | 'reload'): Promise<T> {
    // The cluster's log applies the change here as on every node, and the live state reloads after it.
    if (this.clustered) return this.clustered.write(change);
    return this.writeHere(change, applyInPlace);
  }

  private writeHere<T>(change: () => T, applyInPlace: ((result: T) => void) | 'reload'): T {
    let othersWrote = false;
    let after: Revisions = this.known;
    const result = this.db
      .transaction(() => {
        const before = readRevisions(this.db);
        othersWrote = before.settings !== this.known.settings || before.directory !== this.known.directory;
        const value = change();
        after = readRevisions(this.db);
        return value;
      })
      .immediate();
    if (othersWrote || applyInPlace === 'reload') {
      this.reload(after);
    } else {
      applyInPlace(result);
      this.known = after;
    }
    return result;
  }
}
