import { sessionOpenApiPaths } from './auth/session-routes.js';
import { API_PREFIX, errorResponses, type RouteTable } from './route-table.js';

/** The API's OpenAPI document: the route table's routes, the session routes, and the document itself. */
export function apiDocument(routes: RouteTable, version: string): unknown {
  return routes.openApi(
    { title: 'Outgoing Mail Limits bridge API', version },
    {
      ...sessionOpenApiPaths(),
      [`${API_PREFIX}/openapi.json`]: {
        get: { summary: 'This document', tags: ['api'], security: [], parameters: [], responses: { '200': { description: 'success' }, ...errorResponses({ method: 'GET', pathParameters: false }) } },
      },
    },
  );
}
