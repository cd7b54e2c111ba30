import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** The pages (1-based) that hold a table's rows, from SQLite's own page map (dbstat). */
export function pagesOf(file: string, table: string): number[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT pageno FROM dbstat WHERE name = ? ORDER BY pageno').pluck().all(table) as number[]);
  } finally {
    db.close();
  }
}

/** Writes random bytes over whole pages of the file, as a failing disk or a stray write would. */
export function overwritePages(file: string, pages: readonly number[], pageSize = 4096): void {
  const fd = openSync(file, 'r+');
  try {
    for (const page of pages) writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
