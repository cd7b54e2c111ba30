import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, expect } from 'vitest';
import { newNonce, signRequest } from '../src/api/auth/signature.js';
import type { ApiContext } from '../src/api/context.js';
import type { Role } from '../src/api/identity.js';
import { buildApi } from '../src/api/server.js';
import type { ClusterHeld } from '../src/cluster/cluster-held.js';
import type { ClusterNodes } from '../src/cluster/cluster-nodes.js';
import type { DirectoryFile } from '../src/core/directory-file.js';
import { CounterJournal } from '../src/counters/journal.js';
import { RollingWindowCounters } from '../src/counters/rolling-window.js';
import { Enforcer, HOUR_SECONDS, type Verdict } from '../src/enforcement/enforcer.js';
import { HeldMail } from '../src/enforcement/held-mail.js';
import type { NewHeldMessage } from '../src/store/held-store.js';
import { StoreSync } from '../src/enforcement/store-sync.js';
import { PostfixQueue } from '../src/postfix/queue.js';
import { openDatabase, readRevisions, type Db } from '../src/store/database.js';
import { replaceDirectory } from '../src/store/directory-store.js';
import { OverLimitEventLog } from '../src/store/over-limit-events.js';
import { EarlyWarningLog } from '../src/store/early-warnings.js';
import { readSettings, updateSettings, type SettingsChange } from '../src/store/settings-store.js';
import { exampleDirectory } from './directory-fixture.js';
import { atOnce } from './at-once.js';

/**
 * The bridge API in-process, on a throwaway store, with a clock the test moves: what the daemon builds, minus
 * the sockets. Requests go through `app.inject` with Plesk-signed identity headers.
 */

/** Who calls, as the Plesk layer signs it. */
export interface Caller {
  login: string;
  userId: string;
  role: Role;
  /** Customers: where Plesk grants "Manage outgoing mail limits" (the permission is on by default). */
  permittedSubscriptions?: readonly string[];
}

export const ADMIN: Caller = { login: 'admin', userId: '1', role: 'admin' };
/** Reseller of jdoe (subscription example.com). */
export const RES1: Caller = { login: 'res1', userId: '10', role: 'reseller' };
/** A reseller without customers here. */
export const RES2: Caller = { login: 'res2', userId: '11', role: 'reseller' };
/** Owner of subscription example.com (domains example.com, example.net). */
export const JDOE: Caller = { login: 'jdoe', userId: '20', role: 'customer', permittedSubscriptions: ['example.com'] };
/** Owner of subscription other.org. */
export const MARY: Caller = { login: 'mary', userId: '21', role: 'customer', permittedSubscriptions: ['other.org'] };

/** 2030-01-01T00:00:00Z: far from any real clock, so only the harness clock matters. */
export const START_MS = 1_893_456_000_000;

export interface HarnessOptions {
  directory?: DirectoryFile;
  settings?: SettingsChange;
  /**
   * Serve the held-mail routes with the real HeldMail, on a Postfix that does not run here: records, compromised
   * marks and restores work; queue operations (release, delete) fail as they do when Postfix cannot be asked.
   */
  heldWithoutPostfix?: boolean;
  /** Called after every answer with the route pattern fastify matched (`/api/v1/x/:name`), for coverage checks. */
  onResponse?: (hit: { method: string; route: string; status: number }) => void;
  /** The nodes of a cluster, as a daemon started with --cluster has them (default: standalone). */
  clusterNodes?: ClusterNodes;
  /** The held mail of the other nodes of a cluster, as a daemon started with --cluster has it (with heldWithoutPostfix). */
  clusterHeld?: ClusterHeld;
}

export interface RequestOptions {
  /** Sent as is instead of JSON.stringify(body); also what gets signed unless `signedBody` says otherwise. */
  raw?: Buffer | string;
  /** Sign these bytes instead of the ones sent (a tampered body). */
  signedBody?: Buffer;
  /** Sign with this secret instead of the server's. */
  secret?: Buffer;
  /** Signature timestamp, in seconds; default the harness clock. */
  timestampSeconds?: number;
  nonce?: string;
  /** Extra headers, or header overrides; `null` removes a header. */
  headers?: Record<string, string | null>;
  /** Send unsigned (for session tests). */
  unsigned?: boolean;
  contentType?: string | null;
}

