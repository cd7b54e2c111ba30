import { List, Paragraph, Section } from '@plesk/ui-library';
import { createElement, Fragment, useCallback } from 'react';
import type { MonitoringAnswer } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatDateTime } from '../app/locale';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { EmptyState, LoadState } from './LoadState';

type MonitoredObject = MonitoringAnswer['objects'][number];
type EarlyWarning = MonitoringAnswer['earlyWarnings'][number];

/**
 * The overview's answer to "what would the limits have done?": in monitor only mode (or when it was on within the
 * last 24 hours) the messages that would have been held or deferred, by level and object; and always the early
 * warnings given. Everything is as the API counts it.
 */
export function MonitoringPanel() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.monitoring(), [api]);
  const monitoring = useResource(load, 'monitoring', pollMs);

  const objectColumns = [
    { key: 'name', title: text('list.name'), type: 'title' as const, render: (row: MonitoredObject) => row.name },
    { key: 'level', title: text('overview.object'), render: (row: MonitoredObject) => text(`levels.${row.level}`) },
    { key: 'held', title: text('monitor.wouldHold'), render: (row: MonitoredObject) => String(row.wouldHaveBeenHeld) },
    { key: 'deferred', title: text('monitor.wouldDefer'), render: (row: MonitoredObject) => String(row.wouldHaveBeenDeferred) },
    { key: 'windows', title: text('monitor.windows'), render: (row: MonitoredObject) => row.windows.map((w) => text(`monitor.windowNames.${w}`)).join(', ') },
    { key: 'last', title: text('monitor.lastAt'), render: (row: MonitoredObject) => formatDateTime(row.lastAtMs) },
  ];
  const warningColumns = [
    { key: 'time', title: text('overview.time'), render: (warning: EarlyWarning) => formatDateTime(warning.atMs) },
    {
      key: 'what',
      title: text('overview.object'),
      type: 'title' as const,
      render: (warning: EarlyWarning) =>
        text(warning.window === 'day' ? 'monitor.warningDay' : 'monitor.warningHour', {
          level: text(`rowState.levelNames.${warning.level}`),
          name: warning.objectName,
          percent: warning.percent,
          used: warning.used,
          limit: warning.limit,
        }),
    },
  ];

  return (
    <LoadState data={monitoring.data} error={monitoring.error} onRetry={monitoring.reload}>
      {(answer) => (
        <Fragment>
          {answer.mode === 'monitor' || answer.objectCount > 0 ? (
            <Section title={text('monitor.panelTitle')}>
              <div data-testid="would-have-been">
                <Paragraph>
                  {answer.objectCount === 0 ? text('monitor.summaryNone') : text('monitor.summary', { held: answer.wouldHaveBeenHeld, deferred: answer.wouldHaveBeenDeferred })}
                </Paragraph>
                {answer.objectCount > 0 ? (
                  <Fragment>
                    <Paragraph>{text('monitor.byLevel', answer.byLevel)}</Paragraph>
                    <List columns={objectColumns} data={answer.objects.map((row) => ({ ...row, key: `${row.level}:${row.name}` }))} />
                    {answer.objectCount > answer.objects.length ? <Paragraph>{text('monitor.moreObjects', { shown: answer.objects.length, count: answer.objectCount })}</Paragraph> : null}
                  </Fragment>
                ) : null}
              </div>
            </Section>
          ) : null}
          <Section title={text('monitor.warningsTitle')}>
            <div data-testid="early-warnings">
              <List
                columns={warningColumns}
                data={answer.earlyWarnings.map((warning, index) => ({ ...warning, key: `${warning.atMs}-${index}` }))}
                emptyView={<EmptyState>{text('monitor.warningsNone')}</EmptyState>}
              />
            </div>
          </Section>
        </Fragment>
      )}
    </LoadState>
  );
}
