import { Button, Heading, List, ListEmptyView, Paragraph, SearchBar, Toolbar, ToolbarGroup } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, useState } from 'react';
import { ApiFailure } from '../api/client';
import type { AnomalyFigures, AuditEntry, Limit } from '../api/types';
import { anomalyText } from '../components/Anomalies';
import { useEnvironment } from '../app/environment';
import { useText, type TextParams } from '../app/text';
import { useResource } from '../app/use-resource';
import { limitText } from '../components/limit-text';
import { LoadState } from '../components/LoadState';
import { formatDateTime, formatNumber } from '../app/locale';
import { exemptionWhat } from '../components/ExemptionMark';

const PAGE = 50;

type Text = (key: string, params?: TextParams) => string;

function isLimit(value: unknown): value is Limit {
  return value === 'unlimited' || (typeof value === 'number' && Number.isInteger(value) && value >= 0);
}

/** A value of the log as people read it: limits in words, the default as "the default", the rest as it is. */
function valueText(text: Text, value: unknown): string {
  if (value === null || value === undefined) return text('history.none');
  if (value === 'default') return text('history.default');
  if (isLimit(value)) return limitText(text, value);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function recipientsValueText(text: Text, value: unknown): string {
  if (value === 'unlimited') return text('recipients.unlimited');
  if (typeof value === 'number') return formatNumber(value);
  return valueText(text, value);
}

const isStructured = (value: unknown): boolean => value !== null && typeof value === 'object';

const field = (value: unknown, name: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined);

/** "Exemption set: Raised to 5,000 per hour until ...": the log keeps hourly, daily and endsAt (ISO). */
function exemptionSetText(text: Text, value: unknown): string {
  const limitOrNull = (raw: unknown) => (isLimit(raw) ? raw : null);
  const endsAt = field(value, 'endsAt');
  return text('exemptions.historySet', {
    what: exemptionWhat(text, { hourly: limitOrNull(field(value, 'hourly')), daily: limitOrNull(field(value, 'daily')) }),
    end: typeof endsAt === 'string' ? formatDateTime(endsAt) : '',
  });
}

/** What a line of the log says was done, old → new where there is one; unknown actions by their name. */
export function changeText(text: Text, entry: AuditEntry): string {
  const from = valueText(text, entry.oldValue);
  const to = valueText(text, entry.newValue);
  switch (entry.action) {
    case 'exemption.set':
      return exemptionSetText(text, entry.newValue);
    case 'exemption.end':
      return text(field(entry.newValue, 'reason') === 'endTime' ? 'exemptions.historyEnded' : 'exemptions.historyEndedEarly');
    case 'limit.set':
      return text('history.actions.limitSet', { from, to });
    case 'limit.daily.set':
      return text('daily.historySet', { from, to });
    case 'limit.recipients.set':
      // A maximum of recipients is no rate: "50", "Any number of recipients", never "50 per hour".
      return text('recipients.historySet', { from: recipientsValueText(text, entry.oldValue), to: recipientsValueText(text, entry.newValue) });
    case 'mailbox.compromised': {
      // Marked by an anomaly signal: the figures that did it, in words.
      const automatically = field(entry.newValue, 'automatically');
      if (automatically && typeof automatically === 'object') return text('anomalies.historyAuto', { what: anomalyText(text, automatically as AnomalyFigures) });
      return text('history.actions.compromised', { from, to });
    }
    case 'mailbox.restore':
      return text('history.actions.restored', { from, to });
    case 'held.release':
      return text(field(entry.newValue, 'overLimit') === true ? 'history.actions.releasedOverLimit' : 'history.actions.released', { queueId: String(field(entry.newValue, 'queueId') ?? '') });
    case 'held.delete':
      return text('history.actions.deleted', { queueId: String(field(entry.oldValue, 'queueId') ?? '') });
    case 'settings.update':
      return text('history.actions.settings');
    case 'limit.lock':
      return text('history.actions.locked', { role: text(`roles.${String(field(entry.newValue, 'role') ?? 'admin')}`), login: String(field(entry.newValue, 'login') ?? '') });
    case 'limit.unlock':
      return text('history.actions.unlocked');
    case 'directory.import':
      return text('history.actions.directoryImported');
    case 'directory.sync':
      return text('history.actions.directorySynced');
    case 'contact.set':
      return text('history.actions.contactSet', { name: entry.objectName ?? '', from, to });
    case 'platform.report':
      return text('history.actions.platformReport');
    default:
      // An action this screen does not know yet: its name, and its values only where they are plain.
      return (entry.oldValue === null && entry.newValue === null) || isStructured(entry.oldValue) || isStructured(entry.newValue)
        ? entry.action
        : text('history.actions.other', { action: entry.action, from, to });
  }
}

/**
 * "History": who changed which limit when, old → new, newest first, as far as the API lets this user see it
 * (customers their own objects, resellers their customers', the administrator everything). Filters by object and
 * by person; older lines page in with "Show Older".
 */
export function HistoryScreen({ name }: { name?: string }) {
  const { api, session } = useEnvironment();
  const text = useText();
  const [object, setObject] = useState(name ?? '');
  const [actor, setActor] = useState('');
  const [older, setOlder] = useState<{ items: AuditEntry[]; next: number | null; key: string } | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<string | null>(null);

  const key = JSON.stringify({ object, actor, login: session.login });
  const load = useCallback(() => api.audit({ name: object || undefined, actor: actor || undefined, limit: PAGE }), [api, key]); // eslint-disable-line react-hooks/exhaustive-deps
  const first = useResource(load, key);
  const extra = older?.key === key ? older : null;
  const next = extra ? extra.next : (first.data?.next ?? null);

  const showOlder = async () => {
    if (next === null) return;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      const page = await api.audit({ name: object || undefined, actor: actor || undefined, limit: PAGE, before: next });
      setOlder({ items: [...(extra?.items ?? []), ...page.items], next: page.next, key });
    } catch (error) {
      setOlderError(error instanceof ApiFailure ? error.message : String(error));
    } finally {
      setLoadingOlder(false);
    }
  };

  const columns = [
    { key: 'time', title: text('history.time'), render: (e: AuditEntry) => formatDateTime(e.atMs) },
    { key: 'who', title: text('history.who'), type: 'title' as const, render: (e: AuditEntry) => text('history.whoText', { login: e.actorLogin, role: text(`roles.${e.actorRole}`) }) },
    {
      key: 'object',
      title: text('history.object'),
      render: (e: AuditEntry) => (e.objectName ? (e.level ? `${text(`levels.${e.level}`)} ${e.objectName}` : e.objectName) : text('history.server')),
    },
    { key: 'change', title: text('history.change'), render: (e: AuditEntry) => changeText(text, e) },
  ];

  const toolbar = (
    <Toolbar>
      <ToolbarGroup title={text('history.object')}>
        <SearchBar
          inputProps={{ placeholder: text('history.objectPlaceholder'), 'aria-label': text('history.objectPlaceholder'), defaultValue: object } as never}
          onSearch={(value: string) => setObject(value.trim())}
        />
      </ToolbarGroup>
      <ToolbarGroup title={text('history.who')}>
        <SearchBar
          inputProps={{ placeholder: text('history.actorPlaceholder'), 'aria-label': text('history.actorPlaceholder'), defaultValue: actor } as never}
          onSearch={(value: string) => setActor(value.trim())}
        />
      </ToolbarGroup>
    </Toolbar>
  );

  return (
    <Fragment>
      <Heading level={1}>{object ? text('history.titleOf', { name: object }) : text('history.title')}</Heading>
      <Paragraph>{session.role === 'admin' ? text('history.introAdmin') : text('history.intro')}</Paragraph>
      <LoadState data={first.data} error={first.error} onRetry={first.reload}>
        {(page) => {
          const items = [...page.items, ...(extra?.items ?? [])];
          return (
            <div data-testid="history-list">
              <List
                columns={columns}
                data={items.map((entry) => ({ ...entry, key: String(entry.id) }))}
                toolbar={toolbar}
                filtered={object !== '' || actor !== ''}
                emptyView={<ListEmptyView title={object || actor ? text('history.emptySearch') : text('history.empty')} />}
              />
              {olderError ? <Paragraph>{text('history.olderFailed', { reason: olderError })}</Paragraph> : null}
              {next !== null ? (
                <Paragraph>
                  <Button state={loadingOlder ? 'loading' : undefined} onClick={() => void showOlder()}>
                    {text('history.showOlder')}
                  </Button>
                </Paragraph>
              ) : null}
            </div>
          );
        }}
      </LoadState>
    </Fragment>
  );
}
