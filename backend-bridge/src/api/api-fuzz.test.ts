import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, JDOE, RES1, type Caller } from '../../test-support/api-harness.js';
import { exampleDirectory } from '../../test-support/directory-fixture.js';

/**
 * Property-based fuzzing of what the API takes in: bodies of the write endpoints, names in paths, query strings.
 * Whatever arrives: never a 500, every refusal in the API's shape, and a refused request changes nothing in the
 * store. Runs are bounded (fast-check's seed is printed on failure, to replay it).
 */

const RUNS = 60;
const callers = fc.constantFrom<Caller>(ADMIN, RES1, JDOE);

/** Keys the write bodies know, and a few that must never do anything. */
const KNOWN_KEYS = [
  'limit', 'level', 'names', 'enabled', 'defaults', 'countingUnit', 'customersMayChangeLimits', 'overLimitAction', 'notifications',
  'subscriptions', 'domains', 'mailboxes', 'delete', 'name', 'owner', 'reseller', 'systemUser', 'previousName', 'previousAddress',
  'subscription', 'address', 'plan', 'force', 'mailbox', 'domain', '__proto__', 'constructor', 'prototype',
];

/** A JSON value that looks like the API's bodies often enough to get past the outer checks. */
const nearValid: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e9, 1e9 + 1, Number.MAX_SAFE_INTEGER, 'unlimited', 'default', '', 'example.com', 'alice@example.com', 'jdoe'),
    fc.integer(),
    fc.double(),
    fc.string({ unit: 'grapheme' }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string()), tie('value'), { maxKeys: 5 }),
  ),
})).value;

const anyBody = fc.oneof(nearValid, fc.jsonValue({ maxDepth: 4 }));

const WRITE_ENDPOINTS: Array<{ method: string; url: string }> = [
  { method: 'PUT', url: '/api/v1/mailboxes/alice@example.com/limit' },
  { method: 'PUT', url: '/api/v1/domains/example.com/limit' },
  { method: 'PUT', url: '/api/v1/subscriptions/example.com/limit' },
  { method: 'POST', url: '/api/v1/limits/bulk' },
  { method: 'PATCH', url: '/api/v1/settings' },
  { method: 'PUT', url: '/api/v1/directory' },
  { method: 'POST', url: '/api/v1/directory/sync' },
  { method: 'PUT', url: '/api/v1/directory/subscriptions/example.com' },
  { method: 'PUT', url: '/api/v1/directory/domains/example.net' },
  { method: 'PUT', url: '/api/v1/directory/mailboxes/erin@example.net' },
  { method: 'PUT', url: '/api/v1/directory/contacts/jdoe' },
];

function describeAnswer(response: LightMyRequestResponse): string {
  return `${response.statusCode} ${response.body.slice(0, 300)}`;
}

/** The invariants of every answer; `before` is the store as it was before the request. */
function checkAnswer(h: ApiHarness, response: LightMyRequestResponse, before: unknown): void {
  // 502 is a refusal too: held mail's queue operations need a Postfix, which these tests do not run.
  expect([500, 501, 503, 504], describeAnswer(response)).not.toContain(response.statusCode);
  if (response.statusCode < 400) return;
  expect(response.headers['content-type'], describeAnswer(response)).toMatch(/^application\/json/);
  const body = response.json() as Record<string, unknown>;
  expect(typeof body.error, describeAnswer(response)).toBe('string');
  expect(Object.keys(body).filter((key) => !['error', 'fields', 'code', 'params'].includes(key)), describeAnswer(response)).toEqual([]);
  if (body.fields !== undefined) {
    expect(typeof body.fields).toBe('object');
    expect(Object.values(body.fields as object).every((message) => typeof message === 'string'), describeAnswer(response)).toBe(true);
  }
  expect(h.storeState(), `a refused request changed the store: ${describeAnswer(response)}`).toEqual(before);
}

