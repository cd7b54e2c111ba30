import Fastify, { type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../store/database.js';
import type { Identity } from '../identity.js';
import { registerAuthentication } from './authenticate.js';
import './fastify-augment.js';
import { registerSessionRoutes, sessionIdentityFromDb } from './session-routes.js';
import { LoginThrottle, SessionStore } from './sessions.js';
import { newNonce, signRequest } from './signature.js';
import { addUser, removeUser } from './users-store.js';

const secret = randomBytes(32);
const NOW_MS = 1_700_000_000_000;

/** The server's contract, in miniature: a JSON parser that keeps the raw bytes, then authentication, then routes. */
function buildApp(db: Db, throttle = new LoginThrottle()): { app: FastifyInstance; sessions: SessionStore } {
  const app = Fastify();
  const sessions = new SessionStore();
  app.decorateRequest('rawBody', null as unknown as Buffer);
  app.addHook('onRequest', async (request) => {
    request.rawBody = Buffer.alloc(0);
  });
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch {
      done(Object.assign(new Error('the body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    void reply.code(error.statusCode ?? 500).send({ error: error.message });
  });
  registerAuthentication(app, { secret, sessions, log: app.log, nowMs: () => NOW_MS, refreshSessionIdentity: sessionIdentityFromDb(db) });
  registerSessionRoutes(app, { db, sessions, throttle });
  app.get('/api/v1/health', { config: { public: true } }, async (request) => ({ ok: true, identity: shown(request.identity) }));
  app.get('/api/v1/whoami', async (request) => ({ identity: shown(request.identity) }));
  app.post('/api/v1/echo', async (request) => ({ identity: shown(request.identity), body: request.body }));
  return { app, sessions };
}

/** The identity as JSON: a Set would show as {}. */
function shown(identity: Identity | null) {
  if (!identity?.permittedSubscriptions) return identity;
  return { ...identity, permittedSubscriptions: [...identity.permittedSubscriptions].sort() };
}

function cookieOf(response: { headers: Record<string, unknown> }): string {
  const header = response.headers['set-cookie'];
  const first = Array.isArray(header) ? String(header[0]) : String(header);
  return first.split(';')[0]!;
}

describe('authentication through fastify', () => {
  let db: Db;
  let app: FastifyInstance;
  let sessions: SessionStore;

  beforeAll(async () => {
    db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'oml-auth-')));
    await addUser(db, { login: 'alice', role: 'reseller', password: 'alice-password' });
    ({ app, sessions } = buildApp(db));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    db.close();
  });

  async function login(name = 'alice', password = 'alice-password') {
    return app.inject({ method: 'POST', url: '/api/v1/session', payload: { login: name, password } });
  }

  it('public routes answer without identity; protected routes answer 401', async () => {
    const health = await app.inject({ method: 'GET', url: '/api/v1/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ ok: true, identity: null });
    for (const request of [
      { method: 'GET', url: '/api/v1/whoami' },
      { method: 'POST', url: '/api/v1/echo', payload: { a: 1 } },
      { method: 'GET', url: '/api/v1/session' },
      { method: 'GET', url: '/api/v1/no-such-route' },
    ] as const) {
      const response = await app.inject(request);
      expect(response.statusCode, request.url).toBe(401);
      expect(response.json()).toEqual({ error: 'authentication required' });
    }
  });

  it('logs in with a cookie; reads need no CSRF token, writes need the right one; logout ends the session', async () => {
    const response = await login();
    expect(response.statusCode).toBe(200);
    const body = response.json<{ login: string; role: string; csrfToken: string }>();
    expect(body).toEqual({ login: 'alice', role: 'reseller', csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/^oml_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = cookieOf(response);

    const me = await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } });
    expect(me.json()).toEqual({ login: 'alice', role: 'reseller', csrfToken: body.csrfToken, via: 'session' });
    const whoami = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } });
    expect(whoami.json()).toEqual({ identity: { login: 'alice', role: 'reseller', userId: expect.any(String), via: 'session' } });

    const noToken = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { cookie }, payload: { a: 1 } });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json()).toEqual({ error: 'missing or wrong CSRF token' });
    const wrongToken = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { cookie, 'x-csrf-token': 'nope' }, payload: { a: 1 } });
    expect(wrongToken.statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { cookie, 'x-csrf-token': body.csrfToken }, payload: { a: 1 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ identity: { login: 'alice', via: 'session' }, body: { a: 1 } });

    const logoutWithoutToken = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie } });
    expect(logoutWithoutToken.statusCode).toBe(403);
    const logout = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: { cookie, 'x-csrf-token': body.csrfToken } });
    expect(logout.statusCode).toBe(204);
    expect(String(logout.headers['set-cookie'])).toMatch(/^oml_session=; Max-Age=0; Path=\//);
    const after = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } });
    expect(after.statusCode).toBe(401);
  });

  it('a stale cookie without CSRF token does not block logging in again', async () => {
    const first = cookieOf(await login());
    const again = await app.inject({ method: 'POST', url: '/api/v1/session', headers: { cookie: first }, payload: { login: 'alice', password: 'alice-password' } });
    expect(again.statusCode).toBe(200);
    expect(cookieOf(again)).not.toBe(first);
  });

  it('marks the cookie Secure when the request came over https', async () => {
    const httpsApp = Fastify({ trustProxy: true });
    registerAuthentication(httpsApp, { secret, sessions: new SessionStore(), log: httpsApp.log });
    registerSessionRoutes(httpsApp, { db, sessions: new SessionStore(), throttle: new LoginThrottle() });
    const response = await httpsApp.inject({
      method: 'POST',
      url: '/api/v1/session',
      headers: { 'x-forwarded-proto': 'https' },
      payload: { login: 'alice', password: 'alice-password' },
    });
    expect(String(response.headers['set-cookie'])).toContain('; Secure');
    await httpsApp.close();
  });

  it('answers wrong login and wrong password alike, and 400 with fields for a bad shape', async () => {
    for (const [name, password] of [['alice', 'wrong'], ['nobody', 'alice-password']] as const) {
      const response = await login(name, password);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ error: 'wrong login or password' });
    }
    const extra = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'alice', password: 'x', admin: true } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toEqual({ error: 'invalid login request', fields: { admin: 'unknown field' } });
    const missing = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'alice' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ fields: { password: expect.any(String) } });
    const notAnObject = await app.inject({ method: 'POST', url: '/api/v1/session', payload: [] });
    expect(notAnObject.statusCode).toBe(400);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await app.inject({ method: 'POST', url: '/api/v1/session', headers: { 'content-type': 'application/json' }, payload: '{"login":' });
    expect(response.statusCode).toBe(400);
  });

  it('after 5 failed logins answers 429 with Retry-After, even for the right password', async () => {
    const { app: throttled } = buildApp(db, new LoginThrottle());
    await addUser(db, { login: 'bob', role: 'customer', password: 'bob-password' });
    for (let i = 0; i < 5; i++) {
      const response = await throttled.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'bob', password: `guess${i}` } });
      expect(response.statusCode).toBe(401);
    }
    const blocked = await throttled.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'bob', password: 'bob-password' } });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    expect(blocked.json()).toEqual({ error: expect.stringContaining('too many failed logins') });
    await throttled.close();
  });

  it('counts each attempt before its password is checked: 300 parallel guesses get 5 checks, the rest 429', async () => {
    const { app: throttled } = buildApp(db, new LoginThrottle());
    await addUser(db, { login: 'dave', role: 'customer', password: 'dave-password' });
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => throttled.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'dave', password: `guess${i}` } })),
    );
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(295);
    await throttled.close();
  });

  it('30 parallel wrong passwords then the right one: the right one is refused too, nobody is logged in', async () => {
    const { app: throttled } = buildApp(db, new LoginThrottle());
    await addUser(db, { login: 'erin', role: 'customer', password: 'erin-password' });
    const wrong = Array.from({ length: 30 }, (_, i) => throttled.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'erin', password: `guess${i}` } }));
    const right = throttled.inject({ method: 'POST', url: '/api/v1/session', payload: { login: 'erin', password: 'erin-password' } });
    const answers = await Promise.all([...wrong, right]);
    expect(answers.filter((a) => a.statusCode !== 429)).toHaveLength(5);
    expect((await right).statusCode).toBe(429);
    await throttled.close();
  });

  it('5 failed logins of one login from 127.0.0.1 do not lock another login out from that address', async () => {
    const { app: throttled } = buildApp(db, new LoginThrottle());
    await addUser(db, { login: 'frank', role: 'customer', password: 'frank-password' });
    for (let i = 0; i < 5; i++) {
      const response = await throttled.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: '127.0.0.1', payload: { login: 'mallory', password: `guess${i}` } });
      expect(response.statusCode).toBe(401);
    }
    const mallory = await throttled.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: '127.0.0.1', payload: { login: 'mallory', password: 'guess5' } });
    expect(mallory.statusCode).toBe(429);
    const frank = await throttled.inject({ method: 'POST', url: '/api/v1/session', remoteAddress: '127.0.0.1', payload: { login: 'frank', password: 'frank-password' } });
    expect(frank.statusCode).toBe(200);
    await throttled.close();
  });

  it('ends the session of a user removed from the store', async () => {
    await addUser(db, { login: 'carol', role: 'customer', password: 'carol-password' });
    const cookie = cookieOf(await login('carol', 'carol-password'));
    expect((await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } })).statusCode).toBe(200);
    removeUser(db, 'carol');
    expect((await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { cookie } })).statusCode).toBe(401);
    expect(sessions.size).toBeGreaterThan(0);
  });

  describe('Plesk-signed requests', () => {
    function signed(
      method: 'GET' | 'POST',
      url: string,
      body: string,
      who: { login: string; userId: string; role: 'admin' | 'reseller' | 'customer'; permittedSubscriptions?: string[] },
      timestampSeconds = NOW_MS / 1000,
    ) {
      return signRequest(secret, { method, path: url, body: Buffer.from(body), ...who, timestampSeconds, nonce: newNonce() });
    }

    it('a signed GET and POST carry the Plesk identity, without cookie or CSRF token', async () => {
      const who = { login: 'jdoe', userId: '7', role: 'customer' } as const;
      const get = await app.inject({ method: 'GET', url: '/api/v1/whoami?x=1', headers: signed('GET', '/api/v1/whoami?x=1', '', who) });
      expect(get.statusCode).toBe(200);
      // A Plesk customer always carries the list of subscriptions with the limits permission: here none.
      expect(get.json()).toEqual({ identity: { login: 'jdoe', role: 'customer', userId: '7', via: 'plesk', permittedSubscriptions: [] } });

      const payload = '{"a": 1}';
      const post = await app.inject({ method: 'POST', url: '/api/v1/echo', headers: { ...signed('POST', '/api/v1/echo', payload, who), 'content-type': 'application/json' }, payload });
      expect(post.statusCode).toBe(200);
      expect(post.json()).toEqual({ identity: { login: 'jdoe', role: 'customer', userId: '7', via: 'plesk', permittedSubscriptions: [] }, body: { a: 1 } });

      const permitted = { ...who, permittedSubscriptions: ['example.com', 'example.net'] };
      const withList = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: signed('GET', '/api/v1/whoami', '', permitted) });
      expect(withList.json()).toEqual({ identity: { login: 'jdoe', role: 'customer', userId: '7', via: 'plesk', permittedSubscriptions: ['example.com', 'example.net'] } });

      const me = await app.inject({ method: 'GET', url: '/api/v1/session', headers: signed('GET', '/api/v1/session', '', who) });
      expect(me.json()).toEqual({ login: 'jdoe', role: 'customer', csrfToken: null, via: 'plesk' });
    });

    it('the local command signs as root with an empty user id', async () => {
      const response = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: signed('GET', '/api/v1/whoami', '', { login: 'root', userId: '', role: 'admin' }) });
      expect(response.json()).toEqual({ identity: { login: 'root', role: 'admin', userId: null, via: 'local' } });
    });

    it('a bad signature answers 401 with the reason, also on public routes', async () => {
      const who = { login: 'jdoe', userId: '7', role: 'customer' } as const;
      const headers = { ...signed('POST', '/api/v1/echo', '{"a":1}', who), 'content-type': 'application/json' };
      const tampered = await app.inject({ method: 'POST', url: '/api/v1/echo', headers, payload: '{"a":2}' });
      expect(tampered.statusCode).toBe(401);
      expect(tampered.json()).toEqual({ error: 'bad signature' });

      const old = await app.inject({ method: 'GET', url: '/api/v1/health', headers: signed('GET', '/api/v1/health', '', who, NOW_MS / 1000 - 61) });
      expect(old.statusCode).toBe(401);
      expect(old.json()).toEqual({ error: 'signature expired' });

      const fresh = signed('GET', '/api/v1/whoami', '', who);
      expect((await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: fresh })).statusCode).toBe(200);
      const replay = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: fresh });
      expect(replay.json()).toEqual({ error: 'nonce already used (replayed request)' });

      const { 'X-OML-Nonce': _nonce, ...withoutNonce } = signed('GET', '/api/v1/whoami', '', who);
      const missing = await app.inject({ method: 'GET', url: '/api/v1/whoami', headers: withoutNonce });
      expect(missing.statusCode).toBe(401);
      expect(missing.json()).toEqual({ error: 'missing header X-OML-Nonce' });
    });
  });
});
