import { Checkbox, FormField, FormFieldCheckbox, Input, Label, List, Paragraph, Section } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, type ChangeEvent } from 'react';
import type { AnomalyFigures, AnomalySettings, AnomalySignal, ObjectRow, RecordedAnomaly } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatDateTime } from '../app/locale';
import { useText, type TextParams } from '../app/text';
import { useResource } from '../app/use-resource';
import { EmptyState, LoadState } from './LoadState';
import { NavLink } from './NavLink';

export const ANOMALY_SIGNALS: AnomalySignal[] = ['loginAddresses', 'recipientDomains', 'volumeSurge'];
const RECENT = 20;

type Text = (key: string, params?: TextParams) => string;

/** What an anomaly saw, in the person's language: "Logged in from 11 IP addresses in an hour (more than 10)". */
export function anomalyText(text: Text, figures: AnomalyFigures): string {
  return text(`anomalies.signal.${figures.signal}`, { observed: figures.observed, threshold: figures.threshold, baseline: figures.baseline ?? 0 });
}

/** The mark beside an email address that sent unusually in the last 24 hours; the text says what was seen. */
export function AnomalyMark({ row }: { row: Pick<ObjectRow, 'anomaly'> }) {
  const text = useText();
  if (!row.anomaly) return null;
  const what = text('anomalies.rowMark', { what: anomalyText(text, row.anomaly) });
  return (
    <Fragment>
      {' '}
      <Label intent="warning" title={what} data-testid="anomaly-mark">
        {what}
      </Label>
    </Fragment>
  );
}

/** Overview: the unusual sending of the last 24 hours, newest first, as far as the person may see it. */
export function RecentAnomalies() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const load = useCallback(() => api.anomalies({ hours: 24, limit: RECENT }).then((answer) => answer.items), [api]);
  const anomalies = useResource(load, 'anomalies', pollMs);
  const columns = [
    { key: 'time', title: text('anomalies.when'), render: (a: RecordedAnomaly) => formatDateTime(a.atMs) },
    {
      key: 'mailbox',
      title: text('anomalies.address'),
      type: 'title' as const,
      render: (a: RecordedAnomaly) => <NavLink to={{ screen: 'domain', name: a.mailbox.slice(a.mailbox.lastIndexOf('@') + 1) }}>{a.mailbox}</NavLink>,
    },
    {
      key: 'what',
      title: text('anomalies.what'),
      render: (a: RecordedAnomaly) => (
        <span>
          {anomalyText(text, a)}
          {a.autoCompromised ? (
            <Fragment>
              {' '}
              <Label intent="danger">{text('anomalies.markedAuto')}</Label>
            </Fragment>
          ) : null}
        </span>
      ),
    },
  ];
  return (
    <Section title={text('anomalies.recent')}>
      <LoadState data={anomalies.data} error={anomalies.error} onRetry={anomalies.reload}>
        {(rows) => (
          <div data-testid="anomalies">
            <List columns={columns} data={rows.map((a) => ({ ...a, key: String(a.id) }))} emptyView={<EmptyState>{text('anomalies.recentNone')}</EmptyState>} />
          </div>
        )}
      </LoadState>
    </Section>
  );
}

/** The settings form's fields of one signal: `<signal>Threshold`, `<signal>Off`, `<signal>Auto`. */
export function anomalyValues(settings: AnomalySettings): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const signal of ANOMALY_SIGNALS) {
    const { threshold, autoCompromise } = settings[signal];
    values[`${signal}Threshold`] = threshold === null ? '' : String(threshold);
    values[`${signal}Off`] = threshold === null;
    values[`${signal}Auto`] = autoCompromise;
  }
  return values;
}

/** The form's fields → the API's change; what is typed goes as typed, and the API names what is wrong. */
export function anomalyChange(values: Record<string, string | boolean>): Record<AnomalySignal, { threshold: unknown; autoCompromise: boolean }> {
  const change = {} as Record<AnomalySignal, { threshold: unknown; autoCompromise: boolean }>;
  for (const signal of ANOMALY_SIGNALS) {
    const raw = String(values[`${signal}Threshold`] ?? '').trim();
    change[signal] = { threshold: values[`${signal}Off`] ? null : /^\d+$/.test(raw) ? Number(raw) : raw, autoCompromise: Boolean(values[`${signal}Auto`]) };
  }
  return change;
}

/** The API's field name of an anomaly threshold → the form's; null for other fields. */
export function anomalyFormField(apiField: string): string | null {
  const match = /^anomalies\.(loginAddresses|recipientDomains|volumeSurge)\.threshold$/.exec(apiField);
  return match ? `${match[1]}Threshold` : null;
}

/**
 * "Unusual sending" on the Settings screen: per signal its threshold with "Off" beside it (as "Unlimited" stands
 * beside a limit) and whether it marks the email address compromised by itself.
 */
export function AnomalySettingsSection({ values, setValue }: { values: Record<string, string | boolean>; setValue: (name: string, value: boolean) => void }) {
  const text = useText();
  return (
    <Section title={text('anomalies.section')}>
      <Paragraph>{text('anomalies.sectionHint')}</Paragraph>
      {ANOMALY_SIGNALS.map((signal) => {
        const off = Boolean(values[`${signal}Off`]);
        return (
          <Fragment key={signal}>
            <FormField name={`${signal}Threshold`} label={text(`anomalies.${signal}`)} description={signal === 'volumeSurge' ? text('anomalies.volumeSurgeHint') : undefined}>
              {({ getId, getValue, setValue: setThreshold }) => (
                <span className="oml-limit-field">
                  <Input id={getId()} size="sm" value={String(getValue(''))} disabled={off} onChange={(event: ChangeEvent<HTMLInputElement>) => setThreshold(event.target.value)} />
                  <Checkbox checked={off} onChange={(checked: boolean) => setValue(`${signal}Off`, checked)}>
                    {text('anomalies.off')}
                  </Checkbox>
                </span>
              )}
            </FormField>
            <FormFieldCheckbox name={`${signal}Auto`} label={text('anomalies.autoCompromise')} disabled={off} />
          </Fragment>
        );
      })}
    </Section>
  );
}
