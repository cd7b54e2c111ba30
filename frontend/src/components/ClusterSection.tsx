import { Alert, Button, List, Paragraph, Section, Status } from '@plesk/ui-library';
import { createElement, Fragment, useCallback } from 'react';
import type { NodeListing } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatNumber, pageLocale } from '../app/locale';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { EmptyState } from './LoadState';

const STATE_INTENT: Record<NodeListing['state'], 'success' | 'warning'> = { up: 'success', silent: 'warning' };

/** When a node last reported, to the second (it reports every second): date and time as the locale writes them. */
function lastSeenText(atMs: number): string {
  return new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(atMs));
}

/**
 * The overview's "Cluster" section (administrator only: GET /cluster refuses everyone else): the mail servers
 * sharing these limits through Redis, each with its state, last report, version, how it counts and its held
 * mail. A standalone server shows nothing; a Redis that does not answer is said so, with what each server does then.
 */
export function ClusterSection() {
  const { session } = useEnvironment();
  return session.role === 'admin' ? <ClusterNodesView /> : null;
}

function ClusterNodesView() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.cluster(), [api]);
  const cluster = useResource(load, 'cluster', pollMs);
  const unreachable = cluster.error?.code === 'clusterUnreachable' ? cluster.error : null;

  // Until the first answer it is not known whether this server is in a cluster: a standalone one shows nothing,
  // and a failure other than Redis's is the other sections' to show (they ask the same daemon).
  if (unreachable === null && (cluster.data === null || cluster.data.mode === 'standalone')) return null;
  const known = cluster.data?.mode === 'cluster' ? cluster.data : null;
  const address = known?.address ?? String(unreachable?.params.address ?? '');

  const wordOr = (key: string, word: string) => {
    const said = text(key);
    // The LocaleProvider answers a key it does not have as "[key]": a word of a newer daemon is shown as it is.
    return said === `[${key}]` ? word : said;
  };
  const columns = [
    { key: 'node', title: text('cluster.columns.node'), type: 'title' as const, render: (node: NodeListing) => node.node },
    {
      key: 'state',
      title: text('cluster.columns.state'),
      render: (node: NodeListing) => (
        <div data-testid={`cluster-state-${node.node}`}>
          <Status intent={STATE_INTENT[node.state]}>{text(`cluster.states.${node.state}`)}</Status>
          {node.state === 'silent' ? <div>{text('cluster.silentHint')}</div> : null}
        </div>
      ),
    },
    { key: 'lastSeen', title: text('cluster.columns.lastSeen'), render: (node: NodeListing) => lastSeenText(node.lastSeenMs) },
    { key: 'version', title: text('cluster.columns.version'), render: (node: NodeListing) => node.version },
    { key: 'counting', title: text('cluster.columns.counting'), render: (node: NodeListing) => wordOr(`cluster.counting.${node.counting}`, node.counting) },
    { key: 'held', title: text('cluster.columns.held'), render: (node: NodeListing) => formatNumber(node.heldMessages) },
    { key: 'wiring', title: text('cluster.columns.wiring'), render: (node: NodeListing) => wordOr(`cluster.wiring.${node.wiring}`, node.wiring) },
  ];

  return (
    <Section title={text('cluster.title')}>
      <Paragraph>{text('cluster.intro', { address })}</Paragraph>
      {unreachable ? (
        <Alert intent="danger" data-testid="cluster-unreachable">
          {text('cluster.unreachable', { address, reason: String(unreachable.params.reason ?? unreachable.message) })}{' '}
          <Button onClick={cluster.reload}>{text('common.retry')}</Button>
        </Alert>
      ) : null}
      {known ? (
        <Fragment>
          {cluster.error && !unreachable ? <Alert intent="warning">{text('common.refreshFailed', { reason: cluster.error.message })}</Alert> : null}
          <div data-testid="cluster-nodes">
            <List columns={columns} data={known.nodes.map((node) => ({ ...node, key: node.node }))} emptyView={<EmptyState>{text('cluster.none')}</EmptyState>} />
          </div>
        </Fragment>
      ) : null}
    </Section>
  );
}
