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
  handler: (context: RouteContext<B, Q, P>) => unknown;
}

export const API_PREFIX = '/api/v1';

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
          return reply.code(status).send(result);
        },
      });
    }
  }

  openApi(info: { title: string; version: string }): unknown {
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
          [String(spec.status ?? 200)]: { description: 'success' },
          '400': { description: 'invalid request: {error, fields}' },
          '401': { description: 'no or invalid identity' },
          '403': { description: 'not allowed for this role' },
          '404': { description: 'no such object, or not yours' },
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
    return {
      openapi: '3.1.0',
      info,
      components: {
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
