import { pino, type Logger } from 'pino';

/** JSON lines on stdout: what systemd's journal and the tests both read. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'outgoing-limits' }, timestamp: pino.stdTimeFunctions.isoTime });
}
