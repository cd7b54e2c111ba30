import type { BackupFacts, DirectoryFacts, HeldFacts, PlatformReport } from '../core/health-check.js';
import { listBackups, backupDir } from './backups.js';
import type { Db } from './database.js';

/**
 * What the health view reads from the store besides settings: Plesk's last report on its own limiting and when
 * the directory was last synced. Kept as rows of the key-value settings table (readSettings reads only its own
 * keys), so no schema step is needed; written without bumping the settings revision, since nothing the daemon
 * enforces changes with them.
 */
const PLATFORM_KEY = 'health.platform.plesk';
const DIRECTORY_SYNCED_KEY = 'health.directory.synced';

function put(db: Db, key: string, value: unknown): void {
  db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
}

function get(db: Db, key: string): unknown {
  const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
  if (!row) return null;
  try {
    return JSON.parse(row.value) as unknown;
  } catch {
    return null;
  }
}

export function recordPlatformReport(db: Db, report: PlatformReport): void {
  put(db, PLATFORM_KEY, report);
}

/** The last report, or null when Plesk never reported (or the row is unreadable: then it reports again at the next resync). */
export function readPlatformReport(db: Db): PlatformReport | null {
  const value = get(db, PLATFORM_KEY) as Partial<PlatformReport> | null;
  if (!value || typeof value !== 'object') return null;
  const { nativeLimiting, mailServer, checkedAt, receivedAt } = value;
  if (typeof nativeLimiting !== 'string' || typeof mailServer !== 'string' || typeof checkedAt !== 'string' || typeof receivedAt !== 'string') return null;
  if (Number.isNaN(Date.parse(checkedAt)) || Number.isNaN(Date.parse(receivedAt))) return null;
  return { nativeLimiting, mailServer, checkedAt, receivedAt } as PlatformReport;
}

/** Called after a full sync (POST /directory/sync) or a directory file load (PUT /directory, `directory import`). */
export function recordDirectorySynced(db: Db, how: 'sync' | 'file', atMs: number): void {
  put(db, DIRECTORY_SYNCED_KEY, { atMs, how });
}

export function readDirectoryFacts(db: Db): DirectoryFacts {
  const objects = (db.prepare('SELECT (SELECT COUNT(*) FROM subscriptions) + (SELECT COUNT(*) FROM domains) + (SELECT COUNT(*) FROM mailboxes) AS n').get() as { n: number }).n;
  const value = get(db, DIRECTORY_SYNCED_KEY) as { atMs?: unknown; how?: unknown } | null;
  const how: 'sync' | 'file' | null = value?.how === 'sync' ? 'sync' : value?.how === 'file' ? 'file' : null;
  const lastSynced = value && typeof value.atMs === 'number' && how ? { atMs: value.atMs, how } : null;
  return { objects, lastSynced };
}

export function readHeldFacts(db: Db): HeldFacts {
  try {
    const row = db.prepare("SELECT COUNT(*) AS count, MIN(held_at_ms) AS oldest FROM held_messages WHERE status = 'held'").get() as { count: number; oldest: number | null };
    return { readable: true, count: row.count, oldestHeldAtMs: row.oldest };
  } catch (error) {
    return { readable: false, error: (error as Error).message };
  }
}

export function readBackupFacts(dataDir: string): BackupFacts {
  const backups = listBackups(dataDir);
  return { dir: backupDir(dataDir), newestDate: backups[0]?.date ?? null, count: backups.length };
}
