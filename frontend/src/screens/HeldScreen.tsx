import { Button, Heading, List, ListEmptyView, Paragraph, SearchBar, Section, SegmentedControl, Toolbar, ToolbarExpander, ToolbarGroup } from '@plesk/ui-library';
import { createElement, Fragment, useCallback, useState } from 'react';
import { ApiFailure } from '../api/client';
import type { CompromisedMailbox, HeldMessage, HeldQuery, HeldStatus } from '../api/types';
import { useEnvironment } from '../app/environment';
import { useText } from '../app/text';
import { useToasts } from '../app/toasts';
import { useResource } from '../app/use-resource';
import { limitText } from '../components/limit-text';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { HeldLeavingText } from '../components/HeldLeavingText';
import { LoadState } from '../components/LoadState';
import { NavLink } from '../components/NavLink';

const STATUSES: Array<HeldStatus | 'all'> = ['held', 'released', 'deleted', 'gone', 'all'];
const PAGE = 100;
/** The API answers at most this many per request. */
const MOST = 1000;

type Pending =
  | { action: 'release' | 'delete'; message: HeldMessage }
  | { action: 'compromise'; address: string };

const reasonOf = (error: unknown): string => (error instanceof ApiFailure ? error.message : String(error));

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
  const toasts = useToasts();
  const isAdmin = session.role === 'admin';
  const [status, setStatus] = useState<HeldStatus | 'all'>('held');
  const [object, setObject] = useState(name ?? '');
  const [limit, setLimit] = useState(PAGE);
  const [pending, setPending] = useState<Pending | null>(null);

  const query: HeldQuery = { status, name: object || undefined, limit };
  const key = JSON.stringify(query);
  const load = useCallback(() => api.held(query).then((answer) => answer.items), [api, key]); // eslint-disable-line react-hooks/exhaustive-deps
  const held = useResource(load, key, pollMs);

  const loadCompromised = useCallback(() => api.compromised().then((answer) => answer.items), [api]);
  const compromised = useResource(loadCompromised, 'compromised', pollMs);
  const compromisedEntry = (address: string): CompromisedMailbox | undefined => compromised.data?.find((entry) => entry.address === address.toLowerCase());

  const refresh = () => {
    held.reload();
    compromised.reload();
  };

  const release = async (message: HeldMessage) => {
    try {
      await api.releaseHeld(message.queueId, isAdmin);
      toasts.success(text('held.released', { queueId: message.queueId }));
    } catch (error) {
      toasts.error(text('held.releaseFailed', { queueId: message.queueId, reason: reasonOf(error) }));
    }
    refresh();
  };

  const remove = async (message: HeldMessage) => {
    try {
      await api.deleteHeld(message.queueId);
      toasts.success(text('held.deleted', { queueId: message.queueId }));
    } catch (error) {
      toasts.error(text('held.deleteFailed', { queueId: message.queueId, reason: reasonOf(error) }));
    }
    refresh();
  };

  const markCompromised = async (address: string) => {
    try {
      const answer = await api.markCompromised(address);
      toasts.success(answer.heldNow ? text('held.compromisedHeld', { name: address, count: answer.heldNow }) : text('held.compromised', { name: address }));
    } catch (error) {
      toasts.error(text('held.compromiseFailed', { name: address, reason: reasonOf(error) }));
    }
    refresh();
  };

  const restore = async (address: string) => {
    try {
      await api.restoreMailbox(address);
      toasts.success(text('held.restored', { name: address }));
    } catch (error) {
      toasts.error(text('held.restoreFailed', { name: address, reason: reasonOf(error) }));
    }
    refresh();
  };

  const senderOf = (message: HeldMessage) => message.saslUsername ?? message.sender ?? '<>';
  const compromiseButton = (address: string, intent?: 'danger') => (
    <Button key="compromise" intent={intent} aria-label={text('held.compromiseOf', { name: address })} onClick={() => setPending({ action: 'compromise', address })}>
      {text('held.compromise')}
    </Button>
  );
  const restoreButton = (address: string) => (
    <Button key="restore" intent="primary" aria-label={text('held.restoreOf', { name: address })} onClick={() => void restore(address)}>
      {text('held.restore')}
    </Button>
  );

  const columns = [
    { key: 'time', title: text('held.time'), render: (m: HeldMessage) => new Date(m.heldAtMs).toLocaleString() },
    { key: 'sender', title: text('held.sender'), type: 'title' as const, render: (m: HeldMessage) => senderOf(m) },
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
    { key: 'recipients', title: text('held.recipients'), render: (m: HeldMessage) => String(m.recipientCount) },
    {
      key: 'status',
      title: text('held.state'),
      render: (m: HeldMessage) => {
        const label = text(`held.statuses.${m.status}`);
        return m.resolvedBy && m.status !== 'held' ? text('held.byWhom', { status: label, who: m.resolvedBy }) : label;
      },
    },
    {
      key: 'actions',
      title: text('held.actions'),
      type: 'actions' as const,
      render: (m: HeldMessage) =>
        m.status !== 'held' ? null : (
          <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }}>
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
          </span>
        ),
    },
  ];

  const compromisedColumns = [
    { key: 'address', title: text('held.address'), type: 'title' as const, render: (c: CompromisedMailbox) => <NavLink to={{ screen: 'held', name: c.address }}>{c.address}</NavLink> },
    { key: 'markedAt', title: text('held.markedAt'), render: (c: CompromisedMailbox) => new Date(c.markedAtMs).toLocaleString() },
    { key: 'markedBy', title: text('held.markedBy'), render: (c: CompromisedMailbox) => c.markedBy },
    {
      key: 'previous',
      title: text('held.previousLimit'),
      render: (c: CompromisedMailbox) => (c.previousLimit === 'default' ? text('held.previousDefault') : limitText(text, c.previousLimit)),
    },
    ...(compromised.data?.some((c) => c.mayRestore)
      ? [{ key: 'actions', title: text('held.actions'), type: 'actions' as const, render: (c: CompromisedMailbox) => (c.mayRestore ? restoreButton(c.address) : null) }]
      : []),
  ];

  // The one email address this screen is about, if it is about one.
  const mailbox = object.includes('@') ? object.toLowerCase() : null;
  const mailboxEntry = mailbox ? compromisedEntry(mailbox) : undefined;
  const mayChangeMailbox = useMayChangeMailbox(mailbox);
  const mailboxButton = mailbox === null ? null : mailboxEntry ? (mailboxEntry.mayRestore ? restoreButton(mailbox) : null) : mayChangeMailbox ? compromiseButton(mailbox, 'danger') : null;

  const toolbar = (
    <Toolbar>
      <ToolbarGroup title={text('held.status')}>
        <SegmentedControl
          label={text('held.status')}
          labelPlacement="left"
          selected={status}
          onChange={(next: HeldStatus | 'all') => {
            setStatus(next);
            setLimit(PAGE);
          }}
          buttons={STATUSES.map((value) => ({ value, title: text(`held.statuses.${value}`) }))}
        />
      </ToolbarGroup>
      <ToolbarExpander />
      <ToolbarGroup title={text('common.search')}>
        <SearchBar
          inputProps={{ placeholder: text('held.searchPlaceholder'), 'aria-label': text('held.searchPlaceholder'), defaultValue: object } as never}
          onSearch={(value: string) => {
            setObject(value.trim());
            setLimit(PAGE);
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

      <LoadState data={held.data} error={held.error} onRetry={held.reload}>
        {(items) => (
          <div data-testid="held-list">
            <List
              columns={columns}
              data={items.map((message) => ({ ...message, key: String(message.id) }))}
              toolbar={toolbar}
              filtered={object !== '' || status !== 'held'}
              emptyView={
                <ListEmptyView title={object ? text('held.emptySearch', { name: object }) : status === 'held' ? text('held.empty') : text('held.emptyOther')} />
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
    </Fragment>
  );
}
