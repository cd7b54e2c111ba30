import { counterKey, type DirectoryIndex } from '../core/directory.js';
import { recordSystemAudit } from '../store/audit-store.js';
import { bumpRevision, type Db } from '../store/database.js';
import { dueExemptions, readExemptions, type StoredExemption } from '../store/exemption-store.js';
import type { Enforcer } from './enforcer.js';
import type { StoreSync } from './store-sync.js';

/** Puts the store's exemptions on the objects of a freshly loaded index (they live in their own table). */
export function applyStoredExemptions(db: Db, directory: DirectoryIndex): void {
  for (const stored of readExemptions(db)) {
    const object = directory.byCounterKey.get(counterKey(stored.level, stored.objectId));
    if (object) directory.setExemption(object, stored.exemption);
  }
}

/** What the log keeps of an exemption: its values and its span. */
export function exemptionAuditValue(stored: Pick<StoredExemption, 'exemption'>): { hourly: unknown; daily: unknown; startsAt: string; endsAt: string; setBy: string } {
  const e = stored.exemption;
  return { hourly: e.hourly, daily: e.daily, startsAt: new Date(e.startsAtMs).toISOString(), endsAt: new Date(e.endsAtMs).toISOString(), setBy: e.setBy.login };
}

/**
 * Records the end of every exemption whose end time has come ("exemption.end" by the system) and removes it.
 * Decisions stopped applying it at its end already (they read the clock); this only keeps the record and the
 * lists right. Returns how many ended.
 */
export async function endDueExemptions(db: Db, sync: StoreSync, enforcer: Enforcer, nowMs: number): Promise<number> {
  // Asked every second: a read, and a write transaction only when something is due.
  if (db.prepare('SELECT 1 FROM exemptions WHERE ends_at_ms <= ? LIMIT 1').get(nowMs) === undefined) return 0;
  const ended = await sync.write(
    () => {
      const due = dueExemptions(db, nowMs);
      if (due.length === 0) return due;
      const remove = db.prepare('DELETE FROM exemptions WHERE ends_at_ms <= ?');
      remove.run(nowMs);
      for (const stored of due) {
        recordSystemAudit(db, { action: 'exemption.end', level: stored.level, objectName: stored.name, oldValue: exemptionAuditValue(stored), newValue: { reason: 'endTime' } }, nowMs);
      }
      bumpRevision(db, 'directory');
      return due;
    },
    (due) => {
      for (const stored of due) {
        const object = enforcer.directory.byCounterKey.get(counterKey(stored.level, stored.objectId));
        if (object) enforcer.directory.setExemption(object, null);
      }
    },
  );
  return ended.length;
}