describe('API fuzzing: never a 500, always the error shape, nothing changed by a refusal', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await ApiHarness.start({ heldWithoutPostfix: true });
    h.recordHeld('AAAAAA1', 'alice@example.com');
  });
  afterAll(() => h.close());

  it('arbitrary JSON bodies on every write endpoint', async () => {
    await fc.assert(
      fc.asyncProperty(callers, fc.constantFrom(...WRITE_ENDPOINTS), anyBody, async (caller, endpoint, body) => {
        const before = h.storeState();
        const response = await h.request(caller, endpoint.method, endpoint.url, body === undefined ? null : body);
        checkAnswer(h, response, before);
        // A body that happened to be a valid (say empty) directory: put the example back for the next runs.
        if (response.statusCode === 200 && endpoint.url === '/api/v1/directory') expect((await h.request(ADMIN, 'PUT', '/api/v1/directory', exampleDirectory())).statusCode).toBe(200);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('bodies that are not JSON, or not what the Content-Type says', async () => {
    const contentTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded');
    await fc.assert(
      fc.asyncProperty(callers, fc.constantFrom(...WRITE_ENDPOINTS), fc.string({ unit: 'binary', maxLength: 200 }), contentTypes, async (caller, endpoint, raw, contentType) => {
        const before = h.storeState();
        checkAnswer(h, await h.request(caller, endpoint.method, endpoint.url, undefined, { raw, contentType }), before);
      }),
      { numRuns: RUNS },
    );
  });

  /** A name as a path segment: percent-encoded when it can be, else sent as is (stray %, bad escapes). */
  const segment = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 400 }).map((name) => encodeURIComponent(name)),
    fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((name) => name.replace(/[\s/?#]/g, '')),
    fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '..', '.', '%2e%2e', 'a%00b', 'x'.repeat(2000)),
  );

  it('arbitrary names in every path that takes one', async () => {
    const routes = fc.constantFrom(
      (name: string) => ({ method: 'GET', url: `/api/v1/mailboxes/${name}` }),
      (name: string) => ({ method: 'GET', url: `/api/v1/domains/${name}` }),
      (name: string) => ({ method: 'GET', url: `/api/v1/subscriptions/${name}` }),
      (name: string) => ({ method: 'PUT', url: `/api/v1/mailboxes/${name}/limit`, body: { limit: 1 } }),
      (name: string) => ({ method: 'PUT', url: `/api/v1/domains/${name}/limit`, body: { limit: 1 } }),
      (name: string) => ({ method: 'POST', url: `/api/v1/mailboxes/${name}/compromised` }),
      (name: string) => ({ method: 'DELETE', url: `/api/v1/mailboxes/${name}/compromised` }),
      (name: string) => ({ method: 'PUT', url: `/api/v1/directory/subscriptions/${name}`, body: { owner: 'jdoe' } }),
      (name: string) => ({ method: 'PUT', url: `/api/v1/directory/domains/${name}`, body: { subscription: 'example.com' } }),
      (name: string) => ({ method: 'PUT', url: `/api/v1/directory/mailboxes/${name}`, body: {} }),
      (name: string) => ({ method: 'DELETE', url: `/api/v1/directory/subscriptions/${name}` }),
      (name: string) => ({ method: 'DELETE', url: `/api/v1/directory/domains/${name}` }),
      (name: string) => ({ method: 'DELETE', url: `/api/v1/directory/mailboxes/${name}` }),
      (name: string) => ({ method: 'PUT', url: `/api/v1/directory/contacts/${name}`, body: { address: 'x@example.com' } }),
      (name: string) => ({ method: 'GET', url: `/api/v1/held/${name}` }),
      (name: string) => ({ method: 'DELETE', url: `/api/v1/held/${name}` }),
    );
    await fc.assert(
      fc.asyncProperty(callers, routes, segment, async (caller, route, name) => {
        const { method, url, body } = route(name) as { method: string; url: string; body?: unknown };
        const before = h.storeState();
        checkAnswer(h, await h.request(caller, method, url, body), before);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('arbitrary cookies and CSRF tokens, without a signature', async () => {
    // Header values as Node accepts them: printable ASCII and tabs.
    const headerValue = fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).map((value) => value.replace(/[^\t\x20-\x7e]/g, ''));
    const cookie = fc.oneof(headerValue, headerValue.map((value) => `oml_session=${value}`), fc.constantFrom('oml_session=', 'oml_session=%', 'oml_session=%E0%A4%A; x=y', ';;;', '=', 'oml_session="'));
    const requests = fc.constantFrom(
      { method: 'GET', url: '/api/v1/session' },
      { method: 'DELETE', url: '/api/v1/session' },
      { method: 'GET', url: '/api/v1/mailboxes' },
      { method: 'PUT', url: '/api/v1/mailboxes/alice@example.com/limit', body: { limit: 1 } },
      { method: 'POST', url: '/api/v1/session', body: { login: 'nobody', password: 'x' } },
    );
    await fc.assert(
      fc.asyncProperty(requests, cookie, headerValue, async (request, cookieHeader, csrf) => {
        const before = h.storeState();
        const response = await h.request(null, request.method, request.url, request.body, { headers: { cookie: cookieHeader, 'X-CSRF-Token': csrf } });
        checkAnswer(h, response, before);
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary query strings on every endpoint that takes one', async () => {
    const key = fc.oneof(fc.constantFrom('search', 'subscription', 'domain', 'blocked', 'sort', 'order', 'page', 'pageSize', 'level', 'name', 'limit', 'hours', 'before', 'status', '__proto__'), fc.string({ maxLength: 10 }));
    const value = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.constantFrom('0', '-1', '1e3', '1000001', 'NaN', 'true', 'mailbox', 'desc', 'all', '7d', '31d', '32d', 'csv'));
    const query = fc.array(fc.tuple(key, value), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
    const rawQuery = fc.constantFrom('%', 'a=%zz', 'page=1&page=2', 'level=mailbox&level=domain', '&&&', '=x', 'name');
    const paths = fc.constantFrom('/api/v1/mailboxes', '/api/v1/domains', '/api/v1/subscriptions', '/api/v1/events', '/api/v1/stats', '/api/v1/report', '/api/v1/audit', '/api/v1/held', '/api/v1/compromised', '/api/v1/settings');
    await fc.assert(
      fc.asyncProperty(callers, paths, fc.oneof(query, rawQuery), async (caller, path, search) => {
        const before = h.storeState();
        checkAnswer(h, await h.get(caller, `${path}?${search}`), before);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
