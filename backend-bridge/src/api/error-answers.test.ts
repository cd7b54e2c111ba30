import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, JDOE } from '../../test-support/api-harness.js';
import { addUser } from './auth/users-store.js';
import { apiSocketPath, buildApi, listenApi, MAX_BODY_BYTES, MAX_HEADER_BYTES } from './server.js';

/**
 * Every refusal, whoever makes it (a route, fastify, the static files, Node's HTTP parser), answers
 * `{"error": sentence, "fields"?: {...}}`, and the OpenAPI document lists its status for that operation.
 */

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

interface Case {
  what: string;
  status: number;
  /** The operation whose document must list the status ("GET /api/v1/..."), or null for a path that is no operation. */
  operation: string | null;
  send: () => Promise<Answer>;
}

type Document = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

const answer = (response: LightMyRequestResponse): Answer => ({ status: response.statusCode, contentType: response.headers['content-type'] as string | undefined, body: response.body });

/** One request over the daemon's unix socket, as raw bytes: what Node's parser answers never reaches fastify's inject. */
function rawRequest(socketPath: string, bytes: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const contentType = /^content-type: (.*)$/im.exec(head)?.[1];
      resolve({ status, contentType, body });
    });
    socket.end(bytes);
  });
}

function expectApiShape(what: string, got: Answer, status: number): void {
  expect(got.status, `${what}: ${got.status} ${got.body.slice(0, 300)}`).toBe(status);
  expect(got.contentType, what).toMatch(/^application\/json/);
  const body = JSON.parse(got.body) as Record<string, unknown>;
  expect(typeof body.error, `${what}: ${got.body}`).toBe('string');
  expect((body.error as string).length, what).toBeGreaterThan(5);
  expect(Object.keys(body).filter((key) => !['error', 'fields', 'code', 'params'].includes(key)), `${what}: ${got.body}`).toEqual([]);
  if (body.fields !== undefined) expect(Object.values(body.fields as object).every((v) => typeof v === 'string'), what).toBe(true);
  // A code always comes with its facts, so a screen can say it in its own words.
  if (body.code !== undefined) expect([typeof body.code, typeof body.params], `${what}: ${got.body}`).toEqual(['string', 'object']);
}

