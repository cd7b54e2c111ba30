import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { DomainScreen } from '../screens/DomainScreen';
import { HistoryScreen } from '../screens/HistoryScreen';
import { OverviewScreen } from '../screens/OverviewScreen';
import { SettingsScreen } from '../screens/SettingsScreen';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, openLimitDialog, putLimit, renderAs, RES1, stored } from '../test-support/bridge';

// "Recipients per message" in "Limit Outgoing Messages", the server defaults, and the refusal in the event list.
// Unlimited by default at every level. jdoe (of reseller res1) owns example.com with alice, bob.
let harness: ApiHarness;
harnessForEachTest((started) => (harness = started));

describe('Recipients per message in the Limit Outgoing Messages dialog', () => {
  it('starts on the default (any number) and sets a maximum without touching the hourly or daily value', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    const dialog = await openLimitDialog('alice@example.com');
    expect(within(dialog).getAllByText('Recipients per message').length).toBeGreaterThan(0);
    expect(within(dialog).getByRole('radio', { name: 'Use the default (any number)' })).toBeChecked();
    expect(within(dialog).getByRole('radio', { name: 'Any number of recipients' })).toBeInTheDocument();
    expect(within(dialog).getByText('A message with more recipients is refused, and its sender is told why.')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('radio', { name: 'Custom maximum' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Most recipients in one message' }), '50');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for alice@example.com.')).toBeInTheDocument();
    expect(await stored(harness, 'mailboxes/alice@example.com')).toMatchObject({ ownLimit: 'default', daily: { ownLimit: 'default' }, recipients: { ownLimit: 50, effectiveLimit: 50 } });
  });

  it('0 and words are checked as typed and never sent; a number then is', async () => {
    const user = userEvent.setup();
    let writes = 0;
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />, {
      before: (config) => {
        if (config.method?.toLowerCase() !== 'get') writes++;
      },
    });
    const dialog = await openLimitDialog('bob@example.com');
    await user.click(within(dialog).getByRole('radio', { name: 'Custom maximum' }));
    const value = within(dialog).getByRole('textbox', { name: 'Most recipients in one message' });
    await user.type(value, '0');
    expect(within(dialog).getByText('Enter a whole number from 1 to 1,000,000,000.')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(writes).toBe(0);
    await user.clear(value);
    await user.type(value, '7');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    await waitFor(async () => expect(await stored(harness, 'mailboxes/bob@example.com')).toMatchObject({ recipients: { ownLimit: 7 } }));
    expect(writes).toBe(1);
  });

  it('a dialog opened on a mailbox under a tighter domain says which maximum is in force and shows its own value', async () => {
    await putLimit(harness, ADMIN, 'domains/example.com', { recipientLimit: 20 });
    await putLimit(harness, ADMIN, 'mailboxes/alice@example.com', { recipientLimit: 100 });
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    const dialog = await openLimitDialog('alice@example.com');
    expect(within(dialog).getByText('In force now: at most 20 recipients per message, set for domain example.com.')).toBeInTheDocument();
    expect(within(dialog).getByRole('radio', { name: 'Custom maximum' })).toBeChecked();
    expect(within(dialog).getByRole('textbox', { name: 'Most recipients in one message' })).toHaveValue('100');
  });

  it('a maximum locked by the reseller is locked for the customer like the limits: the row offers no dialog', async () => {
    await putLimit(harness, RES1, 'mailboxes/alice@example.com', { recipientLimit: 5, locked: true });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    expect(await screen.findByRole('button', { name: 'Locked: only the reseller res1 can change the limit of alice@example.com' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' })).not.toBeInTheDocument();
    // Only the locked object: bob's row still offers the dialog.
    expect(screen.getByRole('button', { name: 'Limit Outgoing Messages of bob@example.com' })).toBeInTheDocument();
  });
});

describe('server defaults of recipients per message on "Limitations on outgoing email messages"', () => {
  it('shows them as any number by default, saves a number and reports 0 at its field', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    const mailbox = await screen.findByRole('textbox', { name: 'Most recipients in one message from a mailbox' });
    const any = screen.getAllByRole('checkbox', { name: 'Any number' });
    expect(any).toHaveLength(3);
    for (const box of any) expect(box).toBeChecked();

    await user.click(any[0]!);
    await user.type(mailbox, '0');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('must be a whole number of recipients from 1 to 1000000000 or "unlimited"')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ recipientDefaults: { mailbox: 'unlimited' } });

    await user.clear(mailbox);
    await user.type(mailbox, '25');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ recipientDefaults: { mailbox: 25, domain: 'unlimited', subscription: 'unlimited' } });
  });
});

describe('a refusal for too many recipients in words', () => {
  it('the overview event list says the maximum; History says the change', async () => {
    await putLimit(harness, ADMIN, 'mailboxes/alice@example.com', { recipientLimit: 3 });
    expect(harness.send('alice@example.com', { recipients: 4 }).tooManyRecipients).not.toBeNull();
    harness.flush();
    const overview = renderAs(harness, ADMIN, <OverviewScreen />);
    const events = await screen.findByTestId('events');
    expect(await within(events).findByText('Refused: more than 3 recipients')).toBeInTheDocument();
    overview.unmount();
    renderAs(harness, ADMIN, <HistoryScreen />);
    await screen.findByTestId('history-list');
    await waitFor(() => expect(screen.getByTestId('history-list').textContent).toContain('Recipients per message: the default → 3'));
  });
});
