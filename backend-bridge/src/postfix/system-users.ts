import { readFileSync, statSync } from 'node:fs';

/**
 * Login names by uid from the passwd file, read again only when the file changes: the milter asks once per
 * local message. (Node has no getpwuid; on Plesk, subscription system users are ordinary passwd entries.)
 */
export class SystemUsers {
  private byUid = new Map<number, string>();
  private seenMtimeMs = -1;

  constructor(private readonly passwdFile = '/etc/passwd') {}

  nameOf(uid: number): string | null {
    this.refresh();
    return this.byUid.get(uid) ?? null;
  }

  private refresh(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.passwdFile).mtimeMs;
    } catch {
      return;
    }
    if (mtimeMs === this.seenMtimeMs) return;
    const byUid = new Map<number, string>();
    for (const line of readFileSync(this.passwdFile, 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (!name || uid === undefined || !/^\d+$/.test(uid)) continue;
      // The first entry of a uid wins, as with getpwuid.
      if (!byUid.has(Number(uid))) byUid.set(Number(uid), name);
    }
    this.byUid = byUid;
    this.seenMtimeMs = mtimeMs;
  }
}
