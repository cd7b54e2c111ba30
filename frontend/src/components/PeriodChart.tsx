import { Paragraph, Section } from '@plesk/ui-library';
import { createElement, useCallback, useState, type ReactElement } from 'react';
import type { Level, StatsPeriod } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useResource } from '../app/use-resource';
import { FilterControl } from './FilterControl';
import { LoadState } from './LoadState';
import { PERIOD_KEY, StatsChart } from './StatsChart';

/** What a chart shows: one object, or the whole server (administrators). */
export type ChartObject = { level: Level; name: string } | 'server';

/**
 * The statistics chart in a section of its own, with the period switch above it (24 hours, 7 days, 31 days):
 * the overview's and each object's. `object` null: nothing picked yet, and the section says how to pick.
 */
export function PeriodChart({ object, objectLabel, buttons = [] }: { object: ChartObject | null; objectLabel: string; buttons?: ReactElement[] }) {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const [period, setPeriod] = useState<StatsPeriod>('24h');
  const key = `${object === null ? 'none' : object === 'server' ? 'server' : `${object.level}:${object.name}`}:${period}`;
  const load = useCallback(
    () => (object === null ? Promise.resolve(null) : api.stats(object === 'server' ? { period } : { level: object.level, name: object.name, period })),
    [api, key], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const stats = useResource(load, `stats:${key}`, pollMs);
  return (
    <Section title={text(`periods.chartTitle.${PERIOD_KEY[period]}`, { object: objectLabel })} buttons={buttons}>
      <FilterControl
        label={text('periods.switchLabel')}
        selected={period}
        onChange={setPeriod}
        buttons={(Object.keys(PERIOD_KEY) as StatsPeriod[]).map((value) => ({ value, title: text(`periods.${PERIOD_KEY[value]}`) }))}
      />
      {object === null ? (
        <Paragraph>{text('overview.chartPick')}</Paragraph>
      ) : (
        <LoadState data={stats.data} error={stats.error} onRetry={stats.reload}>
          {(answer) => (answer ? <StatsChart buckets={answer.buckets} objectLabel={objectLabel} period={answer.period ?? '24h'} /> : null)}
        </LoadState>
      )}
    </Section>
  );
}
