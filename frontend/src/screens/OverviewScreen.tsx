import { Button, Heading, List, Paragraph, Section } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, useEffect, useState } from 'react';
import type { Level, ObjectRow, OverLimitEvent } from '../api/types';
import { useEnvironment } from '../app/environment';
import type { Target } from '../app/navigation';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { effectiveLimitText, usageText } from '../components/limit-text';
import { EmptyState, LoadState } from '../components/LoadState';
import { NavLink } from '../components/NavLink';
import { rowControlsColumn } from '../components/row-controls';
import { CompromisedLabel } from '../components/CompromisedMark';
import { AnomalyMark, RecentAnomalies } from '../components/Anomalies';
import { SendingStatus } from '../components/SendingStatus';
import { LimitCell } from '../components/LockMark';
import { MonitoringPanel } from '../components/MonitoringPanel';
import { formatDateTime, formatNumber } from '../app/locale';
import { ExemptionsSection } from '../components/ExemptionsSection';
import { PeriodChart, type ChartObject } from '../components/PeriodChart';
import { ReportSection } from '../components/ReportSection';
import { ClusterSection } from '../components/ClusterSection';

const LEVELS: Level[] = ['subscription', 'domain', 'mailbox'];
const BLOCKED_PER_LEVEL = 10;
const TOP_SENDERS = 10;
const EVENTS = 20;
/** Held messages counted for the overview; more shows as "N or more". */
const HELD_COUNTED = 100;

/** Where a row leads: domains and subscriptions to their screens, an email address to its domain. */
function targetOf(row: Pick<ObjectRow, 'level' | 'name' | 'domain'>): Target {
  if (row.level === 'subscription') return { screen: 'subscription', name: row.name };
  return { screen: 'domain', name: row.level === 'domain' ? row.name : (row.domain ?? row.name) };
}

/**
 * "Outgoing Mail Control": what is at or over its limit now, the top senders of the last hour, the last 24 hours
 * of one object (or the whole server, for the admin) and recent over-limit attempts. Everything refreshes live.
 */
