import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { findParameter } from './main-cf.js';
import { WiringGuard, type WiringGuardEvent } from './wiring-guard.js';
import { wirePostfix } from './wiring.js';

const POLICY = { kind: 'tcp', host: '127.0.0.1', port: 10040 } as const;
const MILTER = { kind: 'tcp', host: '127.0.0.1', port: 10041 } as const;

interface LogLine {
  level: number;
  msg: string;
  kind?: string;
}

const guards: WiringGuard[] = [];

afterEach(async () => {
  for (const guard of guards.splice(0)) await guard.stop();
});

/** A Postfix configuration of its own (queue directory included, so no running Postfix is ever reloaded), wired. */
async function wiredConfigDir(): Promise<{ dir: string; queue: string }> {
  const base = mkdtempSync(path.join(os.tmpdir(), 'oml-guard-'));
  const dir = path.join(base, 'etc');
  const queue = path.join(base, 'queue');
  mkdirSync(dir);
  mkdirSync(path.join(queue, 'pid'), { recursive: true });
  writeFileSync(path.join(dir, 'main.cf'), `queue_directory = ${queue}\nmyhostname = mx.example.com\n`);
  writeFileSync(path.join(dir, 'master.cf'), 'smtp inet n - n - - smtpd\ncleanup unix n - n - 0 cleanup\n');
  // postconf pauses on a main.cf written in the last second: spare it the pause.
  age(dir);
  await wirePostfix({ configDir: dir, policy: POLICY, milter: MILTER, failOpen: true, reload: false });
  return { dir, queue };
}

/** Another program's rewrite: write-then-rename, as postconf does, without our two list entries. */
function removeEntries(dir: string): void {
  const mainCf = path.join(dir, 'main.cf');
  const text = readFileSync(mainCf, 'utf8').replace(/^smtpd_end_of_data_restrictions = .*$/m, 'smtpd_end_of_data_restrictions =').replace(/^non_smtpd_milters = .*$/m, 'non_smtpd_milters =');
  writeFileSync(`${mainCf}.tmp`, text);
  renameSync(`${mainCf}.tmp`, mainCf);
}

/** As if main.cf had been written a minute ago: settled for the quiet periods used here. */
function age(dir: string): void {
  const past = (Date.now() - 60_000) / 1000;
  utimesSync(path.join(dir, 'main.cf'), past, past);
}

function entriesPresent(dir: string): boolean {
  const text = readFileSync(path.join(dir, 'main.cf'), 'utf8');
  return findParameter(text, 'smtpd_end_of_data_restrictions')?.value === 'check_policy_service inet:127.0.0.1:10040' && findParameter(text, 'non_smtpd_milters')?.value === 'inet:127.0.0.1:10041';
}

function guardFor(dir: string, quietMs: number): { guard: WiringGuard; events: WiringGuardEvent[]; logs: LogLine[] } {
  const events: WiringGuardEvent[] = [];
  const logs: LogLine[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as LogLine) });
  // The timer is an hour away: every check here is set off by the test or by the directory watch.
  const guard = new WiringGuard({ configDir: dir, log, onEvent: (event) => events.push(event), intervalMs: 3_600_000, quietMs });
  guards.push(guard);
  return { guard, events, logs };
}

/** postconf and postfix reload (run by wire and the guard) take seconds on a busy machine. */
describe('the wiring guard', { timeout: 60_000 }, () => {
  it('leaves a main.cf that changed within the quiet period until it settles, repairs it once, and its own write sets off nothing', async () => {
    const { dir } = await wiredConfigDir();
    const { guard, events } = guardFor(dir, 30_000);
    removeEntries(dir);
    expect(await guard.check()).toEqual({ outcome: 'settling' });
    expect(entriesPresent(dir)).toBe(false);
    age(dir);
    expect(await guard.check()).toEqual({
      outcome: 'restored',
      restored: ['smtpd_end_of_data_restrictions: check_policy_service inet:127.0.0.1:10040', 'non_smtpd_milters: inet:127.0.0.1:10041'],
      reloaded: false,
    });
    expect(entriesPresent(dir)).toBe(true);
    age(dir);
    expect(await guard.check()).toEqual({ outcome: 'intact' });
    expect(events.map((event) => event.kind)).toEqual(['wiring-restored']);
  });

  it('reacts to a rename of main.cf in the watched directory without waiting for its timer', async () => {
    const { dir } = await wiredConfigDir();
    const { guard, events } = guardFor(dir, 0);
    guard.start();
    expect(await guard.check()).toEqual({ outcome: 'intact' });
    removeEntries(dir);
    const deadline = Date.now() + 20_000;
    // The event comes after the write and the reload attempt: once it is there, so is the repair.
    while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events.map((event) => event.kind)).toEqual(['wiring-restored']);
    expect(entriesPresent(dir)).toBe(true);
  });

  it('a failing reload is reported once, retried at every check, and the recovery is logged', async () => {
    const { dir, queue } = await wiredConfigDir();
    // master.pid names a live process that is no Postfix master: the guard reloads, and `postfix reload` fails.
    writeFileSync(path.join(queue, 'pid', 'master.pid'), `${process.pid}\n`);
    const { guard, events, logs } = guardFor(dir, 0);
    removeEntries(dir);
    const failed = await guard.check();
    expect(failed).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/^postfix -c .* reload failed/) });
    expect(entriesPresent(dir)).toBe(true);
    expect(await guard.check()).toMatchObject({ outcome: 'failed' });
    expect(events.map((event) => event.kind)).toEqual(['wiring-repair-failed']);
    expect(events[0]).toMatchObject({ stage: 'reload', missing: ['smtpd_end_of_data_restrictions: check_policy_service inet:127.0.0.1:10040', 'non_smtpd_milters: inet:127.0.0.1:10041'] });
    expect(logs.filter((line) => line.kind === 'wiring-repair-failed')).toHaveLength(1);
    rmSync(path.join(queue, 'pid', 'master.pid'));
    expect(await guard.check()).toEqual({ outcome: 'intact' });
    expect(logs.some((line) => line.msg === 'the Postfix wiring can be checked and repaired again')).toBe(true);
    expect(events).toHaveLength(1);
  });

  it('a main.cf that is gone is reported where this Postfix was wired, and left alone where it was not', async () => {
    const { dir } = await wiredConfigDir();
    const { guard, events } = guardFor(dir, 0);
    rmSync(path.join(dir, 'main.cf'));
    expect(await guard.check()).toMatchObject({ outcome: 'failed', error: expect.stringMatching(/main\.cf does not exist/) });
    expect(events.map((event) => event.kind)).toEqual(['wiring-repair-failed']);
    rmSync(path.join(dir, 'outgoing-limits-wiring.json'));
    expect(await guard.check()).toEqual({ outcome: 'not-wired' });
  });
});