/** A held message as the policy service records it when `mailbox` trips its own hourly limit of 3. */
export function heldByOwnLimit(queueId: string, mailbox: string, heldAtMs: number): NewHeldMessage {
  return {
    queueId,
    heldAtMs,
    source: 'smtpd',
    sender: mailbox,
    saslUsername: null,
    chargedLevel: 'mailbox',
    chargedName: mailbox,
    trippedLevel: 'mailbox',
    trippedName: mailbox,
    trippedLimit: 3,
    trippedUsed: 3,
    trippedWindow: 'hour',
    weight: 1,
    recipientCount: 1,
    recipients: null,
    reason: `Outgoing limit for mailbox ${mailbox} reached; message held`,
  };
}

export class ApiHarness {
  nowMs = START_MS;
  readonly secret = randomBytes(32);
  readonly app: FastifyInstance;
  readonly enforcer: Enforcer;
  readonly sync: StoreSync;
  readonly journal: CounterJournal;
  readonly events: OverLimitEventLog;
  readonly warnings: EarlyWarningLog;
  readonly context: ApiContext;
  readonly held: HeldMail | null;

  private constructor(
    readonly dataDir: string,
    readonly db: Db,
    options: HarnessOptions,
  ) {
    const log = pino({ level: 'silent' });
    this.journal = new CounterJournal(db);
    this.events = new OverLimitEventLog(db);
    this.warnings = new EarlyWarningLog(db);
    this.enforcer = new Enforcer(new RollingWindowCounters(HOUR_SECONDS), this.journal, (event) => this.events.record(event), () => this.nowMs, undefined, (warning) =>
      this.warnings.record(warning),
    );
    this.sync = new StoreSync(db, this.enforcer, log);
    this.sync.reloadIfChanged();
    this.context = {
      db,
      enforcer: this.enforcer,
      sync: this.sync,
      log,
      nowMs: () => this.nowMs,
      flushCounts: () => this.flush(),
    };
    this.held = options.heldWithoutPostfix
      ? new HeldMail(db, this.enforcer, this.sync, new PostfixQueue(path.join(dataDir, 'no-postfix')), log, () => undefined, () => this.nowMs)
      : null;
    if (this.held) this.context.held = this.held;
    if (options.clusterNodes) this.context.clusterNodes = options.clusterNodes;
    if (options.clusterHeld) this.context.clusterHeld = options.clusterHeld;
    this.app = buildApi(this.context, { secret: this.secret, version: '0.0.0-test' });
    const onResponse = options.onResponse;
    if (onResponse) {
      this.app.addHook('onResponse', async (request, reply) => {
        const route = request.routeOptions.url;
        if (route) onResponse({ method: request.method, route, status: reply.statusCode });
      });
    }
  }

