import Database from 'better-sqlite3';
import type { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { exitCodeOf, HEALTH_TITLES, judgeHealth, type DaemonFacts, type HealthReport, type StoreFacts } from '../core/health-check.js';
import { DEFAULT_POSTFIX_CONFIG_DIR } from '../daemon.js';
import { gatherHealthFacts } from '../health/health-facts.js';
import { apiSocketPath } from '../api/server.js';
import { databasePath } from '../store/database.js';
import { integrityProblems } from '../store/integrity.js';
import type { StoreHealthReport } from '../store/store-health.js';

/** How long the daemon may take to answer GET /health before it counts as not answering. */
const DAEMON_ANSWER_TIMEOUT_MS = 5_000;

/** The command's verdict: main.ts exits with this code (0 all ok, 1 warnings, 2 problems) after the report is printed. */
export class DoctorVerdict extends Error {
  constructor(readonly exitCode: number) {
    super(`health check finished with exit code ${exitCode}`);
  }
}

type HealthAnswer = { status: 'ok' } | { status: 'degraded'; store: StoreHealthReport };

/** GET /health on the API socket (public: no secret needed, so it also works for a user who may not read the secret). */
function askDaemon(socketPath: string): Promise<HealthAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath, path: '/api/v1/health', method: 'GET', timeout: DAEMON_ANSWER_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as HealthAnswer;
          if (response.statusCode !== 200 || (body.status !== 'ok' && body.status !== 'degraded')) throw new Error(`answered ${response.statusCode ?? '?'}`);
          resolve(body);
        } catch (error) {
          reject(new Error(`its answer to GET /api/v1/health is not what it should be (${(error as Error).message})`));
        }
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${DAEMON_ANSWER_TIMEOUT_MS / 1000} s`)));
    request.on('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code === 'ENOENT' ? 'there is no socket (the daemon is not running, or uses another --data-dir)' : error.code === 'ECONNREFUSED' ? 'nothing listens on the socket (the daemon is not running)' : error.message)));
    request.end();
  });
}

/**
 * The store, opened read-only so the check changes nothing (no schema upgrade, no file created). With the daemon
 * down, the command runs SQLite's full integrity check itself; with it up, the daemon's own view counts and the
 * store is only read.
 */
function openStoreReadOnly(dataDir: string): Database.Database | Error | null {
  const file = databasePath(dataDir);
  if (!existsSync(file)) return null;
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    return error as Error;
  }
}

export async function runDoctor(options: { dataDir: string; postfixConfigDir: string; nowMs?: number }): Promise<HealthReport> {
  const { dataDir } = options;
  const socket = apiSocketPath(dataDir);
  let daemon: DaemonFacts;
  let answer: HealthAnswer | null = null;
  try {
    answer = await askDaemon(socket);
    daemon = { running: true, socket };
  } catch (error) {
    daemon = { running: false, socket, error: (error as Error).message };
  }
  const file = databasePath(dataDir);
  const opened = openStoreReadOnly(dataDir);
  const db = opened instanceof Database ? opened : null;
  try {
    let store: StoreFacts;
    if (opened === null) store = { kind: 'missing', dataDir };
    else if (answer) {
      const fault = answer.status === 'degraded' && !answer.store.ok ? answer.store : null;
      store = { kind: 'daemon', file, dataDir, fault: fault ? { operation: fault.operation, error: fault.error, since: fault.since, failures: fault.failures } : null };
    } else if (db) {
      let problems: string[];
      try {
        problems = integrityProblems(db);
      } catch (error) {
        problems = [(error as Error).message];
      }
      store = { kind: 'checked', file, dataDir, problems };
    } else store = { kind: 'checked', file, dataDir, problems: [`cannot open it: ${(opened as Error).message}`] };
    // A damaged store may fail the reads below too: those lines then say they could not be read, the store line why.
    const sound = store.kind === 'daemon' || (store.kind === 'checked' && store.problems.length === 0);
    const facts = await gatherHealthFacts({ db: sound ? db : null, dataDir, postfixConfigDir: options.postfixConfigDir, daemon, store });
    return judgeHealth(facts, options.nowMs ?? Date.now());
  } finally {
    db?.close();
  }
}

const STATE_LABEL = { ok: 'ok', warning: 'WARNING', problem: 'PROBLEM' } as const;

/** The report for people: one block per line, its state first, and what to do below it. */
export function describeReport(report: HealthReport): string {
  const width = Math.max(...Object.values(HEALTH_TITLES).map((title) => title.length));
  const counts = { warning: report.lines.filter((l) => l.state === 'warning').length, problem: report.lines.filter((l) => l.state === 'problem').length };
  const summary =
    report.state === 'ok'
      ? 'All ok.'
      : [counts.problem ? `${counts.problem} problem${counts.problem === 1 ? '' : 's'}` : '', counts.warning ? `${counts.warning} warning${counts.warning === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ') + '.';
  const lines = report.lines.flatMap((line) => [
    `${`[${STATE_LABEL[line.state]}]`.padEnd(9)} ${HEALTH_TITLES[line.id].padEnd(width)}  ${line.found}`,
    ...(line.advice ? [`${' '.repeat(9 + 1 + width + 2)}What to do: ${line.advice}`] : []),
  ]);
  return [...lines, '', summary].join('\n');
}

export function registerDoctorCommand(program: Command, dataDirOption: () => Option): void {
  program
    .command('doctor')
    .description('check everything the limits depend on and say what to do about what is not right')
    .addOption(dataDirOption())
    .option('--postfix-config-dir <dir>', 'the Postfix instance the daemon serves', DEFAULT_POSTFIX_CONFIG_DIR)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nLines: daemon running, Postfix wired (and how), Plesk\'s own limiting off, directory synced, held mail waiting, store check, last backup.\nExit code: 0 all ok, 1 warnings, 2 problems (as also for a usage error).',
    )
    .action(async (options: { dataDir: string; postfixConfigDir: string; json?: boolean }) => {
      const report = await runDoctor(options);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${describeReport(report)}\n`);
      throw new DoctorVerdict(exitCodeOf(report.state));
    });
}
