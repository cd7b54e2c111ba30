import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, JDOE, MARY, RES1, renderAs } from '../test-support/bridge';
import { HistoryScreen } from './HistoryScreen';

// The real audit route and store: each change below is made through the API and recorded as it would be.
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
});
afterEach(async () => {
  await harness.close();
});

async function setLimit(caller: typeof ADMIN, name: string, limit: number | 'default' | 'unlimited', level = 'mailboxes'): Promise<void> {
  const response = await harness.request(caller, 'PUT', `/api/v1/${level}/${name}/limit`, { limit });
  if (response.statusCode !== 200) throw new Error(`${name}: ${response.body}`);
}

const rows = () =>
  within(screen.getByTestId('history-list'))
    .getAllByRole('row')
    .map((r) => r.textContent ?? '')
    .filter((t) => /Limit changed|Server settings/.test(t));

describe('History', () => {
  it('says who changed which limit when, old → new, newest first; the administrator sees every object', async () => {
    await setLimit(ADMIN, 'alice@example.com', 9);
    harness.advance(60);
    await setLimit(JDOE, 'alice@example.com', 5);
    await setLimit(ADMIN, 'mallory@other.org', 'unlimited');
    renderAs(harness, ADMIN, <HistoryScreen />);
    await screen.findByTestId('history-list');
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(rows()[0]).toContain('admin (administrator)');
    expect(rows()[0]).toContain('Email address mallory@other.org');
    expect(rows()[0]).toContain('Limit changed from the default to Unlimited');
    expect(rows()[1]).toContain('jdoe (customer)');
    expect(rows()[1]).toContain('Limit changed from 9 per hour to 5 per hour');
  });

  it('each role sees the changes of what it may see: customers their own, resellers their customers\'', async () => {
    await setLimit(ADMIN, 'alice@example.com', 9);
    await setLimit(ADMIN, 'mallory@other.org', 4);
    const jdoe = renderAs(harness, JDOE, <HistoryScreen />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(rows()[0]).toContain('alice@example.com');
    jdoe.unmount();
    const mary = renderAs(harness, MARY, <HistoryScreen />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(rows()[0]).toContain('mallory@other.org');
    mary.unmount();
    renderAs(harness, RES1, <HistoryScreen />);
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(rows()[0]).toContain('alice@example.com');
  });

  it('a lock and its lifting are said in words, never as the raw record', async () => {
    await setLimit(ADMIN, 'example.com', 0, 'domains');
    const lifted = await harness.request(ADMIN, 'PUT', '/api/v1/domains/example.com/limit', { limit: 5, locked: false });
    expect(lifted.statusCode).toBe(200);
    renderAs(harness, ADMIN, <HistoryScreen />);
    const list = await screen.findByTestId('history-list');
    await waitFor(() => expect(list).toHaveTextContent('Locked: only the administrator admin can change it'));
    expect(list).toHaveTextContent('Unlocked: the roles below may change it');
    expect(list).not.toHaveTextContent(/[{}]|"login"/);
  });

  it('filters by object and by person', async () => {
    const user = userEvent.setup();
    await setLimit(ADMIN, 'alice@example.com', 9);
    await setLimit(JDOE, 'alice@example.com', 5);
    await setLimit(JDOE, 'bob@example.com', 2);
    renderAs(harness, ADMIN, <HistoryScreen />);
    await waitFor(() => expect(rows()).toHaveLength(3));
    await user.type(screen.getByRole('textbox', { name: 'Login of the person' }), 'jdoe{Enter}');
    await waitFor(() => expect(rows()).toHaveLength(2));
    await user.type(screen.getByRole('textbox', { name: 'Email address, domain or subscription' }), 'bob@example.com{Enter}');
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(rows()[0]).toContain('bob@example.com');
    expect(rows()[0]).toContain('Limit changed from the default to 2 per hour');
  });

  it('pages: "Show Older" brings the next changes until there are none', async () => {
    const user = userEvent.setup();
    for (let i = 1; i <= 55; i++) await setLimit(ADMIN, 'alice@example.com', i);
    renderAs(harness, ADMIN, <HistoryScreen />);
    await waitFor(() => expect(rows()).toHaveLength(50));
    expect(rows()[0]).toContain('from 54 per hour to 55 per hour');
    await user.click(screen.getByRole('button', { name: 'Show Older' }));
    await waitFor(() => expect(rows()).toHaveLength(55));
    expect(rows()[54]).toContain('from the default to 1 per hour');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Show Older' })).not.toBeInTheDocument());
  });
});
