import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { chmod, chown, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { registerAuthentication } from './auth/authenticate.js';
import { registerSessionRoutes, sessionIdentityFromDb } from './auth/session-routes.js';
import { LoginThrottle, SessionStore } from './auth/sessions.js';
import type { ApiContext } from './context.js';
import { answerFrameworkError, clientErrorAnswerer, errorAnswerer, MAX_PARAM_LENGTH } from './error-answers.js';
import { ApiError } from './errors.js';
import { apiDocument } from './openapi-document.js';
import { API_PREFIX, RouteTable } from './route-table.js';
import { directoryRoutes } from './routes/directory-routes.js';
import { clusterRoutes } from './routes/cluster-routes.js';
import { doctorRoutes } from './routes/doctor-routes.js';
import { monitorRoutes } from './routes/monitor-routes.js';
import { eventRoutes } from './routes/event-routes.js';
import { exemptionRoutes } from './routes/exemption-routes.js';
import { anomalyRoutes } from './routes/anomaly-routes.js';
import { reportRoutes } from './routes/report-routes.js';
import { heldRoutes } from './routes/held-routes.js';
import { objectRoutes } from './routes/object-routes.js';
import { settingsRoutes } from './routes/settings-routes.js';
import { wiringRoutes } from './routes/wiring-routes.js';
import { registerStandaloneUi, sendAppPage } from './standalone-ui.js';
import type { StoreHealthReport } from '../store/store-health.js';
import type { ClusterFacts } from '../core/health-check.js';

/** The unix socket the Plesk layer and the command talk to, inside the data directory. */
export const API_SOCKET_FILE = 'api.sock';
export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * Node's default (16 KiB) is too small for a Plesk customer with many subscriptions: the signed identity lists
 * the subscriptions on which the customer may manage limits (X-OML-Permitted-Subscriptions, at most 10,000).
 */
export const MAX_HEADER_BYTES = 512 * 1024;

export function apiSocketPath(dataDir: string): string {
  return path.join(dataDir, API_SOCKET_FILE);
}

/** Builds the HTTP JSON API: authentication, the resource routes, and their OpenAPI description. */
export function buildApi(
  context: ApiContext,
  options: { secret: Buffer; version: string; uiDir?: string | null; storeHealth?: () => StoreHealthReport; cluster?: () => NodeCounting },
): FastifyInstance {
  const logger = context.log.child({ component: 'api' }) as FastifyBaseLogger;
  // Every request would be a log line otherwise; refusals and failures are logged where they happen.
  const app: FastifyInstance = fastify({
    loggerInstance: logger,
    bodyLimit: MAX_BODY_BYTES,
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: clientErrorAnswerer({ headerBytes: MAX_HEADER_BYTES }),
  });

  // Keeps the exact bytes: a Plesk signature covers the body as sent, not as re-serialized.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.rawBody = body;
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')) as unknown);
    } catch (error) {
      done(new ApiError(400, `invalid JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.decorateRequest('rawBody', null as unknown as Buffer);
  app.addHook('onRequest', async (request) => {
    request.rawBody = Buffer.alloc(0);
  });

  app.setErrorHandler(errorAnswerer({ bodyBytes: MAX_BODY_BYTES }));
  const uiDir = options.uiDir ?? null;
  if (uiDir) registerStandaloneUi(app, uiDir);
  app.setNotFoundHandler((request, reply) => {
    if (uiDir && sendAppPage(request, reply)) return reply;
    return reply.code(404).send({ error: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` });
  });

  const sessions = new SessionStore();
  registerAuthentication(app, { secret: options.secret, sessions, log: context.log, nowMs: context.nowMs, refreshSessionIdentity: sessionIdentityFromDb(context.db) });
  registerSessionRoutes(app, { db: context.db, sessions, throttle: new LoginThrottle() });

  const routes = new RouteTable();
  settingsRoutes(routes, context);
  objectRoutes(routes, context);
  eventRoutes(routes, context);
  monitorRoutes(routes, context);
  exemptionRoutes(routes, context);
  anomalyRoutes(routes, context);
  reportRoutes(routes, context);
  directoryRoutes(routes, context);
  if (context.held) heldRoutes(routes, context, context.held);
  if (context.wiring) wiringRoutes(routes, context.wiring);
  clusterRoutes(routes, context);
  doctorRoutes(routes, context, {
    socketPath: apiSocketPath(path.dirname(context.db.name)),
    ...(options.storeHealth ? { storeHealth: options.storeHealth } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
  });
  routes.registerAll(app);

  const document = apiDocument(routes, options.version);
  app.get(`${API_PREFIX}/openapi.json`, { config: { public: true } }, async () => document);
  // 200 while the daemon runs, also when degraded: it still enforces what it read last, and a 503 would read as
  // "not running" to the Plesk layer and invite a restart, which a damaged store would then refuse.
  app.get(`${API_PREFIX}/health`, { config: { public: true } }, async () => {
    const store = options.storeHealth?.() ?? { ok: true };
    const node = options.cluster?.();
    // A node counting alone still enforces (per node): degraded, like a failing store, not down.
    const degraded = !store.ok || node?.counting === 'alone';
    const cluster = node && { node: node.node, counting: node.counting, since: new Date(node.sinceMs).toISOString(), lastFailure: node.lastFailure, waitingAdditions: node.waitingAdditions, configProblem: node.configProblem ?? null };
    return { status: degraded ? 'degraded' : 'ok', ...(store.ok ? {} : { store }), ...(cluster ? { cluster } : {}) };
  });
  return app;
}

/** A node of a cluster, for GET /health and the health view: its counting state and what it still has to add. */
export interface NodeCounting extends ClusterFacts {
  waitingAdditions: number;
}

/**
 * Listens on the unix socket (mode 0660: the owner and its group — `group` when given, which is how the Plesk
 * layer, user psaadm, gets in) and, when asked, on a loopback TCP address for the standalone UI.
 */
export async function listenApi(
  app: FastifyInstance,
  socketPath: string,
  tcp: { host: string; port: number } | null,
  group: number | null = null,
): Promise<{ tcpServer: http.Server | null; tcpPort: number | null }> {
  await rm(socketPath, { force: true }); // a stale socket of a crashed daemon would make listen fail
  await app.listen({ path: socketPath });
  await chmod(socketPath, 0o660);
  if (group !== null) await chown(socketPath, -1, group);
  if (!tcp) return { tcpServer: null, tcpPort: null };
  // fastify listens on one address per instance; a second server hands its requests to the same routes.
  const tcpServer = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (request, response) => app.routing(request, response));
  tcpServer.on('clientError', clientErrorAnswerer({ headerBytes: MAX_HEADER_BYTES }));
  await new Promise<void>((resolve, reject) => {
    tcpServer.once('error', reject);
    tcpServer.listen(tcp.port, tcp.host, () => resolve());
  });
  return { tcpServer, tcpPort: (tcpServer.address() as AddressInfo).port };
}
