import { screen, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exampleDirectory } from '../../../backend-bridge/test-support/directory-fixture.js';
import { DomainScreen } from '../screens/DomainScreen';
import { ApiHarness, JDOE, renderAs } from '../test-support/bridge';

// Defaults of the harness: mailbox 3, domain 5, subscription 8. Subscription example.com follows plan Silver.
let harness: ApiHarness;
beforeEach(async () => {
  const directory = exampleDirectory({ 'bob@example.com': 7 });
  directory.subscriptions[0]!.plan = { name: 'Silver', mailbox: 2, domain: 'unlimited', subscription: null };
  harness = await ApiHarness.start({ directory });
});
afterEach(async () => {
  await harness.close();
});

function row(name: string): HTMLElement {
  const found = screen.getByText(name, { selector: 'td *, td' }).closest('tr');
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe('where a limit comes from', () => {
  it('shows an own value, a service plan value and, for the domain, the plan’s Unlimited', async () => {
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    await screen.findByText('alice@example.com');
    expect(within(row('alice@example.com')).getByText('From the service plan (2 per hour)')).toBeInTheDocument();
    expect(within(row('bob@example.com')).getByText('7 per hour (own value)')).toBeInTheDocument();
    expect(await screen.findByText('From the service plan (Unlimited)')).toBeInTheDocument();
  });
});