export function OverviewScreen() {
  const { api, session, pollMs } = useEnvironment();
  const text = useText();
  const isAdmin = session.role === 'admin';
  const [chartObject, setChartObject] = useState<ChartObject | null>(isAdmin ? 'server' : null);

  // Only the admin may see the whole server: others start with their first subscription.
  useEffect(() => {
    if (isAdmin) return;
    api.list('subscription', { pageSize: 1 }).then(
      (page) => {
        const first = page.items[0];
        if (first) setChartObject((current) => current ?? { level: 'subscription', name: first.name });
      },
      () => undefined, // the chart then asks the user to pick an object
    );
  }, [api, isAdmin]);

  const loadBlocked = useCallback(async () => {
    const pages = await Promise.all(LEVELS.map((level) => api.list(level, { blocked: true, sort: 'used', order: 'desc', pageSize: BLOCKED_PER_LEVEL })));
    return pages.flatMap((page) => page.items);
  }, [api]);
  const blocked = useResource(loadBlocked, 'blocked', pollMs);

  const loadTop = useCallback(() => api.list('mailbox', { sort: 'used', order: 'desc', pageSize: TOP_SENDERS }).then((page) => page.items.filter((row) => row.used > 0)), [api]);
  const top = useResource(loadTop, 'top', pollMs);

  // A single server counts the messages listed (up to HELD_COUNTED); a node of a cluster answers every server's count.
  const loadHeld = useCallback(
    () =>
      api.held({ status: 'held', limit: HELD_COUNTED }).then((answer) => {
        const byNode = answer.cluster?.heldByNode ?? null;
        return { count: byNode ? byNode.reduce((sum, n) => sum + n.count, 0) : answer.items.length, capped: !byNode, byNode: byNode?.filter((n) => n.count > 0) ?? [] };
      }),
    [api],
  );
  const held = useResource(loadHeld, 'held', pollMs);

  const loadEvents = useCallback(() => api.events({ limit: EVENTS }).then((answer) => answer.items), [api]);
  const events = useResource(loadEvents, 'events', pollMs);

  const chartLabel = chartObject === null ? '' : chartObject === 'server' ? text('overview.wholeServer') : `${text(`levels.${chartObject.level}`)} ${chartObject.name}`;

  const chartButton = (row: Pick<ObjectRow, 'level' | 'name'>) => (
    <Button ghost aria-label={text('overview.showChart', { name: row.name })} onClick={() => setChartObject({ level: row.level, name: row.name })}>
      {text('overview.chart')}
    </Button>
  );

  const objectColumns = [
    {
      key: 'name',
      title: text('list.name'),
      type: 'title' as const,
      render: (row: ObjectRow) => (
        <span>
          <NavLink to={targetOf(row)}>{row.name}</NavLink>
          <CompromisedLabel row={row} />
          <AnomalyMark row={row} />
        </span>
      ),
    },
    { key: 'level', title: text('overview.object'), render: (row: ObjectRow) => text(`levels.${row.level}`) },
    { key: 'limit', title: text('list.limit'), render: (row: ObjectRow) => <LimitCell row={row}>{effectiveLimitText(text, row)}</LimitCell> },
    { key: 'usage', title: text('list.usage'), render: (row: ObjectRow) => usageText(text, row) },
    { key: 'status', title: text('list.status'), render: (row: ObjectRow) => <SendingStatus row={row} /> },
    rowControlsColumn('chart', text('list.actions'), chartButton),
  ];

  const eventColumns = [
    { key: 'time', title: text('overview.time'), render: (event: OverLimitEvent) => formatDateTime(event.atMs) },
    { key: 'object', title: text('overview.object'), type: 'title' as const, render: (event: OverLimitEvent) => event.objectName },
    { key: 'level', title: text('overview.levelTripped'), render: (event: OverLimitEvent) => text(`levels.${event.level}`) },
    { key: 'sender', title: text('overview.sender'), render: (event: OverLimitEvent) => event.saslUsername ?? event.sender ?? '' },
    { key: 'recipients', title: text('overview.recipients'), render: (event: OverLimitEvent) => String(event.recipientCount) },
    { key: 'action', title: text('overview.action'), render: (event: OverLimitEvent) =>
        // A refusal for its number of recipients says the maximum; the others how they were handled.
        event.recipientMaximum != null
          ? text(event.action === 'would-reject' ? 'recipients.wouldRefuse' : 'recipients.refused', { maximum: formatNumber(event.recipientMaximum) })
          : text(`overview.actions.${event.action}`),
    },
  ];

  return (
    <Fragment>
      <Heading level={1}>{text('overview.title')}</Heading>
      <Paragraph>{text('overview.liveNote', { seconds: Math.round(pollMs / 1000) })}</Paragraph>

      <Section title={text('held.title')}>
        <LoadState data={held.data} error={held.error} onRetry={held.reload}>
          {({ count, capped, byNode }) => (
            <Paragraph data-testid="held-count">
              {count === 0
                ? text('held.overviewNone')
                : capped && count >= HELD_COUNTED
                  ? text('held.overviewMore', { count })
                  : count === 1
                    ? text('held.overviewCountOne')
                    : text('held.overviewCount', { count })}{' '}
              {byNode.length > 1 ? (
                <span data-testid="held-by-server">
                  {text('heldCluster.overviewByServer', { list: byNode.map((n) => text('heldCluster.overviewServer', { node: n.node, count: n.count })).join(', ') })}{' '}
                </span>
              ) : null}
              <NavLink to={{ screen: 'held' }}>{text('held.show')}</NavLink>
              {/* Two links side by side read as one without a separator. */}
              <span aria-hidden="true">{' · '}</span>
              <NavLink to={{ screen: 'history' }}>{text('history.show')}</NavLink>
            </Paragraph>
          )}
        </LoadState>
      </Section>

      <ClusterSection />
      <MonitoringPanel />
      <ExemptionsSection />
      <RecentAnomalies />

      <Section title={text('overview.blockedNow')}>
        <LoadState data={blocked.data} error={blocked.error} onRetry={blocked.reload}>
          {(rows) => (
            <div data-testid="blocked-list">
              <List columns={objectColumns} data={rows.map((row) => ({ ...row, key: `${row.level}:${row.name}` }))} emptyView={<EmptyState>{text('overview.blockedNone')}</EmptyState>} />
            </div>
          )}
        </LoadState>
      </Section>

      <Section title={text('overview.topSenders')}>
        <LoadState data={top.data} error={top.error} onRetry={top.reload}>
          {(rows) => (
            <div data-testid="top-senders">
              <List columns={objectColumns} data={rows.map((row) => ({ ...row, key: row.name }))} emptyView={<EmptyState>{text('overview.topSendersNone')}</EmptyState>} />
            </div>
          )}
        </LoadState>
      </Section>

      <PeriodChart
        object={chartObject}
        objectLabel={chartLabel}
        buttons={isAdmin && chartObject !== 'server' ? [<Button key="server" onClick={() => setChartObject('server')}>{text('overview.showWholeServer')}</Button>] : []}
      />

      <Section title={text('overview.events')}>
        <LoadState data={events.data} error={events.error} onRetry={events.reload}>
          {(rows) => (
            <div data-testid="events">
              <List columns={eventColumns} data={rows.map((event, index) => ({ ...event, key: `${event.atMs}-${index}` }))} emptyView={<EmptyState>{text('overview.eventsNone')}</EmptyState>} />
            </div>
          )}
        </LoadState>
      </Section>

      <ReportSection />
    </Fragment>
  );
}
