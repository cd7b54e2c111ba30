import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { endDueExemptions } from '../../../backend-bridge/src/enforcement/exemption-ends.js';
import { DomainScreen } from '../screens/DomainScreen';
import { HistoryScreen } from '../screens/HistoryScreen';
import { OverviewScreen } from '../screens/OverviewScreen';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, openDialog, RES1, renderAs, stored, type Caller } from '../test-support/bridge';

// "Exempt Temporarily" on rows, its badge and the overview's list, against the real bridge. Harness defaults: hourly
// mailbox 3, domain 5, subscription 8; daily unlimited. jdoe (of reseller res1) owns example.com with alice, bob.
let harness: ApiHarness;
harnessForEachTest((started) => {
  harness = started;
  // The dialog starts from the browser's clock: the bridge runs on the same one here.
  harness.nowMs = Date.now();
});

async function exempt(caller: Caller, path: string, body: Record<string, unknown>): Promise<void> {
  const answer = await harness.request(caller, 'PUT', `/api/v1/${path}/exemption`, body);
  expect(answer.statusCode, answer.body).toBe(200);
}

/** The first render of a screen waits for the bridge: on a busy machine that can take more than a second. */
const LOADED = { timeout: 10_000 };

const openFor = (name: string) => openDialog(`Exempt Temporarily: ${name}`, LOADED);

describe('Exempt Temporarily', () => {
  it('raises the hourly limit until the chosen end; the row then shows the badge with the end', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    const dialog = await openFor('alice@example.com');
    expect(within(dialog).getByRole('radio', { name: 'Keep the hourly limit (3)' })).toBeChecked();
    expect(within(dialog).getByRole('radio', { name: 'Keep the daily limit (Unlimited)' })).toBeChecked();
    // Nothing raised yet: OK is not offered.
    expect(within(dialog).getByRole('button', { name: 'OK' })).toBeDisabled();
    const until = within(dialog).getByLabelText('Until');
    expect(until).toHaveAttribute('type', 'datetime-local');
    fireEvent.change(until, { target: { value: '2030-01-02T18:00' } });
    await user.click(within(dialog).getByRole('radio', { name: 'Raise the hourly limit to' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per hour until the end' }), '5000');
    harness.nowMs = new Date('2030-01-01T00:00').getTime();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText(/^Exemption of alice@example\.com saved until /)).toBeInTheDocument();
    const row = await stored(harness, 'mailboxes/alice@example.com');
    expect(row).toMatchObject({ effectiveLimit: 3, exemption: { hourly: 5000, daily: null, endsAt: new Date('2030-01-02T18:00').toISOString() } });
    const badge = await screen.findByTestId('exemption-badge', {}, LOADED);
    expect(badge.textContent).toMatch(/^Raised to 5,000 per hour until Jan 2, 2030, 6:00\sPM$/);
  });

  it('shows the API’s sentence on the field it concerns, and saves nothing', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    const dialog = await openFor('alice@example.com');
    await user.click(within(dialog).getByRole('radio', { name: 'Raise the hourly limit to' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per hour until the end' }), '2');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await within(dialog).findByText('2 is not above the current limit of 3 per hour')).toBeInTheDocument();
    expect(await stored(harness, 'mailboxes/alice@example.com')).toMatchObject({ exemption: null });
  });

  it('a current exemption shows in the dialog and ends at once with End Exemption Now', async () => {
    expect((await harness.request(ADMIN, 'PATCH', '/api/v1/settings', { dailyDefaults: { mailbox: 20 } })).statusCode).toBe(200);
    await exempt(ADMIN, 'mailboxes/bob@example.com', { hourly: 'unlimited', daily: 40, until: '+6h' });
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    expect((await screen.findByTestId('exemption-badge', {}, LOADED)).textContent).toMatch(/^Unlimited per hour and Raised to 40 per day until /);
    const dialog = await openFor('bob@example.com');
    expect(within(dialog).getByText(/^Current exemption: Unlimited per hour and Raised to 40 per day until .+, set by admin\./)).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'End Exemption Now' }));
    expect(await screen.findByText('Exemption of bob@example.com ended; its own limits apply again.')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId('exemption-badge')).toBeNull());
    expect(await stored(harness, 'mailboxes/bob@example.com')).toMatchObject({ exemption: null });
  });

  it('a customer sees the badge of its mailbox but is offered no exemption; a reseller may not end the administrator’s', async () => {
    await exempt(ADMIN, 'mailboxes/alice@example.com', { hourly: 50, until: '+6h' });
    const customer = renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    expect(await screen.findByTestId('exemption-badge', {}, LOADED)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Exempt Temporarily/ })).toBeNull();
    customer.unmount();

    renderAs(harness, RES1, <DomainScreen name="example.com" />);
    // The administrator's exemption is theirs: no action on alice's row; bob's row has one.
    expect(await screen.findByRole('button', { name: 'Exempt Temporarily: bob@example.com' }, LOADED)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Exempt Temporarily: alice@example.com' })).toBeNull();
  });
});

describe('the overview’s temporary exemptions', () => {
  it('lists the current exemptions, the soonest end first; says so when there are none', async () => {
    const first = renderAs(harness, ADMIN, <OverviewScreen />);
    expect(await within(await screen.findByTestId('exemptions', {}, LOADED)).findByText('No limits are raised or lifted at the moment.')).toBeInTheDocument();
    first.unmount();
    await exempt(RES1, 'domains/example.com', { hourly: 100, until: '+2h' });
    await exempt(ADMIN, 'mailboxes/bob@example.com', { hourly: 10, until: '+1h' });
    renderAs(harness, ADMIN, <OverviewScreen />);
    const list = await screen.findByTestId('exemptions', {}, LOADED);
    await within(list).findByText('bob@example.com');
    const rows = within(list).getAllByRole('row').map((row) => row.textContent ?? '').filter((row) => row.includes('Raised'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/bob@example\.com.*Raised to 10 per hour/);
    expect(rows[1]).toMatch(/example\.com.*Raised to 100 per hour.*res1 \(reseller\)/);
  });
});

describe('History of exemptions', () => {
  it('says the start, the end at the end time (by the system) and an early end in words', async () => {
    await exempt(ADMIN, 'mailboxes/alice@example.com', { hourly: 5000, until: '+1h' });
    await exempt(ADMIN, 'mailboxes/bob@example.com', { hourly: 'unlimited', until: '+2h' });
    expect((await harness.request(ADMIN, 'DELETE', '/api/v1/mailboxes/bob@example.com/exemption')).statusCode).toBe(204);
    harness.advance(3601); // past alice's end (kept to the second, rounded up)
    expect(await endDueExemptions(harness.db, harness.sync, harness.enforcer, harness.nowMs)).toBe(1);
    renderAs(harness, ADMIN, <HistoryScreen />);
    const list = await screen.findByTestId('history-list', {}, LOADED);
    await waitFor(() => expect(list).toHaveTextContent(/Exemption set: Raised to 5,000 per hour until /));
    expect(list).toHaveTextContent('Exemption set: Unlimited per hour until');
    expect(list).toHaveTextContent('Exemption ended early');
    expect(list).toHaveTextContent(/system \(system\).*Exemption ended at its end time/);
    expect(list).not.toHaveTextContent(/[{}]|"endsAt"/);
  });
});