  /** Store with the example directory (or `directory`) and `settings`, live state loaded, API ready. */
  static async start(options: HarnessOptions = {}): Promise<ApiHarness> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'oml-api-'));
    const db = openDatabase(dataDir);
    replaceDirectory(db, options.directory ?? exampleDirectory());
    updateSettings(db, options.settings ?? { enabled: true, defaults: { mailbox: 3, domain: 5, subscription: 8 }, countingUnit: 'messages', customersMayChangeLimits: true });
    const harness = new ApiHarness(dataDir, db, options);
    await harness.app.ready();
    return harness;
  }

  async close(): Promise<void> {
    await this.app.close();
    this.db.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  flush(): void {
    this.journal.flush();
    this.events.flush();
    this.warnings.flush();
  }

  advance(seconds: number): void {
    this.nowMs += seconds * 1000;
  }

  /** One message at the end of its SMTP submission, decided (and counted when accepted) by the live enforcer. */
  /** A held-mail record as the policy service writes it when `mailbox` trips its own limit (heldWithoutPostfix). */
  recordHeld(queueId: string, mailbox: string, extra: Partial<NewHeldMessage> = {}): void {
    if (!this.held) throw new Error('start the harness with heldWithoutPostfix to record held mail');
    this.held.store.insert({
      ...heldByOwnLimit(queueId, mailbox, this.nowMs),
      ...extra,
    });
  }

  send(sender: string, extra: { sasl?: string; recipients?: number } = {}): Verdict {
    return atOnce(this.enforcer.check({ sender, saslUsername: extra.sasl, recipientCount: extra.recipients ?? 1, clientAddress: '192.0.2.1', queueId: 'Q1' }));
  }

  /** Sends `count` messages and returns how many were accepted. */
  sendMany(sender: string, count: number): number {
    let accepted = 0;
    for (let i = 0; i < count; i++) if (this.send(sender).decision.allowed) accepted++;
    return accepted;
  }

  /** The headers the Plesk layer would send for this request. */
  sign(caller: Caller, method: string, url: string, body: Buffer, options: Pick<RequestOptions, 'secret' | 'timestampSeconds' | 'nonce'> = {}): Record<string, string> {
    return signRequest(options.secret ?? this.secret, {
      method,
      path: url,
      body,
      login: caller.login,
      userId: caller.userId,
      role: caller.role,
      permittedSubscriptions: caller.permittedSubscriptions,
      timestampSeconds: options.timestampSeconds ?? Math.floor(this.nowMs / 1000),
      nonce: options.nonce ?? newNonce(),
    });
  }

  /** A signed request as `caller`; `body` (when given) goes as JSON. */
  request(caller: Caller | null, method: string, url: string, body?: unknown, options: RequestOptions = {}): Promise<LightMyRequestResponse> {
    const payload =
      options.raw !== undefined ? Buffer.from(options.raw) : body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body), 'utf8');
    const headers: Record<string, string> = {};
    if (caller && !options.unsigned) Object.assign(headers, this.sign(caller, method, url, options.signedBody ?? payload, options));
    const contentType = options.contentType === undefined ? (payload.length > 0 ? 'application/json' : null) : options.contentType;
    if (contentType) headers['content-type'] = contentType;
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      for (const key of Object.keys(headers)) if (key.toLowerCase() === name.toLowerCase()) delete headers[key];
      if (value !== null) headers[name] = value;
    }
    return this.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload.length > 0 ? { payload } : {}),
    });
  }

  get(caller: Caller | null, url: string, options?: RequestOptions): Promise<LightMyRequestResponse> {
    return this.request(caller, 'GET', url, undefined, options);
  }

  /** What a write could change in the store (directory, limits, settings, contacts, marks, held mail, audit), to compare before and after a refusal. */
  storeState(): unknown {
    const all = (table: string) => this.db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
    return {
      revisions: readRevisions(this.db),
      settings: readSettings(this.db),
      subscriptions: all('subscriptions'),
      domains: all('domains'),
      mailboxes: all('mailboxes'),
      audit: all('audit_log'),
      contacts: all('notification_contacts'),
      compromised: all('compromised_mailboxes'),
      held: all('held_messages'),
    };
  }
}

/**
 * A fresh harness for each test of the file (or of the `describe` block this is called in): started before the
 * test with `options` (a function when each test needs its own, say a changed directory), handed to `started`,
 * where the file keeps it and adds its own wiring, and closed after the test.
 */
export function harnessForEachTest(started: (harness: ApiHarness) => void, options: HarnessOptions | (() => HarnessOptions) = {}): void {
  let harness: ApiHarness | undefined;
  beforeEach(async () => {
    harness = await ApiHarness.start(typeof options === 'function' ? options() : options);
    started(harness);
  });
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
}

/** The JSON of an answer that must be 200 (the test fails, showing the body, on any other status). */
export async function ok<T>(response: Promise<LightMyRequestResponse>): Promise<T> {
  const answer = await response;
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as T;
}

/** What a refusal says. */
export interface Refusal {
  error: string;
  code?: string;
  fields?: Record<string, string>;
}

/** The error answer of a request that must be refused with `status` (the test fails, showing the body, otherwise). */
export async function refused(response: Promise<LightMyRequestResponse>, status = 400): Promise<Refusal> {
  const answer = await response;
  expect(answer.statusCode, answer.body).toBe(status);
  return answer.json() as Refusal;
}
