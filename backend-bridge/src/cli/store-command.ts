import Database from 'better-sqlite3';
import type { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { apiSocketPath } from '../api/server.js';
import { backupDir, listBackups, resolveBackup, restoreBackup } from '../store/backups.js';
import { databasePath, newestSchemaVersion, openDatabase, PRIVATE_FILE_MODE, StoreMissingError } from '../store/database.js';
import { integrityProblems, StoreDamagedError } from '../store/integrity.js';
import { daemonAnswers, UserError } from './daemon-or-store.js';

/** The store: check it, list its backups, put one back. */
export function registerStoreCommands(program: Command, dataDirOption: () => Option): void {
  const store = program.command('store').description('check the store, list its daily backups, restore one');

  store
    .command('check')
    .description("run SQLite's integrity check on the store (exit 0: sound, 1: damaged); safe while the daemon runs")
    .addOption(dataDirOption())
    .action((options: { dataDir: string }) => {
      const file = databasePath(options.dataDir);
      if (!existsSync(file)) throw new StoreMissingError(options.dataDir);
      let problems: string[];
      try {
        // Opened as it is: no migration, no change, so a damaged file is looked at, never written.
        const db = new Database(file, { fileMustExist: true });
        try {
          problems = integrityProblems(db);
        } finally {
          db.close();
        }
      } catch (error) {
        problems = [(error as Error).message];
      }
      if (problems.length > 0) throw new UserError(new StoreDamagedError(file, problems).message);
      process.stdout.write(`ok: ${file} passed SQLite's integrity check\n`);
    });

  store
    .command('backups')
    .description('list the daily backups, newest first')
    .addOption(dataDirOption())
    .option('--json', 'machine-readable output')
    .action((options: { dataDir: string; json?: boolean }) => {
      const backups = listBackups(options.dataDir);
      if (options.json) process.stdout.write(`${JSON.stringify(backups, null, 2)}\n`);
      else if (backups.length === 0) process.stdout.write(`No backups in ${backupDir(options.dataDir)}; the daemon takes one a day while it runs.\n`);
      else process.stdout.write(`${backups.map((b) => `${b.name}  ${b.date}  ${(b.sizeBytes / 1024).toFixed(0)} KiB`).join('\n')}\n`);
    });

  store
    .command('restore')
    .description('replace the store with a backup (a name from "store backups", a day YYYY-MM-DD, or a path); the daemon must be stopped')
    .argument('<backup>', 'the backup')
    .addOption(dataDirOption())
    .action(async (backup: string, options: { dataDir: string }) => {
      if (await daemonAnswers(options.dataDir)) {
        throw new UserError(`the daemon is running (it answers on ${apiSocketPath(options.dataDir)}); stop it first, then restore, then start it again`);
      }
      const file = resolveBackup(options.dataDir, backup);
      if (!existsSync(file)) {
        const known = listBackups(options.dataDir).map((b) => b.name);
        throw new UserError(`there is no backup ${file}${known.length > 0 ? `; the backups are: ${known.join(', ')}` : `; there are no backups in ${backupDir(options.dataDir)}`}`);
      }
      let result;
      try {
        result = restoreBackup(options.dataDir, file, { atMs: Date.now(), fileMode: PRIVATE_FILE_MODE, newestSchema: newestSchemaVersion() });
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      // Opened the way the daemon will: checked, and brought up to this program's schema.
      openDatabase(options.dataDir, { create: false, check: true }).close();
      process.stdout.write(
        [
          `Restored ${result.store} from ${result.restoredFrom}.`,
          result.keptAs ? `The store it replaced is kept as ${result.keptAs}.` : 'There was no store to replace.',
          'Settings, directory and limits are as they were when the backup was taken; counts of the last hour since then are lost.',
          'Start the daemon again; on Plesk, resync the directory: plesk bin extension --exec outgoing-mail-limits resync.php',
          '',
        ].join('\n'),
      );
    });
}
