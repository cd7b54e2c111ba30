import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Redis } from 'ioredis';
import { createElement } from 'react';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClusterNodes } from '../../../backend-bridge/src/cluster/cluster-nodes.js';
import type { NodeFacts } from '../../../backend-bridge/src/core/cluster-nodes.js';
import { RedisServer } from '../../../backend-bridge/test-support/redis-server.js';
import { ADMIN, ApiHarness, JDOE, renderAs } from '../test-support/bridge';
import { ClusterSection } from './ClusterSection';

// A real redis-server behind the real API: the section shows what GET /cluster answers, nothing of its own.
let server: RedisServer;
let redis: Redis;
let harness: ApiHarness;

const LOADED = { timeout: 10_000 };
const NOW = Date.now();

function facts(node: string, extra: Partial<NodeFacts> = {}): NodeFacts {
  return { node, version: '0.1.0', startedAtMs: NOW - 3_600_000, counting: 'cluster', heldMessages: 0, wiring: 'wired', ...extra };
}

beforeAll(async () => {
  server = await RedisServer.start({ tcp: false });
});
afterAll(async () => {
  await server?.stop();
});
beforeEach(async () => {
  if (!server.running) await server.restart();
  // As the daemon's: commands fail at once while Redis is away (the route answers 503 either way).
  redis = new Redis({ ...server.connection, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 20 });
  redis.on('error', () => undefined);
  await waitFor(() => expect(redis.status).toBe('ready'));
  await redis.flushall();
});
afterEach(async () => {
  redis.disconnect();
  await harness?.close();
});

/** The row of a node in the section's list. */
function rowOf(node: string): HTMLElement {
  const row = within(screen.getByTestId('cluster-nodes')).getByText(node).closest('tr');
  if (!row) throw new Error(`no row for ${node}`);
  return row;
}

describe('the overview\'s Cluster section', () => {
  it('shows nothing on a standalone server', async () => {
    harness = await ApiHarness.start();
    const asked: string[] = [];
    const { container } = renderAs(harness, ADMIN, <ClusterSection />, { before: (config) => void asked.push(config.url ?? '') });
    await waitFor(() => expect(asked).toContain('/api/v1/cluster'));
    // Asked, answered "standalone", and still nothing.
    await waitFor(() => expect(asked.filter((url) => url === '/api/v1/cluster').length).toBeGreaterThanOrEqual(2));
    expect(container).toBeEmptyDOMElement();
  });

  it('lists the nodes with state, last seen, version, counting, held mail and wiring; a silent node is marked as such', async () => {
    const nodes = new ClusterNodes(redis, { url: `redis+unix://${server.socketPath}` });
    await nodes.report(facts('mx1.example.com', { heldMessages: 1200 }));
    await nodes.report(facts('mx2.example.com', { counting: 'alone', wiring: 'not-wired', version: '0.2.0' }));
    // mx3 last reported a minute ago.
    await new ClusterNodes(redis, { clockMs: () => Date.now() - 60_000 }).report(facts('mx3.example.com'));
    harness = await ApiHarness.start({ clusterNodes: nodes });
    renderAs(harness, ADMIN, <ClusterSection />);

    expect(await screen.findByText('Cluster', {}, LOADED)).toBeInTheDocument();
    expect(screen.getByText(`Mail servers that share these limits through Redis at redis+unix://${server.socketPath}.`)).toBeInTheDocument();
    await screen.findByTestId('cluster-nodes', {}, LOADED);
    // A narrow window (jsdom has no width) shows each cell with its column title.
    for (const title of ['State', 'Last seen', 'Version', 'Counting', 'Held messages', 'Postfix']) expect(within(rowOf('mx1.example.com')).getByText(title)).toBeInTheDocument();

    const mx1 = rowOf('mx1.example.com');
    expect(within(mx1).getByText('Up')).toBeInTheDocument();
    expect(within(mx1).getByText('1,200')).toBeInTheDocument();
    expect(within(mx1).getByText('In the cluster')).toBeInTheDocument();
    expect(within(mx1).getByText('Connected')).toBeInTheDocument();
    const mx2 = rowOf('mx2.example.com');
    expect(within(mx2).getByText('0.2.0')).toBeInTheDocument();
    expect(within(mx2).getByText('On its own (Redis was unreachable)')).toBeInTheDocument();
    expect(within(mx2).getByText('Not connected')).toBeInTheDocument();
    const mx3 = rowOf('mx3.example.com');
    expect(within(mx3).getByTestId('cluster-state-mx3.example.com')).toHaveTextContent('SilentNo report for more than 10 seconds: stopped, or cut off from Redis');
    expect(within(rowOf('mx1.example.com')).queryByText(/No report/)).toBeNull();
    // Last seen to the second, as the locale writes it.
    const [mx3Listing] = (await nodes.list()).filter((n) => n.node === 'mx3.example.com');
    expect(within(mx3).getByText(new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(mx3Listing!.lastSeenMs)))).toBeInTheDocument();
  });

  it('a cluster no node has reported to yet says so', async () => {
    harness = await ApiHarness.start({ clusterNodes: new ClusterNodes(redis) });
    renderAs(harness, ADMIN, <ClusterSection />);
    expect(await screen.findByText('No server has reported to this cluster yet.', {}, LOADED)).toBeInTheDocument();
  });

  it('says so when Redis does not answer, keeps the last list, and comes back by itself', async () => {
    const user = userEvent.setup();
    const nodes = new ClusterNodes(redis, { url: `redis+unix://${server.socketPath}` });
    await nodes.report(facts('mx1.example.com'));
    harness = await ApiHarness.start({ clusterNodes: nodes });
    renderAs(harness, ADMIN, <ClusterSection />);
    await screen.findByTestId('cluster-nodes', {}, LOADED);

    await server.kill();
    const alert = await screen.findByTestId('cluster-unreachable', {}, LOADED);
    expect(alert).toHaveTextContent(`Redis of the cluster at redis+unix://${server.socketPath} does not answer (`);
    expect(alert).toHaveTextContent('Each server goes on limiting mail with its own counts.');
    expect(rowOf('mx1.example.com')).toBeInTheDocument();

    await server.restart();
    await waitFor(() => expect(redis.status).toBe('ready'), LOADED);
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(screen.queryByTestId('cluster-unreachable')).toBeNull(), LOADED);
  });

  it('when Redis is already away at the first look, the section still shows, with the error', async () => {
    const nodes = new ClusterNodes(redis, { url: `redis+unix://${server.socketPath}` });
    harness = await ApiHarness.start({ clusterNodes: nodes });
    await server.kill();
    renderAs(harness, ADMIN, <ClusterSection />);
    expect(await screen.findByTestId('cluster-unreachable', {}, LOADED)).toHaveTextContent(`Redis of the cluster at redis+unix://${server.socketPath} does not answer (`);
    expect(screen.getByText('Cluster')).toBeInTheDocument();
    expect(screen.queryByTestId('cluster-nodes')).toBeNull();
  });

  it('is not shown to a customer, and does not ask', () => {
    return ApiHarness.start({ clusterNodes: new ClusterNodes(redis) }).then((started) => {
      harness = started;
      const asked: string[] = [];
      const { container } = renderAs(harness, JDOE, <ClusterSection />, { before: (config) => void asked.push(config.url ?? '') });
      expect(container).toBeEmptyDOMElement();
      expect(asked).toEqual([]);
    });
  });
});
