import type { LightMyRequestResponse } from 'fastify';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, JDOE, MARY, RES1, RES2, type Caller, type HarnessOptions } from '../../test-support/api-harness.js';
import { exampleDirectory } from '../../test-support/directory-fixture.js';
import { counterKey } from '../core/directory.js';
import type { Level } from '../core/limits.js';
import type { ObjectPage, ObjectRow } from '../core/object-query.js';
import type { ServerSettings } from '../core/settings.js';
import { RollingWindowCounters } from '../counters/rolling-window.js';
import { HOUR_SECONDS } from '../enforcement/enforcer.js';
import { recordAudit, type AuditRow } from '../store/audit-store.js';
import type { HourBucket } from '../store/hourly-stats.js';
import type { OverLimitEvent } from '../store/over-limit-events.js';
import { newNonce } from './auth/signature.js';
import { addUser } from './auth/users-store.js';
import { MAX_BODY_BYTES } from './server.js';

/**
 * The bridge API in-process: buildApi on a throwaway store with the example directory (jdoe owns example.com
 * of reseller res1: example.com with alice, bob, carol, dave and example.net with erin; mary owns other.org with
 * mallory), a live Enforcer on a clock the tests move, and Plesk-signed requests through app.inject.
 * Server defaults unless a test says otherwise: mailbox 3, domain 5, subscription 8 per hour.
 */

// ---------------------------------------------------------------------------------------------------------
// Coverage: every answer is recorded as (method, route pattern, status); the last test compares with OpenAPI.

const hits = new Map<string, Set<number>>();
const openApiPath = (route: string) => route.replace(/:([A-Za-z]+)/g, '{$1}');

function recordHit(hit: { method: string; route: string; status: number }): void {
  const key = `${hit.method} ${openApiPath(hit.route)}`;
  let statuses = hits.get(key);
  if (!statuses) hits.set(key, (statuses = new Set()));
  statuses.add(hit.status);
}

function startHarness(options: HarnessOptions = {}): Promise<ApiHarness> {
  return ApiHarness.start({ ...options, onResponse: recordHit });
}

/** A fresh harness per test of the enclosing describe. */
function useHarness(options: HarnessOptions = {}): () => ApiHarness {
  let h: ApiHarness | null = null;
  beforeEach(async () => {
    h = await startHarness(options);
  });
  afterEach(async () => {
    await h?.close();
    h = null;
  });
  return () => {
    if (!h) throw new Error('harness not started');
    return h;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Shapes

type Json = Record<string, unknown>;

function json<T = Json>(response: LightMyRequestResponse): T {
  return response.json() as T;
}

function describeResponse(response: LightMyRequestResponse): string {
  return `${response.statusCode} ${response.body.slice(0, 400)}`;
}

function expectStatus(response: LightMyRequestResponse, status: number): void {
  expect(response.statusCode, describeResponse(response)).toBe(status);
}

/** An error answer: {error}, with {fields} or a {code, params} beside it; nothing else. */
function expectError(response: LightMyRequestResponse, status: number, fields?: Record<string, string | RegExp>): Json {
  expectStatus(response, status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = json(response);
  expect(typeof body.error).toBe('string');
  expect(Object.keys(body).every((k) => ['error', 'fields', 'code', 'params'].includes(k))).toBe(true);
  if ('code' in body) expect([typeof body.code, typeof body.params]).toEqual(['string', 'object']);
  if (fields) {
    expect(body.fields, describeResponse(response)).toBeTypeOf('object');
    const actual = body.fields as Record<string, string>;
    for (const [name, message] of Object.entries(fields)) {
      expect(actual[name], `field ${name} in ${response.body}`).toBeDefined();
      if (message instanceof RegExp) expect(actual[name]).toMatch(message);
      else expect(actual[name]).toBe(message);
    }
  }
  return body;
}

const limitValue = (v: unknown) => v === 'unlimited' || (typeof v === 'number' && Number.isInteger(v) && v >= 0);

function expectRow(row: unknown, level?: Level): asserts row is ObjectRow {
  const r = row as Json;
  expect(Object.keys(r).sort()).toEqual(
    [
      'blocked', 'ceiling', 'compromised', 'defaultLimit', 'domain', 'effectiveLimit', 'freesInSeconds', 'heldCount', 'level', 'limitSource', 'mayChangeLimit', 'name', 'overLimitCause', 'ownLimit', 'sending', 'subscription', 'used',
      'mayChooseDefault', 'mayChooseUnlimited', 'lockedBy', 'lockedByRole', 'lockedForYou', 'mayLock', 'daily', 'recipients',
      'exemption', 'mayExempt', 'anomaly',
    ].sort(),
  );
  // A row's exemption (exemptions.api.test.ts): null, or its values and end.
  expect(r.exemption === null || typeof (r.exemption as Json).endsAt === 'string').toBe(true);
  expect(typeof r.mayExempt).toBe('boolean');
  const daily = r.daily as Json;
  expect(Object.keys(daily).sort()).toEqual(
    ['blocked', 'ceiling', 'defaultLimit', 'effectiveLimit', 'freesInSeconds', 'limitSource', 'mayChooseDefault', 'mayChooseUnlimited', 'ownLimit', 'used'].sort(),
  );
  expect(daily.ownLimit === 'default' || limitValue(daily.ownLimit)).toBe(true);
  expect(limitValue(daily.effectiveLimit)).toBe(true);
  expect(limitValue(daily.defaultLimit)).toBe(true);
  expect(typeof daily.used).toBe('number');
  if (level) expect(r.level).toBe(level);
  expect(['subscription', 'domain', 'mailbox']).toContain(r.level);
  expect(typeof r.name).toBe('string');
  expect(typeof r.subscription).toBe('string');
  expect(r.domain === null || typeof r.domain === 'string').toBe(true);
  expect(r.ownLimit === 'default' || limitValue(r.ownLimit)).toBe(true);
  expect(limitValue(r.effectiveLimit)).toBe(true);
  expect(limitValue(r.defaultLimit)).toBe(true);
  expect(['own', 'plan', 'default']).toContain(r.limitSource);
  expect(typeof r.used).toBe('number');
  expect(typeof r.blocked).toBe('boolean');
  expect(typeof r.mayChangeLimit).toBe('boolean');
  expect(r.freesInSeconds === null || typeof r.freesInSeconds === 'number').toBe(true);
  expect(['sending', 'limitsOff', 'holding', 'deferring']).toContain((r.sending as Json).state);
  expect(typeof r.heldCount).toBe('number');
  expect(typeof r.compromised).toBe('boolean');
  expect([null, 'compromised', 'releasedByAdministrator', 'limitsOff', 'countedBefore']).toContain(r.overLimitCause);
  if (r.ceiling !== null) expect(r.ceiling).toEqual({ max: expect.any(Number), reason: expect.any(String), level: expect.any(String), name: expect.any(String) });
}

function expectPage(response: LightMyRequestResponse, level: Level): ObjectPage {
  expectStatus(response, 200);
  const page = json<ObjectPage>(response);
  expect(Object.keys(page).sort()).toEqual(['items', 'page', 'pageSize', 'total']);
  for (const row of page.items) expectRow(row, level);
  return page;
}

function expectSettings(value: unknown): asserts value is ServerSettings {
  const s = value as Json;
  expect(Object.keys(s).sort()).toEqual(['anomalies', 'countingUnit', 'customersMayChangeLimits', 'dailyDefaults', 'defaults', 'earlyWarningPercent', 'enabled', 'mode', 'monitorOnly', 'notifications', 'overLimitAction', 'recipientDefaults']);
  expect(['enforce', 'monitor', 'off']).toContain(s.mode);
  expect(Object.keys(s.anomalies as Json).sort()).toEqual(['loginAddresses', 'recipientDomains', 'volumeSurge']);
  expect(Object.keys(s.dailyDefaults as Json).sort()).toEqual(['domain', 'mailbox', 'subscription']);
  for (const v of Object.values(s.dailyDefaults as Json)) expect(limitValue(v)).toBe(true);
  expect(['hold', 'defer']).toContain(s.overLimitAction);
  expect(Object.keys(s.notifications as Json).sort()).toEqual(['adminAddress', 'notifyCustomer', 'notifyReseller', 'period', 'screenUrl', 'webhookUrl']);
  expect(typeof s.enabled).toBe('boolean');
  expect(typeof s.customersMayChangeLimits).toBe('boolean');
  expect(['messages', 'recipients']).toContain(s.countingUnit);
  const defaults = s.defaults as Json;
  expect(Object.keys(defaults).sort()).toEqual(['domain', 'mailbox', 'subscription']);
  for (const v of Object.values(defaults)) expect(limitValue(v)).toBe(true);
}

const nullOr = (type: string) => (v: unknown) => v === null || typeof v === type;

function expectKeys(value: unknown, checks: Record<string, (v: unknown) => boolean>): void {
  const object = value as Json;
  expect(Object.keys(object).sort()).toEqual(Object.keys(checks).sort());
  for (const [key, check] of Object.entries(checks)) expect(check(object[key]), `${key} = ${JSON.stringify(object[key])}`).toBe(true);
}

const isString = (v: unknown) => typeof v === 'string';
const isNumber = (v: unknown) => typeof v === 'number';
const isLevel = (v: unknown) => v === 'subscription' || v === 'domain' || v === 'mailbox';

function expectAuditRow(row: unknown): asserts row is AuditRow {
  expectKeys(row, {
    id: isNumber,
    atMs: isNumber,
    actorLogin: isString,
    actorRole: (v) => v === 'admin' || v === 'reseller' || v === 'customer',
    action: isString,
    level: (v) => v === null || isLevel(v),
    objectName: nullOr('string'),
    oldValue: () => true,
    newValue: () => true,
  });
}

function expectEvent(event: unknown): asserts event is OverLimitEvent {
  expectKeys(event, {
    atMs: isNumber,
    level: isLevel,
    window: (v) => v === 'hour' || v === 'day',
    recipientMaximum: (v) => v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 1),
    objectId: isNumber,
    objectName: isString,
    sender: nullOr('string'),
    saslUsername: nullOr('string'),
    recipientCount: isNumber,
    queueId: nullOr('string'),
    clientAddress: nullOr('string'),
    action: (v) => v === 'defer' || v === 'hold' || v === 'reject',
    reason: isString,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Little request helpers

const COLLECTION: Record<Level, string> = { subscription: 'subscriptions', domain: 'domains', mailbox: 'mailboxes' };
const objectUrl = (level: Level, name: string) => `/api/v1/${COLLECTION[level]}/${encodeURIComponent(name)}`;

async function getRow(h: ApiHarness, caller: Caller, level: Level, name: string): Promise<ObjectRow> {
  const response = await h.get(caller, objectUrl(level, name));
  expectStatus(response, 200);
  const row = json<ObjectRow>(response);
  expectRow(row, level);
  return row;
}

function setLimit(h: ApiHarness, caller: Caller, level: Level, name: string, limit: unknown): Promise<LightMyRequestResponse> {
  return h.request(caller, 'PUT', `${objectUrl(level, name)}/limit`, { limit });
}

async function audit(h: ApiHarness, caller: Caller = ADMIN, query = ''): Promise<AuditRow[]> {
  const response = await h.get(caller, `/api/v1/audit${query}`);
  expectStatus(response, 200);
  const body = json<{ items: AuditRow[]; next: number | null }>(response);
  expect(Object.keys(body)).toEqual(['items', 'next']);
  for (const row of body.items) expectAuditRow(row);
  return body.items;
}

async function events(h: ApiHarness, caller: Caller = ADMIN, query = ''): Promise<OverLimitEvent[]> {
  const response = await h.get(caller, `/api/v1/events${query}`);
  expectStatus(response, 200);
  const body = json<{ items: OverLimitEvent[] }>(response);
  expect(Object.keys(body)).toEqual(['items']);
  for (const event of body.items) expectEvent(event);
  return body.items;
}

/** Any message, as long as the field is named. */
const ANY = /./;
const CEILING_25 = 'The value must be in the range 0...25. Only the administrator can raise it.';
const LIMIT_MESSAGE = 'must be a whole number from 0 to 1000000000, "unlimited" or "default"';

// =========================================================================================================

describe('contract: every endpoint answers with its documented status and shape', () => {
  const h = useHarness();

  it('GET /openapi.json and /health are public; the document lists every route with its parameters and bodies', async () => {
    const doc = await h().get(null, '/api/v1/openapi.json');
    expectStatus(doc, 200);
    const document = json<{ openapi: string; info: Json; paths: Record<string, Record<string, Json>>; components: Json }>(doc);
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toEqual({ title: expect.any(String), version: '0.0.0-test' });
    expect(Object.keys(document.paths).length).toBeGreaterThanOrEqual(15);
    for (const [path, operations] of Object.entries(document.paths)) {
      expect(path.startsWith('/api/v1/')).toBe(true);
      for (const [method, operation] of Object.entries(operations)) {
        expect(['get', 'put', 'post', 'patch', 'delete']).toContain(method);
        expect(operation.summary).toEqual(expect.any(String));
        expect(Object.keys(operation.responses as Json)).toEqual(expect.arrayContaining(['400', '401', '403', '404']));
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const declared = (operation.parameters as Array<{ name: string; in: string; required: boolean }>).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name)).toEqual(pathParams);
        expect(declared.every((p) => p.required)).toBe(true);
      }
    }
    const list = document.paths['/api/v1/mailboxes']?.get;
    const queryNames = (list?.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name);
    expect(queryNames).toEqual(expect.arrayContaining(['search', 'sort', 'order', 'page', 'pageSize', 'blocked']));
    const setLimitBody = (document.paths['/api/v1/mailboxes/{name}/limit']?.put?.requestBody as { content: Record<string, { schema: Json }> }).content['application/json']?.schema;
    // Either value may be left out (unchanged); a body naming neither is refused (daily-limits.api.test.ts).
    expect(setLimitBody).toMatchObject({ type: 'object', additionalProperties: false });
    expect(Object.keys((setLimitBody as { properties: Json }).properties).sort()).toEqual(['dailyLimit', 'limit', 'locked', 'recipientLimit']);

    const health = await h().get(null, '/api/v1/health');
    expectStatus(health, 200);
    expect(json(health)).toEqual({ status: 'ok' });
    expect(document.paths['/api/v1/health']?.get).toMatchObject({ security: [], responses: { '200': expect.any(Object) } });
  });

  it('OpenAPI paths are distinct even when parameter names are ignored (OpenAPI 3.1 §4.8.8 forbids identical templated paths)', async () => {
    const document = json<{ paths: Record<string, unknown> }>(await h().get(null, '/api/v1/openapi.json'));
    const byShape = new Map<string, string[]>();
    for (const path of Object.keys(document.paths)) {
      const shape = path.replace(/\{\w+\}/g, '{}');
      byShape.set(shape, [...(byShape.get(shape) ?? []), path]);
    }
    const clashes = [...byShape.values()].filter((paths) => paths.length > 1);
    expect(clashes).toEqual([]);
  });

  it('GET /monitoring', async () => {
    const answer = await h().get(ADMIN, '/api/v1/monitoring');
    expectStatus(answer, 200);
    expect(json(answer)).toEqual({ mode: 'enforce', hours: 24, wouldHaveBeenHeld: 0, wouldHaveBeenDeferred: 0, byLevel: { mailbox: 0, domain: 0, subscription: 0 }, objects: [], objectCount: 0, earlyWarnings: [] });
  });

  it('GET and PATCH /settings', async () => {
    const get = await h().get(ADMIN, '/api/v1/settings');
    expectStatus(get, 200);
    expectSettings(json(get));
    expect(json(get)).toEqual({
      enabled: true,
      mode: 'enforce',
      monitorOnly: false,
      earlyWarningPercent: 80,
      defaults: { mailbox: 3, domain: 5, subscription: 8 },
      dailyDefaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
      recipientDefaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
      countingUnit: 'messages',
      customersMayChangeLimits: true,
      overLimitAction: 'hold',
      notifications: { adminAddress: null, notifyReseller: false, notifyCustomer: false, period: '1h', webhookUrl: null, screenUrl: null },
      anomalies: { loginAddresses: { threshold: 10, autoCompromise: false }, recipientDomains: { threshold: 100, autoCompromise: false }, volumeSurge: { threshold: 10, autoCompromise: false } },
    });

    const patch = await h().request(ADMIN, 'PATCH', '/api/v1/settings', {
      defaults: { mailbox: 'unlimited', domain: 40 },
      countingUnit: 'recipients',
      overLimitAction: 'defer',
      notifications: { adminAddress: 'postmaster@example.com', notifyCustomer: true, period: '6h', webhookUrl: 'https://hooks.example.com/mail' },
    });
    expectStatus(patch, 200);
    const after = json<ServerSettings>(patch);
    expectSettings(after);
    expect(after).toEqual({
      enabled: true,
      mode: 'enforce',
      monitorOnly: false,
      earlyWarningPercent: 80,
      defaults: { mailbox: 'unlimited', domain: 40, subscription: 8 },
      dailyDefaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
      recipientDefaults: { mailbox: 'unlimited', domain: 'unlimited', subscription: 'unlimited' },
      countingUnit: 'recipients',
      customersMayChangeLimits: true,
      overLimitAction: 'defer',
      notifications: { adminAddress: 'postmaster@example.com', notifyReseller: false, notifyCustomer: true, period: '6h', webhookUrl: 'https://hooks.example.com/mail', screenUrl: null },
      anomalies: { loginAddresses: { threshold: 10, autoCompromise: false }, recipientDomains: { threshold: 100, autoCompromise: false }, volumeSurge: { threshold: 10, autoCompromise: false } },
    });
    // Only the notification fields given change; null switches one off.
    const second = json<ServerSettings>(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { notifications: { webhookUrl: null } }));
    expect(second.notifications).toEqual({ ...after.notifications, webhookUrl: null });
    const bad = await h().request(ADMIN, 'PATCH', '/api/v1/settings', { overLimitAction: 'reject', notifications: { adminAddress: 'nobody', period: '2h', webhookUrl: 'ftp://x' } });
    expectStatus(bad, 400);
    expect(Object.keys((json(bad) as { fields: Json }).fields).sort()).toEqual(['notifications.adminAddress', 'notifications.period', 'notifications.webhookUrl', 'overLimitAction']);
    await h().request(ADMIN, 'PATCH', '/api/v1/settings', { notifications: { webhookUrl: 'https://hooks.example.com/mail' } });
    expect(json(await h().get(ADMIN, '/api/v1/settings'))).toEqual(after);
    expect({ ...h().enforcer.currentSettings, mode: 'enforce' }).toEqual(after);
  });

  it('GET the three lists, one object of each level, and PUT their limits', async () => {
    const totals: Record<Level, number> = { subscription: 2, domain: 3, mailbox: 6 };
    const sample: Record<Level, string> = { subscription: 'example.com', domain: 'example.net', mailbox: 'erin@example.net' };
    for (const level of ['subscription', 'domain', 'mailbox'] as const) {
      const page = expectPage(await h().get(ADMIN, `/api/v1/${COLLECTION[level]}`), level);
      expect(page).toMatchObject({ total: totals[level], page: 1, pageSize: 50 });
      expect(page.items).toHaveLength(totals[level]);
      const names = page.items.map((r) => r.name);
      expect(names).toEqual([...names].sort());

      const row = await getRow(h(), ADMIN, level, sample[level]);
      expect(row).toMatchObject({ name: sample[level], subscription: 'example.com', ownLimit: 'default', limitSource: 'default', used: 0, blocked: false, freesInSeconds: null });

      const put = await setLimit(h(), ADMIN, level, sample[level], 2);
      expectStatus(put, 200);
      const changed = json<ObjectRow>(put);
      expectRow(changed, level);
      expect(changed).toMatchObject({ name: sample[level], ownLimit: 2, effectiveLimit: 2, limitSource: 'own' });
    }
    const mailbox = await getRow(h(), ADMIN, 'mailbox', 'erin@example.net');
    expect(mailbox).toMatchObject({ domain: 'example.net', subscription: 'example.com', defaultLimit: 3, ceiling: null });
    const subscription = await getRow(h(), ADMIN, 'subscription', 'example.com');
    expect(subscription.domain).toBeNull();
  });

  it('POST /limits/bulk answers the changed rows', async () => {
    const response = await h().request(ADMIN, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['alice@example.com', 'BOB@example.com', 'mallory@other.org'], limit: 'unlimited' });
    expectStatus(response, 200);
    const body = json<{ items: ObjectRow[] }>(response);
    expect(Object.keys(body)).toEqual(['items']);
    body.items.forEach((row) => expectRow(row, 'mailbox'));
    expect(body.items.map((r) => [r.name, r.ownLimit, r.effectiveLimit])).toEqual([
      ['alice@example.com', 'unlimited', 'unlimited'],
      ['bob@example.com', 'unlimited', 'unlimited'],
      ['mallory@other.org', 'unlimited', 'unlimited'],
    ]);
  });

  it('GET /events and GET /audit', async () => {
    expect(await events(h())).toEqual([]);
    h().sendMany('alice@example.com', 4);
    const items = await events(h());
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ level: 'mailbox', objectName: 'alice@example.com', sender: 'alice@example.com', recipientCount: 1, queueId: 'Q1', clientAddress: '192.0.2.1' });
    expect(items[0]?.reason).toMatch(/^Outgoing limit of 3 messages\/hour for mailbox alice@example\.com reached/);

    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', 9), 200);
    const rows = await audit(h());
    expect(rows[0]).toMatchObject({ actorLogin: 'admin', actorRole: 'admin', action: 'limit.set', level: 'mailbox', objectName: 'alice@example.com', oldValue: 'default', newValue: 9, atMs: h().nowMs });
  });

  it('GET /audit filters by person and object, pages with next, and shows each role only its own objects however far back', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', 9), 200);
    expectStatus(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 5), 200);
    // Many lines nobody but the administrator may see, written after jdoe's: they must not hide jdoe's from jdoe.
    const admin = { login: 'admin', role: 'admin' as const, userId: '1', via: 'plesk' as const };
    h().db.transaction(() => {
      for (let i = 0; i < 12_000; i++) recordAudit(h().db, admin, { action: 'limit.set', level: 'mailbox', objectName: 'mallory@other.org', oldValue: i, newValue: i + 1 });
    })();
    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.com', 7), 200);

    const byJdoe = json<{ items: AuditRow[]; next: number | null }>(await h().get(JDOE, '/api/v1/audit?actor=jdoe'));
    expect(byJdoe.items.map((r) => [r.actorLogin, r.objectName, r.oldValue, r.newValue])).toEqual([['jdoe', 'alice@example.com', 9, 5]]);
    expect(byJdoe.next).toBeNull();
    const jdoeAll = await audit(h(), JDOE, '?limit=2');
    expect(jdoeAll.map((r) => [r.actorLogin, r.objectName, r.newValue])).toEqual([['admin', 'example.com', 7], ['jdoe', 'alice@example.com', 5]]);
    const page = json<{ items: AuditRow[]; next: number | null }>(await h().get(JDOE, '/api/v1/audit?limit=2'));
    const older = json<{ items: AuditRow[]; next: number | null }>(await h().get(JDOE, `/api/v1/audit?limit=2&before=${page.next}`));
    expect(older.items.map((r) => [r.actorLogin, r.objectName, r.newValue])).toEqual([['admin', 'alice@example.com', 9]]);
    expect(older.next).toBeNull();
    expect(await audit(h(), MARY, '?name=alice@example.com')).toEqual([]);
    expect((await audit(h(), MARY, '?limit=1'))[0]).toMatchObject({ objectName: 'mallory@other.org', newValue: 12_000 });
    expect((await audit(h(), ADMIN, '?actor=ADMIN&name=example.com&level=domain')).map((r) => r.newValue)).toEqual([7]);
  });

  it('GET /stats answers one bucket per clock hour of the last day, oldest first', async () => {
    h().sendMany('alice@example.com', 2);
    const response = await h().get(ADMIN, '/api/v1/stats?level=mailbox&name=Alice@example.com');
    expectStatus(response, 200);
    const body = json<{ level: string; name: string; buckets: HourBucket[] }>(response);
    expect(Object.keys(body)).toEqual(['level', 'name', 'period', 'bucketHours', 'buckets']);
    expect(body.level).toBe('mailbox');
    expect(body.name).toBe('alice@example.com');
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets.at(-1)).toEqual({ start: new Date(h().nowMs).toISOString(), sent: 2, held: 0, released: 0, deferred: 0 });
    expect(body.buckets[0]?.start).toBe(new Date(h().nowMs - 23 * 3_600_000).toISOString());
    const server = json<{ level: null; name: null; buckets: HourBucket[] }>(await h().get(ADMIN, '/api/v1/stats?hours=2'));
    expect(server).toEqual({ level: null, name: null, period: null, bucketHours: 1, buckets: [{ start: new Date(h().nowMs - 3_600_000).toISOString(), sent: 0, held: 0, released: 0, deferred: 0 }, { start: new Date(h().nowMs).toISOString(), sent: 2, held: 0, released: 0, deferred: 0 }] });
  });

  it('PUT/GET/DELETE /directory/contacts: where resellers and customers are notified, audited', async () => {
    const put = (address: string) => h().request(ADMIN, 'PUT', '/api/v1/directory/contacts/jdoe', { address });
    const answer = async (response: Promise<LightMyRequestResponse>) => {
      const r = await response;
      expectStatus(r, 200);
      return json(r);
    };
    expect(await answer(put('JDoe@Example.com'))).toEqual({ change: 'created' });
    expect(await answer(put('jdoe@example.com'))).toEqual({ change: 'unchanged' });
    expect(await answer(put('john@example.com'))).toEqual({ change: 'updated' });
    expect(await answer(h().get(ADMIN, '/api/v1/directory/contacts'))).toEqual({ items: [{ login: 'jdoe', address: 'john@example.com' }] });
    expect((await audit(h()))[0]).toMatchObject({ action: 'contact.set', objectName: 'jdoe', oldValue: 'jdoe@example.com', newValue: 'john@example.com' });
    expectStatus(await h().request(ADMIN, 'DELETE', '/api/v1/directory/contacts/jdoe'), 204);
    expectStatus(await h().request(ADMIN, 'DELETE', '/api/v1/directory/contacts/jdoe'), 204);
    expect(json(await h().get(ADMIN, '/api/v1/directory/contacts'))).toEqual({ items: [] });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/contacts/jdoe', { address: 'not an address' }), 400, { address: ANY });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/contacts/bad%20login', { address: 'a@example.com' }), 400, { login: ANY });
  });

  it('PUT /directory/subscriptions|domains|mailboxes/:name creates, then reports unchanged', async () => {
    const sub = await h().request(ADMIN, 'PUT', '/api/v1/directory/subscriptions/shop.test', { owner: 'jdoe', reseller: 'res1', systemUser: 'shop' });
    expectStatus(sub, 200);
    expect(json(sub)).toEqual({ change: 'created' });
    const dom = await h().request(ADMIN, 'PUT', '/api/v1/directory/domains/shop.test', { subscription: 'shop.test' });
    expectStatus(dom, 200);
    expect(json(dom)).toEqual({ change: 'created' });
    const box = await h().request(ADMIN, 'PUT', '/api/v1/directory/mailboxes/sales@shop.test', {});
    expectStatus(box, 200);
    expect(json(box)).toEqual({ change: 'created' });
    expect(json(await h().request(ADMIN, 'PUT', '/api/v1/directory/mailboxes/sales@shop.test', {}))).toEqual({ change: 'unchanged' });
    expect(await getRow(h(), JDOE, 'mailbox', 'sales@shop.test')).toMatchObject({ domain: 'shop.test', subscription: 'shop.test', effectiveLimit: 3 });
  });

  it('DELETE /directory/subscriptions|domains|mailboxes/:name answer 204 with no body', async () => {
    for (const url of ['/api/v1/directory/mailboxes/erin@example.net', '/api/v1/directory/domains/example.net', '/api/v1/directory/subscriptions/other.org']) {
      const response = await h().request(ADMIN, 'DELETE', url);
      expectStatus(response, 204);
      expect(response.body).toBe('');
    }
    expect(json<ObjectPage>(await h().get(ADMIN, '/api/v1/domains')).items.map((r) => r.name)).toEqual(['example.com']);
  });

  it('PUT /directory replaces the directory; POST /directory/sync answers its counts', async () => {
    const file = exampleDirectory({ 'bob@example.com': 7 });
    file.subscriptions.pop(); // without other.org
    const replace = await h().request(ADMIN, 'PUT', '/api/v1/directory', file);
    expectStatus(replace, 200);
    expect(json(replace)).toEqual({ subscriptions: 1, domains: 2, mailboxes: 5, removed: 3 });
    expect((await getRow(h(), ADMIN, 'mailbox', 'bob@example.com')).ownLimit).toBe(7);

    const sync = await h().request(ADMIN, 'POST', '/api/v1/directory/sync', {
      subscriptions: [{ name: 'other.org', owner: 'mary' }],
      domains: [{ name: 'other.org', subscription: 'other.org' }],
      mailboxes: [{ address: 'mallory@other.org' }],
      delete: { mailboxes: ['dave@example.com'] },
    });
    expectStatus(sync, 200);
    expect(json(sync)).toEqual({ created: 3, updated: 0, renamed: 0, unchanged: 0, deleted: 1 });
  });

  it('an unknown endpoint is 404 with the error shape', async () => {
    expectError(await h().get(ADMIN, '/api/v1/nothing-here'), 404);
  });
});