describe('every refusal has the API shape, and the document lists its status', () => {
  let h: ApiHarness;
  let withUi: FastifyInstance;
  let document: Document;
  let socketDir: string;

  beforeAll(async () => {
    h = await ApiHarness.start({ heldWithoutPostfix: true });
    await addUser(h.db, { login: 'standalone', role: 'admin', password: 'standalone-password' });
    const uiDir = mkdtempSync(path.join(os.tmpdir(), 'oml-ui-'));
    writeFileSync(path.join(uiDir, 'index.html'), '<!doctype html><title>app</title>');
    withUi = buildApi(h.context, { secret: h.secret, version: '0.0.0-test', uiDir });
    await withUi.ready();
    socketDir = mkdtempSync(path.join(os.tmpdir(), 'oml-sock-'));
    await listenApi(h.app, apiSocketPath(socketDir), null);
    document = (await h.get(null, '/api/v1/openapi.json')).json() as Document;
  });
  afterAll(async () => {
    await withUi.close();
    await h.close();
  });

  const login = async () => {
    const response = await h.request(null, 'POST', '/api/v1/session', { login: 'standalone', password: 'standalone-password' });
    return String(response.headers['set-cookie']).split(';')[0]!;
  };

  const cases: Case[] = [
    { what: 'a body field of the wrong type', status: 400, operation: 'PUT /api/v1/mailboxes/{name}/limit', send: async () => answer(await h.request(ADMIN, 'PUT', '/api/v1/mailboxes/alice@example.com/limit', { limit: -1 })) },
    { what: 'a query parameter out of range', status: 400, operation: 'GET /api/v1/mailboxes', send: async () => answer(await h.get(ADMIN, '/api/v1/mailboxes?pageSize=0')) },
    { what: 'a path that is not valid percent-encoded UTF-8', status: 400, operation: 'GET /api/v1/mailboxes/{name}', send: async () => answer(await h.get(ADMIN, '/api/v1/mailboxes/%E0%A4%A')) },
    { what: 'invalid JSON', status: 400, operation: 'PATCH /api/v1/settings', send: async () => answer(await h.request(ADMIN, 'PATCH', '/api/v1/settings', undefined, { raw: '{"enabled":' })) },
    { what: 'no identity', status: 401, operation: 'GET /api/v1/settings', send: async () => answer(await h.get(null, '/api/v1/settings')) },
    { what: 'a bad signature', status: 401, operation: 'GET /api/v1/mailboxes', send: async () => answer(await h.get(ADMIN, '/api/v1/mailboxes', { headers: { 'X-OML-Signature': '0'.repeat(64) } })) },
    { what: 'a wrong password', status: 401, operation: 'POST /api/v1/session', send: async () => answer(await h.request(null, 'POST', '/api/v1/session', { login: 'standalone', password: 'wrong' })) },
    { what: 'a customer changing settings', status: 403, operation: 'PATCH /api/v1/settings', send: async () => answer(await h.request(JDOE, 'PATCH', '/api/v1/settings', { enabled: false })) },
    {
      what: 'a session write without its CSRF token',
      status: 403,
      operation: 'PUT /api/v1/mailboxes/{name}/limit',
      send: async () => answer(await h.request(null, 'PUT', '/api/v1/mailboxes/alice@example.com/limit', { limit: 1 }, { headers: { cookie: await login() } })),
    },
    { what: 'a static path the files refuse (NUL byte)', status: 403, operation: null, send: async () => answer(await withUi.inject({ method: 'GET', url: '/a%00b' })) },
    { what: 'an unknown object', status: 404, operation: 'GET /api/v1/mailboxes/{name}', send: async () => answer(await h.get(ADMIN, '/api/v1/mailboxes/nobody@example.com')) },
    { what: 'an unknown endpoint', status: 404, operation: null, send: async () => answer(await h.get(ADMIN, '/api/v1/nothing-here')) },
    { what: 'an unknown file of the standalone UI', status: 404, operation: null, send: async () => answer(await withUi.inject({ method: 'GET', url: '/assets/nope.js' })) },
    {
      what: 'a sync naming a missing parent',
      status: 409,
      operation: 'PUT /api/v1/directory/domains/{name}',
      send: async () => answer(await h.request(ADMIN, 'PUT', '/api/v1/directory/domains/new.test', { subscription: 'missing.test' })),
    },
    {
      what: 'a release without budget',
      status: 409,
      operation: 'POST /api/v1/held/{queueId}/release',
      send: async () => {
        h.sendMany('bob@example.com', 3); // bob's hourly 3 spent
        h.recordHeld('BOBHELD1', 'bob@example.com');
        return answer(await h.request(ADMIN, 'POST', '/api/v1/held/BOBHELD1/release', {}));
      },
    },
    {
      what: 'a mailbox marked compromised twice',
      status: 409,
      operation: 'POST /api/v1/mailboxes/{name}/compromised',
      send: async () => {
        await h.request(ADMIN, 'POST', '/api/v1/mailboxes/carol@example.com/compromised');
        return answer(await h.request(ADMIN, 'POST', '/api/v1/mailboxes/carol@example.com/compromised'));
      },
    },
    {
      what: 'a body over the limit',
      status: 413,
      operation: 'PUT /api/v1/directory',
      send: async () => answer(await h.request(ADMIN, 'PUT', '/api/v1/directory', undefined, { raw: `{"subscriptions":[${'0,'.repeat(MAX_BODY_BYTES / 2)}0]}` })),
    },
    { what: 'a name over the path limit', status: 414, operation: 'GET /api/v1/mailboxes/{name}', send: async () => answer(await h.get(ADMIN, `/api/v1/mailboxes/${'x'.repeat(1100)}`)) },
    {
      what: 'a body that is not JSON',
      status: 415,
      operation: 'PUT /api/v1/mailboxes/{name}/limit',
      send: async () => answer(await h.request(ADMIN, 'PUT', '/api/v1/mailboxes/alice@example.com/limit', undefined, { raw: '<limit>1</limit>', contentType: 'application/xml' })),
    },
    {
      what: 'too many failed logins',
      status: 429,
      operation: 'POST /api/v1/session',
      send: async () => {
        for (let i = 0; i < 5; i++) await h.request(null, 'POST', '/api/v1/session', { login: 'guessed', password: `guess${i}` });
        return answer(await h.request(null, 'POST', '/api/v1/session', { login: 'guessed', password: 'guess5' }));
      },
    },
    {
      what: 'a URL larger than the header limit',
      status: 431,
      operation: 'GET /api/v1/mailboxes',
      send: () => rawRequest(apiSocketPath(socketDir), `GET /api/v1/mailboxes?search=${'x'.repeat(MAX_HEADER_BYTES)} HTTP/1.1\r\nHost: localhost\r\n\r\n`),
    },
    { what: 'a request Node cannot parse', status: 400, operation: 'GET /api/v1/mailboxes', send: () => rawRequest(apiSocketPath(socketDir), 'GET /api/v1/mailboxes HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n') },
    {
      what: 'Postfix cannot be asked',
      status: 502,
      operation: 'DELETE /api/v1/held/{queueId}',
      send: async () => {
        h.recordHeld('DAVEHELD1', 'dave@example.com');
        return answer(await h.request(ADMIN, 'DELETE', '/api/v1/held/DAVEHELD1'));
      },
    },
  ];

  for (const c of cases) {
    it(`${c.status}: ${c.what}`, async () => {
      expectApiShape(c.what, await c.send(), c.status);
      if (!c.operation) return;
      const [method = '', route = ''] = c.operation.split(' ');
      const responses = document.paths[route]?.[method.toLowerCase()]?.responses;
      expect(responses, `${c.operation} is in the document`).toBeDefined();
      expect(Object.keys(responses ?? {}), `${c.operation} lists ${c.status}`).toContain(String(c.status));
    });
  }

  it('500: an internal failure says only that, in the shape', async () => {
    const broken = await ApiHarness.start();
    broken.db.close(); // every read of the store now fails
    expectApiShape('store closed', answer(await broken.get(ADMIN, '/api/v1/audit')), 500);
    expect(Object.keys(document.paths['/api/v1/audit']?.get?.responses ?? {})).toContain('500');
    await broken.app.close();
  });

  it('the document lists the session endpoints and this document, as public where they are', () => {
    const operations = document.paths as Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
    expect(Object.keys(operations['/api/v1/session'] ?? {}).sort()).toEqual(['delete', 'get', 'post']);
    expect(operations['/api/v1/session']?.post?.security).toEqual([]);
    expect(Object.keys(operations['/api/v1/session']?.post?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '413', '415', '429']));
    expect(operations['/api/v1/openapi.json']?.get?.security).toEqual([]);
  });

  it('every operation lists 413 and 415 when it takes a body, 414 when it takes a name in the path', () => {
    for (const [route, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const statuses = Object.keys(operation.responses);
        expect(statuses, `${method} ${route}`).toEqual(expect.arrayContaining(['400', '401', '403', '404', '431', '500']));
        if (method !== 'get') expect(statuses, `${method} ${route}`).toEqual(expect.arrayContaining(['413', '415']));
        if (route.includes('{')) expect(statuses, `${method} ${route}`).toContain('414');
      }
    }
  });

  it('the standalone UI never serves a dotfile of its directory', async () => {
    const uiDir = mkdtempSync(path.join(os.tmpdir(), 'oml-ui-'));
    writeFileSync(path.join(uiDir, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(path.join(uiDir, '.env'), 'SECRET=1');
    const app = buildApi(h.context, { secret: h.secret, version: '0.0.0-test', uiDir });
    try {
      const response = await app.inject({ method: 'GET', url: '/.env' });
      expect(response.body).not.toContain('SECRET');
    } finally {
      await app.close();
    }
  });
});

// The TCP listener (standalone UI) is a plain Node server beside fastify: its parser refusals need the same answer.
describe('the loopback TCP listener answers parser refusals in the API shape too', () => {
  it('431 for a URL larger than the header limit', async () => {
    const h = await ApiHarness.start();
    const socketDir = mkdtempSync(path.join(os.tmpdir(), 'oml-sock-'));
    const { tcpServer, tcpPort } = await listenApi(h.app, apiSocketPath(socketDir), { host: '127.0.0.1', port: 0 });
    try {
      const got = await new Promise<Answer>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port: tcpPort!, path: `/api/v1/mailboxes?search=${'x'.repeat(MAX_HEADER_BYTES)}` }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], body }));
        });
        request.on('error', reject);
        request.end();
      });
      expectApiShape('TCP: URL too large', got, 431);
    } finally {
      tcpServer?.close();
      await h.close();
    }
  });
});
