import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, MARY, renderAs } from '../test-support/bridge';
import { OverviewScreen } from './OverviewScreen';

// Defaults of the harness: mailbox 3, domain 5, subscription 8; alice is jdoe's, mallory is mary's.
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
});
afterEach(async () => {
  await harness.close();
});

describe('Outgoing Mail Control', () => {
  it('shows what is at its limit now, the top senders, the over-limit attempts and held mail, live', async () => {
    const user = userEvent.setup();
    const { visited } = renderAs(harness, ADMIN, <OverviewScreen />);
    expect(await screen.findByText('Nothing is at its limit now.')).toBeInTheDocument();
    expect(screen.getByTestId('held-count')).toHaveTextContent('No messages are held.');
    // The two links are told apart, not run together as "Show held messagesShow who changed what".
    expect(screen.getByTestId('held-count')).toHaveTextContent('Show held messages · Show who changed what');

    expect(harness.sendMany('alice@example.com', 4)).toBe(3);
    harness.sendMany('mallory@other.org', 1);
    harness.flush();
    const blocked = await screen.findByTestId('blocked-list');
    await waitFor(() => expect(within(blocked).getAllByRole('row').find((r) => r.textContent?.includes('alice@example.com'))).toHaveTextContent('3 of 3 this hour'));
    const top = screen.getByTestId('top-senders');
    await waitFor(() => expect(within(top).getAllByRole('row').map((r) => r.textContent ?? '').filter((t) => t.includes('@'))).toHaveLength(2));
    expect(within(top).getAllByRole('row').find((r) => r.textContent?.includes('alice@'))).toHaveTextContent('3 of 3 this hour');
    await waitFor(() => expect(within(screen.getByTestId('events')).getAllByRole('row').find((r) => r.textContent?.includes('alice@example.com'))).toBeDefined());

    await user.click(screen.getByRole('link', { name: 'Show held messages' }));
    expect(visited).toEqual([{ screen: 'held' }]);
  });

  it('a customer sees only its own objects and no whole-server chart', async () => {
    harness.sendMany('alice@example.com', 4);
    harness.sendMany('mallory@other.org', 2);
    harness.flush();
    renderAs(harness, MARY, <OverviewScreen />);
    const top = await screen.findByTestId('top-senders');
    await waitFor(() => expect(within(top).getByText('mallory@other.org')).toBeInTheDocument());
    expect(screen.queryByText('alice@example.com')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Whole server' })).not.toBeInTheDocument();
    expect(await screen.findByText('Nothing is at its limit now.')).toBeInTheDocument();
  });
});