// =========================================================================================================

type Who = 'admin' | 'res1' | 'res2' | 'jdoe' | 'mary';
const CALLER: Record<Who, Caller> = { admin: ADMIN, res1: RES1, res2: RES2, jdoe: JDOE, mary: MARY };

/** Objects of jdoe (reseller res1) and of mary (no reseller). */
const OBJECTS = {
  A: { subscription: 'example.com', domain: 'example.com', mailbox: 'alice@example.com' },
  B: { subscription: 'other.org', domain: 'other.org', mailbox: 'mallory@other.org' },
} as const;
type Objects = (typeof OBJECTS)['A'] | (typeof OBJECTS)['B'];

interface MatrixCase {
  what: string;
  /** Targeted cases run against A (jdoe's) and B (mary's); expected is then "A/B". */
  targeted: boolean;
  request: (o: Objects) => { method: string; url: string; body?: unknown };
  expected: Record<Who, string>;
}

const everyone = (status: string): Record<Who, string> => ({ admin: status, res1: status, res2: status, jdoe: status, mary: status });
const adminOnly = (status: string): Record<Who, string> => ({ admin: status, res1: '403', res2: '403', jdoe: '403', mary: '403' });
/** Visibility of A and B: admin both, res1 and jdoe A, mary B, res2 none. */
const READ = { admin: '200/200', res1: '200/404', res2: '404/404', jdoe: '200/404', mary: '404/200' };
/** Customers may set domain and mailbox limits of their own objects. */
const WRITE_LOW = READ;
/** Subscriptions: customers see them read-only. */
const WRITE_SUB = { admin: '200/200', res1: '200/404', res2: '404/404', jdoe: '403/404', mary: '404/403' };

