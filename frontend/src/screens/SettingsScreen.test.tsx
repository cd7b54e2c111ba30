import { screen, waitFor } from '@testing-library/react';
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

const mailboxField = () => screen.getByRole('textbox', { name: 'Default limit on outgoing messages from a mailbox (per hour)' });

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

  it('a customer gets the refusal, never the settings', async () => {
    renderAs(harness, JDOE, <SettingsScreen onLeave={() => undefined} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Only the administrator can see or change the server settings.');
    expect(screen.queryByRole('textbox')).not.toBeInTheDocument();
  });
});
