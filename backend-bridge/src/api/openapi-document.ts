import { sessionOpenApiPaths } from './auth/session-routes.js';
import { API_PREFIX, errorResponses, type RouteTable } from './route-table.js';

/** The API's OpenAPI document: the route table's routes, the session routes, health, and the document itself. */
export function apiDocument(routes: RouteTable, version: string): unknown {
  return routes.openApi(
    { title: 'Outgoing Mail Limits bridge API', version },
    {
      ...sessionOpenApiPaths(),
      [`${API_PREFIX}/health`]: {
        get: {
          summary: 'Whether the daemon runs and its store answers',
          description:
            'Always 200 while the daemon runs: {"status":"ok"}, or {"status":"degraded","store":{"ok":false,"operation","error","since","failures"}} when the store fails. The daemon then keeps enforcing the settings, directory and counts it read last.',
          tags: ['api'],
          security: [],
          parameters: [],
          responses: { '200': { description: 'the daemon runs (status ok or degraded)' }, ...errorResponses({ method: 'GET', pathParameters: false }) },
        },
      },
      [`${API_PREFIX}/openapi.json`]: {
        get: { summary: 'This document', tags: ['api'], security: [], parameters: [], responses: { '200': { description: 'success' }, ...errorResponses({ method: 'GET', pathParameters: false }) } },
      },
    },
  );
}
