import { render, screen, waitFor, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StatsBucket } from '../api/types';
import { LocaleOnly } from '../app/Providers';
import { ADMIN, ApiHarness, renderAs } from '../test-support/bridge';
import { OverviewScreen } from '../screens/OverviewScreen';
import { axisTicks, StatsChart } from './StatsChart';

const HOUR = 3_600_000;
const bucketsOf = (values: Array<Partial<StatsBucket>>): StatsBucket[] =>
  values.map((value, index) => ({ start: new Date(Date.UTC(2030, 0, 1) + index * HOUR).toISOString(), sent: 0, held: 0, released: 0, deferred: 0, ...value }));

describe('the statistics chart', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('fills the width it is given, follows it, and labels the current hour', async () => {
    let report: ((width: number) => void) | null = null;
    vi.stubGlobal(
      'ResizeObserver',
      class {
        constructor(private readonly callback: ResizeObserverCallback) {}
        observe() {
          report = (width) => this.callback([{ contentRect: { width } } as ResizeObserverEntry], this as unknown as ResizeObserver);
          report(1180);
        }
        disconnect() {}
      },
    );
    render(
      <LocaleOnly>
        <StatsChart buckets={bucketsOf(Array.from({ length: 24 }, (_, i) => ({ sent: i })))} objectLabel="whole server" />
      </LocaleOnly>,
    );
    const chart = screen.getByTestId('stats-chart');
    await waitFor(() => expect(chart).toHaveAttribute('width', '1180'));
    report!(390);
    await waitFor(() => expect(chart).toHaveAttribute('width', '390'));
    expect(screen.getByTestId('current-hour')).toHaveTextContent('This hour');
  });

  it('has a y-axis of round steps up to the highest bar', () => {
    render(
      <LocaleOnly>
        <StatsChart buckets={bucketsOf([{ sent: 30, held: 4 }, { sent: 3, released: 2, deferred: 1 }])} objectLabel="x" />
      </LocaleOnly>,
    );
    expect(screen.getAllByTestId('y-tick').map((tick) => tick.textContent)).toEqual(['0', '10', '20', '30', '40']);
    expect(axisTicks(0)).toEqual([0, 1]);
    expect(axisTicks(3)).toEqual([0, 1, 2, 3]);
    expect(axisTicks(1234)).toEqual([0, 500, 1000, 1500]);
  });

  it('names sent, released, held and deferred mail as what they are', () => {
    render(
      <LocaleOnly>
        <StatsChart buckets={bucketsOf([{ sent: 3, held: 1 }, { sent: 2, released: 1, deferred: 2 }])} objectLabel="Email address alice@example.com" />
      </LocaleOnly>,
    );
    expect(screen.getByRole('img')).toHaveAccessibleName(
      'Messages per hour for Email address alice@example.com, last 24 hours: 5 sent, 1 released, 1 held, 2 deferred',
    );
    expect(screen.getByTestId('legend-sent')).toHaveTextContent('Sent: 5');
    expect(screen.getByTestId('legend-released')).toHaveTextContent('Released: 1');
    expect(screen.getByTestId('legend-held')).toHaveTextContent('Held: 1');
    expect(screen.getByTestId('legend-deferred')).toHaveTextContent('Deferred: 2');
    expect(screen.queryByText(/blocked/i)).not.toBeInTheDocument();
    const table = screen.getByRole('table');
    expect(within(table).getAllByRole('columnheader').map((cell) => cell.textContent)).toEqual(['Hour', 'Sent', 'Released', 'Held', 'Deferred']);
    expect(within(within(table).getAllByRole('row')[2]!).getAllByRole('cell').map((cell) => cell.textContent)).toEqual(['This hour', '2', '1', '0', '2']);
  });
});

describe('the overview chart', () => {
  let harness: ApiHarness;
  beforeEach(async () => {
    harness = await ApiHarness.start({ heldWithoutPostfix: true });
  });
  afterEach(async () => {
    await harness.close();
  });

  it('shows held mail that was released later as held, then released, not as blocked', async () => {
    expect(harness.sendMany('alice@example.com', 4)).toBe(3);
    harness.recordHeld('AAAAAA1', 'alice@example.com');
    harness.flush();
    harness.advance(3_660);
    const held = harness.held!;
    const record = held.store.stillHeld()[0]!;
    harness.enforcer.chargeAnyway(held.chainOf(record), record.weight);
    held.store.resolve(record.id, 'released', 'worker', harness.nowMs);
    harness.flush();

    renderAs(harness, ADMIN, <OverviewScreen />);
    await waitFor(() => expect(screen.getByTestId('legend-released')).toHaveTextContent('Released: 1'));
    expect(screen.getByTestId('legend-sent')).toHaveTextContent('Sent: 3');
    expect(screen.getByTestId('legend-held')).toHaveTextContent('Held: 1');
    expect(screen.getByTestId('legend-deferred')).toHaveTextContent('Deferred: 0');
  });
});