/** In execution order: directory changes (admin only) come last, so the objects above stay as they are. */
const MATRIX: MatrixCase[] = [
  { what: 'GET /settings', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/settings' }), expected: adminOnly('200') },
  { what: 'PATCH /settings', targeted: false, request: () => ({ method: 'PATCH', url: '/api/v1/settings', body: { customersMayChangeLimits: true } }), expected: adminOnly('200') },
  { what: 'GET /subscriptions', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/subscriptions' }), expected: everyone('200') },
  { what: 'GET /domains', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/domains' }), expected: everyone('200') },
  { what: 'GET /mailboxes', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/mailboxes' }), expected: everyone('200') },
  ...(['subscription', 'domain', 'mailbox'] as const).flatMap((level): MatrixCase[] => [
    { what: `GET /${COLLECTION[level]}/:name`, targeted: true, request: (o) => ({ method: 'GET', url: objectUrl(level, o[level]) }), expected: READ },
    {
      what: `PUT /${COLLECTION[level]}/:name/limit`,
      targeted: true,
      request: (o) => ({ method: 'PUT', url: `${objectUrl(level, o[level])}/limit`, body: { limit: 2 } }),
      expected: level === 'subscription' ? WRITE_SUB : WRITE_LOW,
    },
    {
      what: `POST /limits/bulk (${level})`,
      targeted: true,
      request: (o) => ({ method: 'POST', url: '/api/v1/limits/bulk', body: { level, names: [o[level]], limit: 2 } }),
      expected: level === 'subscription' ? WRITE_SUB : WRITE_LOW,
    },
  ]),
  { what: 'GET /events', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/events' }), expected: everyone('200') },
  { what: 'GET /anomalies', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/anomalies' }), expected: everyone('200') },
  { what: 'GET /stats (whole server)', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/stats' }), expected: adminOnly('200') },
  ...(['subscription', 'domain', 'mailbox'] as const).map(
    (level): MatrixCase => ({ what: `GET /stats (${level})`, targeted: true, request: (o) => ({ method: 'GET', url: `/api/v1/stats?level=${level}&name=${o[level]}` }), expected: READ }),
  ),
  { what: 'GET /audit', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/audit' }), expected: everyone('200') },
  // Each role sees only its own objects in it (history.api.test.ts).
  { what: 'GET /report', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/report?since=31d' }), expected: everyone('200') },
  {
    what: 'PUT /directory/subscriptions/:name',
    targeted: false,
    request: () => ({ method: 'PUT', url: '/api/v1/directory/subscriptions/matrix.test', body: { owner: 'jdoe', reseller: 'res1' } }),
    expected: adminOnly('200'),
  },
  {
    what: 'PUT /directory/domains/:name',
    targeted: false,
    request: () => ({ method: 'PUT', url: '/api/v1/directory/domains/matrix.test', body: { subscription: 'matrix.test' } }),
    expected: adminOnly('200'),
  },
  { what: 'PUT /directory/mailboxes/:address', targeted: false, request: () => ({ method: 'PUT', url: '/api/v1/directory/mailboxes/m@matrix.test', body: {} }), expected: adminOnly('200') },
  { what: 'DELETE /directory/mailboxes/:name', targeted: false, request: () => ({ method: 'DELETE', url: '/api/v1/directory/mailboxes/m@matrix.test' }), expected: adminOnly('204') },
  { what: 'DELETE /directory/domains/:name', targeted: false, request: () => ({ method: 'DELETE', url: '/api/v1/directory/domains/matrix.test' }), expected: adminOnly('204') },
  { what: 'DELETE /directory/subscriptions/:name', targeted: false, request: () => ({ method: 'DELETE', url: '/api/v1/directory/subscriptions/matrix.test' }), expected: adminOnly('204') },
  {
    what: 'POST /directory/sync',
    targeted: false,
    request: () => ({ method: 'POST', url: '/api/v1/directory/sync', body: { subscriptions: [{ name: 'sync.test', owner: 'jdoe' }] } }),
    expected: adminOnly('200'),
  },
  { what: 'GET /directory/contacts', targeted: false, request: () => ({ method: 'GET', url: '/api/v1/directory/contacts' }), expected: adminOnly('200') },
  {
    what: 'PUT /directory/contacts/:login',
    targeted: false,
    request: () => ({ method: 'PUT', url: '/api/v1/directory/contacts/matrix', body: { address: 'matrix@example.com' } }),
    expected: adminOnly('200'),
  },
  { what: 'DELETE /directory/contacts/:login', targeted: false, request: () => ({ method: 'DELETE', url: '/api/v1/directory/contacts/matrix' }), expected: adminOnly('204') },
  { what: 'PUT /directory', targeted: false, request: () => ({ method: 'PUT', url: '/api/v1/directory', body: exampleDirectory() }), expected: adminOnly('200') },
  // Existing objects of each owner, deleted last.
  { what: 'DELETE /directory/mailboxes/:name (existing)', targeted: true, request: (o) => ({ method: 'DELETE', url: `/api/v1/directory/mailboxes/${o.mailbox}` }), expected: adminOnly('204/204') },
  { what: 'DELETE /directory/domains/:name (existing)', targeted: true, request: (o) => ({ method: 'DELETE', url: `/api/v1/directory/domains/${o.domain}` }), expected: adminOnly('204/204') },
  {
    what: 'DELETE /directory/subscriptions/:name (existing)',
    targeted: true,
    request: (o) => ({ method: 'DELETE', url: `/api/v1/directory/subscriptions/${o.subscription}` }),
    expected: adminOnly('204/204'),
  },
];

describe('role matrix: admin, reseller res1, reseller res2 (owns nothing), customer jdoe, customer mary × every endpoint × own and foreign object', () => {
  const h = useHarness();

  for (const who of Object.keys(CALLER) as Who[]) {
    it(`${who}: every endpoint answers exactly as the spec says`, async () => {
      const mismatches: string[] = [];
      const before = await audit(h());
      for (const matrixCase of MATRIX) {
        const expected = matrixCase.expected[who];
        const targets: Array<['A' | 'B' | '-', Objects]> = matrixCase.targeted ? [['A', OBJECTS.A], ['B', OBJECTS.B]] : [['-', OBJECTS.A]];
        const wanted = matrixCase.targeted && expected.length === 3 ? [expected, expected] : expected.split('/');
        for (const [index, [label, objects]] of targets.entries()) {
          const { method, url, body } = matrixCase.request(objects);
          const response = await h().request(CALLER[who], method, url, body);
          const want = Number(wanted[index]);
          if (response.statusCode !== want) mismatches.push(`${matrixCase.what} [${label}] ${method} ${url}: expected ${want}, got ${describeResponse(response)}`);
          else if (want >= 400) {
            const error = json(response);
            if (typeof error.error !== 'string' || Object.keys(error).some((k) => !['error', 'fields', 'code', 'params'].includes(k))) mismatches.push(`${matrixCase.what}: bad error shape ${response.body}`);
            if (want === 404 && !/^(Subscription|Domain|Mailbox) \S+ not found$/.test(String(error.error))) mismatches.push(`${matrixCase.what}: 404 says ${String(error.error)}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
      // Refused writes change nothing, and leave no audit line.
      if (who !== 'admin') {
        const after = await audit(h());
        expect(after.filter((row) => row.actorLogin !== who)).toEqual(before);
        for (const row of after.filter((r) => r.actorLogin === who)) expect(row.action).toBe('limit.set');
      }
    });
  }

  it('lists show only own objects, and totals count only own objects', async () => {
    const expected: Record<Who, Record<Level, string[]>> = {
      admin: {
        subscription: ['example.com', 'other.org'],
        domain: ['example.com', 'example.net', 'other.org'],
        mailbox: ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.net', 'mallory@other.org'],
      },
      res1: {
        subscription: ['example.com'],
        domain: ['example.com', 'example.net'],
        mailbox: ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.net'],
      },
      res2: { subscription: [], domain: [], mailbox: [] },
      jdoe: {
        subscription: ['example.com'],
        domain: ['example.com', 'example.net'],
        mailbox: ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.net'],
      },
      mary: { subscription: ['other.org'], domain: ['other.org'], mailbox: ['mallory@other.org'] },
    };
    for (const who of Object.keys(CALLER) as Who[]) {
      for (const level of ['subscription', 'domain', 'mailbox'] as const) {
        const page = expectPage(await h().get(CALLER[who], `/api/v1/${COLLECTION[level]}?pageSize=2`), level);
        expect(page.total, `${who} ${level}`).toBe(expected[who][level].length);
        expect(page.items.map((r) => r.name), `${who} ${level}`).toEqual(expected[who][level].slice(0, 2));
      }
    }
    // Filters and search never reach past what one may see.
    for (const query of ['search=mallory', 'subscription=other.org', 'domain=other.org']) {
      expect(json<ObjectPage>(await h().get(JDOE, `/api/v1/mailboxes?${query}`)).total, query).toBe(0);
      expect(json<ObjectPage>(await h().get(RES1, `/api/v1/mailboxes?${query}`)).total, query).toBe(0);
    }
    expect(json<ObjectPage>(await h().get(MARY, '/api/v1/mailboxes?search=example')).total).toBe(0);
  });

  it("another owner's object answers exactly like a missing one", async () => {
    const foreign = await h().get(JDOE, objectUrl('mailbox', 'mallory@other.org'));
    const missing = await h().get(JDOE, objectUrl('mailbox', 'nobody@other.org'));
    expectError(foreign, 404);
    expectError(missing, 404);
    expect(json(foreign)).toEqual({ error: 'Mailbox mallory@other.org not found' });
    expect(json(missing)).toEqual({ error: 'Mailbox nobody@other.org not found' });
    const foreignWrite = await setLimit(h(), RES1, 'subscription', 'other.org', 'unlimited');
    expect(json(foreignWrite)).toEqual({ error: 'Subscription other.org not found' });
    // Even a write the caller could never make (customer, subscription level) does not reveal existence.
    expect(json(await setLimit(h(), MARY, 'subscription', 'example.com', 1))).toEqual({ error: 'Subscription example.com not found' });
  });

  it('customersMayChangeLimits=false: customers get 403 on their own objects (404 on others), resellers still write', async () => {
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { customersMayChangeLimits: false }), 200);
    const forbidden = expectError(await setLimit(h(), JDOE, 'domain', 'example.com', 1), 403);
    expect(forbidden.error).toBe('The administrator does not allow customers to change outgoing mail limits.');
    expectError(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 1), 403);
    expectError(await h().request(JDOE, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['alice@example.com'], limit: 1 }), 403);
    expectError(await setLimit(h(), JDOE, 'mailbox', 'mallory@other.org', 1), 404);
    expectStatus(await setLimit(h(), RES1, 'mailbox', 'alice@example.com', 1), 200);
    // Reading still works for the customer.
    expect((await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).ownLimit).toBe(1);
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { customersMayChangeLimits: true }), 200);
    expectStatus(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 2), 200);
  });
});

// =========================================================================================================

describe('customer ceiling: never above the effective limit of any level above', () => {
  // Subscription example.com has its own limit 25; server defaults are the initial ones (100 / 1000 / 5000).
  const h = useHarness({
    directory: exampleDirectory({ 'sub:example.com': 25 }),
    settings: { enabled: true, defaults: { mailbox: 100, domain: 1000, subscription: 5000 }, customersMayChangeLimits: true },
  });

  it('a domain above its subscription is 400 with the exact sentence, on the field limit; 25 and below work', async () => {
    const refused = expectError(await setLimit(h(), JDOE, 'domain', 'example.com', 30), 400, { limit: CEILING_25 });
    expect(refused).toEqual({ error: CEILING_25, fields: { limit: CEILING_25 }, code: 'aboveCeiling', params: { max: 25 } });
    expect((await getRow(h(), ADMIN, 'domain', 'example.com')).ownLimit).toBe('default');

    const accepted = await setLimit(h(), JDOE, 'domain', 'example.com', 25);
    expectStatus(accepted, 200);
    expect(json(accepted)).toMatchObject({ ownLimit: 25, effectiveLimit: 25, ceiling: { max: 25, reason: expect.stringContaining('subscription example.com') } });
    expectStatus(await setLimit(h(), JDOE, 'domain', 'example.com', 0), 200);
    expect((await getRow(h(), JDOE, 'domain', 'example.com')).ownLimit).toBe(0);
  });

  it('"unlimited", and "default" when the default is higher, are above the ceiling too', async () => {
    expectError(await setLimit(h(), JDOE, 'domain', 'example.net', 'unlimited'), 400, { limit: CEILING_25 });
    expectError(await setLimit(h(), JDOE, 'domain', 'example.net', 'default'), 400, { limit: CEILING_25 });
    expectError(await setLimit(h(), JDOE, 'domain', 'example.net', 1_000_000_000), 400, { limit: CEILING_25 });
  });

  it("a mailbox is capped by its domain's effective limit", async () => {
    expectStatus(await setLimit(h(), JDOE, 'domain', 'example.com', 10), 200);
    const message = 'The value must be in the range 0...10. Only the administrator can raise it.';
    expectError(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 11), 400, { limit: message });
    // The mailbox default (100) is above the domain too.
    expectError(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 'default'), 400, { limit: message });
    const ok = await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 10);
    expectStatus(ok, 200);
    expect(json(ok)).toMatchObject({ ownLimit: 10, ceiling: { max: 10 } });
    // erin's domain example.net follows the domain default 1000, but her subscription sends at most 25: that caps.
    expectStatus(await setLimit(h(), JDOE, 'mailbox', 'erin@example.net', 25), 200);
    expectError(await setLimit(h(), JDOE, 'mailbox', 'erin@example.net', 26), 400, { limit: CEILING_25 });
    expect((await getRow(h(), JDOE, 'mailbox', 'erin@example.net')).ceiling?.reason).toBe('The subscription example.com may send at most 25 per hour.');
  });

  it('a mailbox under an unlimited domain is capped by the subscription: the row says so, and 500 is refused', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.com', 'unlimited'), 200);
    const row = await getRow(h(), JDOE, 'mailbox', 'alice@example.com');
    expect(row.ceiling).toEqual({ max: 25, reason: 'The subscription example.com may send at most 25 per hour.', level: 'subscription', name: 'example.com' });
    expectError(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 500), 400, { limit: CEILING_25 });
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
    expectStatus(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 25), 200);
  });

  it('the administrator and the reseller are not capped', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.com', 30), 200);
    expectStatus(await setLimit(h(), RES1, 'domain', 'example.net', 'unlimited'), 200);
    expect((await getRow(h(), RES1, 'domain', 'example.com')).ceiling).toBeNull();
  });

  it('a customer setting a subscription limit is 403', async () => {
    const body = expectError(await setLimit(h(), JDOE, 'subscription', 'example.com', 5), 403);
    expect(body.error).toBe('Only the administrator or the reseller can change the limit of a subscription.');
    expectError(await h().request(JDOE, 'POST', '/api/v1/limits/bulk', { level: 'subscription', names: ['example.com'], limit: 5 }), 403);
    expect((await getRow(h(), JDOE, 'subscription', 'example.com')).ownLimit).toBe(25);
  });

  it('customersMayChangeLimits=false → 403 even within the ceiling', async () => {
    expect((await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).mayChangeLimit).toBe(true);
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { customersMayChangeLimits: false }), 200);
    expectError(await setLimit(h(), JDOE, 'domain', 'example.com', 5), 403);
    expectError(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 5), 403);
    // Rows tell the screens not to offer it.
    expect((await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).mayChangeLimit).toBe(false);
    expect((await getRow(h(), JDOE, 'domain', 'example.com')).mayChangeLimit).toBe(false);
    expect((await getRow(h(), RES1, 'mailbox', 'alice@example.com')).mayChangeLimit).toBe(true);
  });

  it('mayChangeLimit: a customer never changes a subscription; the admin and the reseller change every level', async () => {
    expect((await getRow(h(), JDOE, 'subscription', 'example.com')).mayChangeLimit).toBe(false);
    expect((await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).mayChangeLimit).toBe(true);
    expect((await getRow(h(), RES1, 'subscription', 'example.com')).mayChangeLimit).toBe(true);
    expect((await getRow(h(), ADMIN, 'subscription', 'other.org')).mayChangeLimit).toBe(true);
  });
});

// =========================================================================================================

describe('Plesk permission "Manage outgoing mail limits" per subscription', () => {
  // jdoe owns example.com and (here) other.org too; Plesk grants the permission on example.com only.
  function twoSubscriptions() {
    const directory = exampleDirectory();
    directory.subscriptions[1]!.owner = 'jdoe';
    return directory;
  }
  const h = useHarness({ directory: twoSubscriptions(), heldWithoutPostfix: true });
  const jdoe: Caller = { ...JDOE, permittedSubscriptions: ['example.com'] };
  const refusal = 'Your account may not manage outgoing mail limits of subscription other.org (Plesk permission "Manage outgoing mail limits"). Ask your provider.';

  it('rows of the other subscription offer no change; its objects stay visible', async () => {
    expect((await getRow(h(), jdoe, 'mailbox', 'mallory@other.org')).mayChangeLimit).toBe(false);
    expect((await getRow(h(), jdoe, 'domain', 'other.org')).mayChangeLimit).toBe(false);
    expect((await getRow(h(), jdoe, 'mailbox', 'alice@example.com')).mayChangeLimit).toBe(true);
    const page = json<ObjectPage>(await h().get(jdoe, '/api/v1/mailboxes?pageSize=50'));
    expect(page.items.filter((row) => row.mayChangeLimit).map((row) => row.subscription)).not.toContain('other.org');
    expect(page.items.map((row) => row.name)).toContain('mallory@other.org');
  });

  it('a change on the other subscription is 403 naming it and changes nothing; the permitted one works', async () => {
    expect(expectError(await setLimit(h(), jdoe, 'mailbox', 'mallory@other.org', 1), 403)).toEqual({ error: refusal, code: 'noPermission', params: { subscription: 'other.org' } });
    expect(expectError(await setLimit(h(), jdoe, 'domain', 'other.org', 1), 403)).toEqual({ error: refusal, code: 'noPermission', params: { subscription: 'other.org' } });
    expect((await getRow(h(), ADMIN, 'mailbox', 'mallory@other.org')).ownLimit).toBe('default');
    expect((await getRow(h(), ADMIN, 'domain', 'other.org')).ownLimit).toBe('default');
    expectStatus(await setLimit(h(), jdoe, 'mailbox', 'alice@example.com', 1), 200);
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe(1);
  });

  it('a bulk change touching the other subscription is refused as a whole', async () => {
    const both = { level: 'mailbox', names: ['alice@example.com', 'mallory@other.org'], limit: 2 };
    expect(expectError(await h().request(jdoe, 'POST', '/api/v1/limits/bulk', both), 403)).toEqual({ error: refusal, code: 'noPermission', params: { subscription: 'other.org' } });
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
    expectStatus(await h().request(jdoe, 'POST', '/api/v1/limits/bulk', { ...both, names: ['alice@example.com', 'erin@example.net'] }), 200);
    expect((await getRow(h(), ADMIN, 'mailbox', 'erin@example.net')).ownLimit).toBe(2);
  });

  it('marking a mailbox of the other subscription compromised is refused too', async () => {
    expect(expectError(await h().request(jdoe, 'POST', '/api/v1/mailboxes/mallory@other.org/compromised'), 403)).toEqual({ error: refusal, code: 'noPermission', params: { subscription: 'other.org' } });
    expect((await getRow(h(), ADMIN, 'mailbox', 'mallory@other.org')).ownLimit).toBe('default');
  });

  type HeldItem = { queueId: string; status: string; chargedName: string | null; mayRelease: boolean; mayDelete: boolean; mayMarkCompromised: boolean };
  const heldOf = async (caller: Caller) => json<{ items: HeldItem[] }>(await h().get(caller, '/api/v1/held')).items;
  const NO_PERMISSION = { code: 'noPermission', params: { subscription: 'other.org' } };
  const heldRefusal = (action: string) =>
    `Your account may not ${action} held messages of subscription other.org (Plesk permission "Manage outgoing mail limits"). Ask your provider.`;

  it('held mail of the other subscription stays listed, says no action is allowed, and release and delete are 403 naming it', async () => {
    h().recordHeld('AAAAAA1', 'alice@example.com');
    h().recordHeld('CCCCCC3', 'mallory@other.org');
    h().recordHeld('DDDDDD4', 'other.org', { chargedLevel: 'domain', chargedName: 'other.org', trippedLevel: 'domain', trippedName: 'other.org' });
    const byId = new Map((await heldOf(jdoe)).map((m) => [m.queueId, m]));
    expect([...byId.keys()].sort()).toEqual(['AAAAAA1', 'CCCCCC3', 'DDDDDD4']);
    expect(byId.get('AAAAAA1')).toMatchObject({ mayRelease: true, mayDelete: true, mayMarkCompromised: true });
    expect(byId.get('CCCCCC3')).toMatchObject({ mayRelease: false, mayDelete: false, mayMarkCompromised: false });
    expect(byId.get('DDDDDD4')).toMatchObject({ mayRelease: false, mayDelete: false, mayMarkCompromised: false });
    expect(json(await h().get(jdoe, '/api/v1/held/CCCCCC3'))).toMatchObject({ queueId: 'CCCCCC3', mayRelease: false, mayDelete: false });

    expect(expectError(await h().request(jdoe, 'POST', '/api/v1/held/CCCCCC3/release', {}), 403)).toEqual({ error: heldRefusal('release'), ...NO_PERMISSION });
    expect(expectError(await h().request(jdoe, 'POST', '/api/v1/held/CCCCCC3/release', { force: true }), 403)).toEqual({ error: heldRefusal('release'), ...NO_PERMISSION });
    expect(expectError(await h().request(jdoe, 'DELETE', '/api/v1/held/CCCCCC3'), 403)).toEqual({ error: heldRefusal('delete'), ...NO_PERMISSION });
    expect(expectError(await h().request(jdoe, 'DELETE', '/api/v1/held/DDDDDD4'), 403)).toEqual({ error: heldRefusal('delete'), ...NO_PERMISSION });
    const untouched = json<HeldItem>(await h().get(ADMIN, '/api/v1/held/CCCCCC3'));
    expect(untouched.status).toBe('held');
    expect(await audit(h(), ADMIN, '?name=mallory@other.org')).toEqual([]);
    // The permitted subscription passes the check and reaches Postfix, which does not run here (502, not 403).
    expect(expectError(await h().request(jdoe, 'DELETE', '/api/v1/held/AAAAAA1'), 502).error).toMatch(/postsuper/);
  });

  it('the administrator and the reseller are not subject to it: every row they see offers every action', async () => {
    h().recordHeld('AAAAAA1', 'alice@example.com');
    h().recordHeld('CCCCCC3', 'mallory@other.org');
    const allowed = { mayRelease: true, mayDelete: true, mayMarkCompromised: true };
    expect(await heldOf(ADMIN)).toEqual([expect.objectContaining({ queueId: 'CCCCCC3', ...allowed }), expect.objectContaining({ queueId: 'AAAAAA1', ...allowed })]);
    expect(await heldOf(RES1)).toEqual([expect.objectContaining({ queueId: 'AAAAAA1', ...allowed })]);
    expect(expectError(await h().request(RES1, 'DELETE', '/api/v1/held/AAAAAA1'), 502).error).toMatch(/postsuper/);
    expect(expectError(await h().request(ADMIN, 'DELETE', '/api/v1/held/CCCCCC3'), 502).error).toMatch(/postsuper/);
  });

  it('a bulk action checks each message exactly like the single action and answers each one; only what was allowed is tried', async () => {
    h().recordHeld('AAAAAA1', 'alice@example.com');
    h().recordHeld('CCCCCC3', 'mallory@other.org');
    const bulk = async (caller: Caller, body: Json) => {
      const response = await h().request(caller, 'POST', '/api/v1/held/bulk', body);
      expectStatus(response, 200);
      return json<{ results: Array<Json & { queueId: string }>; done: number; failed: number }>(response);
    };
    const deleted = await bulk(jdoe, { action: 'delete', queueIds: ['CCCCCC3', 'AAAAAA1', 'FFFFFF9'] });
    expect(Object.fromEntries(deleted.results.map((r) => [r.queueId, r]))).toEqual({
      CCCCCC3: { queueId: 'CCCCCC3', ok: false, httpStatus: 403, status: 'held', error: heldRefusal('delete'), ...NO_PERMISSION },
      // The permitted subscription passes the check and reaches Postfix, which does not run here.
      AAAAAA1: expect.objectContaining({ queueId: 'AAAAAA1', ok: false, httpStatus: 502, status: 'held', error: expect.stringMatching(/postsuper/) }),
      FFFFFF9: { queueId: 'FFFFFF9', ok: false, httpStatus: 404, error: 'held message FFFFFF9 not found', code: 'heldNotFound', params: { queueId: 'FFFFFF9' } },
    });
    expect([deleted.done, deleted.failed]).toEqual([0, 3]);
    // Mail of another customer is not found, exactly as GET says, whatever the action.
    expect((await bulk(MARY, { action: 'release', queueIds: ['AAAAAA1'] })).results).toEqual([
      { queueId: 'AAAAAA1', ok: false, httpStatus: 404, error: 'held message AAAAAA1 not found', code: 'heldNotFound', params: { queueId: 'AAAAAA1' } },
    ]);
    expect(expectError(await h().request(jdoe, 'POST', '/api/v1/held/bulk', { action: 'release', queueIds: ['AAAAAA1'], force: true }), 403).error).toBe('Only the administrator can release mail beyond the limit.');

    const marked = await bulk(jdoe, { action: 'compromise', queueIds: ['AAAAAA1', 'CCCCCC3'] });
    expect(marked.results).toEqual([
      { queueId: 'AAAAAA1', ok: true, status: 'held' },
      { queueId: 'CCCCCC3', ok: false, httpStatus: 403, status: 'held', error: refusal, ...NO_PERMISSION },
    ]);
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe(0);
    expect((await getRow(h(), ADMIN, 'mailbox', 'mallory@other.org')).ownLimit).toBe('default');
    expect((await audit(h(), ADMIN, '?name=alice@example.com'))[0]).toMatchObject({ action: 'mailbox.compromised', actorLogin: 'jdoe' });
    expect(await audit(h(), ADMIN, '?name=mallory@other.org')).toEqual([]);

    // Bad requests are refused as a whole, with the field that is wrong.
    const many = Array.from({ length: 501 }, (_, i) => `AAAA${String(i).padStart(4, '0')}`);
    expectError(await h().request(ADMIN, 'POST', '/api/v1/held/bulk', { action: 'release', queueIds: many }), 400, { queueIds: 'must name at most 500 messages' });
    expectError(await h().request(ADMIN, 'POST', '/api/v1/held/bulk', { action: 'release', queueIds: [] }), 400, { queueIds: 'must name at least one message' });
    expectError(await h().request(ADMIN, 'POST', '/api/v1/held/bulk', { action: 'release', queueIds: ['../etc'] }), 400, { 'queueIds.0': ANY });
    expectError(await h().request(ADMIN, 'POST', '/api/v1/held/bulk', { action: 'purge', queueIds: ['AAAAAA1'] }), 400, { action: 'must be "release", "delete" or "compromise"' });
  });

  it('compromised marks say whether this person may restore them; a restore on the other subscription is 403', async () => {
    expectStatus(await h().request(ADMIN, 'POST', '/api/v1/mailboxes/mallory@other.org/compromised'), 201);
    const marked = json<{ entry: Json }>(await h().request(jdoe, 'POST', '/api/v1/mailboxes/alice@example.com/compromised'));
    expect(marked.entry).toMatchObject({ address: 'alice@example.com', mayRestore: true });
    const entries = json<{ items: Array<{ address: string; mayRestore: boolean }> }>(await h().get(jdoe, '/api/v1/compromised')).items;
    expect(Object.fromEntries(entries.map((e) => [e.address, e.mayRestore]))).toEqual({ 'alice@example.com': true, 'mallory@other.org': false });
    expect(json<{ items: Array<{ mayRestore: boolean }> }>(await h().get(ADMIN, '/api/v1/compromised')).items.map((e) => e.mayRestore)).toEqual([true, true]);

    expect(expectError(await h().request(jdoe, 'DELETE', '/api/v1/mailboxes/mallory@other.org/compromised'), 403)).toEqual({ error: refusal, code: 'noPermission', params: { subscription: 'other.org' } });
    expect((await getRow(h(), ADMIN, 'mailbox', 'mallory@other.org')).ownLimit).toBe(0);
    expect(json(await h().request(jdoe, 'DELETE', '/api/v1/mailboxes/alice@example.com/compromised'))).toMatchObject({ address: 'alice@example.com', mayRestore: true });
  });

  it('a Plesk customer signed without the list may read but change nothing; resellers are not subject to it', async () => {
    const noList: Caller = { login: 'jdoe', userId: '20', role: 'customer' };
    expect((await getRow(h(), noList, 'mailbox', 'alice@example.com')).mayChangeLimit).toBe(false);
    const body = expectError(await setLimit(h(), noList, 'mailbox', 'alice@example.com', 1), 403);
    expect(body.error).toContain('subscription example.com');
    expectStatus(await setLimit(h(), RES1, 'mailbox', 'alice@example.com', 1), 200);
  });
});

// =========================================================================================================

describe('bad input', () => {
  const h = useHarness();
  const url = objectUrl('mailbox', 'alice@example.com') + '/limit';

  it('invalid JSON is 400', async () => {
    const response = await h().request(ADMIN, 'PUT', url, undefined, { raw: '{"limit": 5' });
    expect(expectError(response, 400).error).toMatch(/^invalid JSON/);
  });

  it(`a body over ${MAX_BODY_BYTES} bytes is 413, and nothing changes`, async () => {
    const big = JSON.stringify({ limit: 5, padding: 'x'.repeat(5 * 1024 * 1024) });
    const response = await h().request(ADMIN, 'PUT', url, undefined, { raw: big });
    expect(expectError(response, 413).error).toBe(`request body larger than ${MAX_BODY_BYTES} bytes`);
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
    const bulk = await h().request(ADMIN, 'POST', '/api/v1/limits/bulk', undefined, {
      raw: JSON.stringify({ level: 'mailbox', names: Array.from({ length: 1000 }, () => 'x'.repeat(1100)), limit: 1 }),
    });
    expectError(bulk, 413);
  });

  it('a limit of the wrong type, negative, fractional, too big or a numeric string is 400 on field limit', async () => {
    for (const limit of [true, null, -1, 2.5, 1_000_000_001, '25', 'Unlimited', '', [], {}]) {
      const response = await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', limit);
      expectError(response, 400, { limit: LIMIT_MESSAGE });
    }
    expectError(await h().request(ADMIN, 'PUT', url, {}), 400, { limit: ANY });
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
  });

  it('the edges of the range are accepted', async () => {
    for (const limit of [0, 1_000_000_000, 'unlimited', 'default']) {
      const response = await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', limit);
      expectStatus(response, 200);
      expect(json<ObjectRow>(response).ownLimit).toBe(limit);
    }
  });

  it('unknown fields are 400 "unknown field", including __proto__', async () => {
    expectError(await h().request(ADMIN, 'PUT', url, { limit: 5, comment: 'hi' }), 400, { comment: 'unknown field' });
    expectError(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { defaults: { mailbox: 5, planet: 1 } }), 400, { 'defaults.planet': 'unknown field' });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/mailboxes/x@example.com', { limit: 5 }), 400, { limit: 'unknown field' });
  });

  it('a "__proto__" key is refused, pollutes nothing, and is named in fields like any unknown field', async () => {
    const poisoned = await h().request(ADMIN, 'PUT', url, undefined, { raw: '{"limit": 5, "__proto__": {"polluted": true}}' });
    expectStatus(poisoned, 400);
    expect(({} as Json).polluted).toBeUndefined();
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
    // The answer must say which field was wrong (spec: 400 {error, fields: {name: message}}).
    const fields = json<{ fields: Json }>(poisoned).fields;
    expect(Object.keys(fields)).toEqual(['__proto__']);
  });

  it('a body that is not an object, or missing, is 400', async () => {
    expectError(await h().request(ADMIN, 'PUT', url, [5]), 400, { '(body)': ANY });
    expectError(await h().request(ADMIN, 'PUT', url, 5), 400);
    expectError(await h().request(ADMIN, 'PUT', url), 400);
    expectError(await h().request(ADMIN, 'PUT', url, undefined, { raw: 'null' }), 400);
  });

  it('a body that is not JSON is 415', async () => {
    expectError(await h().request(ADMIN, 'PUT', url, undefined, { raw: 'limit=5', contentType: 'application/x-www-form-urlencoded' }), 415);
  });

  it('settings: bad values are 400 on their field', async () => {
    expectError(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { defaults: { mailbox: 'default' } }), 400, { 'defaults.mailbox': 'must be a whole number from 0 to 1000000000 or "unlimited"' });
    expectError(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { defaults: { domain: -5 } }), 400, { 'defaults.domain': /whole number/ });
    expectError(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { countingUnit: 'bytes' }), 400, { countingUnit: ANY });
    expectError(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: 'yes' }), 400, { enabled: ANY });
    expect(h().enforcer.currentSettings.defaults).toEqual({ mailbox: 3, domain: 5, subscription: 8 });
  });

  it('bulk: bad level, no names, too many names are 400', async () => {
    const bulk = (body: unknown) => h().request(ADMIN, 'POST', '/api/v1/limits/bulk', body);
    expectError(await bulk({ level: 'planet', names: ['alice@example.com'], limit: 1 }), 400, { level: ANY });
    expectError(await bulk({ level: 'mailbox', names: [], limit: 1 }), 400, { names: ANY });
    expectError(await bulk({ level: 'mailbox', names: Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`), limit: 1 }), 400, { names: ANY });
    expectError(await bulk({ level: 'mailbox', names: ['alice@example.com'], limit: '3' }), 400, { limit: LIMIT_MESSAGE });
  });

  it('unknown objects are 404 at every level, for reading, setting and bulk', async () => {
    for (const level of ['subscription', 'domain', 'mailbox'] as const) {
      const name = level === 'mailbox' ? 'ghost@example.com' : 'ghost.example';
      expectError(await h().get(ADMIN, objectUrl(level, name)), 404);
      expectError(await setLimit(h(), ADMIN, level, name, 1), 404);
      expectError(await h().request(ADMIN, 'POST', '/api/v1/limits/bulk', { level, names: [name], limit: 1 }), 404);
    }
    // A name of another level is not found either: levels do not mix.
    expectError(await h().get(ADMIN, objectUrl('domain', 'alice@example.com')), 404);
  });

  it('bad query parameters are 400 with fields', async () => {
    const cases: Array<[string, string]> = [
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=abc', 'page'],
      ['pageSize=1000', 'pageSize'],
      ['pageSize=0', 'pageSize'],
      ['pageSize=1.5', 'pageSize'],
      ['sort=bogus', 'sort'],
      ['order=sideways', 'order'],
      ['blocked=maybe', 'blocked'],
      ['colour=red', 'colour'],
      [`search=${'a'.repeat(319)}`, 'search'],
    ];
    for (const [query, field] of cases) {
      const response = await h().get(ADMIN, `/api/v1/mailboxes?${query}`);
      expectError(response, 400, { [field]: ANY });
    }
    expectError(await h().get(ADMIN, '/api/v1/events?limit=0'), 400, { limit: ANY });
    expectError(await h().get(ADMIN, '/api/v1/events?level=planet'), 400, { level: ANY });
    expectError(await h().get(ADMIN, '/api/v1/anomalies?hours=745'), 400, { hours: ANY });
    expectError(await h().get(ADMIN, '/api/v1/stats?hours=0'), 400, { hours: ANY });
    expectError(await h().get(ADMIN, '/api/v1/stats?hours=49'), 400, { hours: ANY });
    expectError(await h().get(ADMIN, '/api/v1/stats?level=mailbox'), 400, { name: ANY });
    expectError(await h().get(ADMIN, '/api/v1/stats?level=planet&name=x'), 400, { level: ANY });
    expectError(await h().get(ADMIN, '/api/v1/stats?level=mailbox&name=nobody@example.com'), 404);
    expectError(await h().get(ADMIN, '/api/v1/audit?before=abc'), 400, { before: ANY });
    expectError(await h().get(ADMIN, '/api/v1/audit?limit=1001'), 400, { limit: ANY });
  });

  it('directory: subscription names must be domain names and owners logins, on import and on every sync route; nothing changes', async () => {
    const domainMessage = 'must be a domain name like example.com';
    const loginMessage = 'must be a login: 1 to 255 printable ASCII characters without spaces';
    const before = h().storeState();
    expectError(await h().request(ADMIN, 'PUT', `/api/v1/directory/subscriptions/${encodeURIComponent('my shop, inc')}`, { owner: 'jdoe' }), 400, { name: domainMessage });
    expectError(await h().request(ADMIN, 'PUT', `/api/v1/directory/subscriptions/${encodeURIComponent('exam\u200bple.org')}`, { owner: 'jdoe' }), 400, { name: domainMessage });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/subscriptions/shop.test', { owner: 'jdoe\nadmin' }), 400, { owner: loginMessage });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/subscriptions/shop.test', { owner: 'jdoe', previousName: 'my shop, inc' }), 400, { previousName: domainMessage });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/domains/shop.test', { subscription: 'my shop, inc' }), 400, { subscription: domainMessage });
    expectError(await h().request(ADMIN, 'POST', '/api/v1/directory/sync', { subscriptions: [{ name: 'my shop, inc', owner: 'jdoe' }] }), 400, { 'subscriptions.0.name': domainMessage });
    expectError(await h().request(ADMIN, 'POST', '/api/v1/directory/sync', { subscriptions: [{ name: 'shop.test', owner: 'jd oe' }] }), 400, { 'subscriptions.0.owner': loginMessage });
    const file = exampleDirectory();
    file.subscriptions[1]!.name = 'my shop, inc';
    file.subscriptions[0]!.owner = 'jdoe\n';
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory', file), 400, { 'subscriptions[1].name': domainMessage, 'subscriptions[0].owner': loginMessage });
    expect(h().storeState()).toEqual(before);
  });

  it('directory: a malformed name or address is 400 on the parameter; a bad file is 400 naming each wrong field; nothing changes', async () => {
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/domains/not_a..domain', { subscription: 'example.com' }), 400, { name: 'must be a domain name like example.com' });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/mailboxes/no-at-sign', {}), 400, { address: 'must be an email address like alice@example.com' });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory/subscriptions/x.test', { reseller: 'res1' }), 400, { owner: ANY });
    expectError(await h().request(ADMIN, 'POST', '/api/v1/directory/sync', { domains: [{ name: 'bad name', subscription: 'example.com' }] }), 400, { 'domains.0.name': ANY });
    const file = exampleDirectory();
    (file.subscriptions[0]!.domains[1] as { name: string }).name = 'not a domain';
    const response = await h().request(ADMIN, 'PUT', '/api/v1/directory', file);
    expectError(response, 400, { 'subscriptions[0].domains[1].name': 'must be a domain name like example.com' });
    expectError(await h().request(ADMIN, 'PUT', '/api/v1/directory', { subscriptions: 'none' }), 400, { subscriptions: ANY });
    expect(json<ObjectPage>(await h().get(ADMIN, '/api/v1/domains')).total).toBe(3);
  });
});

// =========================================================================================================

describe('Plesk signatures through the HTTP layer', () => {
  const h = useHarness();
  const url = objectUrl('mailbox', 'alice@example.com') + '/limit';
  const body = Buffer.from(JSON.stringify({ limit: 1 }));

  async function unchanged(): Promise<void> {
    expect((await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
  }

  it('a correctly signed request passes', async () => {
    expectStatus(await h().request(JDOE, 'PUT', url, undefined, { raw: body }), 200);
  });

  it('a tampered body, URL or role is 401 "bad signature" and changes nothing', async () => {
    const tampered = await h().request(JDOE, 'PUT', url, undefined, { raw: JSON.stringify({ limit: 0 }), signedBody: body });
    expect(expectError(tampered, 401)).toEqual({ error: 'bad signature' });
    const otherUrl = await h().request(ADMIN, 'GET', '/api/v1/mailboxes?page=2', undefined, {
      headers: h().sign(ADMIN, 'GET', '/api/v1/mailboxes?page=1', Buffer.alloc(0)),
    });
    expect(expectError(otherUrl, 401)).toEqual({ error: 'bad signature' });
    const escalated = await h().request({ ...JDOE, permittedSubscriptions: [] }, 'PUT', objectUrl('subscription', 'example.com') + '/limit', { limit: 1 }, { headers: { 'X-OML-Role': 'admin' } });
    expect(expectError(escalated, 401)).toEqual({ error: 'bad signature' });
    // A customer's list of permitted subscriptions never travels with another role.
    const withList = await h().request(JDOE, 'PUT', objectUrl('subscription', 'example.com') + '/limit', { limit: 1 }, { headers: { 'X-OML-Role': 'admin' } });
    expect(expectError(withList, 401)).toEqual({ error: 'header X-OML-Permitted-Subscriptions is for customers only, not for role admin' });
    await unchanged();
  });

  it('a wrong secret is 401', async () => {
    const response = await h().request(ADMIN, 'PUT', url, undefined, { raw: body, secret: randomBytes(32) });
    expect(expectError(response, 401)).toEqual({ error: 'bad signature' });
    await unchanged();
  });

  it('a replayed nonce is 401 the second time', async () => {
    const nonce = newNonce();
    expectStatus(await h().request(ADMIN, 'GET', '/api/v1/settings', undefined, { nonce }), 200);
    const replay = await h().request(ADMIN, 'PUT', url, undefined, { raw: body, nonce });
    expect(expectError(replay, 401)).toEqual({ error: 'nonce already used (replayed request)' });
    await unchanged();
  });

  it('a timestamp 61 s old (or ahead) is 401; 60 s old still passes', async () => {
    const now = Math.floor(h().nowMs / 1000);
    expect(expectError(await h().request(ADMIN, 'PUT', url, undefined, { raw: body, timestampSeconds: now - 61 }), 401)).toEqual({ error: 'signature expired' });
    expect(expectError(await h().request(ADMIN, 'PUT', url, undefined, { raw: body, timestampSeconds: now + 61 }), 401)).toEqual({ error: 'signature timestamp is in the future' });
    await unchanged();
    expectStatus(await h().request(ADMIN, 'PUT', url, undefined, { raw: body, timestampSeconds: now - 60 }), 200);
  });

  it('a missing identity header is 401; without the signature header there is no identity at all', async () => {
    for (const header of ['X-OML-Login', 'X-OML-User-Id', 'X-OML-Role', 'X-OML-Timestamp', 'X-OML-Nonce']) {
      const response = await h().request(ADMIN, 'PUT', url, undefined, { raw: body, headers: { [header]: null } });
      expect(expectError(response, 401)).toEqual({ error: `missing header ${header}` });
    }
    const unsigned = await h().request(ADMIN, 'PUT', url, undefined, { raw: body, headers: { 'X-OML-Signature': null } });
    expect(expectError(unsigned, 401)).toEqual({ error: 'authentication required' });
    await unchanged();
  });

  it('every endpoint of the OpenAPI document answers 401 without identity', async () => {
    const document = json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(await h().get(null, '/api/v1/openapi.json'));
    let count = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.security?.length === 0) continue; // public: logging in, this document
        const concrete = path.replace('{address}', 'alice@example.com').replace('{name}', 'example.com');
        const withBody = method === 'put' || method === 'post' || method === 'patch';
        const response = await h().request(null, method.toUpperCase(), concrete, withBody ? { limit: 1 } : undefined);
        expect(response.statusCode, `${method} ${concrete}: ${response.body}`).toBe(401);
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(20);
    expect(json<ObjectPage>(await h().get(ADMIN, '/api/v1/subscriptions')).total).toBe(2);
  });

  it('the local command identity (root, admin, empty user id) is accepted; an empty user id for anyone else is not', async () => {
    expectStatus(await h().get({ login: 'root', userId: '', role: 'admin' }, '/api/v1/settings'), 200);
    expectError(await h().get({ login: 'jdoe', userId: '', role: 'customer' }, '/api/v1/mailboxes'), 401);
  });
});

// =========================================================================================================

describe('standalone login sessions', () => {
  let h: ApiHarness;
  let admin: { cookie: string; csrf: string };
  let customer: { cookie: string; csrf: string };

  async function login(name: string, password: string): Promise<{ cookie: string; csrf: string }> {
    const response = await h.request(null, 'POST', '/api/v1/session', { login: name, password });
    expectStatus(response, 200);
    const body = json<{ login: string; role: string; csrfToken: string }>(response);
    expect(body.login).toBe(name);
    const setCookie = response.headers['set-cookie'];
    const first = String(Array.isArray(setCookie) ? setCookie[0] : setCookie);
    expect(first).toMatch(/^oml_session=[A-Za-z0-9_-]{43}; /);
    expect(first).toMatch(/HttpOnly/);
    expect(first).toMatch(/SameSite=Strict/);
    return { cookie: first.split(';')[0]!, csrf: body.csrfToken };
  }

  beforeAll(async () => {
    h = await startHarness();
    // scrypt is slow on purpose: two users, one login each, for the whole describe.
    await Promise.all([addUser(h.db, { login: 'boss', role: 'admin', password: 'boss-password' }), addUser(h.db, { login: 'jdoe', role: 'customer', password: 'jdoe-password' })]);
    [admin, customer] = await Promise.all([login('boss', 'boss-password'), login('jdoe', 'jdoe-password')]);
  });
  afterAll(async () => {
    await h.close();
  });

  it('a wrong password is 401', async () => {
    const response = await h.request(null, 'POST', '/api/v1/session', { login: 'boss', password: 'nope' });
    expect(expectError(response, 401)).toEqual({ error: 'wrong login or password' });
  });

  it('reads need only the cookie; writes without X-CSRF-Token (or with a wrong one) are 403, with it 200', async () => {
    expectStatus(await h.get(null, '/api/v1/settings', { headers: { cookie: admin.cookie } }), 200);
    const url = objectUrl('mailbox', 'alice@example.com') + '/limit';
    const without = await h.request(null, 'PUT', url, { limit: 4 }, { headers: { cookie: admin.cookie } });
    expect(expectError(without, 403)).toEqual({ error: 'missing or wrong CSRF token' });
    const wrong = await h.request(null, 'PUT', url, { limit: 4 }, { headers: { cookie: admin.cookie, 'X-CSRF-Token': customer.csrf } });
    expectError(wrong, 403);
    expect((await getRow(h, ADMIN, 'mailbox', 'alice@example.com')).ownLimit).toBe('default');
    const ok = await h.request(null, 'PUT', url, { limit: 4 }, { headers: { cookie: admin.cookie, 'X-CSRF-Token': admin.csrf } });
    expectStatus(ok, 200);
    expect(json(ok)).toMatchObject({ ownLimit: 4 });
    const row = (await audit(h, ADMIN, '?level=mailbox&name=alice@example.com'))[0];
    expect(row).toMatchObject({ actorLogin: 'boss', actorRole: 'admin', oldValue: 'default', newValue: 4 });
  });

  it('a customer session gets the customer rules: own objects only, no subscription limits', async () => {
    const headers = { cookie: customer.cookie, 'X-CSRF-Token': customer.csrf };
    expect(json<ObjectPage>(await h.get(null, '/api/v1/mailboxes', { headers })).total).toBe(5);
    expectError(await h.get(null, '/api/v1/settings', { headers }), 403);
    expectError(await h.request(null, 'PUT', objectUrl('subscription', 'example.com') + '/limit', { limit: 1 }, { headers }), 403);
    expectError(await h.request(null, 'PUT', objectUrl('mailbox', 'mallory@other.org') + '/limit', { limit: 1 }, { headers }), 404);
    expectStatus(await h.request(null, 'PUT', objectUrl('domain', 'example.net') + '/limit', { limit: 1 }, { headers }), 200);
    const session = await h.get(null, '/api/v1/session', { headers });
    expect(json(session)).toEqual({ login: 'jdoe', role: 'customer', csrfToken: customer.csrf, via: 'session' });
  });

  it('logging out ends the session', async () => {
    const extra = await login('boss', 'boss-password');
    expectError(await h.request(null, 'DELETE', '/api/v1/session', undefined, { headers: { cookie: extra.cookie } }), 403);
    expectStatus(await h.request(null, 'DELETE', '/api/v1/session', undefined, { headers: { cookie: extra.cookie, 'X-CSRF-Token': extra.csrf } }), 204);
    expectError(await h.get(null, '/api/v1/settings', { headers: { cookie: extra.cookie } }), 401);
    expectStatus(await h.get(null, '/api/v1/settings', { headers: { cookie: admin.cookie } }), 200);
  });
});

// =========================================================================================================

describe('effects of writes', () => {
  const h = useHarness();

  it('a limit set through the API governs the very next message', async () => {
    expectStatus(await setLimit(h(), JDOE, 'mailbox', 'alice@example.com', 1), 200);
    expect(h().send('alice@example.com').decision.allowed).toBe(true);
    const refused = h().send('alice@example.com').decision;
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.reason).toBe('Outgoing limit of 1 messages/hour for mailbox alice@example.com reached; try again in 60 minutes');

    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', 'unlimited'), 200);
    expect(h().send('alice@example.com').decision.allowed).toBe(true); // 2 used; domain 5 still has room
    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', 'default'), 200);
    expect(h().send('alice@example.com').decision.allowed).toBe(true); // 3 of the default 3
    expect(h().send('alice@example.com').decision.allowed).toBe(false);
    expect(await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ used: 3, blocked: true, effectiveLimit: 3, limitSource: 'default', freesInSeconds: 3600 });

    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { defaults: { mailbox: 4 } }), 200);
    expect(h().send('alice@example.com').decision.allowed).toBe(true);
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: false }), 200);
    expect(h().sendMany('alice@example.com', 3)).toBe(3);
  });

  it('a domain limit set through the API trips the domain level at once', async () => {
    expectStatus(await setLimit(h(), RES1, 'domain', 'example.com', 2), 200);
    expect(h().sendMany('alice@example.com', 1) + h().sendMany('bob@example.com', 1)).toBe(2);
    const refused = h().send('carol@example.com').decision;
    expect(!refused.allowed && refused.tripped.level).toBe('domain');
  });

  it('bulk set is all or nothing: one unknown, foreign or over-ceiling name changes none, and audits none', async () => {
    const auditBefore = await audit(h());
    const bulk = (caller: Caller, body: unknown) => h().request(caller, 'POST', '/api/v1/limits/bulk', body);
    expectError(await bulk(ADMIN, { level: 'mailbox', names: ['alice@example.com', 'bob@example.com', 'ghost@example.com'], limit: 1 }), 404);
    expectError(await bulk(JDOE, { level: 'mailbox', names: ['alice@example.com', 'mallory@other.org'], limit: 1 }), 404);
    expectError(await bulk(RES1, { level: 'domain', names: ['example.com', 'other.org'], limit: 1 }), 404);
    expect(await audit(h())).toEqual(auditBefore);

    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.net', 2), 200);
    const overCeiling = await bulk(JDOE, { level: 'mailbox', names: ['alice@example.com', 'erin@example.net'], limit: 3 });
    expectError(overCeiling, 400, { limit: 'The value must be in the range 0...2. Only the administrator can raise it.' });
    for (const name of ['alice@example.com', 'bob@example.com', 'erin@example.net']) expect((await getRow(h(), ADMIN, 'mailbox', name)).ownLimit).toBe('default');
    expect((await getRow(h(), ADMIN, 'domain', 'other.org')).ownLimit).toBe('default');
    expect((await audit(h())).filter((r) => r.action === 'limit.set').map((r) => r.objectName)).toEqual(['example.net']);
    expect(h().sendMany('alice@example.com', 3)).toBe(3);

    const ok = await bulk(JDOE, { level: 'mailbox', names: ['alice@example.com', 'erin@example.net', 'ALICE@example.com'], limit: 2 });
    expectStatus(ok, 200);
    expect(json<{ items: ObjectRow[] }>(ok).items.map((r) => [r.name, r.ownLimit, r.used, r.blocked])).toEqual([
      ['alice@example.com', 2, 3, true],
      ['erin@example.net', 2, 0, false],
    ]);
    const rows = (await audit(h())).filter((r) => r.action === 'limit.set' && r.level === 'mailbox');
    expect(rows.map((r) => [r.objectName, r.oldValue, r.newValue, r.actorLogin])).toEqual(
      expect.arrayContaining([
        ['alice@example.com', 'default', 2, 'jdoe'],
        ['erin@example.net', 'default', 2, 'jdoe'],
      ]),
    );
    expect(rows).toHaveLength(2);
  });

  it('every write endpoint leaves audit rows with actor, time, and old → new', async () => {
    const writes: Array<[Caller, string, string, unknown]> = [
      [ADMIN, 'PATCH', '/api/v1/settings', { defaults: { domain: 6 } }],
      [JDOE, 'PUT', `${objectUrl('mailbox', 'bob@example.com')}/limit`, { limit: 2 }],
      [RES1, 'PUT', `${objectUrl('domain', 'example.com')}/limit`, { limit: 4 }],
      [RES1, 'PUT', `${objectUrl('subscription', 'example.com')}/limit`, { limit: 'unlimited' }],
      [MARY, 'POST', '/api/v1/limits/bulk', { level: 'mailbox', names: ['mallory@other.org'], limit: 1 }],
      [ADMIN, 'PUT', '/api/v1/directory/subscriptions/new.test', { owner: 'mary' }],
      [ADMIN, 'PUT', '/api/v1/directory/domains/new.test', { subscription: 'new.test' }],
      [ADMIN, 'PUT', '/api/v1/directory/mailboxes/x@new.test', {}],
      [ADMIN, 'DELETE', '/api/v1/directory/mailboxes/x@new.test', undefined],
      [ADMIN, 'DELETE', '/api/v1/directory/domains/new.test', undefined],
      [ADMIN, 'DELETE', '/api/v1/directory/subscriptions/new.test', undefined],
      [ADMIN, 'POST', '/api/v1/directory/sync', { subscriptions: [{ name: 'sync.test', owner: 'jdoe' }] }],
      [ADMIN, 'PUT', '/api/v1/directory', exampleDirectory()],
    ];
    for (const [caller, method, url, body] of writes) {
      h().advance(1);
      const before = (await audit(h()))[0]?.id ?? 0;
      const response = await h().request(caller, method, url, body);
      expect(response.statusCode, `${method} ${url}: ${response.body}`).toBeLessThan(300);
      const added = (await audit(h())).filter((r) => r.id > before);
      expect(added.length, `${method} ${url} audited`).toBeGreaterThanOrEqual(1);
      for (const row of added) expect(row).toMatchObject({ actorLogin: caller.login, actorRole: caller.role, atMs: h().nowMs });
    }
    const rows = await audit(h());
    expect(rows.find((r) => r.action === 'settings.update')).toMatchObject({
      oldValue: { defaults: { domain: 5 } },
      newValue: { defaults: { domain: 6 } },
    });
    expect(rows.find((r) => r.action === 'limit.set' && r.level === 'subscription')).toMatchObject({ objectName: 'example.com', oldValue: 'default', newValue: 'unlimited', actorLogin: 'res1' });
    expect(rows.find((r) => r.action === 'directory.deleted' && r.level === 'mailbox')).toMatchObject({ objectName: 'x@new.test' });
  });

  it('GET /audit filters by object, newest first; customers and resellers see only their own objects', async () => {
    for (const [caller, level, name, limit] of [
      [JDOE, 'mailbox', 'alice@example.com', 1],
      [RES1, 'mailbox', 'alice@example.com', 2],
      [ADMIN, 'mailbox', 'bob@example.com', 3],
      [MARY, 'mailbox', 'mallory@other.org', 1],
      [ADMIN, 'domain', 'alice@example.com', 1], // no such domain: 404, no row
    ] as Array<[Caller, Level, string, number]>) {
      await setLimit(h(), caller, level, name, limit);
      h().advance(5);
    }
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: true }), 200);

    const alice = await audit(h(), ADMIN, '?level=mailbox&name=ALICE@example.com');
    expect(alice.map((r) => [r.actorLogin, r.oldValue, r.newValue])).toEqual([
      ['res1', 1, 2],
      ['jdoe', 'default', 1],
    ]);
    expect(alice[0]!.atMs - alice[1]!.atMs).toBe(5000);
    expect((await audit(h(), ADMIN, '?level=mailbox')).map((r) => r.objectName)).toEqual(['mallory@other.org', 'bob@example.com', 'alice@example.com', 'alice@example.com']);
    expect(await audit(h(), ADMIN, '?limit=2')).toHaveLength(2);
    const newest = (await audit(h()))[0]!;
    expect((await audit(h(), ADMIN, `?before=${newest.id}`))[0]?.id).toBeLessThan(newest.id);

    expect((await audit(h(), JDOE)).map((r) => r.objectName)).toEqual(['bob@example.com', 'alice@example.com', 'alice@example.com']);
    expect((await audit(h(), RES1)).map((r) => r.objectName)).toEqual(['bob@example.com', 'alice@example.com', 'alice@example.com']);
    expect((await audit(h(), MARY)).map((r) => r.objectName)).toEqual(['mallory@other.org']);
    expect(await audit(h(), RES2)).toEqual([]);
    expect(await audit(h(), MARY, '?level=mailbox&name=alice@example.com')).toEqual([]);
    expect(await audit(h(), JDOE, '?limit=1')).toHaveLength(1);
  });

  it('GET /events lists refused messages, newest first; each customer sees only the events of its own objects', async () => {
    expect(h().sendMany('alice@example.com', 5)).toBe(3); // 2 refused at the mailbox
    h().advance(10);
    expect(h().sendMany('bob@example.com', 3)).toBe(2); // the domain (5) trips on the third
    h().advance(10);
    expect(h().sendMany('mallory@other.org', 4)).toBe(3);

    const all = await events(h());
    expect(all.map((e) => [e.level, e.objectName, e.sender])).toEqual([
      ['mailbox', 'mallory@other.org', 'mallory@other.org'],
      ['domain', 'example.com', 'bob@example.com'],
      ['mailbox', 'alice@example.com', 'alice@example.com'],
      ['mailbox', 'alice@example.com', 'alice@example.com'],
    ]);
    expect(all[1]?.reason).toMatch(/^Outgoing limit of 5 messages\/hour for domain example\.com reached; message held, sent automatically in about 60 minutes$/);
    expect((await events(h(), JDOE)).map((e) => e.objectName)).toEqual(['example.com', 'alice@example.com', 'alice@example.com']);
    expect((await events(h(), RES1)).map((e) => e.objectName)).toEqual(['example.com', 'alice@example.com', 'alice@example.com']);
    expect((await events(h(), MARY)).map((e) => e.objectName)).toEqual(['mallory@other.org']);
    expect(await events(h(), RES2)).toEqual([]);
    expect(await events(h(), ADMIN, '?level=mailbox&name=alice@example.com')).toHaveLength(2);
    expect(await events(h(), ADMIN, '?level=domain')).toHaveLength(1);
    expect(await events(h(), ADMIN, '?limit=1')).toHaveLength(1);
    expect(await events(h(), MARY, '?name=alice@example.com')).toEqual([]);
    expect(await events(h(), JDOE, '?limit=2')).toHaveLength(2);
  });

  it("events of a deleted mailbox never show up for the customer whose new mailbox gets the same id", async () => {
    const mallory = h().enforcer.directory.find('mailbox', 'mallory@other.org')!;
    expect(h().sendMany('mallory@other.org', 4)).toBe(3);
    expect(await events(h(), MARY)).toHaveLength(1);
    expectStatus(await h().request(ADMIN, 'DELETE', '/api/v1/directory/mailboxes/mallory@other.org'), 204);
    expectStatus(await h().request(ADMIN, 'PUT', '/api/v1/directory/mailboxes/newbie@example.com', {}), 200);
    // Ids are never handed out twice (AUTOINCREMENT), so old events can never match the new mailbox.
    expect(h().enforcer.directory.find('mailbox', 'newbie@example.com')?.id).not.toBe(mallory.id);
    const seenByJdoe = await events(h(), JDOE);
    expect(seenByJdoe.filter((e) => e.sender === 'mallory@other.org')).toEqual([]);
    expect(await events(h(), JDOE, '?level=mailbox&name=mallory@other.org')).toEqual([]);
  });

  it('a mailbox created in place of a deleted one does not inherit its counts after a restart', async () => {
    const mallory = h().enforcer.directory.find('mailbox', 'mallory@other.org')!;
    // Sent, not yet written to the store: the daemon writes counts every 200 ms.
    expect(h().sendMany('mallory@other.org', 3)).toBe(3);
    expectStatus(await h().request(ADMIN, 'DELETE', '/api/v1/directory/mailboxes/mallory@other.org'), 204);
    h().flush(); // the daemon's next flush tick
    expectStatus(await h().request(ADMIN, 'PUT', '/api/v1/directory/mailboxes/newbie@example.com', {}), 200);
    const newbie = h().enforcer.directory.find('mailbox', 'newbie@example.com')!;
    expect(newbie.id).not.toBe(mallory.id);
    expect((await getRow(h(), JDOE, 'mailbox', 'newbie@example.com')).used).toBe(0);
    // What a daemon restart would load from the journal: nothing for the new mailbox, nothing left of the old one.
    const restarted = new RollingWindowCounters(HOUR_SECONDS);
    const now = Math.floor(h().nowMs / 1000);
    h().journal.restoreInto(restarted, now);
    expect(restarted.used(counterKey('mailbox', newbie.id), now)).toBe(0);
    expect(restarted.used(counterKey('mailbox', mallory.id), now)).toBe(0);
  });
});

