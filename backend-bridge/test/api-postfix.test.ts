import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBridgeSecret } from '../src/api/auth/bridge-secret.js';
import { BridgeClient, type SignedIdentity } from '../src/api/bridge-client.js';
import { apiSocketPath } from '../src/api/server.js';
import type { ObjectRow } from '../src/core/object-query.js';
import type { AuditRow } from '../src/store/audit-store.js';
import type { OverLimitEvent } from '../src/store/over-limit-events.js';
import { DaemonProcess } from '../test-support/daemon-process.js';
import { exampleDirectory } from '../test-support/directory-fixture.js';
import type { PostfixInstance, SmtpResult } from '../test-support/postfix-instance.js';
import { preparedDataDir } from '../test-support/prepared-store.js';
import { expectAccepted, expectDeferred, startWiredPostfix } from '../test-support/wired-postfix.js';

/**
 * The API as the Plesk layer uses it, end to end: signed requests over the daemon's unix socket change limits
 * that a real Postfix, wired with `outgoing-limits postfix wire`, enforces on the very next message. Nothing here
 * waits for propagation: the API applies a change before it answers. Defaults: mailbox 3, domain 5, subscription 8.
 */
const JDOE: SignedIdentity = { login: 'jdoe', userId: '20', role: 'customer', permittedSubscriptions: ['example.com'] };
const MARY: SignedIdentity = { login: 'mary', userId: '21', role: 'customer', permittedSubscriptions: ['other.org'] };
const ADMIN: SignedIdentity = { login: 'admin', userId: '1', role: 'admin' };
const ALICE_URL = `/api/v1/mailboxes/${encodeURIComponent('alice@example.com')}`;

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let api: BridgeClient;

async function send(from: string): Promise<SmtpResult> {
  return postfix.sendMail({ from, to: ['someone@remote.test'], subject: `from ${from}` });
}

beforeAll(async () => {
  postfix = await startWiredPostfix();

  const dataDir = await preparedDataDir(exampleDirectory(), ['--enabled', 'on', '--mailbox-limit', '3', '--domain-limit', '5', '--subscription-limit', '8', '--over-limit-action', 'defer']);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);

  const secret = readBridgeSecret(dataDir);
  if (!secret) throw new Error(`the daemon did not create ${dataDir}/bridge.secret:\n${daemon.log}`);
  api = new BridgeClient(secret, { socketPath: apiSocketPath(dataDir) });
});

afterAll(async () => {
  await daemon?.stop();
  await postfix?.stop();
});

describe('limits set through the API, enforced by a real Postfix', () => {
  it('customer jdoe caps alice at 2: the third message is deferred, the API shows it, and "default" lets her send again', async () => {
    const set = await api.as(JDOE).request('PUT', `${ALICE_URL}/limit`, { limit: 2 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ name: 'alice@example.com', ownLimit: 2, effectiveLimit: 2, limitSource: 'own' });

    expectAccepted(await send('alice@example.com'));
    expectAccepted(await send('alice@example.com'));
    expectDeferred(await send('alice@example.com'), /Outgoing limit of 2 messages\/hour for mailbox alice@example\.com reached; try again in (59|60) minutes$/);

    const row = await api.as(JDOE).request('GET', ALICE_URL);
    expect(row.status).toBe(200);
    expect(row.body as ObjectRow).toMatchObject({ used: 2, blocked: true, effectiveLimit: 2 });
    expect((row.body as ObjectRow).freesInSeconds).toBeGreaterThan(3500);

    const events = await api.as(JDOE).request('GET', '/api/v1/events?level=mailbox&name=alice@example.com');
    expect(events.status).toBe(200);
    expect((events.body as { items: OverLimitEvent[] }).items).toEqual([
      expect.objectContaining({ level: 'mailbox', objectName: 'alice@example.com', sender: 'alice@example.com', action: 'defer' }),
    ]);
    // Another customer sees neither the mailbox nor its events.
    expect((await api.as(MARY).request('GET', ALICE_URL)).status).toBe(404);
    expect(((await api.as(MARY).request('GET', '/api/v1/events')).body as { items: unknown[] }).items).toEqual([]);

    const reset = await api.as(ADMIN).request('PUT', `${ALICE_URL}/limit`, { limit: 'default' });
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body).toMatchObject({ ownLimit: 'default', effectiveLimit: 3, limitSource: 'default', used: 2, blocked: false });

    expectAccepted(await send('alice@example.com'));
    expectDeferred(await send('alice@example.com'), /Outgoing limit of 3 messages\/hour for mailbox alice@example\.com reached/);
    expectAccepted(await send('bob@example.com'));

    const audit = await api.as(ADMIN).request('GET', '/api/v1/audit?level=mailbox&name=alice@example.com');
    expect((audit.body as { items: AuditRow[] }).items.map((r) => [r.actorLogin, r.actorRole, r.oldValue, r.newValue])).toEqual([
      ['admin', 'admin', 2, 'default'],
      ['jdoe', 'customer', 'default', 2],
    ]);
  });

  it('a customer cannot lift a mailbox above its domain through the socket either', async () => {
    const before = ((await api.as(JDOE).request('GET', ALICE_URL)).body as ObjectRow).ownLimit;
    const refused = await api.as(JDOE).request('PUT', `${ALICE_URL}/limit`, { limit: 6 });
    expect(refused).toEqual({
      status: 400,
      body: {
        error: 'The value must be in the range 0...5. Only the administrator can raise it.',
        fields: { limit: 'The value must be in the range 0...5. Only the administrator can raise it.' },
        code: 'aboveCeiling',
        params: { max: 5 },
      },
    });
    expect(((await api.as(JDOE).request('GET', ALICE_URL)).body as ObjectRow).ownLimit).toBe(before);
  });
});
