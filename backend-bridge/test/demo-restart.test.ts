import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { usageOf } from '../src/core/usage.js';
import { DEMO_SASL_USER, startDemo, type Demo } from '../../scripts/demo-session.js';

/**
 * The demo run twice on the same directory, as `scripts/demo.sh` does after Ctrl-C: held mail is still in its
 * Postfix queue and still held, a limit changed in the web interface stays changed, counts stay; `--reset` starts
 * over. Ports: the daemon binds port 0 for the web interface, Postfix gets free ones (nothing fixed).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const demoDir = mkdtempSync(path.join(os.tmpdir(), 'oml-demo-'));
// As .demo/ in a checkout: Postfix (user postfix) must get through it to its queue and data directories.
chmodSync(demoDir, 0o755);
const log = pino({ level: 'silent' });
let demo: Demo | null = null;

afterAll(async () => {
  await demo?.stop();
  rmSync(demoDir, { recursive: true, force: true });
});

const start = async (reset = false): Promise<Demo> => (demo = await startDemo({ root, demoDir, http: { host: '127.0.0.1', port: 0 }, reset, log }));
const stop = async (): Promise<void> => {
  await demo?.stop();
  demo = null;
};

/** The web interface as a browser uses it: log in, then writes with the session's CSRF token. */
async function webLogin(running: Demo): Promise<(method: string, url: string, body?: unknown) => Promise<Response>> {
  const base = `http://127.0.0.1:${running.httpPort}`;
  const login = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ login: 'admin', password: 'demo' }) });
  expect(login.status).toBe(200);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return (method, url, body) =>
    fetch(`${base}${url}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrfToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
}

function aliceNow(running: Demo) {
  const alice = running.daemon.enforcer.directory.find('mailbox', 'alice@example.com')!;
  return { own: alice.own, used: usageOf(alice, running.daemon.enforcer.windowAt(Math.floor(Date.now() / 1000))).used };
}

async function heldInQueue(running: Demo): Promise<string[]> {
  return (await running.postfix.queue()).filter((entry) => entry.queue_name === 'hold').map((entry) => entry.queue_id);
}

describe('the demo, stopped and started again', () => {
  it('keeps its held mail, the limits changed in the web interface and the counts; --reset starts over', async () => {
    let running = await start();
    expect(running.seeded).toBe(true);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await running.postfix.sendMail({ from: 'alice@example.com', to: ['someone@remote.test'], auth: DEMO_SASL_USER }));
    expect(results.map((r) => r.code)).toEqual([250, 250, 250, 250]);
    const heldId = results[3]!.queueId!;
    expect(running.daemon.held.store.stillHeld().map((m) => m.queueId)).toEqual([heldId]);
    expect(await heldInQueue(running)).toEqual([heldId]);

    const web = await webLogin(running);
    expect((await web('PUT', '/api/v1/mailboxes/bob@example.com/limit', { limit: 7 })).status).toBe(200);
    expect(aliceNow(running).used).toBe(3);
    await stop();

    running = await start();
    expect(running.seeded).toBe(false);
    // The start compares held records with the queue; asked once more here, so the answer is settled.
    await running.daemon.held.reconcile();
    expect(await heldInQueue(running)).toEqual([heldId]);
    expect(running.daemon.held.store.byQueueId(heldId)?.status).toBe('held');
    expect(running.daemon.enforcer.directory.find('mailbox', 'bob@example.com')?.own).toBe(7);
    expect(aliceNow(running).used).toBe(3);
    // The held message still leaves when a person releases it: it was not lost with the stop.
    const released = await (await webLogin(running))('POST', `/api/v1/held/${heldId}/release`, { force: true });
    expect(released.status).toBe(200);
    await running.postfix.waitForDelivered(4, 30_000);
    await stop();

    running = await start(true);
    expect(running.seeded).toBe(true);
    expect(await heldInQueue(running)).toEqual([]);
    expect(running.daemon.held.store.stillHeld()).toEqual([]);
    expect(running.daemon.enforcer.directory.find('mailbox', 'bob@example.com')?.own).toBeNull();
    expect(aliceNow(running).used).toBe(0);
    await stop();
  });
});