// =========================================================================================================

describe('directory sync', () => {
  const h = useHarness();
  const put = (url: string, body: unknown, caller: Caller = ADMIN) => h().request(caller, 'PUT', `/api/v1/directory/${url}`, body);
  const change = async (response: LightMyRequestResponse) => {
    expectStatus(response, 200);
    return json<{ change: string }>(response).change;
  };

  it('PUT subscription: created, unchanged, updated (a new owner moves visibility)', async () => {
    expect(await change(await put('subscriptions/shop.test', { owner: 'jdoe', reseller: 'res1' }))).toBe('created');
    expect(await change(await put('subscriptions/SHOP.test', { owner: 'jdoe', reseller: 'res1' }))).toBe('unchanged');
    expect(await getRow(h(), JDOE, 'subscription', 'shop.test')).toMatchObject({ ownLimit: 'default', effectiveLimit: 8 });
    expect(await change(await put('subscriptions/other.org', { owner: 'jdoe', reseller: null, systemUser: 'otherorg' }))).toBe('updated');
    expect((await getRow(h(), JDOE, 'mailbox', 'mallory@other.org')).subscription).toBe('other.org');
    expectError(await h().get(MARY, objectUrl('mailbox', 'mallory@other.org')), 404);
    const rows = await audit(h());
    expect(rows.map((r) => r.action)).toEqual(['directory.updated', 'directory.created']);
  });

  it('PUT subscription with its service plan: objects without an own value follow the plan, the plan limits mail, plan null goes back to the defaults', async () => {
    const owner = { owner: 'jdoe', reseller: 'res1', systemUser: 'examplecom' };
    const silver = { name: 'Silver', mailbox: 2, domain: null, subscription: 'unlimited' };
    expect(await change(await put('subscriptions/example.com', { ...owner, plan: silver }))).toBe('updated');
    expect(await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ ownLimit: 'default', effectiveLimit: 2, limitSource: 'plan', defaultLimit: 2 });
    expect(await getRow(h(), JDOE, 'domain', 'example.com')).toMatchObject({ effectiveLimit: 5, limitSource: 'default' });
    expect(await getRow(h(), JDOE, 'subscription', 'example.com')).toMatchObject({ effectiveLimit: 'unlimited', limitSource: 'plan' });
    expect(await getRow(h(), MARY, 'mailbox', 'mallory@other.org')).toMatchObject({ effectiveLimit: 3, limitSource: 'default' });
    expect(h().sendMany('alice@example.com', 3)).toBe(2);

    // An own value wins over the plan; leaving the plan out of a later sync keeps it.
    expectStatus(await setLimit(h(), JDOE, 'mailbox', 'bob@example.com', 4), 200);
    expect(await change(await put('subscriptions/example.com', owner))).toBe('unchanged');
    expect(await getRow(h(), JDOE, 'mailbox', 'bob@example.com')).toMatchObject({ effectiveLimit: 4, limitSource: 'own' });
    expect(await getRow(h(), JDOE, 'mailbox', 'carol@example.com')).toMatchObject({ effectiveLimit: 2, limitSource: 'plan' });

    expect(await change(await put('subscriptions/example.com', { ...owner, plan: null }))).toBe('updated');
    expect(await getRow(h(), JDOE, 'mailbox', 'carol@example.com')).toMatchObject({ effectiveLimit: 3, limitSource: 'default' });
    const bad = await put('subscriptions/example.com', { ...owner, plan: { name: 'Bad', mailbox: -1, domain: null, subscription: null } });
    expectError(bad, 400, { 'plan.mailbox': ANY });
  });

  it('PUT domain and mailbox: created, unchanged; a missing parent is 409', async () => {
    expect(await change(await put('domains/example.org', { subscription: 'example.com' }))).toBe('created');
    expect(await change(await put('domains/example.org', { subscription: 'example.com' }))).toBe('unchanged');
    expect(await change(await put('mailboxes/frank@example.org', {}))).toBe('created');
    expect(await change(await put('mailboxes/Frank@Example.org', {}))).toBe('unchanged');
    expect(h().sendMany('frank@example.org', 4)).toBe(3);
    expect(await getRow(h(), JDOE, 'mailbox', 'frank@example.org')).toMatchObject({ used: 3, blocked: true, domain: 'example.org', subscription: 'example.com' });
    expect(expectError(await put('domains/lost.test', { subscription: 'nowhere.test' }), 409).error).toBe('no subscription named nowhere.test');
    expect(expectError(await put('mailboxes/x@nowhere.test', {}), 409).error).toMatch(/no domain named nowhere\.test/);
    expectError(await h().get(ADMIN, objectUrl('domain', 'lost.test')), 404);
  });

  it('a mailbox rename keeps its own limit and its counts', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', 7), 200);
    expect(h().sendMany('alice@example.com', 2)).toBe(2);
    expect(await change(await put('mailboxes/alicia@example.com', { previousAddress: 'alice@example.com' }))).toBe('renamed');
    expect(await getRow(h(), JDOE, 'mailbox', 'alicia@example.com')).toMatchObject({ ownLimit: 7, used: 2, limitSource: 'own' });
    expectError(await h().get(ADMIN, objectUrl('mailbox', 'alice@example.com')), 404);
    // Repeating the event changes nothing (the old name is gone).
    expect(await change(await put('mailboxes/alicia@example.com', { previousAddress: 'alice@example.com' }))).toBe('unchanged');
    expect(await getRow(h(), ADMIN, 'mailbox', 'alicia@example.com')).toMatchObject({ ownLimit: 7, used: 2 });
    expect(h().send('alicia@example.com').decision.allowed).toBe(true);
    expect((await getRow(h(), ADMIN, 'domain', 'example.com')).used).toBe(3);
  });

  it('a domain rename keeps its limit and counts, and carries its mailboxes along', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.net', 4), 200);
    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'erin@example.net', 2), 200);
    expect(h().sendMany('erin@example.net', 1)).toBe(1);
    expect(await change(await put('domains/example.info', { subscription: 'example.com', previousName: 'example.net' }))).toBe('renamed');
    expect(await getRow(h(), JDOE, 'domain', 'example.info')).toMatchObject({ ownLimit: 4, used: 1 });
    expect(await getRow(h(), JDOE, 'mailbox', 'erin@example.info')).toMatchObject({ ownLimit: 2, used: 1, domain: 'example.info' });
    expect(h().sendMany('erin@example.info', 2)).toBe(1);
  });

  it('a subscription rename keeps its limit and counts; renaming onto an existing name is 409', async () => {
    expectStatus(await setLimit(h(), RES1, 'subscription', 'example.com', 6), 200);
    expect(h().sendMany('bob@example.com', 2)).toBe(2);
    const renamed = await put('subscriptions/example-shop.com', { owner: 'jdoe', reseller: 'res1', systemUser: 'examplecom', previousName: 'example.com' });
    expect(await change(renamed)).toBe('renamed');
    expect(await getRow(h(), JDOE, 'subscription', 'example-shop.com')).toMatchObject({ ownLimit: 6, used: 2 });
    expect((await getRow(h(), JDOE, 'mailbox', 'bob@example.com')).subscription).toBe('example-shop.com');
    const clash = await put('subscriptions/other.org', { owner: 'mary', previousName: 'example-shop.com' });
    expect(expectError(clash, 409).error).toBe('cannot rename example-shop.com to other.org: other.org exists already');
    expectStatus(await h().get(JDOE, objectUrl('subscription', 'example-shop.com')), 200);
  });

  it('DELETE is idempotent: 204 twice, one audit row, the object and its counts are gone', async () => {
    expect(h().sendMany('dave@example.com', 2)).toBe(2);
    for (let i = 0; i < 2; i++) expectStatus(await h().request(ADMIN, 'DELETE', '/api/v1/directory/mailboxes/DAVE@example.com'), 204);
    expectError(await h().get(ADMIN, objectUrl('mailbox', 'dave@example.com')), 404);
    expect((await audit(h())).map((r) => [r.action, r.level, r.objectName])).toEqual([['directory.deleted', 'mailbox', 'dave@example.com']]);
    expect((await getRow(h(), ADMIN, 'domain', 'example.com')).used).toBe(2); // the domain keeps what was sent through it
    expect(await change(await put('mailboxes/dave@example.com', {}))).toBe('created');
    expect((await getRow(h(), ADMIN, 'mailbox', 'dave@example.com')).used).toBe(0);
    for (let i = 0; i < 2; i++) expectStatus(await h().request(ADMIN, 'DELETE', '/api/v1/directory/subscriptions/other.org'), 204);
    expectError(await h().get(ADMIN, objectUrl('mailbox', 'mallory@other.org')), 404);
  });

  it('POST /directory/sync: upserts and deletes in one go, idempotent, all or nothing', async () => {
    const batch = {
      subscriptions: [{ name: 'shop.test', owner: 'jdoe', reseller: 'res1' }],
      domains: [{ name: 'shop.test', subscription: 'shop.test' }],
      mailboxes: [{ address: 'sales@shop.test' }, { address: 'erin2@example.net', previousAddress: 'erin@example.net' }],
      delete: { mailboxes: ['dave@example.com', 'ghost@example.com'], domains: ['other.org'] },
    };
    const sync = (body: unknown, caller: Caller = ADMIN) => h().request(caller, 'POST', '/api/v1/directory/sync', body);
    const first = await sync(batch);
    expectStatus(first, 200);
    expect(json(first)).toEqual({ created: 3, updated: 0, renamed: 1, unchanged: 0, deleted: 2 });
    const second = await sync(batch);
    expect(json(second)).toEqual({ created: 0, updated: 0, renamed: 0, unchanged: 4, deleted: 0 });
    expect(json<ObjectPage>(await h().get(JDOE, '/api/v1/mailboxes')).items.map((r) => r.name)).toEqual([
      'alice@example.com',
      'bob@example.com',
      'carol@example.com',
      'erin2@example.net',
      'sales@shop.test',
    ]);
    expect(json<ObjectPage>(await h().get(MARY, '/api/v1/mailboxes')).total).toBe(0);

    // One bad item (a domain of a subscription that does not exist) → 409, and the rest of the batch is not applied.
    const conflict = await sync({ subscriptions: [{ name: 'half.test', owner: 'jdoe' }], domains: [{ name: 'half.test', subscription: 'nowhere.test' }] });
    expectError(conflict, 409);
    expectError(await h().get(ADMIN, objectUrl('subscription', 'half.test')), 404);
    expect((await audit(h())).filter((r) => r.action === 'directory.sync')).toHaveLength(2);
  });

  it('only the administrator syncs: resellers and customers get 403 and nothing changes', async () => {
    for (const caller of [RES1, JDOE]) {
      expectError(await h().request(caller, 'POST', '/api/v1/directory/sync', { subscriptions: [{ name: 'sneaky.test', owner: caller.login }] }), 403);
      expectError(await put('subscriptions/sneaky.test', { owner: caller.login }, caller), 403);
      expectError(await h().request(caller, 'DELETE', '/api/v1/directory/mailboxes/alice@example.com'), 403);
      expectError(await h().request(caller, 'PUT', '/api/v1/directory', { subscriptions: [] }), 403);
    }
    expect(json<ObjectPage>(await h().get(ADMIN, '/api/v1/subscriptions')).total).toBe(2);
    expect(json<ObjectPage>(await h().get(ADMIN, '/api/v1/mailboxes')).total).toBe(6);
    expect(await audit(h())).toEqual([]);
  });

  it('PUT /directory keeps the counts of objects that remain', async () => {
    expect(h().sendMany('bob@example.com', 2)).toBe(2);
    const file = exampleDirectory({ 'bob@example.com': 10 });
    file.subscriptions.pop();
    expectStatus(await h().request(ADMIN, 'PUT', '/api/v1/directory', file), 200);
    expect(await getRow(h(), ADMIN, 'mailbox', 'bob@example.com')).toMatchObject({ used: 2, ownLimit: 10 });
    expect(json<ObjectPage>(await h().get(ADMIN, '/api/v1/subscriptions')).total).toBe(1);
  });
});

