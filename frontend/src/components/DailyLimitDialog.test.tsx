import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { DomainScreen } from '../screens/DomainScreen';
import { SettingsScreen } from '../screens/SettingsScreen';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, openLimitDialog, putLimit, renderAs, RES1, stored } from '../test-support/bridge';

// The "Messages per day" part of "Limit Outgoing Messages" and the daily usage of rows. Harness defaults: hourly
// mailbox 3, domain 5, subscription 8; daily unlimited. jdoe (of reseller res1) owns example.com with alice, bob.
let harness: ApiHarness;
harnessForEachTest((started) => (harness = started));

describe('Messages per day in the Limit Outgoing Messages dialog', () => {
  it('starts on the daily default (Unlimited) and sets a daily value without touching the hourly one', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    const dialog = await openLimitDialog('alice@example.com');
    expect(within(dialog).getByRole('radio', { name: 'Use the default (no daily limit)' })).toBeChecked();
    expect(within(dialog).getByRole('radio', { name: 'No daily limit' })).toBeInTheDocument();
    await user.click(within(dialog).getByRole('radio', { name: 'Custom daily value' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per day' }), '500');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for alice@example.com.')).toBeInTheDocument();
    expect(await stored(harness, 'mailboxes/alice@example.com')).toMatchObject({ ownLimit: 'default', daily: { ownLimit: 500, effectiveLimit: 500 } });
  });

  it('a dialog opened on a daily value shows it; rows show the day only where a daily limit applies', async () => {
    await putLimit(harness, ADMIN, 'mailboxes/bob@example.com', { dailyLimit: 2 });
    expect(harness.sendMany('bob@example.com', 3)).toBe(2);
    expect(harness.sendMany('alice@example.com', 1)).toBe(1);
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    const usages = await screen.findAllByTestId('usage');
    const texts = usages.map((u) => u.textContent);
    // A full day says when it frees: 24 hours after the first message.
    expect(texts).toContain('2 of 3 this hour · 2 of 2 today, frees in 24 h 0 min');
    expect(texts).toContain('1 of 3 this hour');
    const dialog = await openLimitDialog('bob@example.com');
    expect(within(dialog).getByRole('radio', { name: 'Custom daily value' })).toBeChecked();
    expect(within(dialog).getByRole('textbox', { name: 'Messages per day' })).toHaveValue('2');
  });

  it("a customer under the subscription's daily cap gets no daily Unlimited, the reason, and a check as typed", async () => {
    const user = userEvent.setup();
    let writes = 0;
    await putLimit(harness, RES1, 'subscriptions/example.com', { dailyLimit: 100, locked: false });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />, {
      before: (config) => {
        if (config.method?.toLowerCase() !== 'get') writes++;
      },
    });
    const dialog = await openLimitDialog('alice@example.com');
    expect(within(dialog).queryByRole('radio', { name: 'No daily limit' })).not.toBeInTheDocument();
    expect(within(dialog).getByText(/Your provider allows at most 100 per day, so Unlimited is not offered\. The subscription example\.com may send at most 100 per day\./)).toBeInTheDocument();
    const value = within(dialog).getByRole('textbox', { name: 'Messages per day' });
    await user.type(value, '101');
    expect(within(dialog).getByText('Enter a whole number from 0 to 100')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(writes).toBe(0);
    await user.clear(value);
    await user.type(value, '100');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    await waitFor(async () => expect(await stored(harness, 'mailboxes/alice@example.com')).toMatchObject({ daily: { ownLimit: 100 } }));
    expect(writes).toBe(1);
  });
});

describe('server daily defaults on "Limitations on outgoing email messages"', () => {
  it('shows them beside the hourly ones (no daily limit by default), saves a number and reports a wrong one at its field', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    const daily = await screen.findByRole('textbox', { name: 'Default daily limit on outgoing messages from a mailbox (per day)' });
    const none = screen.getAllByRole('checkbox', { name: 'No daily limit' });
    expect(none).toHaveLength(3);
    for (const box of none) expect(box).toBeChecked();

    await user.click(none[0]!);
    await user.type(daily, 'lots');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('must be a whole number from 0 to 1000000000 or "unlimited"')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ dailyDefaults: { mailbox: 'unlimited' } });

    await user.clear(daily);
    await user.type(daily, '500');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ defaults: { mailbox: 3 }, dailyDefaults: { mailbox: 500, domain: 'unlimited', subscription: 'unlimited' } });
  });
});
