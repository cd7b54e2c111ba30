import { readFileSync } from 'node:fs';

/**
 * The daemon's clock for decisions and exemption ends: the system clock. FOR TESTS ONLY,
 * OUTGOING_LIMITS_TEST_CLOCK_FILE names a file holding a whole number of milliseconds added to it, so a test can
 * move the daemon past an exemption's end without waiting. The file is read on every call (tests only); an
 * unreadable or malformed file counts as 0, the real time.
 */
export function daemonClock(env: NodeJS.ProcessEnv = process.env): () => number {
  const file = env.OUTGOING_LIMITS_TEST_CLOCK_FILE;
  if (file === undefined || file === '') return Date.now;
  return () => Date.now() + offsetIn(file);
}

function offsetIn(file: string): number {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^-?\d{1,15}$/.test(text) ? Number(text) : 0;
  } catch {
    return 0;
  }
}