// =========================================================================================================

describe('pagination, search, sort and the blocked filter over ~300 mailboxes', () => {
  const BIG: Caller = { login: 'bigcust', userId: '30', role: 'customer' };
  const pad = (i: number) => String(i).padStart(3, '0');
  let h: ApiHarness;
  // No bare "?": app.inject drops it from the URL, which would no longer match what was signed.
  const page = async (query: string, caller: Caller = BIG) => expectPage(await h.get(caller, query ? `/api/v1/mailboxes?${query}` : '/api/v1/mailboxes'), 'mailbox');

  beforeAll(async () => {
    h = await startHarness({ settings: { enabled: true, defaults: { mailbox: 5, domain: 'unlimited', subscription: 'unlimited' } } });
    const created = await h.request(ADMIN, 'POST', '/api/v1/directory/sync', {
      subscriptions: [{ name: 'big.test', owner: 'bigcust', reseller: 'res1' }],
      domains: [{ name: 'big.test', subscription: 'big.test' }],
      mailboxes: Array.from({ length: 300 }, (_, i) => ({ address: `user${pad(i)}@big.test` })),
    });
    expect(json(created)).toMatchObject({ created: 302 });
    h.sendMany('user010@big.test', 5);
    h.sendMany('user030@big.test', 7); // 5 accepted, then blocked
    h.sendMany('user020@big.test', 3);
    h.sendMany('user040@big.test', 1);
  });
  afterAll(async () => {
    await h.close();
  });

  it('page, pageSize and total', async () => {
    const first = await page('');
    expect(first).toMatchObject({ total: 300, page: 1, pageSize: 50 });
    expect(first.items).toHaveLength(50);
    expect(first.items[0]?.name).toBe('user000@big.test');
    expect(first.items[49]?.name).toBe('user049@big.test');
    const sixth = await page('page=6&pageSize=50');
    expect(sixth.items.map((r) => r.name)).toEqual(Array.from({ length: 50 }, (_, i) => `user${pad(250 + i)}@big.test`));
    expect(await page('page=7')).toMatchObject({ items: [], total: 300, page: 7 });
    const large = await page('page=2&pageSize=200');
    expect(large.items).toHaveLength(100);
    expect(large.items[0]?.name).toBe('user200@big.test');
    // Everyone's totals: admin 300 + 6 of the example directory, res1 300 + 5 of jdoe, jdoe only 5.
    expect((await page('', ADMIN)).total).toBe(306);
    expect((await page('', RES1)).total).toBe(305);
    expect((await page('', JDOE)).total).toBe(5);
    expect((await page('pageSize=200', MARY)).items.map((r) => r.name)).toEqual(['mallory@other.org']);
  });

  it('search narrows (case-insensitively) and pages within the matches', async () => {
    const matches = await page('search=USER01');
    expect(matches.total).toBe(10);
    expect(matches.items.map((r) => r.name)).toEqual(Array.from({ length: 10 }, (_, i) => `user${pad(10 + i)}@big.test`));
    expect(await page('search=user01&page=2&pageSize=4')).toMatchObject({ total: 10, items: [{ name: 'user014@big.test' }, {}, {}, { name: 'user017@big.test' }] });
    expect((await page('search=nobody')).total).toBe(0);
    expect((await page('search=big.test&domain=big.test&subscription=big.test')).total).toBe(300);
    expect((await page('search=user0', ADMIN)).total).toBe(100);
  });

  it('sort=used&order=desc puts the busiest first; sort=name&order=desc reverses names; sort=limit orders by effective limit', async () => {
    const busiest = await page('sort=used&order=desc&pageSize=5');
    expect(busiest.items.map((r) => [r.name, r.used])).toEqual([
      [expect.stringMatching(/^user0[13]0@big\.test$/), 5],
      [expect.stringMatching(/^user0[13]0@big\.test$/), 5],
      ['user020@big.test', 3],
      ['user040@big.test', 1],
      [expect.any(String), 0],
    ]);
    expect((await page('sort=used&order=asc&pageSize=1')).items[0]?.used).toBe(0);
    expect((await page('sort=name&order=desc&pageSize=1')).items[0]?.name).toBe('user299@big.test');

    expectStatus(await setLimit(h, ADMIN, 'mailbox', 'user100@big.test', 1), 200);
    expectStatus(await setLimit(h, ADMIN, 'mailbox', 'user200@big.test', 'unlimited'), 200);
    expect((await page('sort=limit&pageSize=1')).items[0]).toMatchObject({ name: 'user100@big.test', effectiveLimit: 1 });
    expect((await page('sort=limit&order=desc&pageSize=1')).items[0]).toMatchObject({ name: 'user200@big.test', effectiveLimit: 'unlimited' });
  });

  it('blocked=true shows only the blocked ones, with when they free', async () => {
    const blocked = await page('blocked=true');
    expect(blocked.total).toBe(2);
    expect(blocked.items.map((r) => r.name)).toEqual(['user010@big.test', 'user030@big.test']);
    for (const row of blocked.items) expect(row).toMatchObject({ blocked: true, used: 5, effectiveLimit: 5, freesInSeconds: 3600 });
    h.advance(600);
    expect((await page('blocked=true')).items[0]?.freesInSeconds).toBe(3000);
    expect((await page('blocked=true', JDOE)).total).toBe(0);
    expect((await page('blocked=true', ADMIN)).total).toBe(2);
  });
});

