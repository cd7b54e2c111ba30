import { Button, List, Paragraph, Section } from '@plesk/ui-library';
import { createElement, useCallback, useState } from 'react';
import type { ReportRow } from '../api/types';
import { useEnvironment } from '../app/environment';
import { formatDateTime } from '../app/locale';
import { useReasonText } from '../app/reasons';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';
import { useResource } from '../app/use-resource';
import { FilterControl } from './FilterControl';
import { EmptyState, LoadState } from './LoadState';

/** The report's periods: the API takes any of 1d..31d; the screen offers these three. */
const SINCE = { day: '1d', week: '7d', month: '31d' } as const;
type SinceKey = keyof typeof SINCE;

/** Hands text to the browser as a file to save. */
function saveFile(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

/**
 * "Reached a limit": objects that reached a limit in the last day, 7 or 31 days, as far as the person may see
 * them (the API decides), with the same rows as a CSV file.
 */
export function ReportSection() {
  const { api, pollMs } = useEnvironment();
  const text = useText();
  const toasts = useToasts();
  const reasons = useReasonText();
  const [since, setSince] = useState<SinceKey>('week');
  const [downloading, setDownloading] = useState(false);
  const load = useCallback(() => api.report(SINCE[since]).then((answer) => answer.items), [api, since]);
  const report = useResource(load, `report:${since}`, pollMs);

  const download = async () => {
    setDownloading(true);
    try {
      const csv = await api.reportCsv(SINCE[since]);
      saveFile(`outgoing-mail-limits-report-${SINCE[since]}.csv`, csv);
      toasts.success(text('report.downloaded'));
    } catch (error) {
      toasts.error(text('report.downloadFailed', { reason: reasons.refusal(error) }));
    } finally {
      setDownloading(false);
    }
  };

  const limit = (value: ReportRow['hourlyLimit']) => (value === 'unlimited' ? text('report.unlimited') : String(value));
  const columns = [
    { key: 'name', title: text('report.object'), type: 'title' as const, render: (row: ReportRow) => row.name },
    { key: 'level', title: text('report.level'), render: (row: ReportRow) => text(`levels.${row.level}`) },
    {
      key: 'owner',
      title: text('report.owner'),
      render: (row: ReportRow) => (row.reseller ? text('report.ownerWithReseller', { customer: row.customer, reseller: row.reseller }) : row.customer),
    },
    { key: 'events', title: text('report.events'), render: (row: ReportRow) => String(row.overLimitEvents) },
    { key: 'window', title: text('report.byWindow'), render: (row: ReportRow) => `${row.hourlyLimitReached} / ${row.dailyLimitReached}` },
    { key: 'action', title: text('report.byAction'), render: (row: ReportRow) => `${row.held} / ${row.deferred}` },
    { key: 'last', title: text('report.last'), render: (row: ReportRow) => formatDateTime(row.lastEventAt) },
    { key: 'limits', title: text('report.limits'), render: (row: ReportRow) => text('report.limitsText', { hour: limit(row.hourlyLimit), day: limit(row.dailyLimit) }) },
  ];

  return (
    <Section
      title={text('report.title')}
      buttons={[
        <Button key="csv" icon="download" state={downloading ? 'loading' : undefined} onClick={() => void download()} data-testid="report-download">
          {text('report.download')}
        </Button>,
      ]}
    >
      <Paragraph>{text('report.intro')}</Paragraph>
      <FilterControl
        label={text('report.since')}
        selected={since}
        onChange={setSince}
        buttons={(Object.keys(SINCE) as SinceKey[]).map((value) => ({ value, title: text(`report.sinceDays.${value}`) }))}
      />
      <LoadState data={report.data} error={report.error} onRetry={report.reload}>
        {(rows) => (
          <div data-testid="report">
            <List columns={columns} data={rows.map((row) => ({ ...row, key: `${row.level}:${row.name}` }))} emptyView={<EmptyState>{text('report.none')}</EmptyState>} />
          </div>
        )}
      </LoadState>
    </Section>
  );
}
