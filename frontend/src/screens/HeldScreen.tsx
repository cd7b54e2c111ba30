import { Button, Dropdown, Heading, List, Menu, MenuItem, Paragraph, SearchBar, Section, Toolbar, ToolbarExpander, ToolbarGroup } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, useState } from 'react';
import { MAX_BULK_HELD, type CompromisedMailbox, type HeldBulkAction, type HeldBulkResult, type HeldMessage, type HeldQuery, type HeldStatus } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useReasonText } from '../app/reasons';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';
import { useResource } from '../app/use-resource';
import { limitText } from '../components/limit-text';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FilterControl } from '../components/FilterControl';
import { HeldLeavingText } from '../components/HeldLeavingText';
import { EmptyState, LoadState } from '../components/LoadState';
import { NavLink } from '../components/NavLink';
import { rowControlsColumn } from '../components/row-controls';
import { formatDateTime } from '../app/locale';

const STATUSES: Array<HeldStatus | 'all'> = ['held', 'released', 'deleted', 'gone', 'all'];
const PAGE = 100;
/** The API answers at most this many per request. */
const MOST = 1000;

type Pending =
  | { action: 'release' | 'delete'; message: HeldMessage }
  | { action: 'compromise' | 'restore'; address: string }
  | { action: 'bulk'; bulk: HeldBulkAction; messages: HeldMessage[] };

/** At most this many senders and email addresses are offered in the "Select" menu (the busiest first). */
const SELECT_CHOICES = 8;
/**
 * Below this width (px) the held list shows each message as a block of its fields, one under the other (ui-library's
 * vertical List) instead of a table: its nine columns need about 1,350 px, and a narrower table was cut off at the
 * right, its buttons first.
 */
export const HELD_TABLE_MIN_WIDTH = 1360;
/** What the "Server" column of a cluster adds to that width (assumed from short host names; not measured). */
const SERVER_COLUMN_WIDTH = 120;
/** Recipients shown in a row; the rest are counted. */
const RECIPIENTS_SHOWN = 2;

const senderOf = (message: HeldMessage) => message.saslUsername ?? message.sender ?? '<>';
/** A message's key: queue ids are unique per Postfix only, so in a cluster the server is part of it. */
const keyOf = (message: { queueId: string; node?: string | null }) => (message.node ? `${message.queueId}@${message.node}` : message.queueId);
/** The server filter's "all servers" (never a server's name: those begin with a letter or digit). */
const ALL_SERVERS = '*';
const mailboxOf = (message: HeldMessage) => (message.chargedLevel === 'mailbox' ? message.chargedName : null);

/** Distinct values among held messages, the most frequent first, with how many messages each has. */
function busiest(messages: HeldMessage[], valueOf: (m: HeldMessage) => string | null): Array<{ value: string; count: number }> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const value = valueOf(m);
    if (value !== null) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value))
    .slice(0, SELECT_CHOICES);
}


/**
 * Whether this user may change the limit of one mailbox, and so mark it compromised: the API's answer for that
 * mailbox (`mayChangeLimit`), which for a Plesk customer depends on the mailbox's subscription. False while
 * unknown, and for a mailbox the user may not see.
 */
function useMayChangeMailbox(address: string | null): boolean {
  const { api, session } = useEnvironment();
  const load = useCallback(() => (address ? api.object('mailbox', address).then((row) => row.mayChangeLimit) : Promise.resolve(false)), [api, address]);
  return useResource(load, `may-change:${session.login}:${address ?? ''}`).data ?? false;
}

/**
 * "Held messages": mail a limit put into Postfix's hold queue, newest first, as the API lets this user see it.
 * Release now (the administrator beyond the limit), delete, and for an email address "Mark as Compromised" with a
 * one-click "Restore". `name` narrows the list to one mailbox, domain or subscription. Each action is offered
 * only where the API says this user may take it (per message and per mark: a Plesk customer may hold the
 * permission on some subscriptions and not on others).
 */
