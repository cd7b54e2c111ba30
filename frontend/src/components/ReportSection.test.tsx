import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, ApiHarness, JDOE, MARY, renderAs } from '../test-support/bridge';
import { DomainScreen } from '../screens/DomainScreen';
import { OverviewScreen } from '../screens/OverviewScreen';

// Defaults of the harness: mailbox 3, domain 5, subscription 8; alice is jdoe's (reseller res1), mallory is mary's.
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await harness.close();
});

const rowOf = (name: string) => within(screen.getByTestId('report')).getAllByRole('row').find((row) => row.textContent?.includes(name));

describe('the report of objects that reached a limit', () => {
  it('lists per object its events by window and action, its owner and its limits now; the period switch reaches further back', async () => {
    const user = userEvent.setup();
    expect(harness.sendMany('carol@example.com', 4)).toBe(3); // ten days ago
    harness.advance(10 * 86_400);
    expect(harness.sendMany('alice@example.com', 5)).toBe(3);
    harness.flush();
    renderAs(harness, ADMIN, <OverviewScreen />);
    await waitFor(() => expect(rowOf('alice@example.com')).toBeDefined());
    const alice = rowOf('alice@example.com')!;
    expect(alice).toHaveTextContent('Email address');
    expect(alice).toHaveTextContent('jdoe (reseller res1)');
    expect(alice).toHaveTextContent('2 / 0'); // two hourly, no daily; and two held, none deferred
    expect(alice).toHaveTextContent('3 per hour, Unlimited per day');
    expect(rowOf('carol@example.com')).toBeUndefined();

    const since = screen.getAllByRole('list').find((list) => within(list).queryByRole('button', { name: 'Last day' }))!;
    await user.click(within(since).getByRole('button', { name: 'Last 31 days' }));
    await waitFor(() => expect(rowOf('carol@example.com')).toBeDefined());
  });

  it('shows a customer only their own objects, and says when there is nothing', async () => {
    expect(harness.sendMany('alice@example.com', 4)).toBe(3);
    harness.flush();
    renderAs(harness, MARY, <OverviewScreen />);
    expect(await screen.findByText('No object reached a limit in this period.')).toBeInTheDocument();
    expect(screen.queryByText('alice@example.com')).not.toBeInTheDocument();
  });

  it('"Download CSV" saves the report as a file and says so', async () => {
    const user = userEvent.setup();
    expect(harness.sendMany('alice@example.com', 4)).toBe(3);
    harness.flush();
    const saved: Blob[] = [];
    vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      saved.push(blob as Blob);
      return 'blob:report';
    });
    vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    renderAs(harness, JDOE, <OverviewScreen />);
    await waitFor(() => expect(rowOf('alice@example.com')).toBeDefined());
    await user.click(screen.getByRole('button', { name: 'Download CSV' }));
    expect(await screen.findByText('The report was downloaded.')).toBeInTheDocument();
    expect(clicked).toEqual(['outgoing-mail-limits-report-7d.csv']);
    const csv = await saved[0]!.text();
    expect(csv.split('\r\n')[0]).toMatch(/^level,name,customer,reseller,over_limit_events,/);
    expect(csv.split('\r\n')[1]).toMatch(/^mailbox,alice@example\.com,jdoe,res1,1,1,0,1,0,0,/);
  });
});

describe('the chart\'s period switch', () => {
  it('shows 24 hourly bars, then 28 six-hour bars, then 31 days, and says what a bar is', async () => {
    const user = userEvent.setup();
    harness.sendMany('alice@example.com', 2);
    harness.flush();
    renderAs(harness, ADMIN, <OverviewScreen />);
    const bars = () => within(screen.getByTestId('stats-chart')).getAllByText((_, element) => element?.tagName.toLowerCase() === 'title');
    await waitFor(() => expect(bars()).toHaveLength(24));
    expect(screen.getByTestId('bar-is')).toHaveTextContent('Each bar is one hour.');
    expect(screen.getByText('Last 24 hours: whole server')).toBeInTheDocument();

    const periods = screen.getAllByRole('list').find((list) => within(list).queryByRole('button', { name: 'Last 7 days' }) && within(list).queryByRole('button', { name: 'Last 24 hours' }))!;
    await user.click(within(periods).getByRole('button', { name: 'Last 7 days' }));
    await waitFor(() => expect(bars()).toHaveLength(28));
    expect(screen.getByTestId('bar-is')).toHaveTextContent('Each bar is 6 hours (UTC).');
    expect(screen.getByText('Last 7 days: whole server')).toBeInTheDocument();
    expect(screen.getByTestId('current-hour')).toHaveTextContent('Now');
    expect(screen.getByRole('img')).toHaveAccessibleName(/^Messages per 6 hours for whole server, last 7 days: 2 sent/);

    await user.click(within(periods).getByRole('button', { name: 'Last 31 days' }));
    await waitFor(() => expect(bars()).toHaveLength(31));
    expect(screen.getByTestId('bar-is')).toHaveTextContent('Each bar is one day (UTC).');
    expect(screen.getByTestId('current-hour')).toHaveTextContent('Today');
    expect(screen.getByTestId('legend-sent')).toHaveTextContent('Sent: 2');
  });

  it('is on a domain\'s page too, for its owner: the domain\'s own bars', async () => {
    const user = userEvent.setup();
    harness.sendMany('alice@example.com', 2);
    harness.sendMany('erin@example.net', 1);
    harness.flush();
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    expect(await screen.findByText('Last 24 hours: Domain example.com')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('legend-sent')).toHaveTextContent('Sent: 2'));
    await user.click(screen.getByRole('button', { name: 'Last 31 days' }));
    expect(await screen.findByText('Last 31 days: Domain example.com')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('current-hour')).toHaveTextContent('Today'));
    expect(screen.getByTestId('legend-sent')).toHaveTextContent('Sent: 2');
  });
});
