import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, renderAs } from '../test-support/bridge';
import { ObjectList } from './ObjectList';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
});
afterEach(async () => {
  await harness.close();
});

const addresses = (list: HTMLElement) =>
  within(list)
    .getAllByRole('row')
    .map((row) => /\S+@example\.com/.exec(row.textContent ?? '')?.[0])
    .filter(Boolean);

describe('a list of email addresses', () => {
  it('filters as one types, without Enter, and keeps the field and what was typed', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <ObjectList level="mailbox" filter={{ domain: 'example.com' }} canEdit />);
    const list = await screen.findByTestId('mailbox-list');
    await waitFor(() => expect(addresses(list)).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com']));

    const field = screen.getByRole('textbox', { name: 'Search by name' });
    await user.click(field);
    await user.keyboard('car');
    await waitFor(() => expect(addresses(screen.getByTestId('mailbox-list'))).toEqual(['carol@example.com']));
    const fieldAfter = screen.getByRole('textbox', { name: 'Search by name' });
    expect(fieldAfter).toHaveValue('car');
    expect(fieldAfter).toHaveFocus();
  });
});
