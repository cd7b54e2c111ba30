import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z, type ZodType } from 'zod';
import { ApiError } from './errors.js';
import type { Identity } from './identity.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext<B, Q, P> {
  identity: Identity;
  body: B;
  query: Q;
  params: P;
  request: FastifyRequest;
}

export interface RouteSpec<B = unknown, Q = unknown, P = Record<string, string>> {
  method: Method;
  /** Path below /api/v1, with fastify's `:param` syntax. */
  path: string;
  summary: string;
  tag: string;
  body?: ZodType<B>;
  query?: ZodType<Q>;
  /** Status of a successful answer; 204 sends no body. */
  status?: number;
  /** Refusals of this route beyond those every route may answer (see errorResponses), for the OpenAPI document. */
  errors?: Record<number, string>;
  /** Media types of a successful answer beyond JSON (the handler then returns a TextAnswer), for the OpenAPI document. */
  alsoProduces?: string[];
  handler: (context: RouteContext<B, Q, P>) => unknown;
}

export const API_PREFIX = '/api/v1';

/** A handler's answer that is not JSON (a CSV file): sent as it is, with its media type and a file name to save it as. */
export class TextAnswer {
  constructor(
    readonly contentType: string,
    readonly body: string,
    readonly fileName: string,
  ) {}
}

/** Turns zod issues into the API's error shape: one message per field path. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  // A Map, not an object literal: a field named "__proto__" must come back as a field, not as a prototype.
  const fields = new Map<string, string>();
  for (const issue of error.issues) {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields.set([...at, key].join('.'), 'unknown field');
      continue;
    }
    const name = at.length ? at.join('.') : '(body)';
    if (!fields.has(name)) fields.set(name, issue.message);
  }
  return Object.fromEntries(fields);
}

function validate<T>(schema: ZodType<T> | undefined, value: unknown, what: string): T {
  if (!schema) return value as T;
  const parsed = schema.safeParse(value ?? (what === 'query' ? {} : undefined));
  if (!parsed.success) throw new ApiError(400, `invalid ${what}`, fieldErrors(parsed.error));
  return parsed.data;
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', description: 'what was wrong, in a sentence for people' },
    fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'per request field (e.g. "limit", "subscriptions[0].name"): what is wrong with it' },
    code: {
      type: 'string',
      description:
        'what the refusal is, for screens that say it in their own words: noRoom, notHeld, heldNotFound, alreadyCompromised, notCompromised, noEmailAddress, forceAdminOnly, locked, lockNotForCustomers, noPermission, customersMayNotChange, subscriptionByProvider, aboveCeiling, heldOfNobody, exemptionNotForYou, exemptionByHigherRole, noExemption, clusterUnreachable, clusterConfigUnavailable, nodeUnanswered, heldOnSeveralNodes',
    },
    params: { type: 'object', description: 'the facts of the refusal named by code (e.g. noRoom: cause {kind, level, name, limit, ...} and inSeconds)' },
  },
} as const;

/** Statuses any route may answer, whatever it does. */
const COMMON_REFUSALS: Record<number, string> = {
  400: 'invalid request (body, query, or a path that is not valid percent-encoded UTF-8)',
  401: 'no or invalid identity',
  403: 'not allowed for this role, or a session write without its CSRF token',
  404: 'no such object, or not yours',
  431: 'request line and headers too large',
  500: 'internal error; the daemon log says more',
};

/**
 * The error answers of one operation, each in the API's shape (`{error, fields?}`): those of every route, those
 * of a body (too large, not JSON) and of a name in the path (too long), and the route's own (`extra`).
 */
export function errorResponses(operation: { method: string; pathParameters: boolean; extra?: Record<number, string> | undefined }): Record<string, unknown> {
  const statuses: Record<number, string> = { ...COMMON_REFUSALS };
  if (operation.method !== 'GET') {
    statuses[413] = 'request body too large';
    statuses[415] = 'the body is not JSON (Content-Type: application/json)';
  }
  if (operation.pathParameters) statuses[414] = 'a name in the path is too long';
  Object.assign(statuses, operation.extra ?? {});
  return Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
  );
}

/**
 * Registers the API's routes from one table, so the same zod schemas validate requests and describe them in
 * the OpenAPI document.
 */
export class RouteTable {
  private readonly specs: RouteSpec<never, never, never>[] = [];

  add<B, Q, P = Record<string, string>>(spec: RouteSpec<B, Q, P>): void {
    this.specs.push(spec as unknown as RouteSpec<never, never, never>);
  }

  registerAll(app: FastifyInstance): void {
    for (const spec of this.specs) {
      app.route({
        method: spec.method,
        url: `${API_PREFIX}${spec.path}`,
        handler: async (request, reply) => {
          const identity = request.identity;
          if (!identity) throw new ApiError(401, 'authentication required');
          const body = validate(spec.body, request.body, 'body');
          const query = validate(spec.query, request.query, 'query');
          const result = await spec.handler({ identity, body, query, params: request.params as never, request });
          const status = spec.status ?? 200;
          if (status === 204) return reply.code(204).send();
          if (result instanceof TextAnswer) {
            // fileName is made by the route from fixed text and digits, never from a request.
            return reply.code(status).header('content-type', result.contentType).header('content-disposition', `attachment; filename="${result.fileName}"`).send(result.body);
          }
          return reply.code(status).send(result);
        },
      });
    }
  }

  /** The OpenAPI document of these routes, plus `extraPaths` (routes registered outside the table). */
  openApi(info: { title: string; version: string }, extraPaths: Record<string, Record<string, unknown>> = {}): unknown {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const spec of this.specs) {
      const openApiPath = `${API_PREFIX}${spec.path}`.replace(/:([A-Za-z]+)/g, '{$1}');
      const parameters: unknown[] = [...openApiPath.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      if (spec.query) {
        const schema = z.toJSONSchema(spec.query, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, property] of Object.entries(schema.properties ?? {})) {
          parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property });
        }
      }
      const operation: Record<string, unknown> = {
        summary: spec.summary,
        tags: [spec.tag],
        parameters,
        responses: {
          [String(spec.status ?? 200)]: spec.alsoProduces
            ? { description: 'success', content: Object.fromEntries(['application/json', ...spec.alsoProduces].map((type) => [type, {}])) }
            : { description: 'success' },
          ...errorResponses({ method: spec.method, pathParameters: openApiPath.includes('{'), extra: spec.errors }),
        },
      };
      if (spec.body) {
        operation.requestBody = {
          required: true,
          content: { 'application/json': { schema: z.toJSONSchema(spec.body, { io: 'input', unrepresentable: 'any' }) } },
        };
      }
      (paths[openApiPath] ??= {})[spec.method.toLowerCase()] = operation;
    }
    for (const [path, operations] of Object.entries(extraPaths)) Object.assign((paths[path] ??= {}), operations);
    return {
      openapi: '3.1.0',
      info,
      components: {
        schemas: { Error: ERROR_SCHEMA },
        securitySchemes: {
          pleskSignature: { type: 'apiKey', in: 'header', name: 'X-OML-Signature', description: 'HMAC-SHA256 signed identity from the Plesk layer' },
          session: { type: 'apiKey', in: 'cookie', name: 'oml_session', description: 'standalone login; writes also need X-CSRF-Token' },
        },
      },
      security: [{ pleskSignature: [] }, { session: [] }],
      paths,
    };
  }
}
