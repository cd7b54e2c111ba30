import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterHeld } from '../../../backend-bridge/src/cluster/cluster-held.js';
import type { HeldMessage, NewHeldMessage } from '../../../backend-bridge/src/store/held-store.js';
import { exampleDirectory } from '../../../backend-bridge/test-support/directory-fixture.js';
import { ADMIN, ApiHarness, freshRedisPerTest, heldByOwnLimit, JDOE, renderAs, type Caller } from '../test-support/bridge';
import { HeldScreen } from './HeldScreen';

// The real held-mail routes and store; Postfix does not run here, so queue operations fail as they would with
// Postfix unreachable (the browser test in frontend/e2e/held.spec.ts releases and deletes in a real Postfix).
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
});
afterEach(async () => {
  await harness.close();
});

function hold(queueId: string, mailbox: string, extra: Partial<NewHeldMessage> = {}): void {
  harness.recordHeld(queueId, mailbox, {
    recipientCount: 2,
    recipients: ['a@remote.test', 'b@remote.test'],
    reason: `Outgoing limit of 3 messages/hour for mailbox ${mailbox} reached; message held, sent automatically in about 12 minutes`,
    ...extra,
  });
}

function row(text: string): HTMLElement {
  const found = within(screen.getByTestId('held-list'))
    .getAllByRole('row')
    .find((r) => r.textContent?.includes(text));
  if (!found) throw new Error(`no held row with ${text}`);
  return found;
}

