import { canChangeSettings } from '../../core/access.js';
import type { NodeListing } from '../../core/cluster-nodes.js';
import type { ApiContext } from '../context.js';
import { ApiError, forbidden } from '../errors.js';
import type { RouteTable } from '../route-table.js';

/** GET /cluster: standalone, or the cluster's address (without its password) and its nodes. */
export type ClusterAnswer = { mode: 'standalone' } | { mode: 'cluster'; address: string; nodes: NodeListing[] };

/** How long the route waits for Redis: the overview polls, and a Redis that is away must not hold its requests. */
export const CLUSTER_ANSWER_TIMEOUT_MS = 2_000;

export function clusterRoutes(routes: RouteTable, context: ApiContext): void {
  routes.add({
    method: 'GET',
    path: '/cluster',
    summary:
      "This server's cluster: {mode: 'standalone'}, or {mode: 'cluster', address (without its password), nodes: [{node, state (up, silent: not seen for over 10 s), lastSeenMs (Redis's clock), version, startedAtMs, counting (cluster, alone), heldMessages, wiring}]} sorted by name (administrator only)",
    tag: 'cluster',
    errors: { 503: "the cluster's Redis does not answer" },
    handler: async ({ identity }): Promise<ClusterAnswer> => {
      if (!canChangeSettings(identity)) throw forbidden('Only the administrator can see the nodes of the cluster.');
      const nodes = context.clusterNodes;
      if (!nodes) return { mode: 'standalone' };
      return { mode: 'cluster', address: nodes.address, nodes: await withinTimeout(nodes.list(), nodes.address) };
    },
  });
}

/** The nodes, or a 503 naming the address when Redis fails or does not answer in time. */
async function withinTimeout(listing: Promise<NodeListing[]>, address: string): Promise<NodeListing[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CLUSTER_ANSWER_TIMEOUT_MS / 1000} s`)), CLUSTER_ANSWER_TIMEOUT_MS);
  });
  try {
    return await Promise.race([listing, timeout]);
  } catch (error) {
    // The listing may still settle later: its rejection is handled here, not left unhandled.
    listing.catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiError(503, `The cluster's Redis at ${address} does not answer: ${reason}`, undefined, { code: 'clusterUnreachable', params: { address, reason } });
  } finally {
    clearTimeout(timer);
  }
}
