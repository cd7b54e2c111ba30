import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { ConfigUnavailableError } from '../cluster/config-log.js';
import { ApiError } from './errors.js';
import { fieldErrors } from './route-table.js';

/**
 * Every refusal the API sends has one shape, `{"error": sentence, "fields"?: {field: sentence}}`, whoever makes
 * it: a route, fastify before any route runs (a bad or too long path, a body it will not parse), a plugin (the
 * static files of the standalone UI), or Node's HTTP parser (headers too large, a malformed request).
 */

/**
 * The longest path segment (one name, as sent, percent-encoded) a route takes. Fastify's default is 100; names
 * the directory accepts go up to 318 characters (an address of 64 + 1 + 253), and a local part of 64 non-ASCII
 * characters is up to 64 × 9 characters percent-encoded: 576 + 3 + 253 = 832.
 */
export const MAX_PARAM_LENGTH = 1024;

interface ErrorBody {
  error: string;
  fields?: Record<string, string>;
  code?: string;
  params?: Record<string, unknown>;
}

const send = (reply: FastifyReply, status: number, body: ErrorBody) => reply.code(status).type('application/json; charset=utf-8').send(body);

/** Refusals fastify makes while routing, before any hook runs (its `frameworkErrors` option). */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return send(reply, 414, { error: `a name in the path is longer than ${MAX_PARAM_LENGTH} characters (as sent, percent-encoded)` });
  }
  if (error.code === 'FST_ERR_BAD_URL') return send(reply, 400, { error: 'the path is not valid percent-encoded UTF-8' });
  request.log.error({ err: error }, 'API request failed while routing');
  return send(reply, 500, { error: 'internal error; see the daemon log' });
}

/** What a refusal of fastify or a plugin says, when its own message would not tell what was wrong. */
function sentenceFor(status: number, error: FastifyError, limits: { bodyBytes: number }): string {
  if (status === 413) return `request body larger than ${limits.bodyBytes} bytes`;
  if (status === 415) return 'send JSON (Content-Type: application/json)';
  if (error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return 'the body is not as long as its Content-Length says';
  // The static files' refusal (a NUL byte, or a path leading outside the application) says only "Forbidden".
  if (status === 403) return 'this path may not be served: it holds a NUL byte or leads outside the application';
  return error.message;
}

/** The error handler of the API: every error a route or a hook throws becomes the API's shape. */
export function errorAnswerer(limits: { bodyBytes: number }) {
  return (error: FastifyError | ApiError | z.ZodError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (error instanceof ApiError) {
      return send(reply, error.status, { error: error.message, ...(error.fields ? { fields: error.fields } : {}), ...(error.refusal ?? {}) });
    }
    if (error instanceof z.ZodError) return send(reply, 400, { error: 'invalid request', fields: fieldErrors(error) });
    // A node of a cluster whose Redis is away refuses changes of the shared configuration; nothing was written.
    if (error instanceof ConfigUnavailableError) return send(reply, 503, { error: error.message, code: 'clusterConfigUnavailable' });
    const status = (error as FastifyError).statusCode ?? 500;
    if (status < 500) return send(reply, status, { error: sentenceFor(status, error, limits) });
    request.log.error({ err: error }, 'API request failed');
    return send(reply, 500, { error: 'internal error; see the daemon log' });
  };
}

/**
 * Answers what Node's HTTP parser refuses (the server's `clientError`), in the API's shape; fastify's default
 * sends a shape of its own, and a plain Node server none at all.
 */
export function clientErrorAnswerer(limits: { headerBytes: number }) {
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, sentence]: [number, string] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, `request line and headers larger than ${limits.headerBytes} bytes`]
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'the request did not arrive in time']
          : [400, 'malformed HTTP request'];
    const body = JSON.stringify({ error: sentence });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
