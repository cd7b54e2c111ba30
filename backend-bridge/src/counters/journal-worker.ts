/**
 * Writes counter journal batches off the daemon's main thread. A batch of several thousand upserts takes tens
 * of milliseconds; on the main thread that would stall every policy answer for as long.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareJournalRollUp } from '../store/hourly-stats.js';
import { JOURNAL_UPSERT_SQL, type JournalWorkerMessage } from './journal.js';

const port = parentPort;
if (!port) throw new Error('journal-worker runs as a worker thread only');

const db = new Database((workerData as { file: string }).file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const upsert = db.prepare(JOURNAL_UPSERT_SQL);
const prune = prepareJournalRollUp(db);
const writeRows = db.transaction((rows: Float64Array) => {
  for (let i = 0; i + 2 < rows.length; i += 3) upsert.run(rows[i], rows[i + 1], rows[i + 2]);
});

port.on('message', (message: JournalWorkerMessage) => {
  try {
    if (message.type === 'write') writeRows(message.rows);
    else if (message.type === 'prune') prune(message.oldestKeptSecond);
    else {
      db.close();
      port.close();
      return;
    }
    port.postMessage({ type: 'done', id: message.id });
  } catch (error) {
    port.postMessage({ type: 'failed', id: message.id, error: (error as Error).message });
  }
});