// =========================================================================================================

describe('concurrent writers', () => {
  const h = useHarness();

  it('two PUTs on one mailbox at once end in one consistent state, with an audit chain second.old == first.new', async () => {
    const url = `${objectUrl('mailbox', 'alice@example.com')}/limit`;
    const [a, b] = await Promise.all([h().request(ADMIN, 'PUT', url, { limit: 7 }), h().request(RES1, 'PUT', url, { limit: 9 })]);
    expectStatus(a, 200);
    expectStatus(b, 200);
    const final = (await getRow(h(), ADMIN, 'mailbox', 'alice@example.com')).ownLimit;
    expect([7, 9]).toContain(final);
    expect(h().enforcer.directory.find('mailbox', 'alice@example.com')?.effective.limit).toBe(final);
    const [second, first] = await audit(h(), ADMIN, '?level=mailbox&name=alice@example.com');
    expect(first).toMatchObject({ oldValue: 'default' });
    expect(second?.oldValue).toEqual(first?.newValue);
    expect(second?.newValue).toEqual(final);
  });

  it('ten writers at once still chain in the audit', async () => {
    // The reseller leaves each value open (a 0 would otherwise be locked against jdoe).
    const url = `${objectUrl('mailbox', 'bob@example.com')}/limit`;
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => h().request(i % 2 ? RES1 : JDOE, 'PUT', url, i % 2 ? { limit: i % 5, locked: false } : { limit: i % 5 })));
    for (const response of responses) expectStatus(response, 200);
    const rows = (await audit(h(), ADMIN, '?level=mailbox&name=bob@example.com')).reverse();
    expect(rows).toHaveLength(10);
    expect(rows[0]?.oldValue).toBe('default');
    for (let i = 1; i < rows.length; i++) expect(rows[i]?.oldValue).toEqual(rows[i - 1]?.newValue);
    expect((await getRow(h(), ADMIN, 'mailbox', 'bob@example.com')).ownLimit).toEqual(rows.at(-1)?.newValue);
  });
});

