import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, JDOE, MARY, renderAs } from '../test-support/bridge';
import { DomainScreen } from './DomainScreen';

// Defaults of the harness: mailbox 3, domain 5, subscription 8; jdoe owns example.com (alice, bob, carol, dave).
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
});
afterEach(async () => {
  await harness.close();
});

function row(name: string): HTMLElement {
  const cell = screen.getByText(name, { selector: 'td *, td' });
  const found = cell.closest('tr');
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe('email addresses of a domain', () => {
  it('lists each mailbox with its usage and status, live: sending past the limit turns a row to "Holding new mail" without reloading', async () => {
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    expect(within(row('alice@example.com')).getByText('0 of 3 this hour')).toBeInTheDocument();
    expect(within(row('alice@example.com')).getByText('Sending')).toBeInTheDocument();

    expect(harness.sendMany('alice@example.com', 4)).toBe(3);
    await waitFor(() => expect(within(row('alice@example.com')).getByText('3 of 3 this hour, frees in 60 min')).toBeInTheDocument());
    expect(within(row('alice@example.com')).getByText('Holding new mail: at its limit (frees in 60 min)')).toBeInTheDocument();
    expect(within(row('bob@example.com')).getByText('Sending')).toBeInTheDocument();
  });

  it('the dialog offers the default with its value or a number (no Unlimited under a ceiling, and says why), and checks the number as it is typed', async () => {
    const user = userEvent.setup();
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    await user.click(screen.getByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' }));

    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('Use the default (3 per hour)')).toBeInTheDocument();
    expect(within(dialog).queryByText('Unlimited')).not.toBeInTheDocument();
    expect(within(dialog).getByText('Your provider allows at most 5 per hour, so Unlimited is not offered. The domain example.com may send at most 5 per hour.')).toBeInTheDocument();

    await user.click(within(dialog).getByLabelText('Custom value', { selector: 'input[type=radio]' }));
    const value = within(dialog).getByRole('textbox', { name: 'Messages per hour' });
    await user.clear(value);
    await user.type(value, '9');
    expect(within(dialog).getByText('Enter a whole number from 0 to 5')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect((await harness.get(JDOE, '/api/v1/mailboxes/alice@example.com')).json()).toMatchObject({ ownLimit: 'default' });

    await user.clear(value);
    await user.type(value, '2');
    expect(within(dialog).queryByText('Enter a whole number from 0 to 5')).not.toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for alice@example.com.')).toBeInTheDocument();
    await waitFor(() => expect(within(row('alice@example.com')).getByText('2 per hour (own value)')).toBeInTheDocument());
    const stored = await harness.get(JDOE, '/api/v1/mailboxes/alice@example.com');
    expect(stored.json()).toMatchObject({ ownLimit: 2, effectiveLimit: 2 });
  });

  it('"Limit Outgoing Messages" on selected mailboxes changes all of them at once', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    await user.click(within(row('alice@example.com')).getByRole('checkbox'));
    await user.click(within(row('bob@example.com')).getByRole('checkbox'));
    await user.click(within(screen.getByTestId('mailbox-list')).getByRole('button', { name: 'Limit Outgoing Messages' }));

    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('For 2 selected email addresses')).toBeInTheDocument();
    expect(within(dialog).getByText('You may set any value, or Unlimited.')).toBeInTheDocument();
    await user.click(within(dialog).getByLabelText('Unlimited', { selector: 'input[type=radio]' }));
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));

    expect(await screen.findByText('Limit on outgoing messages saved for 2 email addresses.')).toBeInTheDocument();
    await waitFor(() => expect(within(row('bob@example.com')).getByText('Unlimited (own value)')).toBeInTheDocument());
    expect(within(row('alice@example.com')).getByText('Unlimited (own value)')).toBeInTheDocument();
    expect(within(row('carol@example.com')).getByText('3 per hour (server default)')).toBeInTheDocument();
  });

  it("another customer's domain is not shown, even when asked for by name", async () => {
    renderAs(harness, MARY, <DomainScreen name="example.com" />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Not found or not yours: Domain example.com not found');
    expect(screen.queryByText('alice@example.com')).not.toBeInTheDocument();
  });

  it('a failed load shows the error with Retry, and Retry loads the screen', async () => {
    let failing = true;
    const user = userEvent.setup();
    // Without polling, only Retry asks again.
    renderAs(harness, JDOE, <DomainScreen name="example.com" />, {
      pollMs: 0,
      before: () => {
        if (failing) throw new Error('Network Error');
      },
    });
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load the data: Network Error');
    failing = false;
    await user.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByText('alice@example.com')).toBeInTheDocument();
  });
});
