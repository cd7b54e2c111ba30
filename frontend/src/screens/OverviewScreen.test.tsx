import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterHeld } from '../../../backend-bridge/src/cluster/cluster-held.js';
import type { HeldMessage } from '../../../backend-bridge/src/store/held-store.js';
import { ADMIN, ApiHarness, freshRedisPerTest, heldByOwnLimit, JDOE, MARY, renderAs } from '../test-support/bridge';
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

describe('Outgoing Mail Control on a node of a cluster', () => {
  // A real redis-server; this harness is node mx1, and node mx2 publishes its held mail and counts as its daemon does.
  const fresh = freshRedisPerTest({ tcp: false });
  const silent = pino({ level: 'silent' });
  /** The overview asks for much at once; on a busy machine its first answers take more than a second. */
  const LOADED = { timeout: 10_000 };

  beforeEach(async () => {
    await harness.close();
    harness = await ApiHarness.start({ heldWithoutPostfix: true, clusterHeld: new ClusterHeld(fresh.redis(), 'mx1', silent) });
  });

  /** Node mx2 holds `count` messages of erin@example.net (jdoe's) and publishes the newest one of them. */
  async function heldOnMx2(count: number): Promise<void> {
    const newest: HeldMessage = {
      id: 1,
      ...heldByOwnLimit('BBBBBB2', 'erin@example.net', harness.nowMs),
      status: 'held',
      resolvedAtMs: null,
      resolvedBy: null,
      requeuedAs: null,
      subject: null,
      summaryRead: true,
    };
    await new ClusterHeld(fresh.redis(), 'mx2', silent).publish([newest], count, [{ level: 'mailbox', name: 'erin@example.net', count }]);
  }

  it('counts every server\'s held mail, past what one list shows, and says how many each server holds', async () => {
    harness.recordHeld('AAAAAA1', 'alice@example.com');
    await heldOnMx2(150);
    renderAs(harness, ADMIN, <OverviewScreen />);
    await waitFor(() => expect(screen.getByTestId('held-count')).toHaveTextContent('151 messages are held because of outgoing limits.'), LOADED);
    expect(screen.getByTestId('held-by-server')).toHaveTextContent('By server: mx1: 1, mx2: 150.');
  });

  it('a customer counts only the held mail it may see, on every server; one server holding it names none', async () => {
    harness.recordHeld('AAAAAA1', 'alice@example.com');
    await heldOnMx2(7);
    const { unmount } = renderAs(harness, MARY, <OverviewScreen />);
    await waitFor(() => expect(screen.getByTestId('held-count')).toHaveTextContent('No messages are held.'), LOADED);
    unmount();
    harness.held!.store.resolve(harness.held!.store.byQueueId('AAAAAA1')!.id, 'deleted', 'admin', harness.nowMs);
    renderAs(harness, JDOE, <OverviewScreen />, { locale: 'de-DE' });
    await waitFor(() => expect(screen.getByTestId('held-count')).toHaveTextContent('7 Nachrichten werden wegen der Limits für ausgehende Nachrichten zurückgehalten.'), LOADED);
    expect(screen.queryByTestId('held-by-server')).not.toBeInTheDocument();
  });
});