// =========================================================================================================

describe('held mail by object (held routes on a Postfix that does not run here)', () => {
  const h = useHarness({ heldWithoutPostfix: true });

  it('?name= of a domain or subscription also lists mail charged to the objects inside it; never other owners\' mail', async () => {
    const hold = (queueId: string, mailbox: string) => h().recordHeld(queueId, mailbox);
    hold('AAAAAA1', 'alice@example.com');
    hold('BBBBBB2', 'erin@example.net');
    hold('CCCCCC3', 'mallory@other.org');
    const ids = async (caller: Caller, query: string) =>
      json<{ items: Array<{ queueId: string }> }>(await h().get(caller, `/api/v1/held${query}`)).items.map((m) => m.queueId).sort();
    expect(await ids(ADMIN, '?name=example.com')).toEqual(['AAAAAA1', 'BBBBBB2']); // the subscription example.com
    expect(await ids(ADMIN, '?name=example.net')).toEqual(['BBBBBB2']);
    expect(await ids(ADMIN, '?name=alice@example.com')).toEqual(['AAAAAA1']);
    expect(await ids(ADMIN, '')).toEqual(['AAAAAA1', 'BBBBBB2', 'CCCCCC3']);
    expect(await ids(JDOE, '?name=other.org')).toEqual([]);
    expect(await ids(MARY, '?name=other.org')).toEqual(['CCCCCC3']);
  });
});

// =========================================================================================================

describe('names as long as the directory accepts them work on every endpoint', () => {
  // 253 characters, the longest domain name; addresses of 64 + 1 + 253 = 318 characters, one of them with a
  // local part of 64 non-ASCII characters (576 characters percent-encoded).
  const LONG_DOMAIN = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  const LONG_ADDRESS = `${'l'.repeat(64)}@${LONG_DOMAIN}`;
  const WIDE_ADDRESS = `${'€'.repeat(64)}@${LONG_DOMAIN}`;
  const LONG_OWNER: Caller = { login: 'jdoe', userId: '20', role: 'customer', permittedSubscriptions: ['example.com', LONG_DOMAIN] };
  const directory = exampleDirectory();
  directory.subscriptions.push({
    name: LONG_DOMAIN,
    owner: 'jdoe',
    reseller: 'res1',
    systemUser: null,
    limit: null,
    domains: [{ name: LONG_DOMAIN, limit: null, mailboxes: [{ address: LONG_ADDRESS, limit: null }, { address: WIDE_ADDRESS, limit: null }] }],
  });
  const h = useHarness({ directory, heldWithoutPostfix: true });

  it('the names are as long as the import accepts', () => {
    expect([LONG_DOMAIN.length, LONG_ADDRESS.length, WIDE_ADDRESS.length]).toEqual([253, 318, 318]);
    expect(encodeURIComponent(WIDE_ADDRESS).length).toBe(832);
  });

  it('read and set the limit of each level, one by one and in bulk, as the administrator and as the owner', async () => {
    for (const [level, name] of [['subscription', LONG_DOMAIN], ['domain', LONG_DOMAIN], ['mailbox', LONG_ADDRESS], ['mailbox', WIDE_ADDRESS]] as const) {
      expect((await getRow(h(), ADMIN, level, name)).name).toBe(name);
      expect((await getRow(h(), LONG_OWNER, level, name)).name).toBe(name);
      expectStatus(await setLimit(h(), ADMIN, level, name, 2), 200);
      if (level !== 'subscription') expectStatus(await setLimit(h(), LONG_OWNER, level, name, 1), 200);
      expectStatus(await h().request(ADMIN, 'POST', '/api/v1/limits/bulk', { level, names: [name], limit: 2 }), 200);
    }
  });

  it('mark compromised and restore; held mail, events, stats and audit by name', async () => {
    for (const address of [LONG_ADDRESS, WIDE_ADDRESS]) {
      const url = `${objectUrl('mailbox', address)}/compromised`;
      expectStatus(await h().request(LONG_OWNER, 'POST', url), 201);
      expect(json<{ items: Array<{ address: string }> }>(await h().get(ADMIN, '/api/v1/compromised')).items.map((e) => e.address)).toContain(address);
      expectStatus(await h().request(LONG_OWNER, 'DELETE', url), 200);
    }
    h().recordHeld('LONGQ1', LONG_ADDRESS);
    const name = encodeURIComponent(LONG_ADDRESS);
    expect(json<{ items: unknown[] }>(await h().get(LONG_OWNER, `/api/v1/held?name=${name}`)).items).toHaveLength(1);
    expectStatus(await h().get(LONG_OWNER, `/api/v1/events?level=mailbox&name=${name}`), 200);
    expectStatus(await h().get(LONG_OWNER, `/api/v1/stats?level=mailbox&name=${name}`), 200);
    expect((await audit(h(), LONG_OWNER, `?level=mailbox&name=${name}`)).length).toBeGreaterThan(0);
    const found = json<ObjectPage>(await h().get(LONG_OWNER, `/api/v1/mailboxes?search=${name}&domain=${LONG_DOMAIN}&subscription=${LONG_DOMAIN}`));
    expect(found.items.map((row) => row.name)).toEqual([LONG_ADDRESS]);
  });

  it("Plesk's sync creates, updates and removes them", async () => {
    const put = (path: string, body: unknown) => h().request(ADMIN, 'PUT', `/api/v1/directory/${path}`, body);
    expect(json(await put(`subscriptions/${LONG_DOMAIN}`, { owner: 'mary' }))).toEqual({ change: 'updated' });
    expect(json(await put(`domains/${LONG_DOMAIN}`, { subscription: LONG_DOMAIN }))).toEqual({ change: 'unchanged' });
    expect(json(await put(`mailboxes/${encodeURIComponent(WIDE_ADDRESS)}`, {}))).toEqual({ change: 'unchanged' });
    const synced = await h().request(ADMIN, 'POST', '/api/v1/directory/sync', { subscriptions: [{ name: LONG_DOMAIN, owner: 'jdoe' }], mailboxes: [{ address: LONG_ADDRESS }] });
    expect(json(synced)).toMatchObject({ updated: 1, unchanged: 1 });
    expectStatus(await h().request(ADMIN, 'DELETE', `/api/v1/directory/mailboxes/${encodeURIComponent(WIDE_ADDRESS)}`), 204);
    expectError(await h().get(ADMIN, objectUrl('mailbox', WIDE_ADDRESS)), 404);
    expectStatus(await h().request(ADMIN, 'DELETE', `/api/v1/directory/domains/${LONG_DOMAIN}`), 204);
    expectError(await h().get(ADMIN, objectUrl('mailbox', LONG_ADDRESS)), 404);
    expectStatus(await h().request(ADMIN, 'DELETE', `/api/v1/directory/subscriptions/${LONG_DOMAIN}`), 204);
    expectError(await h().get(ADMIN, objectUrl('subscription', LONG_DOMAIN)), 404);
  });

  it('a name longer than any the directory holds is 414 in the API shape, and changes nothing', async () => {
    const before = h().storeState();
    const tooLong = `${'x'.repeat(1025)}@example.com`;
    expectError(await h().get(ADMIN, objectUrl('mailbox', tooLong)), 414);
    expectError(await h().request(ADMIN, 'DELETE', `/api/v1/directory/mailboxes/${tooLong}`), 414);
    expect(h().storeState()).toEqual(before);
  });
});

