import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { describe, expect, it } from 'vitest';
import { DomainScreen } from '../screens/DomainScreen';
import { SubscriptionScreen } from '../screens/SubscriptionScreen';
import { SubscriptionsScreen } from '../screens/SubscriptionsScreen';
import { ADMIN, ApiHarness, harnessForEachTest, JDOE, MARY, openLimitDialog, putLimit, renderAs, RES1, stored } from '../test-support/bridge';

// Defaults of the harness: mailbox 3, domain 5, subscription 8. jdoe (of reseller res1) owns example.com with the
// domains example.com (alice, bob, carol, dave) and example.net; mary owns other.org (mallory), no reseller.
let harness: ApiHarness;
harnessForEachTest((started) => (harness = started));

function rowOf(list: string, name: string): HTMLElement {
  const found = within(screen.getByTestId(list))
    .getAllByRole('row')
    .find((r) => within(r).queryByText(name) !== null);
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe('locked values', () => {
  it("the issue's case: mary's domain blocked by the administrator says who set it and offers her nothing to change", async () => {
    await putLimit(harness, ADMIN, 'subscriptions/other.org', { limit: 'unlimited' });
    await putLimit(harness, ADMIN, 'domains/other.org', { limit: 0 });
    renderAs(harness, MARY, <SubscriptionScreen name="other.org" />);
    // The row says it is locked before any dialog opens: a lock with a name, and the action says whose lock it is.
    const row = await waitFor(() => rowOf('domain-list', 'other.org'));
    expect(within(row).getByRole('img', { name: 'Locked by the administrator admin' })).toBeInTheDocument();
    expect(within(row).queryByRole('button', { name: 'Limit Outgoing Messages of other.org' })).not.toBeInTheDocument();
    await userEvent.setup().click(within(row).getByRole('button', { name: 'Locked: only the administrator admin can change the limit of other.org' }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('The limit of other.org was set by the administrator admin. Only they (or a higher role) can change it.')).toBeInTheDocument();
    expect(within(dialog).queryByRole('button', { name: 'OK' })).not.toBeInTheDocument();
    expect(within(dialog).queryByRole('radio')).not.toBeInTheDocument();
    // Nothing to save: the footer offers Close (beside the header's ×), not Cancel.
    expect(within(dialog).getByText('Close', { exact: true }).closest('button')).toBeInTheDocument();
    expect(within(dialog).queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument();
  });

  it('every list marks a value locked for the viewer, and only that one: email addresses, domains, subscriptions', async () => {
    await putLimit(harness, ADMIN, 'mailboxes/alice@example.com', { limit: 1, locked: true });
    await putLimit(harness, RES1, 'domains/example.net', { limit: 4, locked: true });
    await putLimit(harness, ADMIN, 'subscriptions/example.com', { limit: 50, locked: true });
    const { unmount } = renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    const alice = await waitFor(() => rowOf('mailbox-list', 'alice@example.com'));
    expect(within(alice).getByRole('img', { name: 'Locked by the administrator admin' })).toBeInTheDocument();
    expect(within(alice).getByRole('button', { name: 'Locked: only the administrator admin can change the limit of alice@example.com' })).toBeInTheDocument();
    expect(within(rowOf('mailbox-list', 'bob@example.com')).queryByRole('img', { name: /^Locked/ })).not.toBeInTheDocument();
    expect(within(rowOf('mailbox-list', 'bob@example.com')).getByRole('button', { name: 'Limit Outgoing Messages of bob@example.com' })).toBeInTheDocument();
    unmount();

    const domains = renderAs(harness, JDOE, <SubscriptionScreen name="example.com" />);
    const net = await waitFor(() => rowOf('domain-list', 'example.net'));
    expect(within(net).getByRole('img', { name: 'Locked by the reseller res1' })).toBeInTheDocument();
    domains.unmount();

    // The reseller's own lock stops the customer, not the reseller; the administrator's subscription value stops the reseller.
    renderAs(harness, RES1, <SubscriptionsScreen />);
    const subscription = await waitFor(() => rowOf('subscription-list', 'example.com'));
    expect(within(subscription).getByRole('img', { name: 'Locked by the administrator admin' })).toBeInTheDocument();
  });

  it('the administrator setting 0 locks it by default; the dialog then says so, and ticking "let change" opens it again', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SubscriptionScreen name="other.org" />);
    let dialog = await openLimitDialog('other.org');
    const letChange = () => within(dialog).getByRole('checkbox', { name: 'Let the reseller and the customer change this limit' });
    expect(letChange()).toBeChecked();
    await user.click(within(dialog).getByLabelText('Custom value', { selector: 'input[type=radio]' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per hour' }), '0');
    expect(letChange()).not.toBeChecked();
    expect(within(dialog).getByText('Locked: only you (or a higher role) can change this limit.')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for other.org.')).toBeInTheDocument();
    expect(await stored(harness, 'domains/other.org')).toMatchObject({ ownLimit: 0, lockedBy: 'admin', lockedByRole: 'admin' });

    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    dialog = await openLimitDialog('other.org');
    expect(within(dialog).getByText('Set and locked by the administrator admin.')).toBeInTheDocument();
    expect(letChange()).not.toBeChecked();
    await user.click(within(dialog).getByText('Let the reseller and the customer change this limit'));
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    await waitFor(async () => expect(await stored(harness, 'domains/other.org')).toMatchObject({ ownLimit: 0, lockedBy: null }));
  });

  it('a customer sees no lock choice: there is nobody below them', async () => {
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    const dialog = await openLimitDialog('alice@example.com');
    expect(within(dialog).queryByRole('checkbox')).not.toBeInTheDocument();
  });
});

describe('only what the caller may choose', () => {
  it('under a ceiling below the default: neither Unlimited nor the default is offered or preselected, and the dialog says why', async () => {
    await putLimit(harness, ADMIN, 'domains/example.com', { limit: 2 });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    const dialog = await openLimitDialog('alice@example.com');
    // The hourly choices (the daily ones beside them are daily-limits.test.tsx's).
    const hourlyRadios = within(dialog).getAllByRole('radio').filter((radio) => radio.getAttribute('name') === 'mode');
    expect(hourlyRadios.map((radio) => radio.closest('label')?.textContent)).toEqual(['Custom value']);
    expect(within(dialog).getByRole('radio', { name: 'Custom value' })).toBeChecked();
    expect(
      within(dialog).getByText(
        'Your provider allows at most 2 per hour, so Unlimited is not offered. The domain example.com may send at most 2 per hour. The default (3 per hour) is above that, so it is not offered either.',
      ),
    ).toBeInTheDocument();
    // Nothing was typed: no refusal shown yet.
    expect(within(dialog).queryByText(/Enter a whole number/)).not.toBeInTheDocument();
    await userEvent.setup().click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(within(dialog).getByText('Enter a whole number from 0 to 2')).toBeInTheDocument();
  });

  it('the level that caps is named in the screen\'s language, not in the API\'s English sentence', async () => {
    await putLimit(harness, ADMIN, 'domains/example.com', { limit: 2 });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />, { locale: 'de-DE' });
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Ausgehende Nachrichten begrenzen: alice@example.com' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Ihr Anbieter erlaubt höchstens 2 pro Stunde, daher wird Unbegrenzt nicht angeboten. Die Domain example.com darf höchstens 2 pro Stunde senden.');
    expect(dialog).not.toHaveTextContent('may send at most');
  });

  it('a number is checked as it is typed, in words people use, before any request', async () => {
    const user = userEvent.setup();
    let writes = 0;
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />, {
      before: (config) => {
        if (config.method?.toLowerCase() !== 'get') writes++;
      },
    });
    const dialog = await openLimitDialog('alice@example.com');
    await user.click(within(dialog).getByLabelText('Custom value', { selector: 'input[type=radio]' }));
    const value = within(dialog).getByRole('textbox', { name: 'Messages per hour' });
    await user.type(value, '99999999999');
    expect(within(dialog).getByText('Enter a whole number from 0 to 1,000,000,000')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    await user.clear(value);
    await user.type(value, '12.5');
    expect(within(dialog).getByText('Enter a whole number from 0 to 1,000,000,000')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(writes).toBe(0);
    expect(within(dialog).queryByText(/must be a whole number/)).not.toBeInTheDocument();
    // A choice without a field shows no message about the field.
    await user.click(within(dialog).getByLabelText('Unlimited', { selector: 'input[type=radio]' }));
    expect(within(dialog).queryByText(/Enter a whole number/)).not.toBeInTheDocument();
  });
});

describe('the bulk dialog', () => {
  it('names what is selected, starts from "keep each own value" and so never removes an own value by OK', async () => {
    const user = userEvent.setup();
    await putLimit(harness, ADMIN, 'mailboxes/alice@example.com', { limit: 50 });
    renderAs(harness, ADMIN, <DomainScreen name="example.com" />);
    await screen.findByText('bob@example.com');
    await user.click(within(rowOf('mailbox-list', 'alice@example.com')).getByRole('checkbox'));
    await user.click(within(rowOf('mailbox-list', 'bob@example.com')).getByRole('checkbox'));
    await user.click(within(screen.getByTestId('mailbox-list')).getByRole('button', { name: 'Limit Outgoing Messages' }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText('For 2 selected email addresses')).toBeInTheDocument();
    expect(within(dialog).getByRole('radio', { name: 'Keep each own value' })).toBeChecked();
    expect(within(dialog).getByRole('button', { name: 'OK' })).toBeDisabled();
    expect(await stored(harness, 'mailboxes/alice@example.com')).toMatchObject({ ownLimit: 50 });
  });

  it('leaves out what is locked for the customer, says who holds each lock, and changes the rest', async () => {
    const user = userEvent.setup();
    await putLimit(harness, ADMIN, 'mailboxes/alice@example.com', { limit: 1, locked: true });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('bob@example.com');
    await user.click(within(rowOf('mailbox-list', 'alice@example.com')).getByRole('checkbox'));
    await user.click(within(rowOf('mailbox-list', 'bob@example.com')).getByRole('checkbox'));
    await user.click(within(screen.getByTestId('mailbox-list')).getByRole('button', { name: 'Limit Outgoing Messages' }));
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText('alice@example.com is left out: its limit was set by the administrator admin, and only they (or a higher role) can change it.'),
    ).toBeInTheDocument();
    await user.click(within(dialog).getByLabelText('Custom value', { selector: 'input[type=radio]' }));
    await user.type(within(dialog).getByRole('textbox', { name: 'Messages per hour' }), '2');
    await user.click(within(dialog).getByRole('button', { name: 'OK' }));
    expect(await screen.findByText('Limit on outgoing messages saved for 1 email address.')).toBeInTheDocument();
    expect(await stored(harness, 'mailboxes/bob@example.com')).toMatchObject({ ownLimit: 2 });
    expect(await stored(harness, 'mailboxes/alice@example.com')).toMatchObject({ ownLimit: 1, lockedBy: 'admin' });
  });
});
