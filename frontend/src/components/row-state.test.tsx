import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScreenView } from '../app/ScreenView';
import { DomainScreen } from '../screens/DomainScreen';
import { HeldScreen } from '../screens/HeldScreen';
import { OverviewScreen } from '../screens/OverviewScreen';
import { ADMIN, ApiHarness, JDOE, renderAs } from '../test-support/bridge';

// Defaults of the harness: mailbox 3, domain 5, subscription 8; jdoe owns example.com (alice, bob, carol, dave @example.com).
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
});
afterEach(async () => {
  await harness.close();
});

function rowOf(name: string, within_: HTMLElement = document.body): HTMLElement {
  const found = within(within_)
    .getAllByRole('row')
    .find((r) => r.querySelector('td') && r.textContent?.includes(name));
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

async function patch(body: unknown, url = '/api/v1/settings'): Promise<void> {
  const answer = await harness.request(ADMIN, 'PATCH', url, body);
  expect(answer.statusCode, answer.body).toBe(200);
}

async function setLimit(path: string, limit: number | 'default'): Promise<void> {
  const answer = await harness.request(ADMIN, 'PUT', `/api/v1/${path}/limit`, { limit });
  expect(answer.statusCode, answer.body).toBe(200);
}

describe('limits switched off', () => {
  it('every screen says so at the top, with a link to switch them on for the administrator, and no row says "Not sending" or "Holding"', async () => {
    await setLimit('mailboxes/alice@example.com', 0);
    expect(harness.sendMany('bob@example.com', 4)).toBe(3);
    await patch({ enabled: false });
    const { visited } = renderAs(harness, ADMIN, <ScreenView target={{ screen: 'domain', name: 'example.com' }} onLeaveSettings={() => undefined} />);
    const banner = await screen.findByTestId('limits-off');
    expect(banner).toHaveTextContent('Limitations on outgoing email messages are switched off: every message is sent (and still counted). Switch them on');
    await screen.findByText('alice@example.com');
    await waitFor(() => expect(screen.getAllByTestId('sending-state').length).toBeGreaterThanOrEqual(5));
    for (const state of screen.getAllByTestId('sending-state')) expect(state).toHaveTextContent('Sending: limits are switched off');
    expect(screen.queryByText(/Not sending|Holding/)).not.toBeInTheDocument();
    // alice's limit of 0 is passed by while limits are off; what she sends counts, and her row says why it is above 0.
    expect(harness.sendMany('alice@example.com', 2)).toBe(2);
    await waitFor(() => expect(rowOf('alice@example.com', screen.getByTestId('mailbox-list'))).toHaveTextContent('2 of 0 this hour (sent while limits are switched off)'));
    await userEvent.setup().click(within(banner).getByRole('link', { name: 'Switch them on' }));
    expect(visited).toEqual([{ screen: 'settings' }]);
  });

  it('a customer is told who can switch them on; once on, the note goes away', async () => {
    await patch({ enabled: false });
    renderAs(harness, JDOE, <ScreenView target={{ screen: 'subscriptions' }} onLeaveSettings={() => undefined} />);
    expect(await screen.findByTestId('limits-off')).toHaveTextContent('Only the administrator can switch them on.');
    await patch({ enabled: true });
    await waitFor(() => expect(screen.queryByTestId('limits-off')).not.toBeInTheDocument());
  });
});

describe('a row is the state of the message it would send now', () => {
  it('a mailbox with room under a domain at 0 says the domain holds its mail, with its held messages linked', async () => {
    await setLimit('domains/example.com', 0);
    harness.recordHeld('AAAAAA1', 'alice@example.com', { trippedLevel: 'domain', trippedName: 'example.com' });
    harness.recordHeld('AAAAAA2', 'alice@example.com', { trippedLevel: 'domain', trippedName: 'example.com' });
    const user = userEvent.setup();
    const { visited } = renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    const alice = rowOf('alice@example.com', screen.getByTestId('mailbox-list'));
    expect(alice).toHaveTextContent('0 of 3 this hour');
    expect(within(alice).getByTestId('sending-state')).toHaveTextContent('Holding new mail: domain example.com has limit 0');
    expect(within(alice).queryByText('Sending')).not.toBeInTheDocument();
    await user.click(within(alice).getByRole('link', { name: '2 held, of alice@example.com' }));
    expect(visited).toContainEqual({ screen: 'held', name: 'alice@example.com' });
    expect(within(rowOf('bob@example.com', screen.getByTestId('mailbox-list'))).queryByRole('link', { name: /held, of bob@example.com/ })).not.toBeInTheDocument();
  });

  it('a domain at its limit: its mailboxes say when it frees; with "defer" they say "Not sending"', async () => {
    expect(harness.sendMany('alice@example.com', 3) + harness.sendMany('bob@example.com', 2)).toBe(5);
    harness.advance(12 * 60);
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('carol@example.com');
    const carol = () => within(rowOf('carol@example.com', screen.getByTestId('mailbox-list'))).getByTestId('sending-state');
    expect(carol()).toHaveTextContent('Holding new mail: domain example.com is at its limit (frees in 48 min)');
    await patch({ overLimitAction: 'defer' });
    await waitFor(() => expect(carol()).toHaveTextContent('Not sending: domain example.com is at its limit (frees in 48 min)'));
    await setLimit('mailboxes/carol@example.com', 0);
    await waitFor(() => expect(carol()).toHaveTextContent('Not sending: limit 0'));
  });
});

describe('compromised email addresses', () => {
  it('are marked from their row after a confirmation, say so in every list with "3 of 0" explained, and are restored from the row', async () => {
    const user = userEvent.setup();
    expect(harness.sendMany('alice@example.com', 3)).toBe(3);
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    const alice = () => rowOf('alice@example.com', screen.getByTestId('mailbox-list'));
    await user.click(within(alice()).getByRole('button', { name: 'Mark as Compromised: alice@example.com' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('The limit of alice@example.com becomes 0');
    await user.click(within(dialog).getByRole('button', { name: 'Mark as Compromised' }));
    expect(await screen.findByText('alice@example.com was marked as compromised.')).toBeInTheDocument();
    await waitFor(() => expect(within(alice()).getByText('Compromised')).toBeInTheDocument());
    expect(alice()).toHaveTextContent('3 of 0 this hour (marked as compromised)');
    expect(within(alice()).getByTestId('sending-state')).toHaveTextContent('Holding new mail: marked as compromised');

    await user.click(within(alice()).getByRole('button', { name: 'Restore alice@example.com' }));
    const restore = await screen.findByRole('dialog');
    await user.click(within(restore).getByRole('button', { name: 'Restore' }));
    expect(await screen.findByText('alice@example.com was restored; its held messages are sent as the limit allows.')).toBeInTheDocument();
    await waitFor(() => expect(within(alice()).queryByText('Compromised')).not.toBeInTheDocument());
    expect(alice()).toHaveTextContent('3 of 3 this hour');
  });

  it('the overview lists say so too', async () => {
    expect(harness.sendMany('alice@example.com', 2)).toBe(2);
    expect((await harness.request(ADMIN, 'POST', '/api/v1/mailboxes/alice@example.com/compromised')).statusCode).toBe(201);
    renderAs(harness, ADMIN, <OverviewScreen />);
    const top = await screen.findByTestId('top-senders');
    await waitFor(() => expect(rowOf('alice@example.com', top)).toHaveTextContent('Compromised'));
    expect(rowOf('alice@example.com', top)).toHaveTextContent('2 of 0 this hour (marked as compromised)');
    expect(rowOf('alice@example.com', screen.getByTestId('blocked-list'))).toHaveTextContent('Compromised');
  });

  it('a customer the administrator does not let change limits is offered no mark', async () => {
    await patch({ customersMayChangeLimits: false });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    expect(screen.queryByRole('button', { name: /Mark as Compromised/ })).not.toBeInTheDocument();
  });
});

describe('usage above the limit says why', () => {
  it('"4 of 3" after mail was counted before a lower limit applied', async () => {
    await setLimit('mailboxes/alice@example.com', 10);
    expect(harness.sendMany('alice@example.com', 4)).toBe(4);
    await setLimit('mailboxes/alice@example.com', 'default');
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await waitFor(() => expect(rowOf('alice@example.com', screen.getByTestId('mailbox-list'))).toHaveTextContent('4 of 3 this hour, frees in 60 min (sent before this limit applied)'));
  });
});

describe('held mail says when it leaves as of now', () => {
  it('"in about 60 minutes" at the time of holding is "about 48 min" 12 minutes later, and waits for a person once the address is compromised', async () => {
    expect(harness.sendMany('alice@example.com', 3)).toBe(3);
    harness.recordHeld('AAAAAA1', 'alice@example.com', { reason: 'Outgoing limit of 3 messages/hour for mailbox alice@example.com reached; message held, sent automatically in about 60 minutes' });
    harness.advance(12 * 60);
    renderAs(harness, JDOE, <HeldScreen />);
    const leaves = await screen.findByTestId('held-leaves');
    expect(leaves.parentElement).toHaveTextContent('Limit of 3 per hour for email address alice@example.com reached. Sent automatically in about 48 min.');
    expect(screen.queryByText(/about 60 minutes/)).not.toBeInTheDocument();
    expect((await harness.request(ADMIN, 'POST', '/api/v1/mailboxes/alice@example.com/compromised')).statusCode).toBe(201);
    await waitFor(() =>
      expect(screen.getByTestId('held-leaves')).toHaveTextContent('Waits until a person releases it: email address alice@example.com is marked as compromised.'),
    );
  });
});