// =========================================================================================================
// Health view: GET /doctor (administrator) and PUT /platform/plesk (the Plesk integration)

describe('health view', () => {
  const h = useHarness({ heldWithoutPostfix: true });
  /** Plesk itself, as plib's Identity::integration() signs it. */
  const INTEGRATION: Caller = { login: 'plesk', userId: 'plesk-integration', role: 'admin' };
  type Line = { id: string; state: string; reason: string; found: string; advice: string | null };
  const lineOf = async (id: string): Promise<Line> => {
    const response = await h().get(ADMIN, '/api/v1/doctor');
    expectStatus(response, 200);
    const line = json<{ lines: Line[] }>(response).lines.find((l) => l.id === id);
    if (!line) throw new Error(`no ${id} line in ${response.body}`);
    return line;
  };
  const report = { nativeLimiting: 'off', mailServer: 'postfix', checkedAt: '2029-12-31T23:00:00Z' };

  it('GET /doctor gives the administrator every line, each with state, text and (when not ok) advice', async () => {
    const response = await h().get(ADMIN, '/api/v1/doctor');
    expectStatus(response, 200);
    const body = json<{ state: string; checkedAt: string; lines: Line[] }>(response);
    expect(body.lines.map((l) => l.id)).toEqual(['daemon', 'postfix', 'plesk', 'directory', 'held', 'store', 'backup']);
    expect(body.checkedAt).toBe(new Date(h().nowMs).toISOString());
    expect(body.lines[0]).toMatchObject({ state: 'ok', reason: 'daemon.running', advice: null });
    for (const line of body.lines) expect(line.state === 'ok' ? line.advice === null : typeof line.advice === 'string', line.reason).toBe(true);
    expect(await lineOf('plesk')).toMatchObject({ state: 'ok', found: 'Not a Plesk server (Plesk never reported here).' });
  });

  it('GET /doctor is refused to resellers and customers', async () => {
    for (const caller of [RES1, JDOE]) expectError(await h().get(caller, '/api/v1/doctor'), 403);
  });

  it('PUT /platform/plesk stores the report of the Plesk integration, and the doctor judges it', async () => {
    const response = await h().request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', report);
    expectStatus(response, 200);
    expect(json(response)).toEqual({ ...report, checkedAt: '2029-12-31T23:00:00.000Z', receivedAt: new Date(h().nowMs).toISOString() });
    expect(await lineOf('plesk')).toMatchObject({ state: 'ok', reason: 'plesk.off' });

    expectStatus(await h().request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', { ...report, nativeLimiting: 'on' }), 200);
    const twice = await lineOf('plesk');
    expect(twice).toMatchObject({ state: 'problem', reason: 'plesk.nativeOn' });
    expect(twice.advice).toContain('plesk bin mailserver --disable-outgoing-antispam');

    h().advance(3 * 24 * 3600);
    expectStatus(await h().request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', { ...report, checkedAt: '2030-01-01T00:00:00Z' }), 200);
    h().advance(3 * 24 * 3600);
    expect(await lineOf('plesk')).toMatchObject({ state: 'warning', reason: 'plesk.stale' });
    // Only changes reach the audit log: on, then off again.
    const audit = json<{ items: AuditRow[] }>(await h().get(ADMIN, '/api/v1/audit'));
    expect(audit.items.filter((item) => item.action === 'platform.report').length).toBe(3);
  });

  it('PUT /platform/plesk is for the Plesk integration only: an administrator, reseller or customer gets 403 and nothing is stored', async () => {
    for (const caller of [ADMIN, RES1, JDOE]) expectError(await h().request(caller, 'PUT', '/api/v1/platform/plesk', report), 403);
    expect(await lineOf('plesk')).toMatchObject({ reason: 'plesk.none' });
  });

  it('PUT /platform/plesk with a bad body answers 400 naming each field, and stores nothing', async () => {
    expectError(await h().request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', { nativeLimiting: 'maybe', mailServer: 'exim', checkedAt: 'yesterday' }), 400, {
      nativeLimiting: 'must be one of on, off',
      mailServer: 'must be one of postfix, qmail, remote, none',
      checkedAt: /must be a date and time in ISO 8601/,
    });
    expectError(await h().request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', { ...report, extra: 1 }), 400, { extra: 'unknown field' });
    expectError(await h().request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', {}), 400, { nativeLimiting: /.+/, mailServer: /.+/, checkedAt: /.+/ });
    expect(await lineOf('plesk')).toMatchObject({ reason: 'plesk.none' });
  });

  it('the directory line says when POST /directory/sync or PUT /directory last ran', async () => {
    expect(await lineOf('directory')).toMatchObject({ state: 'warning', reason: 'directory.neverSynced' });
    expectStatus(await h().request(INTEGRATION, 'POST', '/api/v1/directory/sync', { subscriptions: [] }), 200);
    const synced = await lineOf('directory');
    expect(synced).toMatchObject({ state: 'ok', reason: 'directory.synced' });
    expect(synced.found).toContain(`last synced ${new Date(h().nowMs).toISOString()}`);

    h().advance(8 * 24 * 3600);
    expect(await lineOf('directory')).toMatchObject({ state: 'warning', reason: 'directory.stale' });
    expectStatus(await h().request(ADMIN, 'PUT', '/api/v1/directory', exampleDirectory()), 200);
    expect((await lineOf('directory')).found).toContain(`last loaded from a file ${new Date(h().nowMs).toISOString()}`);
  });

  it('the held mail line counts what waits and warns after a day', async () => {
    h().recordHeld('AAAAAA111111', 'alice@example.com');
    h().advance(3600);
    h().recordHeld('BBBBBB222222', 'bob@example.com');
    expect(await lineOf('held')).toMatchObject({ state: 'ok', found: expect.stringMatching(/^2 held message\(s\) waiting, the oldest for 60 minutes/) });
    h().advance(24 * 3600);
    const old = await lineOf('held');
    expect(old).toMatchObject({ state: 'warning', reason: 'held.old' });
    expect(old.advice).toContain('outgoing-limits held list');
  });
});

// =========================================================================================================

describe('rows say what is so: the state of the next message, held mail, compromised marks, usage above the limit', () => {
  const h = useHarness({ heldWithoutPostfix: true });

  it('a mailbox with room under a domain at 0 is not "Sending": its row names the domain; the domain row names itself', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.com', 0), 200);
    const alice = await getRow(h(), JDOE, 'mailbox', 'alice@example.com');
    expect(alice).toMatchObject({ used: 0, effectiveLimit: 3, blocked: false });
    expect(alice.sending).toEqual({ state: 'holding', level: 'domain', name: 'example.com', self: false, window: 'hour', limit: 0, freesInSeconds: null, compromised: false });
    expect((await getRow(h(), JDOE, 'domain', 'example.com')).sending).toMatchObject({ state: 'holding', self: true });
    // The list says the same as the single object.
    const page = expectPage(await h().get(JDOE, '/api/v1/mailboxes?domain=example.com'), 'mailbox');
    expect(page.items.every((row) => row.sending.state === 'holding')).toBe(true);
    expect((await getRow(h(), JDOE, 'mailbox', 'erin@example.net')).sending).toEqual({ state: 'sending' });
  });

  it('a domain at its limit says when it frees; with over-limit action "defer" the state is deferring', async () => {
    expect(h().sendMany('alice@example.com', 3) + h().sendMany('bob@example.com', 2)).toBe(5);
    h().advance(12 * 60);
    const carol = await getRow(h(), ADMIN, 'mailbox', 'carol@example.com');
    expect(carol.sending).toMatchObject({ state: 'holding', level: 'domain', name: 'example.com', limit: 5, freesInSeconds: 48 * 60 });
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { overLimitAction: 'defer' }), 200);
    expect((await getRow(h(), ADMIN, 'mailbox', 'carol@example.com')).sending).toMatchObject({ state: 'deferring', level: 'domain' });
  });

  it('limits switched off: no row is holding or deferring, and GET /limits/state says so (and who may switch them on)', async () => {
    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'alice@example.com', 0), 200);
    expect(json(await h().get(JDOE, '/api/v1/limits/state'))).toEqual({ enabled: true, mode: 'enforce', maySwitchOn: false });
    expectStatus(await h().request(ADMIN, 'PATCH', '/api/v1/settings', { enabled: false }), 200);
    expect(json(await h().get(ADMIN, '/api/v1/limits/state'))).toEqual({ enabled: false, mode: 'off', maySwitchOn: true });
    expect(json(await h().get(MARY, '/api/v1/limits/state'))).toEqual({ enabled: false, mode: 'off', maySwitchOn: false });
    for (const level of ['subscription', 'domain', 'mailbox'] as const) {
      const page = expectPage(await h().get(ADMIN, `/api/v1/${COLLECTION[level]}`), level);
      expect(page.items.map((row) => row.sending.state)).toEqual(page.items.map(() => 'limitsOff'));
    }
  });

  it('a row counts the held messages of its object and the objects inside it', async () => {
    h().recordHeld('AAAAAA1', 'alice@example.com');
    h().recordHeld('AAAAAA2', 'alice@example.com');
    h().recordHeld('BBBBBB1', 'erin@example.net');
    expect((await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).heldCount).toBe(2);
    expect((await getRow(h(), JDOE, 'mailbox', 'bob@example.com')).heldCount).toBe(0);
    expect((await getRow(h(), JDOE, 'domain', 'example.com')).heldCount).toBe(2);
    expect((await getRow(h(), JDOE, 'subscription', 'example.com')).heldCount).toBe(3);
  });

  it('a mailbox marked compromised says so on its row, with "4 of 0" explained; a restore clears both', async () => {
    expect(h().sendMany('alice@example.com', 3)).toBe(3);
    expectStatus(await h().request(JDOE, 'POST', '/api/v1/mailboxes/alice@example.com/compromised'), 201);
    const alice = await getRow(h(), JDOE, 'mailbox', 'alice@example.com');
    expect(alice).toMatchObject({ compromised: true, used: 3, effectiveLimit: 0, overLimitCause: 'compromised', mayChangeLimit: true });
    expect(alice.sending).toMatchObject({ state: 'holding', self: true, compromised: true });
    expect((await getRow(h(), JDOE, 'mailbox', 'bob@example.com')).compromised).toBe(false);
    expectStatus(await h().request(JDOE, 'DELETE', '/api/v1/mailboxes/alice@example.com/compromised'), 200);
    expect(await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ compromised: false, overLimitCause: null });
  });

  it('"4 of 3" after an administrator\'s release beyond the limit says so; other usage above the limit says it was counted before', async () => {
    expect(h().sendMany('alice@example.com', 3)).toBe(3);
    // What releaseNow does with force once Postfix has let the message go (Postfix does not run here).
    const alice = h().enforcer.directory.find('mailbox', 'alice@example.com')!;
    h().enforcer.chargeAnyway(h().enforcer.directory.chainFrom(alice), 1);
    recordAudit(h().db, { login: 'admin', role: 'admin', userId: '1', via: 'plesk' }, { action: 'held.release', level: 'mailbox', objectName: 'alice@example.com', newValue: { queueId: 'AAAAAA1', overLimit: true } }, h().nowMs);
    expect(await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).toMatchObject({ used: 4, effectiveLimit: 3, overLimitCause: 'releasedByAdministrator' });
    expect((await getRow(h(), JDOE, 'domain', 'example.com')).overLimitCause).toBeNull(); // 4 of 5
    expect(h().sendMany('bob@example.com', 2)).toBe(1); // the domain has room for one more
    expectStatus(await setLimit(h(), ADMIN, 'domain', 'example.com', 3), 200);
    expect(await getRow(h(), JDOE, 'domain', 'example.com')).toMatchObject({ used: 5, overLimitCause: 'releasedByAdministrator' });
    expect(await getRow(h(), JDOE, 'mailbox', 'bob@example.com')).toMatchObject({ used: 1, overLimitCause: null });
    expectStatus(await setLimit(h(), ADMIN, 'mailbox', 'bob@example.com', 0), 200);
    expect(await getRow(h(), JDOE, 'mailbox', 'bob@example.com')).toMatchObject({ used: 1, effectiveLimit: 0, overLimitCause: 'countedBefore' });
    h().advance(3601);
    expect((await getRow(h(), JDOE, 'mailbox', 'alice@example.com')).overLimitCause).toBeNull();
  });

  it('a held message says when it leaves as of now: 48 minutes 12 minutes later, and waits for a person once its mailbox is compromised', async () => {
    expect(h().sendMany('alice@example.com', 3)).toBe(3);
    h().recordHeld('AAAAAA1', 'alice@example.com', { reason: 'Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; message held, sent automatically in about 60 minutes' });
    h().advance(12 * 60);
    const now = json<Json>(await h().get(JDOE, '/api/v1/held/AAAAAA1'));
    expect(now).toMatchObject({ cause: { kind: 'limitReached', level: 'mailbox', name: 'alice@example.com', limit: 3 }, leaves: { leaves: 'automatically', inSeconds: 48 * 60 } });
    // Older held mail of the same sender leaves first (bob's does not count): the fourth waits for the three before it.
    h().recordHeld('BBBBBB1', 'bob@example.com');
    for (const id of ['AAAAAA2', 'AAAAAA3', 'AAAAAA4']) {
      h().advance(1);
      h().recordHeld(id, 'alice@example.com');
    }
    const leavesOf = async () => new Map(json<{ items: Array<{ queueId: string; leaves: unknown }> }>(await h().get(JDOE, '/api/v1/held')).items.map((m) => [m.queueId, m.leaves]));
    const before = await leavesOf();
    expect(before.get('AAAAAA2')).toEqual({ leaves: 'automatically', inSeconds: 48 * 60 - 3 }); // the clock moved 3 s since
    expect(before.get('AAAAAA4')).toEqual({ leaves: 'afterOthers', ahead: 3 });
    expect(before.get('BBBBBB1')).toEqual({ leaves: 'automatically', inSeconds: 0 });
    expectStatus(await h().request(ADMIN, 'POST', '/api/v1/mailboxes/alice@example.com/compromised'), 201);
    const listed = json<{ items: Json[] }>(await h().get(JDOE, '/api/v1/held?name=alice@example.com')).items;
    expect(listed.find((m) => m.queueId === 'AAAAAA1')).toMatchObject({ queueId: 'AAAAAA1', leaves: { leaves: 'byPerson', because: 'compromised', level: 'mailbox', name: 'alice@example.com' } });
  });
});

// =========================================================================================================

describe('contract: the cluster (with a real Redis: test/cluster-nodes.test.ts)', () => {
  const h = useHarness();

  it('GET /cluster: a standalone daemon says so to the administrator; everyone else 403', async () => {
    const answer = await h().get(ADMIN, '/api/v1/cluster');
    expectStatus(answer, 200);
    expect(json(answer)).toEqual({ mode: 'standalone' });
    for (const caller of [RES1, JDOE]) expectError(await h().get(caller, '/api/v1/cluster'), 403);
  });
});

describe('contract: temporary exemptions (the rules: exemptions.api.test.ts)', () => {
  const h = useHarness();

  it('PUT and DELETE .../exemption on each level, GET /exemptions', async () => {
    for (const path of ['/api/v1/subscriptions/example.com', '/api/v1/domains/example.com', '/api/v1/mailboxes/alice@example.com']) {
      const set = await h().request(ADMIN, 'PUT', `${path}/exemption`, { hourly: 'unlimited', until: '+1h' });
      expectStatus(set, 200);
      expect(json(set)).toMatchObject({ hourly: 'unlimited', daily: null, endsAt: expect.any(String), mayChange: true });
    }
    const listed = json<{ items: Json[] }>(await h().get(ADMIN, '/api/v1/exemptions'));
    expect(listed.items.map((e) => e.level)).toEqual(['subscription', 'domain', 'mailbox']);
    for (const path of ['/api/v1/subscriptions/example.com', '/api/v1/domains/example.com', '/api/v1/mailboxes/alice@example.com']) {
      expectStatus(await h().request(ADMIN, 'DELETE', `${path}/exemption`), 204);
    }
    expect(json<{ items: Json[] }>(await h().get(ADMIN, '/api/v1/exemptions')).items).toEqual([]);
  });
});

// =========================================================================================================

// Needs the whole file: run alone (or with -t filtering other tests out) it reports the endpoints not called.
describe('coverage', () => {
  it('every operation of the OpenAPI document was called by these tests and answered its success status', async () => {
    const h = await startHarness();
    const document = json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(await h.get(null, '/api/v1/openapi.json'));
    await h.close();
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const success = Object.keys(operation.responses).map(Number).find((s) => s < 300);
        const key = `${method.toUpperCase()} ${path}`;
        const statuses = hits.get(key);
        if (!statuses) missing.push(`${key}: never called`);
        else if (success === undefined || !statuses.has(success)) missing.push(`${key}: never answered ${success} (saw ${[...statuses].join(', ')})`);
      }
    }
    expect(missing).toEqual([]);
    expect(hits.size).toBeGreaterThanOrEqual(Object.values(document.paths).reduce((n, ops) => n + Object.keys(ops).length, 0));
  });
});