export function HeldScreen({ name }: { name?: string }) {
  const { api, session, pollMs } = useEnvironment();
  const text = useText();
  const reasons = useReasonText();
  const toasts = useToasts();
  const isAdmin = session.role === 'admin';
  const [status, setStatus] = useState<HeldStatus | 'all'>('held');
  const [object, setObject] = useState(name ?? '');
  const [limit, setLimit] = useState(PAGE);
  const [pending, setPending] = useState<Pending | null>(null);
  /** Selected messages by queue id; only held ones are ever acted on. */
  const [selection, setSelection] = useState<string[]>([]);
  /** In a cluster: the server whose held mail is shown (ALL_SERVERS: every server's). */
  const [server, setServer] = useState(ALL_SERVERS);

  const query: HeldQuery = { status, name: object || undefined, limit, node: server === ALL_SERVERS ? undefined : server };
  const key = JSON.stringify(query);
  const load = useCallback(() => api.held(query), [api, key]); // eslint-disable-line react-hooks/exhaustive-deps
  const held = useResource(load, key, pollMs);
  // The API answers `cluster` only on a node of a cluster: a single server shows no server at all.
  const cluster = held.data?.cluster;
  const servers = cluster ? [cluster.node, ...cluster.nodes.map((n) => n.node)].sort((a, b) => a.localeCompare(b)) : [];

  const loadCompromised = useCallback(() => api.compromised().then((answer) => answer.items), [api]);
  const compromised = useResource(loadCompromised, 'compromised', pollMs);
  const compromisedEntry = (address: string): CompromisedMailbox | undefined => compromised.data?.find((entry) => entry.address === address.toLowerCase());

  const refresh = () => {
    held.reload();
    compromised.reload();
  };

  const release = async (message: HeldMessage) => {
    try {
      await api.releaseHeld(message.queueId, isAdmin, message.node);
      toasts.success(text('held.released', { queueId: message.queueId }));
    } catch (error) {
      toasts.error(text('held.releaseFailed', { queueId: message.queueId, reason: reasons.refusal(error) }));
    }
    refresh();
  };

  const remove = async (message: HeldMessage) => {
    try {
      await api.deleteHeld(message.queueId, message.node);
      toasts.success(text('held.deleted', { queueId: message.queueId }));
    } catch (error) {
      toasts.error(text('held.deleteFailed', { queueId: message.queueId, reason: reasons.refusal(error) }));
    }
    refresh();
  };

  const markCompromised = async (address: string) => {
    try {
      const answer = await api.markCompromised(address);
      toasts.success(answer.heldNow ? text('held.compromisedHeld', { name: address, count: answer.heldNow }) : text('held.compromised', { name: address }));
    } catch (error) {
      toasts.error(text('held.compromiseFailed', { name: address, reason: reasons.refusal(error) }));
    }
    refresh();
  };

  const restore = async (address: string) => {
    try {
      await api.restoreMailbox(address);
      toasts.success(text('held.restored', { name: address }));
    } catch (error) {
      toasts.error(text('held.restoreFailed', { name: address, reason: reasons.refusal(error) }));
    }
    refresh();
  };

  const restoredLimitText = (address: string): string => {
    const previous = compromisedEntry(address)?.previousLimit;
    if (previous === undefined) return text('confirmRestore.unknownLimit');
    return previous === 'default' ? text('held.previousDefault') : limitText(text, previous);
  };

  /**
   * One request per action for the whole selection (in a cluster, one per server that holds some of it: queue
   * ids are unique per Postfix only); the API answers message by message.
   */
  const runBulk = async (action: HeldBulkAction, messages: HeldMessage[]) => {
    const byServer = new Map<string | undefined, string[]>();
    for (const m of messages) byServer.set(m.node, [...(byServer.get(m.node) ?? []), m.queueId]);
    try {
      const results: HeldBulkResult[] = [];
      for (const [node, ids] of byServer) results.push(...(await api.heldBulk(action, ids, action === 'release' && isAdmin, node)).results);
      const done = results.filter((r) => r.ok).length;
      const firstRefused = results.find((r) => !r.ok);
      const firstError = firstRefused ? reasons.bulkRefusal(firstRefused) : '';
      if (done === results.length) toasts.success(text(`held.bulk.${action}.done`, { count: done }));
      else toasts.error(text(`held.bulk.${action}.partly`, { done, count: messages.length, failed: results.length - done, reason: firstError }));
      setSelection((current) => current.filter((key) => results.some((r) => keyOf(r) === key && !r.ok)));
    } catch (error) {
      toasts.error(text(`held.bulk.${action}.failed`, { count: messages.length, reason: reasons.refusal(error) }));
    }
    refresh();
  };

  const recipientsOf = (m: HeldMessage): string => {
    const list = m.recipients ?? [];
    if (list.length === 0) return String(m.recipientCount);
    const shown = list.slice(0, RECIPIENTS_SHOWN).join(', ');
    const more = Math.max(m.recipientCount, list.length) - RECIPIENTS_SHOWN;
    return more > 0 ? text('held.recipientsMore', { shown, count: more }) : shown;
  };

  const statusOf = (m: HeldMessage): string => {
    const label = text(`held.statuses.${m.status}`);
    if (m.status === 'held' || !m.resolvedBy) return label;
    if (m.resolvedBy === 'worker') return text('held.releasedAutomatically');
    if (m.resolvedBy === 'postfix') return m.status === 'released' ? text('held.releasedInQueue') : label;
    return text('held.byWhom', { status: label, who: m.resolvedBy });
  };
  const compromiseButton = (address: string, intent?: 'danger') => (
    <Button key="compromise" intent={intent} aria-label={text('held.compromiseOf', { name: address })} onClick={() => setPending({ action: 'compromise', address })}>
      {text('held.compromise')}
    </Button>
  );
  const restoreButton = (address: string) => (
    <Button key="restore" intent="primary" aria-label={text('held.restoreOf', { name: address })} onClick={() => setPending({ action: 'restore', address })}>
      {text('held.restore')}
    </Button>
  );

  const columns = [
    { key: 'time', title: text('held.time'), render: (m: HeldMessage) => formatDateTime(m.heldAtMs) },
    { key: 'queueId', title: text('held.queueId'), render: (m: HeldMessage) => <code>{m.queueId}</code> },
    ...(cluster ? [{ key: 'server', title: text('heldCluster.server'), render: (m: HeldMessage) => m.node ?? '' }] : []),
    { key: 'sender', title: text('held.sender'), type: 'title' as const, render: (m: HeldMessage) => senderOf(m) },
    {
      key: 'subject',
      title: text('held.subject'),
      // The sender wrote it: React puts it in as text, never as markup.
      render: (m: HeldMessage) => (m.subject === null ? <span style={{ color: '#737373' }}>{text('held.noSubject')}</span> : <span title={m.subject}>{m.subject}</span>),
    },
    {
      key: 'object',
      title: text('held.object'),
      render: (m: HeldMessage) =>
        m.chargedLevel && m.chargedName ? (
          <NavLink to={{ screen: 'held', name: m.chargedName }}>{`${text(`levels.${m.chargedLevel}`)} ${m.chargedName}`}</NavLink>
        ) : (
          text('held.noObject')
        ),
    },
    { key: 'tripped', title: text('held.levelTripped'), render: (m: HeldMessage) => `${text(`levels.${m.trippedLevel}`)} ${m.trippedName}` },
    { key: 'reason', title: text('held.reason'), render: (m: HeldMessage) => <HeldLeavingText message={m} /> },
    { key: 'recipients', title: text('held.recipients'), render: (m: HeldMessage) => recipientsOf(m) },
    { key: 'status', title: text('held.state'), render: (m: HeldMessage) => statusOf(m) },
    rowControlsColumn('actions', text('held.actions'), (m: HeldMessage) =>
      m.status !== 'held' ? null : (
        <Fragment>
          {m.mayRelease ? (
            <Button aria-label={text('held.releaseOf', { queueId: m.queueId })} onClick={() => setPending({ action: 'release', message: m })}>
              {text('held.release')}
            </Button>
          ) : null}
          {m.mayDelete ? (
            <Button aria-label={text('held.deleteOf', { queueId: m.queueId })} onClick={() => setPending({ action: 'delete', message: m })}>
              {text('held.delete')}
            </Button>
          ) : null}
          {m.chargedLevel === 'mailbox' && m.chargedName && m.mayMarkCompromised && compromised.data && !compromisedEntry(m.chargedName)
            ? compromiseButton(m.chargedName)
            : null}
        </Fragment>
      ),
    ),
  ];

  const compromisedColumns = [
    { key: 'address', title: text('held.address'), type: 'title' as const, render: (c: CompromisedMailbox) => <NavLink to={{ screen: 'held', name: c.address }}>{c.address}</NavLink> },
    { key: 'markedAt', title: text('held.markedAt'), render: (c: CompromisedMailbox) => formatDateTime(c.markedAtMs) },
    { key: 'markedBy', title: text('held.markedBy'), render: (c: CompromisedMailbox) => c.markedBy },
    {
      key: 'previous',
      title: text('held.previousLimit'),
      render: (c: CompromisedMailbox) => (c.previousLimit === 'default' ? text('held.previousDefault') : limitText(text, c.previousLimit)),
    },
    ...(compromised.data?.some((c) => c.mayRestore)
      ? [rowControlsColumn('actions', text('held.actions'), (c: CompromisedMailbox) => (c.mayRestore ? restoreButton(c.address) : null))]
      : []),
  ];

  // The one email address this screen is about, if it is about one.
  const mailbox = object.includes('@') ? object.toLowerCase() : null;
  const mailboxEntry = mailbox ? compromisedEntry(mailbox) : undefined;
  const mayChangeMailbox = useMayChangeMailbox(mailbox);
  const mailboxButton = mailbox === null ? null : mailboxEntry ? (mailboxEntry.mayRestore ? restoreButton(mailbox) : null) : mayChangeMailbox ? compromiseButton(mailbox, 'danger') : null;

  const page = held.data?.items ?? [];
  const heldOnPage = page.filter((m) => m.status === 'held');
  const selected = heldOnPage.filter((m) => selection.includes(keyOf(m)));
  const select = (messages: HeldMessage[]) => setSelection(messages.slice(0, MAX_BULK_HELD).map(keyOf));
  // Offered only when the API allows it for some message on the page; acts on the selected ones it allows.
  const bulkButton = (action: HeldBulkAction, allowed: (m: HeldMessage) => boolean) => {
    if (!heldOnPage.some(allowed)) return null;
    const messages = selected.filter(allowed);
    return (
      <Button key={action} disabled={messages.length === 0} onClick={() => setPending({ action: 'bulk', bulk: action, messages })}>
        {text(`held.bulk.${action}.button`, { count: messages.length })}
      </Button>
    );
  };
  const selectMenu = (
    <Menu>
      <MenuItem onClick={() => select(heldOnPage)}>{text('held.selectPage', { count: heldOnPage.length })}</MenuItem>
      {busiest(heldOnPage, senderOf).map(({ value, count }) => (
        <MenuItem key={`s:${value}`} onClick={() => select(heldOnPage.filter((m) => senderOf(m) === value))}>
          {text('held.selectSender', { sender: value, count })}
        </MenuItem>
      ))}
      {busiest(heldOnPage, mailboxOf).map(({ value, count }) => (
        <MenuItem key={`m:${value}`} onClick={() => select(heldOnPage.filter((m) => mailboxOf(m) === value))}>
          {text('held.selectMailbox', { name: value, count })}
        </MenuItem>
      ))}
      <MenuItem onClick={() => setSelection([])}>{text('held.selectNone')}</MenuItem>
    </Menu>
  );

  const toolbar = (
    <Toolbar>
      {status === 'held' || status === 'all' ? (
        <ToolbarGroup title={text('held.selection')}>
          <Dropdown menu={selectMenu}>
            <Button caret disabled={heldOnPage.length === 0}>
              {text('held.select')}
            </Button>
          </Dropdown>
          {bulkButton('release', (m) => m.mayRelease)}
          {bulkButton('delete', (m) => m.mayDelete)}
          {bulkButton('compromise', (m) => m.mayMarkCompromised && mailboxOf(m) !== null && !compromisedEntry(mailboxOf(m)!))}
        </ToolbarGroup>
      ) : null}
      <ToolbarGroup title={text('held.status')}>
        <FilterControl
          label={text('held.status')}
          selected={status}
          onChange={(next: HeldStatus | 'all') => {
            setStatus(next);
            setLimit(PAGE);
            setSelection([]);
          }}
          buttons={STATUSES.map((value) => ({ value, title: text(`held.statuses.${value}`) }))}
        />
      </ToolbarGroup>
      {cluster && servers.length > 1 ? (
        <ToolbarGroup title={text('heldCluster.filter')}>
          <FilterControl
            label={text('heldCluster.filter')}
            selected={server}
            onChange={(next: string) => {
              setServer(next);
              setLimit(PAGE);
              setSelection([]);
            }}
            buttons={[{ value: ALL_SERVERS, title: text('heldCluster.all') }, ...servers.map((node) => ({ value: node, title: node }))]}
          />
        </ToolbarGroup>
      ) : null}
      <ToolbarExpander />
      <ToolbarGroup title={text('common.search')}>
        <SearchBar
          inputProps={{ placeholder: text('held.searchPlaceholder'), 'aria-label': text('held.searchPlaceholder'), defaultValue: object } as never}
          onSearch={(value: string) => {
            setObject(value.trim());
            setLimit(PAGE);
            setSelection([]);
          }}
        />
      </ToolbarGroup>
    </Toolbar>
  );

  return (
    <Fragment>
      <Heading level={1}>{object ? text('held.titleOf', { name: object }) : text('held.title')}</Heading>
      <Paragraph>{text('held.intro')}</Paragraph>

      {mailbox && compromised.data ? (
        <Section
          title={text('held.mailboxSection', { name: mailbox })}
          buttons={mailboxButton ? [mailboxButton] : []}
        >
          <Paragraph>{mailboxEntry ? text('held.mailboxCompromised') : text('held.mailboxFine')}</Paragraph>
        </Section>
      ) : null}

      {compromised.data && compromised.data.length > 0 ? (
        <Section title={text('held.compromisedList')}>
          <div data-testid="compromised-list">
            <List columns={compromisedColumns} data={compromised.data.map((entry) => ({ ...entry, key: entry.address }))} />
          </div>
        </Section>
      ) : null}

      <LoadState data={held.data ? held.data.items : null} error={held.error} onRetry={held.reload}>
        {(items) => (
          <div data-testid="held-list">
            <List
              columns={columns}
              data={items.map((message) => ({ ...message, key: message.status === 'held' ? keyOf(message) : `record-${message.id}`, disabled: message.status !== 'held' }))}
              selection={selection}
              onSelectionChange={(keys: string[]) => setSelection(keys.filter((key) => heldOnPage.some((m) => keyOf(m) === key)).slice(0, MAX_BULK_HELD))}
              toolbar={toolbar}
              vertical={HELD_TABLE_MIN_WIDTH + (cluster ? SERVER_COLUMN_WIDTH : 0)}
              filtered={object !== '' || status !== 'held' || server !== ALL_SERVERS}
              emptyView={
                <EmptyState>{object ? text('held.emptySearch', { name: object }) : status === 'held' ? text('held.empty') : text('held.emptyOther')}</EmptyState>
              }
            />
            {items.length >= limit ? (
              <Paragraph>
                {text('held.shownLatest', { count: items.length })}{' '}
                {limit < MOST ? <Button onClick={() => setLimit((current) => Math.min(MOST, current + PAGE))}>{text('held.showMore')}</Button> : null}
              </Paragraph>
            ) : null}
          </div>
        )}
      </LoadState>

      {pending?.action === 'release' ? (
        <ConfirmDialog
          title={text('held.releaseTitle')}
          confirmLabel={text('held.release')}
          onConfirm={() => release(pending.message)}
          onClose={() => setPending(null)}
        >
          <Paragraph>{text('held.releaseText', { queueId: pending.message.queueId, sender: senderOf(pending.message) })}</Paragraph>
          <Paragraph>{isAdmin ? text('held.releaseAdmin') : text('held.releaseOthers')}</Paragraph>
        </ConfirmDialog>
      ) : null}
      {pending?.action === 'delete' ? (
        <ConfirmDialog title={text('held.deleteTitle')} confirmLabel={text('held.delete')} danger onConfirm={() => remove(pending.message)} onClose={() => setPending(null)}>
          {text('held.deleteText', { queueId: pending.message.queueId, sender: senderOf(pending.message) })}
        </ConfirmDialog>
      ) : null}
      {pending?.action === 'bulk' ? (
        <ConfirmDialog
          title={text(`held.bulk.${pending.bulk}.title`, { count: pending.bulk === 'compromise' ? new Set(pending.messages.map(mailboxOf)).size : pending.messages.length })}
          confirmLabel={text(`held.bulk.${pending.bulk}.confirm`)}
          danger={pending.bulk !== 'release'}
          onConfirm={() => runBulk(pending.bulk, pending.messages)}
          onClose={() => setPending(null)}
        >
          <Paragraph>
            {pending.bulk === 'compromise'
              ? text('held.bulk.compromise.text', { names: [...new Set(pending.messages.map((m) => mailboxOf(m)))].join(', ') })
              : text(`held.bulk.${pending.bulk}.text`, { count: pending.messages.length })}
          </Paragraph>
          {pending.bulk === 'release' ? <Paragraph>{isAdmin ? text('held.bulk.release.admin') : text('held.releaseOthers')}</Paragraph> : null}
        </ConfirmDialog>
      ) : null}
      {pending?.action === 'compromise' ? (
        <ConfirmDialog
          title={text('held.compromiseTitle', { name: pending.address })}
          confirmLabel={text('held.compromise')}
          danger
          onConfirm={() => markCompromised(pending.address)}
          onClose={() => setPending(null)}
        >
          {text('held.compromiseText', { name: pending.address })}
        </ConfirmDialog>
      ) : null}
      {pending?.action === 'restore' ? (
        <ConfirmDialog
          title={text('confirmRestore.title', { name: pending.address })}
          confirmLabel={text('held.restore')}
          onConfirm={() => restore(pending.address)}
          onClose={() => setPending(null)}
        >
          {text('confirmRestore.text', { name: pending.address, limit: restoredLimitText(pending.address) })}
        </ConfirmDialog>
      ) : null}
    </Fragment>
  );
}
