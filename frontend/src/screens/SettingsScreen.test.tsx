import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ADMIN, ApiHarness, JDOE, renderAs } from '../test-support/bridge';
import { SettingsScreen } from './SettingsScreen';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
});
afterEach(async () => {
  await harness.close();
});

const mailboxField = () => screen.getByRole('textbox', { name: 'Default limit on outgoing messages from an email address (per hour)' });

describe('Limitations on outgoing email messages', () => {
  it('shows the server settings; a refused value is reported at its field and nothing is saved', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    expect(await screen.findByRole('heading', { name: 'Limitations on outgoing email messages' })).toBeInTheDocument();
    await waitFor(() => expect(mailboxField()).toHaveValue('3'));
    expect(screen.getByRole('checkbox', { name: 'Switch on limitations on outgoing email messages' })).toBeChecked();

    await user.clear(mailboxField());
    await user.type(mailboxField(), '2.5');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('must be a whole number from 0 to 1000000000 or "unlimited"')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ defaults: { mailbox: 3 } });
  });

  it('Apply saves and stays, with a toast; "Unlimited" sends unlimited; OK saves and leaves', async () => {
    const user = userEvent.setup();
    const onLeave = vi.fn();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={onLeave} />);
    await waitFor(() => expect(mailboxField()).toHaveValue('3'));

    await user.clear(mailboxField());
    await user.type(mailboxField(), '7');
    const unlimited = screen.getAllByRole('checkbox', { name: 'Unlimited' });
    await user.click(unlimited[2]!); // the subscription level
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect(onLeave).not.toHaveBeenCalled();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ defaults: { mailbox: 7, domain: 5, subscription: 'unlimited' } });

    await user.click(screen.getByRole('checkbox', { name: 'Switch on limitations on outgoing email messages' }));
    await user.click(screen.getByRole('button', { name: 'OK' }));
    await waitFor(() => expect(onLeave).toHaveBeenCalledTimes(1));
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ enabled: false });
  });

  it('over-limit action (Hold by default, or Defer, each explained) and notifications; a bad address or URL is refused at its field', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    await waitFor(() => expect(mailboxField()).toHaveValue('3'));
    expect(screen.getByRole('radio', { name: 'Hold them in the mail queue' })).toBeChecked();
    expect(screen.getByText(/It waits in the mail queue and is sent automatically as soon as the limit has room again/)).toBeInTheDocument();
    expect(screen.getByText(/gets a temporary error \(450 4\.7\.1\) that says when to try again/)).toBeInTheDocument();
    expect(screen.getByRole('radio', { name: '1 hour' })).toBeChecked();

    await user.click(screen.getByRole('radio', { name: 'Defer them' }));
    const address = screen.getByRole('textbox', { name: 'Send notifications to this email address' });
    await user.type(address, 'not an address');
    const webhook = screen.getByRole('textbox', { name: 'Webhook URL' });
    await user.type(webhook, 'ftp://hooks.example.com/x');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('must be an email address like admin@example.com')).toBeInTheDocument();
    expect(screen.getByText('must be an http:// or https:// address')).toBeInTheDocument();
    // As in Plesk, the first field with an error gets the focus (after a short delay).
    await waitFor(() => expect(address).toHaveFocus());
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ overLimitAction: 'hold', notifications: { adminAddress: null, webhookUrl: null } });

    await user.clear(address);
    await user.type(address, 'postmaster@example.com');
    await user.clear(webhook);
    await user.type(webhook, 'https://hooks.example.com/mail');
    await user.click(screen.getByRole('checkbox', { name: 'Also notify the customer' }));
    await user.click(screen.getByRole('radio', { name: '6 hours' }));
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({
      overLimitAction: 'defer',
      notifications: { adminAddress: 'postmaster@example.com', notifyReseller: false, notifyCustomer: true, period: '6h', webhookUrl: 'https://hooks.example.com/mail', screenUrl: null },
    });

    // An emptied field switches that one off.
    await user.clear(webhook);
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    await waitFor(async () => expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ notifications: { webhookUrl: null, adminAddress: 'postmaster@example.com' } }));
  });

  it('a customer gets the refusal, never the settings', async () => {
    renderAs(harness, JDOE, <SettingsScreen onLeave={() => undefined} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Only the administrator can see or change the server settings.');
    expect(screen.queryByRole('textbox')).not.toBeInTheDocument();
  });

  it('puts each "Unlimited" beside its own number field, in the same row, and greys the number out when ticked', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    await waitFor(() => expect(mailboxField()).toHaveValue('3'));
    for (const level of ['an email address', 'a domain', 'a subscription']) {
      const field = screen.getByRole('textbox', { name: `Default limit on outgoing messages from ${level} (per hour)` });
      const row = field.closest('.pul-section-item') as HTMLElement;
      expect(row).not.toBeNull();
      const unlimited = within(row).getByRole('checkbox', { name: 'Unlimited' });
      expect(field).toBeEnabled();
      await user.click(unlimited);
      expect(unlimited).toBeChecked();
      expect(field).toBeDisabled();
    }
    // The rows of the three levels are the three fields' rows: no row of its own for a checkbox.
    expect(screen.getAllByRole('checkbox', { name: 'Unlimited' })).toHaveLength(3);
  });
});
