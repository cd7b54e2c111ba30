import { Button, List, Paragraph, Section, Status } from '@plesk/ui-library';
import { createElement, useCallback } from 'react';
import type { HealthLine, HealthState } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useText, type TextParams } from '../app/text';
import { useResource } from '../app/use-resource';
import { LoadState } from './LoadState';
import { formatDateTime } from '../app/locale';

const INTENT: Record<HealthState, 'success' | 'warning' | 'danger'> = { ok: 'success', warning: 'warning', problem: 'danger' };

/**
 * The health view on the settings screen (administrator only: GET /doctor refuses everyone else): one row per
 * line with its state, what was found and, when not ok, what to do. Text comes from the messages by the line's
 * reason; a reason this screen does not know yet (a newer daemon) shows the daemon's English text.
 */
export function HealthPanel() {
  const { session } = useEnvironment();
  return session.role === 'admin' ? <HealthLines /> : null;
}

function HealthLines() {
  const { api } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.doctor(), [api]);
  const health = useResource(load, 'doctor');

  // The LocaleProvider answers a key it does not have as "[key]".
  const say = (key: string, params: TextParams, fallback: string) => {
    const said = text(key, params);
    return said.startsWith('[') && said.endsWith(`${key}]`) ? fallback : said;
  };
  const columns = [
    { key: 'state', title: text('health.columns.state'), render: (line: HealthLine) => <Status intent={INTENT[line.state]}>{text(`health.states.${line.state}`)}</Status> },
    { key: 'line', title: text('health.columns.line'), type: 'title' as const, render: (line: HealthLine) => text(`health.titles.${line.id}`) },
    {
      key: 'found',
      title: text('health.columns.found'),
      render: (line: HealthLine) => (
        <div>
          <div>{say(`health.reasons.${line.reason}.found`, line.params, line.found)}</div>
          {line.advice !== null ? <div data-testid={`health-advice-${line.id}`}>{text('health.advice', { advice: say(`health.reasons.${line.reason}.advice`, line.params, line.advice) })}</div> : null}
        </div>
      ),
    },
  ];

  return (
    <Section title={text('health.title')}>
      <Paragraph>{text('health.intro')}</Paragraph>
      <LoadState data={health.data} error={health.error} onRetry={health.reload}>
        {(report) => (
          <div data-testid="health-panel">
            <List columns={columns} data={report.lines.map((line) => ({ ...line, key: line.id }))} />
            <Paragraph>
              {text('health.checkedAt', { time: formatDateTime(report.checkedAt) })}{' '}
              <Button onClick={health.reload} state={health.loading ? 'loading' : undefined}>
                {text('health.refresh')}
              </Button>
            </Paragraph>
          </div>
        )}
      </LoadState>
    </Section>
  );
}
