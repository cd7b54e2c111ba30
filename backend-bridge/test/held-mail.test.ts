import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeClient, SignedIdentity } from '../src/api/bridge-client.js';
import type { HeldMessage } from '../src/store/held-store.js';
import { cli, DaemonProcess, eventually, runCli } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance } from '../test-support/postfix-instance.js';
import { bridgeApi, PLESK_ADMIN, preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * Over-limit mail held in a real Postfix's hold queue and released by the daemon. The window is the test-only
 * 10 seconds (OUTGOING_LIMITS_TEST_WINDOW_SECONDS), limits: mailbox 2, domain 50, subscription 100 per "hour".
 */
const WINDOW_SECONDS = 10;
const OUTSIDE = ['someone@remote.test'];
const ADMIN = PLESK_ADMIN;
const JDOE: SignedIdentity = { login: 'jdoe', userId: '20', role: 'customer', permittedSubscriptions: ['example.com'] };
const MARY: SignedIdentity = { login: 'mary', userId: '21', role: 'customer', permittedSubscriptions: ['other.org'] };

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let dataDir: string;

beforeAll(async () => {
  postfix = await startWiredPostfix();
  dataDir = await preparedDataDir(exampleDirectory({ 'carol@example.com': 0 }), ['--mailbox-limit', '2', '--domain-limit', '50', '--subscription-limit', '100']);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir], { OUTGOING_LIMITS_TEST_WINDOW_SECONDS: String(WINDOW_SECONDS) });
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

function api(identity: SignedIdentity = ADMIN): BridgeClient {
  return bridgeApi(dataDir, identity);
}

async function heldRecord(queueId: string): Promise<HeldMessage> {
  const response = await api().request('GET', `/api/v1/held/${queueId}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as HeldMessage;
}

async function queueNameOf(queueId: string): Promise<string | null> {
  return (await postfix.queue()).find((q) => q.queue_id === queueId)?.queue_name ?? null;
}

async function deliveredSubjects(): Promise<string[]> {
  return (await postfix.deliveredMessages()).map((m) => m.subject ?? '');
}

async function send(from: string, subject: string): Promise<string> {
  const result = await postfix.sendMail({ from, to: OUTSIDE, subject });
  expectAccepted(result);
  expect(result.queueId).not.toBeNull();
  return result.queueId!;
}

describe('held mail with a real Postfix', () => {
  it('the message over the limit is accepted, waits in the hold queue, and reaches the sink once its window frees', async () => {
    await send('alice@example.com', 'alice 1');
    await send('alice@example.com', 'alice 2');
    const third = await send('alice@example.com', 'alice 3');
    expect(await queueNameOf(third)).toBe('hold');
    const record = await heldRecord(third);
    expect(record).toMatchObject({ status: 'held', source: 'smtpd', sender: 'alice@example.com', chargedLevel: 'mailbox', chargedName: 'alice@example.com', trippedLevel: 'mailbox' });
    expect(record.reason).toMatch(/^Outgoing limit of 2 messages\/hour for mailbox alice@example\.com reached; message held, sent automatically in about \d+ seconds$/);
    expect(await postfix.logTail()).toMatch(new RegExp(`${third}: hold: END-OF-MESSAGE from .*Outgoing limit of 2 messages/hour for mailbox alice@example\\.com reached`));
    const listed = await cli(['held', 'list', '--data-dir', dataDir]);
    expect(listed).toContain(third);
    const fourth = await send('alice@example.com', 'alice 4');
    const fifth = await send('alice@example.com', 'alice 5');
    expect(await queueNameOf(fourth)).toBe('hold');
    expect(await queueNameOf(fifth)).toBe('hold');

    // Once alice 1 and 2 leave the window, the two oldest held messages fit and are released, in the order they came.
    const releasedByWorker = async (id: string): Promise<boolean> => (await heldRecord(id)).status === 'released';
    await eventually(async () => (await releasedByWorker(third)) && (await releasedByWorker(fourth)), 'the worker to release alice 3 and 4', 40_000);
    expect(await heldRecord(third)).toMatchObject({ status: 'released', resolvedBy: 'worker' });
    // The releases counted against the new window: alice has used 2 of 2, so the fifth still waits. Only a queue
    // listing lies between the releases and this check, far less than the window.
    expect(await queueNameOf(fifth)).toBe('hold');
    expect((await heldRecord(fifth)).status).toBe('held');

    await eventually(async () => (await deliveredSubjects()).includes('alice 3'), 'the held message to be delivered', 40_000);
    expect(await queueNameOf(third)).toBeNull();
    expect((await deliveredSubjects()).filter((s) => s === 'alice 3')).toHaveLength(1);
  });

  it('release now and delete, through the command and the API; beyond the limit only for the administrator', async () => {
    // carol's limit is 0: nothing of hers is ever released by the worker.
    const [a, b, c, d] = [await send('carol@example.com', 'carol a'), await send('carol@example.com', 'carol b'), await send('carol@example.com', 'carol c'), await send('carol@example.com', 'carol d')];
    for (const id of [a, b, c, d]) expect(await queueNameOf(id)).toBe('hold');
    expect((await heldRecord(a)).reason).toBe('Sending is not allowed for mailbox carol@example.com (outgoing limit 0 messages/hour); message held until a person releases it');

    const withinBudget = await runCli(['held', 'release', a, '--data-dir', dataDir]);
    expect(withinBudget.code).toBe(1);
    expect(withinBudget.stderr).toContain('Sending is not allowed for mailbox carol@example.com');
    expect(await queueNameOf(a)).toBe('hold');

    const byCustomer = await api(JDOE).request('POST', `/api/v1/held/${a}/release`, { force: true });
    expect(byCustomer.status).toBe(403);
    expect((await api(MARY).request('GET', `/api/v1/held/${a}`)).status).toBe(404);

    expect(await cli(['held', 'release', a, '--force', '--data-dir', dataDir])).toContain(`Released ${a} (beyond the limit)`);
    const released = await api().request('POST', `/api/v1/held/${b}/release`, { force: true });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    await eventually(async () => {
      const subjects = await deliveredSubjects();
      return subjects.includes('carol a') && subjects.includes('carol b');
    }, 'the released messages to be delivered', 20_000);

    expect(await cli(['held', 'delete', c, '--data-dir', dataDir])).toContain(`Deleted ${c}`);
    // Without Plesk's "Manage outgoing mail limits" on example.com, jdoe still sees the message but cannot touch it.
    const jdoeWithoutPermission = api({ ...JDOE, permittedSubscriptions: ['other.org'] });
    expect(((await jdoeWithoutPermission.request('GET', `/api/v1/held/${d}`)).body as { mayDelete: boolean }).mayDelete).toBe(false);
    const refused = await jdoeWithoutPermission.request('DELETE', `/api/v1/held/${d}`);
    expect(refused.status).toBe(403);
    expect((refused.body as { error: string }).error).toContain('subscription example.com');
    expect(await queueNameOf(d)).toBe('hold');
    const deleted = await api(JDOE).request('DELETE', `/api/v1/held/${d}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect(await queueNameOf(c)).toBeNull();
    expect(await queueNameOf(d)).toBeNull();
    expect(await heldRecord(c)).toMatchObject({ status: 'deleted', resolvedBy: 'root' });
    expect(await heldRecord(d)).toMatchObject({ status: 'deleted', resolvedBy: 'jdoe' });
    expect((await api().request('DELETE', `/api/v1/held/${d}`)).status).toBe(404);

    const audit = (await api().request('GET', '/api/v1/audit?name=carol@example.com')).body as { items: Array<{ action: string; actorLogin: string; newValue: unknown; oldValue: unknown }> };
    expect(audit.items.map((e) => `${e.action} ${e.actorLogin}`)).toEqual(['held.delete jdoe', 'held.delete root', 'held.release admin', 'held.release root']);
    expect(audit.items[3]?.newValue).toEqual({ queueId: a, overLimit: true });
    const subjects = await deliveredSubjects();
    expect(subjects.filter((s) => s.startsWith('carol'))).toEqual(expect.arrayContaining(['carol a', 'carol b']));
    expect(subjects.filter((s) => s === 'carol c' || s === 'carol d')).toEqual([]);
  });

  it('held mail shows its subject (decoded, as plain text) and recipients from the queue file; a bulk action answers each message', async () => {
    const hostile = `Grüße <img src=x onerror=alert(1)> \u202Egnp.exe ${'x'.repeat(400)}`;
    const encoded = `=?UTF-8?B?${Buffer.from(hostile, 'utf8').toString('base64')}?=`;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const result = await postfix.sendMail({ from: 'carol@example.com', to: ['x@remote.test', 'y@remote.test'], subject: i === 0 ? encoded : `carol bulk ${i}` });
      expectAccepted(result);
      ids.push(result.queueId!);
    }
    for (const id of ids) expect(await queueNameOf(id)).toBe('hold');
    type Item = { queueId: string; subject: string | null; recipients: string[] | null };
    const listed = async () => ((await api().request('GET', '/api/v1/held?name=carol@example.com')).body as { items: Item[] }).items;
    await eventually(async () => (await listed()).find((m) => m.queueId === ids[0])?.subject != null, 'the subject to be read from the queue file');
    const first = (await listed()).find((m) => m.queueId === ids[0])!;
    // Decoded, the direction override gone, markup left as the text it is, cut to 200 characters.
    const shown = 'Grüße <img src=x onerror=alert(1)> gnp.exe ';
    expect(first.subject).toBe(`${shown}${'x'.repeat(199 - shown.length)}…`);
    expect(first.recipients).toEqual(['x@remote.test', 'y@remote.test']);
    expect((await listed()).find((m) => m.queueId === ids[1])?.subject).toBe('carol bulk 1');

    // Within the budget (carol's limit is 0) nothing may leave: each message says why, and stays.
    const refused = await api(JDOE).request('POST', '/api/v1/held/bulk', { action: 'release', queueIds: ids.slice(0, 2) });
    expect(refused.status).toBe(200);
    expect((refused.body as { results: Array<{ ok: boolean; httpStatus: number; error: string }> }).results).toEqual([
      expect.objectContaining({ ok: false, httpStatus: 409, error: expect.stringMatching(/^Sending is not allowed for mailbox carol@example\.com/) }),
      expect.objectContaining({ ok: false, httpStatus: 409 }),
    ]);
    for (const id of ids) expect(await queueNameOf(id)).toBe('hold');

    const released = await api().request('POST', '/api/v1/held/bulk', { action: 'release', queueIds: [...ids.slice(0, 3), 'FFFFFF123'], force: true });
    expect(released.body).toMatchObject({ done: 3, failed: 1 });
    const deleted = await api(JDOE).request('POST', '/api/v1/held/bulk', { action: 'delete', queueIds: ids.slice(3) });
    expect(deleted.body).toEqual({ results: ids.slice(3).map((queueId) => ({ queueId, ok: true, status: 'deleted' })), done: 3, failed: 0 });
    for (const id of ids.slice(3)) expect(await queueNameOf(id)).toBeNull();
    await eventually(async () => {
      const subjects = await deliveredSubjects();
      return ['carol bulk 1', 'carol bulk 2'].every((s) => subjects.includes(s));
    }, 'the released messages to be delivered', 20_000);
    expect((await deliveredSubjects()).filter((s) => /carol bulk [345]/.test(s))).toEqual([]);
    const audit = (await api().request('GET', '/api/v1/audit?name=carol@example.com&limit=6')).body as { items: Array<{ action: string; actorLogin: string }> };
    expect(audit.items.map((e) => `${e.actorLogin} ${e.action}`)).toEqual([...Array(3).fill('jdoe held.delete'), ...Array(3).fill('admin held.release')]);
  });

  it('mark compromised holds the mailbox’s mail at limit 0; restore brings the old limit back and the mail leaves', async () => {
    const marked = await cli(['mailbox', 'compromised', 'bob@example.com', '--data-dir', dataDir]);
    expect(marked).toContain('Mailbox bob@example.com marked compromised: limit 0 (was default)');
    const held = await send('bob@example.com', 'bob after compromise');
    expect(await queueNameOf(held)).toBe('hold');
    expect((await heldRecord(held)).reason).toMatch(/^Sending is not allowed for mailbox bob@example\.com/);
    const listed = (await api(JDOE).request('GET', '/api/v1/compromised')).body as { items: Array<{ address: string; previousLimit: unknown }> };
    expect(listed.items).toEqual([expect.objectContaining({ address: 'bob@example.com', previousLimit: 'default' })]);
    expect(((await api(MARY).request('GET', '/api/v1/compromised')).body as { items: unknown[] }).items).toEqual([]);

    expect(await cli(['mailbox', 'restore', 'bob@example.com', '--data-dir', dataDir])).toContain('Mailbox bob@example.com restored: limit default');
    const row = (await api().request('GET', '/api/v1/mailboxes/bob@example.com')).body as { ownLimit: unknown };
    expect(row.ownLimit).toBe('default');
    await eventually(async () => (await deliveredSubjects()).includes('bob after compromise'), 'the held mail of the restored mailbox to leave', 20_000);
    const audit = (await api().request('GET', '/api/v1/audit?name=bob@example.com')).body as { items: Array<{ action: string }> };
    // The administrator's mark locked the 0 (so no customer could restore it); the restore lifted that lock.
    expect(audit.items.map((e) => e.action)).toEqual(['limit.unlock', 'mailbox.restore', 'limit.lock', 'mailbox.compromised']);
  });

  it('records of mail removed by hand while the daemon was down are closed at start; held mail survives a restart', async () => {
    await send('erin@example.net', 'erin 1');
    await send('erin@example.net', 'erin 2');
    const removedByHand = await send('erin@example.net', 'erin 3');
    const survivor = await send('erin@example.net', 'erin 4');
    expect(await queueNameOf(removedByHand)).toBe('hold');
    await daemon.stop();
    const removed = runPostsuper(['-d', removedByHand, 'hold']);
    expect(removed).toContain(`${removedByHand}: removed`);
    daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir], { OUTGOING_LIMITS_TEST_WINDOW_SECONDS: String(WINDOW_SECONDS) });
    await eventually(async () => (await heldRecord(removedByHand)).status === 'gone', 'the record of the removed message to be closed');
    await eventually(async () => (await deliveredSubjects()).includes('erin 4'), 'the held message to leave after the restart', 40_000);
    expect(await heldRecord(survivor)).toMatchObject({ status: 'released', resolvedBy: 'worker' });
    expect((await deliveredSubjects()).filter((s) => s.startsWith('erin'))).not.toContain('erin 3');
  });

  it('subject and recipients, read while held, stay with released and deleted mail after a restart, and so does why it was held', async () => {
    const toRelease = (await postfix.sendMail({ from: 'carol@example.com', to: ['r1@remote.test', 'r2@remote.test'], subject: 'kept after release' })).queueId!;
    const toDelete = (await postfix.sendMail({ from: 'carol@example.com', to: ['d1@remote.test'], subject: 'kept after delete' })).queueId!;
    for (const id of [toRelease, toDelete]) expect(await queueNameOf(id)).toBe('hold');
    // The list reads the queue files (queue_directory is asked for in the background on the first list).
    await eventually(async () => (await heldRecord(toRelease)).subject === 'kept after release' && (await heldRecord(toDelete)).subject === 'kept after delete', 'the subjects to be read');
    expect((await api().request('POST', `/api/v1/held/${toRelease}/release`, { force: true })).status).toBe(200);
    expect((await api().request('DELETE', `/api/v1/held/${toDelete}`)).status).toBe(200);

    await daemon.stop();
    daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir], { OUTGOING_LIMITS_TEST_WINDOW_SECONDS: String(WINDOW_SECONDS) });
    type Item = { queueId: string; status: string; subject: string | null; recipients: string[] | null; cause: unknown };
    const all = ((await api().request('GET', '/api/v1/held?status=all&name=carol@example.com')).body as { items: Item[] }).items;
    const notAllowed = { kind: 'notAllowed', level: 'mailbox', name: 'carol@example.com', limit: 0 };
    expect(all.find((m) => m.queueId === toRelease)).toMatchObject({ status: 'released', subject: 'kept after release', recipients: ['r1@remote.test', 'r2@remote.test'], cause: notAllowed });
    expect(all.find((m) => m.queueId === toDelete)).toMatchObject({ status: 'deleted', subject: 'kept after delete', recipients: ['d1@remote.test'], cause: notAllowed });
  });

  it('notifies the administrator and the customer by mail and the webhook, once per object per period', async () => {
    const hooks: unknown[] = [];
    let calls = 0;
    const server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        calls++;
        // The first attempt fails: the notifier must retry.
        if (calls === 1) return void response.writeHead(500).end();
        hooks.push(JSON.parse(body));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const hookPort = (server.address() as AddressInfo).port;
    try {
      // Early warnings (80 % of dave's 2 is his 2nd message) are mailed too; test/monitor-mode.test.ts has them.
      await daemon.change(['settings', 'set', '--notify-admin', 'admin@notify.test', '--notify-customer', 'on', '--notify-period', '15m', '--webhook', `http://127.0.0.1:${hookPort}/hook`, '--early-warning', 'off']);
      await cli(['notify', 'contact', 'jdoe', 'jdoe@notify.test', '--data-dir', dataDir]);
      const notifications = async () => (await postfix.deliveredMessages()).filter((m) => m.recipients.includes('admin@notify.test'));

      await send('dave@example.com', 'dave 1');
      await send('dave@example.com', 'dave 2');
      await send('dave@example.com', 'dave 3');
      await eventually(async () => (await notifications()).length === 1, 'the notification mail', 20_000);
      const [mail] = await notifications();
      expect(mail!.recipients.sort()).toEqual(['admin@notify.test', 'jdoe@notify.test']);
      expect(mail!.subject).toBe('Outgoing limit reached: mailbox dave@example.com (2 messages per hour)');
      expect(mail!.body).toContain('Object:                mailbox dave@example.com');
      expect(mail!.body).toContain('Level that tripped:    mailbox');
      expect(mail!.body).toContain('Sent in the last hour: 2');
      expect(mail!.body).toContain('Held messages:         1');
      expect(mail!.body).toContain('Top recipient domains: remote.test (1)');
      expect(mail!.body).toMatch(/Budget frees:          in \d+ seconds; held mail is then sent automatically/);
      expect(mail!.body).toContain('Outgoing limit of 2 messages/hour for mailbox dave@example.com reached; message held');
      expect(mail!.body).toMatch(/Held messages: https:\/\/\S+\/modules\/outgoing-mail-limits\/index\.php\/ui\/held\?level=mailbox&name=dave%40example\.com/);
      await eventually(() => hooks.length === 1, 'the webhook to succeed on its second attempt', 20_000);
      expect(calls).toBe(2);
      expect(hooks[0]).toMatchObject({ kind: 'limit-reached', level: 'mailbox', name: 'dave@example.com', limit: 2, sent: 2, held: 1, topRecipientDomains: [{ domain: 'remote.test', messages: 1 }] });

      // Within the period: more held mail of dave, no second notification; another object gets its own.
      await send('dave@example.com', 'dave 4');
      await send('mallory@other.org', 'mallory 1');
      await send('mallory@other.org', 'mallory 2');
      await send('mallory@other.org', 'mallory 3');
      await eventually(async () => (await notifications()).some((m) => m.subject?.includes('mallory@other.org')), 'the notification about mallory', 20_000);
      await eventually(() => hooks.length === 2, 'the webhook about mallory', 20_000);
      const about = (await notifications()).map((m) => m.subject);
      expect(about.filter((subject) => subject?.includes('dave@example.com'))).toHaveLength(1);
      // mallory's customer (mary) has no contact address: only the administrator.
      expect((await notifications()).find((m) => m.subject?.includes('mallory'))!.recipients).toEqual(['admin@notify.test']);
      expect(hooks.map((h) => (h as { name: string }).name)).toEqual(['dave@example.com', 'mallory@other.org']);
    } finally {
      await daemon.change(['settings', 'set', '--notify-admin', 'none', '--webhook', 'none']);
      server.close();
    }
  });
});

function runPostsuper(args: string[]): string {
  const result = spawnSync('/usr/sbin/postsuper', ['-c', postfix.configDir, ...args], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`;
}