describe('Held messages', () => {
  it('lists held mail newest first with queue id, sender, subject, object, level that tripped, reason and recipients', async () => {
    hold('AAAAAA1', 'alice@example.com');
    harness.advance(60);
    hold('BBBBBB2', 'erin@example.net', { trippedLevel: 'domain', trippedName: 'example.net', trippedLimit: 5, trippedUsed: 5, reason: 'Outgoing limit of 5 messages/hour for domain example.net reached; message held' });
    renderAs(harness, ADMIN, <HeldScreen />);
    await screen.findByText('erin@example.net');
    const senders = within(screen.getByTestId('held-list'))
      .getAllByRole('row')
      .map((r) => (r.textContent?.includes('erin@') ? 'erin' : r.textContent?.includes('alice@') ? 'alice' : null))
      .filter((sender) => sender !== null);
    expect(senders).toEqual(['erin', 'alice']);
    const erin = row('erin@example.net');
    expect(erin).toHaveTextContent('Email address erin@example.net');
    expect(erin).toHaveTextContent('Domain example.net');
    // The reason as of now: erin's domain has room again, so it leaves at the worker's next pass.
    // In people's words, not Postfix's protocol text ("Outgoing limit of 5 messages/hour for domain ...").
    expect(erin).toHaveTextContent('Limit of 5 per hour for domain example.net reached. Sent automatically within a few seconds.');
    expect(erin).not.toHaveTextContent('messages/hour');
    expect(erin).toHaveTextContent('BBBBBB2');
    expect(erin).toHaveTextContent('a@remote.test, b@remote.test');
    // Postfix does not run here: no queue file to read the subject from.
    expect(erin).toHaveTextContent('(no subject)');
    expect(within(erin).getByRole('button', { name: 'Release now the message BBBBBB2' })).toBeInTheDocument();
    expect(within(erin).getByRole('button', { name: 'Delete the message BBBBBB2' })).toBeInTheDocument();
  });

  it('a customer sees only its own held mail, even asking for another customer’s mailbox by name', async () => {
    hold('AAAAAA1', 'alice@example.com');
    hold('CCCCCC3', 'mallory@other.org');
    const { unmount } = renderAs(harness, JDOE, <HeldScreen />);
    await screen.findByText('alice@example.com');
    expect(screen.queryByText('mallory@other.org')).not.toBeInTheDocument();
    unmount();

    renderAs(harness, JDOE, <HeldScreen name="mallory@other.org" />);
    expect(await screen.findByText('No held messages of mallory@other.org.')).toBeInTheDocument();
  });

  it('"Release Now" asks first (the admin is told it goes beyond the limit); a failure in Postfix is a toast and the message stays held', async () => {
    const user = userEvent.setup();
    hold('AAAAAA1', 'alice@example.com');
    renderAs(harness, ADMIN, <HeldScreen />);
    await user.click(await screen.findByRole('button', { name: 'Release now the message AAAAAA1' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('As the administrator, you release it even if the limit is reached now');
    await user.click(within(dialog).getByRole('button', { name: 'Release Now' }));
    await waitFor(() => expect(document.body.textContent).toMatch(/The message AAAAAA1 was not released: postsuper -c \S+ -H failed/), { timeout: 15_000 });
    expect((await harness.get(ADMIN, '/api/v1/held/AAAAAA1')).json()).toMatchObject({ status: 'held' });
    expect(row('alice@example.com')).toHaveTextContent('Held');
  });

  it('why a message is held is said in people\'s words in every language, never in Postfix\'s protocol text', async () => {
    hold('AAAAAA1', 'alice@example.com', { trippedLimit: 1, trippedUsed: 1 });
    harness.advance(1);
    hold('CCCCCC3', 'carol@example.com', { trippedLimit: 0, trippedUsed: 0, reason: 'Sending is not allowed for mailbox carol@example.com (outgoing limit 0 messages/hour); message held until a person releases it' });
    const shown = {
      'en-US': ['Limit of 1 per hour for email address alice@example.com reached.', 'Sending is not allowed: limit 0 for email address carol@example.com.'],
      'de-DE': ['Limit von 1 pro Stunde für E-Mail-Adresse alice@example.com erreicht.', 'Senden ist nicht erlaubt: Limit 0 für E-Mail-Adresse carol@example.com.'],
      'ru-RU': ['Достигнуто ограничение 1 в час для адреса электронной почты alice@example.com.', 'Отправка запрещена: ограничение 0 для адреса электронной почты carol@example.com.'],
    };
    for (const [locale, [alice, carol]] of Object.entries(shown)) {
      const { unmount } = renderAs(harness, ADMIN, <HeldScreen />, { locale });
      await waitFor(() => expect(row('alice@example.com')).toHaveTextContent(alice!));
      expect(row('carol@example.com')).toHaveTextContent(carol!);
      expect(screen.getByTestId('held-list')).not.toHaveTextContent(/for mailbox|messages\/hour|Sending is not allowed for/);
      unmount();
    }
  });

  it('a message held by a daily limit says the daily limit, not an hourly one, in every language', async () => {
    hold('DDDDDD4', 'dave@example.com', { trippedLimit: 500, trippedUsed: 500, trippedWindow: 'day' });
    const shown = {
      'en-US': 'Daily limit of 500 for email address dave@example.com reached.',
      'de-DE': 'Tageslimit von 500 für E-Mail-Adresse dave@example.com erreicht.',
      'ru-RU': 'Достигнуто суточное ограничение 500 для адреса электронной почты dave@example.com.',
    };
    for (const [locale, expected] of Object.entries(shown)) {
      const { unmount } = renderAs(harness, ADMIN, <HeldScreen />, { locale });
      await waitFor(() => expect(row('dave@example.com')).toHaveTextContent(expected));
      expect(row('dave@example.com')).not.toHaveTextContent(/per hour|pro Stunde|в час/);
      unmount();
    }
  });

  it('a release refused for lack of room is a toast in people\'s words, from the code the API answers beside its sentence', async () => {
    const user = userEvent.setup();
    expect(harness.sendMany('alice@example.com', 3)).toBe(3);
    hold('AAAAAA1', 'alice@example.com', { trippedLimit: 3, trippedUsed: 3 });
    renderAs(harness, JDOE, <HeldScreen />);
    await user.click(await screen.findByRole('button', { name: 'Release now the message AAAAAA1' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Release Now' }));
    expect(
      await screen.findByText(
        'The message AAAAAA1 was not released: Limit of 3 per hour for email address alice@example.com reached. The message stays held and is sent automatically in about 60 min.',
      ),
    ).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent('messages/hour');
  });

  it('"Delete" says the message is never delivered; Cancel leaves it', async () => {
    const user = userEvent.setup();
    hold('AAAAAA1', 'alice@example.com');
    renderAs(harness, JDOE, <HeldScreen />);
    await user.click(await screen.findByRole('button', { name: 'Delete the message AAAAAA1' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('The message AAAAAA1 from alice@example.com is removed from the mail queue and is never delivered.');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect((await harness.get(ADMIN, '/api/v1/held/AAAAAA1')).json()).toMatchObject({ status: 'held' });
  });

  it('"Mark as Compromised" sets the limit to 0 after a confirmation; "Restore" asks too, then brings the limit back', async () => {
    const user = userEvent.setup();
    await harness.request(ADMIN, 'PUT', '/api/v1/mailboxes/bob@example.com/limit', { limit: 2 });
    renderAs(harness, JDOE, <HeldScreen name="bob@example.com" />);
    await user.click(await screen.findByRole('button', { name: 'Mark as Compromised: bob@example.com' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('The limit of bob@example.com becomes 0');
    await user.click(within(dialog).getByRole('button', { name: 'Mark as Compromised' }));
    expect(await screen.findByText('bob@example.com was marked as compromised.')).toBeInTheDocument();
    expect((await harness.get(JDOE, '/api/v1/mailboxes/bob@example.com')).json()).toMatchObject({ ownLimit: 0 });
    const marked = within(await screen.findByTestId('compromised-list'))
      .getAllByRole('row')
      .find((r) => r.textContent?.includes('bob@example.com'));
    expect(marked).toHaveTextContent('bob@example.com');
    expect(marked).toHaveTextContent('2 per hour');
    expect(screen.getByText('This email address is marked as compromised: its limit is 0 and everything it sends is held.')).toBeInTheDocument();

    // Restore asks first, like the other actions, and says what the limit will be; Cancel changes nothing.
    await user.click(screen.getAllByRole('button', { name: 'Restore bob@example.com' })[0]!);
    const asked = await screen.findByRole('dialog', { name: 'Restore bob@example.com?' });
    expect(asked).toHaveTextContent('The limit of bob@example.com becomes 2 per hour again');
    await user.click(within(asked).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect((await harness.get(JDOE, '/api/v1/mailboxes/bob@example.com')).json()).toMatchObject({ ownLimit: 0 });

    await user.click(screen.getAllByRole('button', { name: 'Restore bob@example.com' })[0]!);
    await user.click(within(await screen.findByRole('dialog', { name: 'Restore bob@example.com?' })).getByRole('button', { name: 'Restore' }));
    expect(await screen.findByText('bob@example.com was restored; its held messages are sent as the limit allows.')).toBeInTheDocument();
    expect((await harness.get(JDOE, '/api/v1/mailboxes/bob@example.com')).json()).toMatchObject({ ownLimit: 2 });
    await waitFor(() => expect(screen.queryByTestId('compromised-list')).not.toBeInTheDocument());
    expect(screen.getByRole('button', { name: 'Mark as Compromised: bob@example.com' })).toBeInTheDocument();
  });

  it('what the API would refuse is not offered: no compromise or restore for a customer the admin does not let change limits', async () => {
    await harness.request(ADMIN, 'POST', '/api/v1/mailboxes/alice@example.com/compromised');
    await harness.request(ADMIN, 'PATCH', '/api/v1/settings', { customersMayChangeLimits: false });
    hold('AAAAAA1', 'bob@example.com');
    renderAs(harness, JDOE, <HeldScreen name="alice@example.com" />);
    await screen.findByTestId('compromised-list');
    await screen.findByText('This email address is marked as compromised: its limit is 0 and everything it sends is held.');
    expect(screen.queryByRole('button', { name: /^Restore / })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Mark as Compromised/ })).not.toBeInTheDocument();
  });

  it('"Select" picks all from one sender or all of one email address; one confirmation says how many; each is answered', async () => {
    const user = userEvent.setup();
    for (const id of ['AAAAAA1', 'AAAAAA2', 'AAAAAA3']) hold(id, 'alice@example.com');
    hold('BBBBBB1', 'erin@example.net');
    renderAs(harness, ADMIN, <HeldScreen />);
    await screen.findByText('erin@example.net');
    expect(screen.getByRole('button', { name: 'Release Now (0)' })).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Select' }));
    await user.click(await screen.findByText('All from alice@example.com (3)'));
    await user.click(screen.getByRole('button', { name: 'Release Now (3)' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Release 3 messages?');
    expect(dialog).toHaveTextContent('The 3 selected messages are sent now, oldest first');
    await user.click(within(dialog).getByRole('button', { name: 'Release Now' }));
    // Postfix does not run here: every message is answered with why, and all stay held.
    await waitFor(() => expect(document.body.textContent).toMatch(/0 of 3 messages were released; 3 were not: postsuper -c \S+ -H failed/), { timeout: 15_000 });
    for (const id of ['AAAAAA1', 'AAAAAA2', 'AAAAAA3', 'BBBBBB1']) expect((await harness.get(ADMIN, `/api/v1/held/${id}`)).json()).toMatchObject({ status: 'held' });

    await user.click(screen.getByRole('button', { name: 'Select' }));
    await user.click(await screen.findByText('All on this page (4)'));
    await user.click(screen.getByRole('button', { name: 'Mark as Compromised (4)' }));
    const marking = await screen.findByRole('dialog');
    expect(marking).toHaveTextContent('Mark 2 email addresses as compromised?');
    await user.click(within(marking).getByRole('button', { name: 'Mark as Compromised' }));
    expect(await screen.findByText('The email addresses of 4 messages were marked as compromised.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/mailboxes/erin@example.net')).json()).toMatchObject({ ownLimit: 0 });
    expect((await harness.get(ADMIN, '/api/v1/mailboxes/alice@example.com')).json()).toMatchObject({ ownLimit: 0 });
  });

  it('a selection of mail the customer may not touch offers nothing for it; "All of email address" selects that address only', async () => {
    const user = userEvent.setup();
    hold('AAAAAA1', 'alice@example.com');
    hold('AAAAAA2', 'bob@example.com');
    renderAs(harness, JDOE, <HeldScreen />);
    await screen.findByText('bob@example.com');
    await user.click(screen.getByRole('button', { name: 'Select' }));
    await user.click(await screen.findByText('All of email address bob@example.com (1)'));
    await user.click(screen.getByRole('button', { name: 'Delete (1)' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Delete 1 messages?');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect((await harness.get(ADMIN, '/api/v1/held/AAAAAA2')).json()).toMatchObject({ status: 'held' });
  });

  it('says "Released automatically" for mail the limit let go, and who released the rest', async () => {
    hold('AAAAAA1', 'alice@example.com');
    hold('AAAAAA2', 'bob@example.com');
    const [first, second] = [harness.held!.store.byQueueId('AAAAAA1')!, harness.held!.store.byQueueId('AAAAAA2')!];
    harness.held!.store.resolve(first.id, 'released', 'worker', harness.nowMs);
    harness.held!.store.resolve(second.id, 'released', 'admin', harness.nowMs);
    renderAs(harness, ADMIN, <HeldScreen name="example.com" />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Released' }));
    await screen.findByText('Released automatically');
    expect(row('alice@example.com')).toHaveTextContent('Released automatically');
    expect(row('bob@example.com')).toHaveTextContent('Released by admin');
    expect(document.body.textContent).not.toContain('worker');
  });

  it('a failed load shows the error with Retry, and Retry loads the list', async () => {
    let failing = true;
    const user = userEvent.setup();
    hold('AAAAAA1', 'alice@example.com');
    renderAs(harness, ADMIN, <HeldScreen />, {
      pollMs: 0,
      before: (config) => {
        if (failing && config.url?.startsWith('/api/v1/held')) throw new Error('Network Error');
      },
    });
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load the data: Network Error');
    failing = false;
    await user.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('alice@example.com')).toBeInTheDocument();
  });
});

describe('Held messages of a Plesk customer with "Manage outgoing mail limits" on some subscriptions only', () => {
  // jdoe owns example.com and other.org; Plesk grants the permission on other.org only. Its first mailbox by
  // name (alice@example.com) is on the subscription without it: nothing may be decided from one row.
  const jdoe: Caller = { ...JDOE, permittedSubscriptions: ['other.org'] };
  beforeEach(async () => {
    await harness.close();
    const directory = exampleDirectory();
    directory.subscriptions[1]!.owner = 'jdoe';
    harness = await ApiHarness.start({ directory, heldWithoutPostfix: true });
  });

  it('each message offers Release Now, Delete and Mark as Compromised only where the permission is on; all stay listed', async () => {
    hold('AAAAAA1', 'alice@example.com');
    hold('CCCCCC3', 'mallory@other.org');
    renderAs(harness, jdoe, <HeldScreen />);
    await screen.findByText('mallory@other.org');
    const mallory = row('mallory@other.org');
    expect(within(mallory).getByRole('button', { name: 'Release now the message CCCCCC3' })).toBeInTheDocument();
    expect(within(mallory).getByRole('button', { name: 'Delete the message CCCCCC3' })).toBeInTheDocument();
    expect(await within(mallory).findByRole('button', { name: 'Mark as Compromised: mallory@other.org' })).toBeInTheDocument();
    const alice = row('alice@example.com');
    expect(alice).toHaveTextContent('Held');
    expect(within(alice).queryAllByRole('button')).toEqual([]);
  });

  it('a mark offers Restore only where the permission is on; the screen of one address offers what that address allows', async () => {
    await harness.request(ADMIN, 'POST', '/api/v1/mailboxes/alice@example.com/compromised');
    // Marked by the customer: an administrator's mark would lock the 0 against the customer's restore.
    expect((await harness.request(jdoe, 'POST', '/api/v1/mailboxes/mallory@other.org/compromised')).statusCode).toBe(201);
    const { unmount } = renderAs(harness, jdoe, <HeldScreen />);
    const marks = await screen.findByTestId('compromised-list');
    expect(await within(marks).findByRole('button', { name: 'Restore mallory@other.org' })).toBeInTheDocument();
    expect(within(marks).queryByRole('button', { name: 'Restore alice@example.com' })).not.toBeInTheDocument();
    unmount();

    await harness.request(ADMIN, 'DELETE', '/api/v1/mailboxes/alice@example.com/compromised');
    await harness.request(ADMIN, 'DELETE', '/api/v1/mailboxes/mallory@other.org/compromised');
    const other = renderAs(harness, jdoe, <HeldScreen name="mallory@other.org" />);
    expect(await screen.findByRole('button', { name: 'Mark as Compromised: mallory@other.org' })).toBeInTheDocument();
    other.unmount();

    // The mailbox's answer is asked for together with the first list; two list polls later it has surely come.
    const asked: string[] = [];
    renderAs(harness, jdoe, <HeldScreen name="alice@example.com" />, { before: (config) => void asked.push(config.url ?? '') });
    await screen.findByText('Mark this email address as compromised if someone else sends mail through it.');
    await waitFor(() => expect(asked.filter((url) => url.startsWith('/api/v1/held')).length).toBeGreaterThanOrEqual(3));
    expect(asked).toContain('/api/v1/mailboxes/alice%40example.com');
    expect(screen.queryByRole('button', { name: /^Mark as Compromised/ })).not.toBeInTheDocument();
  });
});

describe('Held messages of a cluster', () => {
  // A real redis-server; this harness is node mx1, and node mx2 publishes its held mail as its daemon does.
  // mx2 takes no requests here (stopped): an action on its mail is answered 503 after the (short) wait.
  const fresh = freshRedisPerTest({ tcp: false });
  let other: ClusterHeld;
  const silent = pino({ level: 'silent' });

  beforeEach(async () => {
    await harness.close();
    harness = await ApiHarness.start({ heldWithoutPostfix: true, clusterHeld: new ClusterHeld(fresh.redis(), 'mx1', silent, { requestTimeoutMs: 300 }) });
    other = new ClusterHeld(fresh.redis(), 'mx2', silent);
  });

  /**
   * The server a row names, null when it names none. The list is narrower than HELD_TABLE_MIN_WIDTH here, so each
   * row is a block of labelled fields ("Server mx2").
   */
  function serverOf(rowText: string, label = 'Server'): string | null {
    const cell = within(row(rowText))
      .getAllByRole('cell')
      .find((c) => c.textContent?.startsWith(label));
    return cell ? cell.textContent!.slice(label.length).trim() : null;
  }

  /** A message node mx2 holds for `mailbox`, as mx2 publishes it. */
  function heldOnOther(queueId: string, mailbox: string): HeldMessage {
    return {
      id: 1,
      ...heldByOwnLimit(queueId, mailbox, harness.nowMs),
      recipients: ['x@remote.test'],
      status: 'held',
      resolvedAtMs: null,
      resolvedBy: null,
      requeuedAs: null,
      subject: 'Sent through mx2',
      summaryRead: true,
    };
  }

  it('shows the server that holds each message and filters by server; the same queue id on two servers is two rows', async () => {
    const user = userEvent.setup();
    hold('AAAAAA1', 'alice@example.com');
    await other.publish([heldOnOther('BBBBBB2', 'erin@example.net'), heldOnOther('AAAAAA1', 'bob@example.com')], 2);
    renderAs(harness, ADMIN, <HeldScreen />);
    await screen.findByText('erin@example.net');
    expect(serverOf('erin@example.net')).toBe('mx2');
    expect(serverOf('alice@example.com')).toBe('mx1');
    expect(serverOf('bob@example.com')).toBe('mx2');
    // When mx2's mail leaves is mx2's to tell: no estimate from this server's counts, the server instead.
    expect(row('erin@example.net')).toHaveTextContent('Limit of 3 per hour for email address erin@example.net reached. Held on server mx2, which sends it automatically when the limit allows.');
    expect(row('erin@example.net')).not.toHaveTextContent(/Sent automatically/);
    expect(row('alice@example.com')).toHaveTextContent('Sent automatically');

    await user.click(screen.getByRole('button', { name: 'mx2' }));
    await waitFor(() => expect(within(screen.getByTestId('held-list')).queryByText('alice@example.com')).not.toBeInTheDocument());
    expect(serverOf('erin@example.net')).toBe('mx2');
    expect(serverOf('bob@example.com')).toBe('mx2');

    await user.click(screen.getByRole('button', { name: 'mx1' }));
    await waitFor(() => expect(within(screen.getByTestId('held-list')).queryByText('erin@example.net')).not.toBeInTheDocument());
    expect(serverOf('alice@example.com')).toBe('mx1');

    await user.click(screen.getByRole('button', { name: 'All servers' }));
    expect(await screen.findByText('erin@example.net')).toBeInTheDocument();
  });

  it('says the server in every language', async () => {
    await other.publish([heldOnOther('BBBBBB2', 'erin@example.net')], 1);
    for (const [locale, column, all, leaves] of [
      ['de-DE', 'Server', 'Alle Server', 'Zurückgehalten auf Server mx2'],
      ['ru-RU', 'Сервер', 'Все серверы', 'Задержано на сервере mx2'],
    ] as const) {
      const { unmount } = renderAs(harness, ADMIN, <HeldScreen />, { locale });
      await screen.findByText('erin@example.net');
      expect(serverOf('erin@example.net', column)).toBe('mx2');
      expect(row('erin@example.net')).toHaveTextContent(leaves);
      expect(screen.getByRole('button', { name: all })).toBeInTheDocument();
      unmount();
    }
  });

  it('a release or delete of a message on a server that does not answer is an error toast naming that server; the message stays listed', async () => {
    const user = userEvent.setup();
    hold('AAAAAA1', 'alice@example.com');
    await other.publish([heldOnOther('AAAAAA1', 'erin@example.net')], 1);
    const asked: string[] = [];
    renderAs(harness, ADMIN, <HeldScreen />, { before: (config) => void asked.push(`${config.method} ${config.url}`) });
    await screen.findByText('erin@example.net');
    await user.click(within(row('erin@example.net')).getByRole('button', { name: 'Release now the message AAAAAA1' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Release Now' }));
    expect(await screen.findByText(/The message AAAAAA1 was not released: Server mx2, which holds this message, did not answer/, undefined, { timeout: 10_000 })).toBeInTheDocument();
    // Asked of mx2 by name: the same queue id is held here too, and must not be the one acted on.
    expect(asked).toContain('post /api/v1/held/AAAAAA1/release?node=mx2');

    await user.click(within(row('erin@example.net')).getByRole('button', { name: 'Delete the message AAAAAA1' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByText(/The message AAAAAA1 was not deleted: Server mx2, which holds this message, did not answer/, undefined, { timeout: 10_000 })).toBeInTheDocument();
    expect(asked).toContain('delete /api/v1/held/AAAAAA1?node=mx2');
    expect(row('erin@example.net')).toHaveTextContent('Held');
    expect((await harness.get(ADMIN, '/api/v1/held/AAAAAA1')).json()).toMatchObject({ status: 'held', node: 'mx1' });
  });

  it('on a single server there is no server column and no server filter', async () => {
    await harness.close();
    harness = await ApiHarness.start({ heldWithoutPostfix: true });
    hold('AAAAAA1', 'alice@example.com');
    const asked: string[] = [];
    renderAs(harness, ADMIN, <HeldScreen />, { before: (config) => void asked.push(config.url ?? '') });
    await screen.findByText('alice@example.com');
    expect(serverOf('alice@example.com')).toBeNull();
    expect(screen.queryByRole('button', { name: 'All servers' })).not.toBeInTheDocument();
    expect(asked).toContain('/api/v1/held?status=held&limit=100');
    // Asked for one server's mail, a single server says it has no servers rather than answering its own.
    const byServer = await harness.get(ADMIN, '/api/v1/held?node=mx1');
    expect(byServer.statusCode).toBe(400);
    expect(byServer.json()).toMatchObject({ fields: { node: 'only a node of a cluster lists held mail by server' } });
  });
});
