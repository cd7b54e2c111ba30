import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, JDOE, RES1, renderAs } from '../test-support/bridge';
import { SubscriptionScreen } from './SubscriptionScreen';
import { SubscriptionsScreen } from './SubscriptionsScreen';

// jdoe (of reseller res1) owns subscription example.com with domains example.com and example.net; mary owns other.org.
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
});
afterEach(async () => {
  await harness.close();
});

function domainRow(name: string): HTMLElement {
  const found = within(screen.getByTestId('domain-list'))
    .getAllByRole('row')
    .find((r) => within(r).queryByText(name) !== null);
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe('Outgoing Mail Limits of a subscription', () => {
  it('a customer sees the subscription level read-only and sets a domain limit in the dialog', async () => {
    const user = userEvent.setup();
    renderAs(harness, JDOE, <SubscriptionScreen name="example.com" />);
    expect(await screen.findByText('Only the administrator or the reseller can change the limit of a subscription.')).toBeInTheDocument();
    await screen.findByTestId('domain-list');
    // The only "Limit Outgoing Messages" left is the domains' bulk button: none for the subscription itself.
    const domains = screen.getByTestId('domain-list');
    expect(screen.getAllByRole('button', { name: 'Limit Outgoing Messages' }).filter((b) => !domains.contains(b))).toEqual([]);

    await user.click(screen.getByRole('button', { name: 'Limit Outgoing Messages of example.net' }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('Your provider allows at most 8 per hour, so Unlimited is not offered. The subscription example.com may send at most 8 per hour.')).toBeInTheDocument();
    await user.click(within(dialog).getByLabelText('Custom value', { selector: 'input[type=radio]' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per hour' }), '4');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for example.net.')).toBeInTheDocument();
    await waitFor(() => expect(domainRow('example.net')).toHaveTextContent('4 per hour (own value)'));
  });

  it('selected domains get one limit at once', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SubscriptionScreen name="example.com" />);
    await screen.findByTestId('domain-list');
    await waitFor(() => domainRow('example.net'));
    await user.click(within(domainRow('example.com')).getByRole('checkbox'));
    await user.click(within(domainRow('example.net')).getByRole('checkbox'));
    await user.click(within(screen.getByTestId('domain-list')).getByRole('button', { name: 'Limit Outgoing Messages' }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('For 2 selected domains')).toBeInTheDocument();
    await user.click(within(dialog).getByLabelText('Custom value', { selector: 'input[type=radio]' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per hour' }), '6');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for 2 domains.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/domains/example.net')).json()).toMatchObject({ ownLimit: 6 });
    expect((await harness.get(ADMIN, '/api/v1/domains/example.com')).json()).toMatchObject({ ownLimit: 6 });
  });

  it('the reseller changes the subscription level', async () => {
    const user = userEvent.setup();
    renderAs(harness, RES1, <SubscriptionScreen name="example.com" />);
    await screen.findByText('Limit of the subscription');
    expect(screen.queryByText('Only the administrator or the reseller can change the limit of a subscription.')).not.toBeInTheDocument();
    const domains = await screen.findByTestId('domain-list');
    const own = screen.getAllByRole('button', { name: 'Limit Outgoing Messages' }).filter((b) => !domains.contains(b));
    expect(own).toHaveLength(1);
    await user.click(own[0]!);
    const dialog = await screen.findByRole('dialog');
    await user.click(within(dialog).getByLabelText('Unlimited', { selector: 'input[type=radio]' }));
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for example.com.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/subscriptions/example.com')).json()).toMatchObject({ ownLimit: 'unlimited' });
  });
});

describe('Subscriptions', () => {
  it('the admin sees all, with "Limit Outgoing Messages"; a reseller only its customers’; a customer its own, read-only', async () => {
    const admin = renderAs(harness, ADMIN, <SubscriptionsScreen />);
    expect(await screen.findByRole('link', { name: 'other.org' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'example.com' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Limit Outgoing Messages of other.org' })).toBeInTheDocument();
    admin.unmount();

    const reseller = renderAs(harness, RES1, <SubscriptionsScreen />);
    expect(await screen.findByRole('link', { name: 'example.com' })).toBeInTheDocument();
    expect(screen.queryByText('other.org')).not.toBeInTheDocument();
    reseller.unmount();

    const { visited } = renderAs(harness, JDOE, <SubscriptionsScreen />);
    const link = await screen.findByRole('link', { name: 'example.com' });
    expect(screen.queryByText('other.org')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Limit Outgoing Messages/ })).not.toBeInTheDocument();
    await userEvent.setup().click(link);
    expect(visited).toEqual([{ screen: 'subscription', name: 'example.com' }]);
  });
});
