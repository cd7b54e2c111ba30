import { Button, List } from '@plesk/ui-library';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, ApiHarness, renderAs } from '../test-support/bridge';
import { COLLAPSED_CLASS, FilterControl } from './FilterControl';
import { ObjectList } from './ObjectList';
import { rowControlsColumn } from './row-controls';

type Row = { key: string; name: string };
const columns = [
  { key: 'name', title: 'Name', type: 'title' as const },
  rowControlsColumn('actions', 'Actions', (row: Row) => (row.name === 'quiet' ? null : [<Button key="a">Release Now</Button>, <Button key="b">Mark as Compromised</Button>])),
];

describe('a row\'s buttons in a list', () => {
  it('in the vertical (phone) layout are a line of their own under their title, wrapping, not the 28 px corner box', () => {
    render(<List vertical columns={columns} data={[{ key: 'one', name: 'one' }]} />);
    const cell = screen.getByRole('button', { name: 'Release Now' }).closest('td')!;
    expect(cell).not.toHaveClass('pul-list__cell-actions');
    expect(cell).toHaveClass('pul-list__cell-controls');
    expect(within(cell).getByText('Actions')).toBeInTheDocument();
    const box = screen.getByRole('button', { name: 'Release Now' }).parentElement!;
    expect(box).toHaveAttribute('data-testid', 'row-controls');
    expect(box.style.flexWrap).toBe('wrap');
  });

  it('leave a row without buttons empty', () => {
    render(<List vertical columns={columns} data={[{ key: 'quiet', name: 'quiet' }]} />);
    expect(screen.queryByTestId('row-controls')).toBeNull();
  });
});

describe('the email address list', () => {
  let harness: ApiHarness;
  beforeEach(async () => {
    harness = await ApiHarness.start();
  });
  afterEach(async () => {
    await harness.close();
  });

  it('puts the pencil and the row\'s links in a controls cell, not in the corner box drawn over the usage on a phone', async () => {
    renderAs(harness, ADMIN, <ObjectList level="mailbox" filter={{ domain: 'example.com' }} canEdit />);
    const pencil = await screen.findByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' });
    const cell = pencil.closest('td')!;
    expect(cell).toHaveClass('pul-list__cell-controls');
    expect(cell).not.toHaveClass('pul-list__cell-actions');
  });
});

describe('the status filter', () => {
  const buttons = [
    { value: 'held', title: 'Held' },
    { value: 'all', title: 'All' },
  ];

  it('is a list of buttons while they fit, and a labelled group once folded into one dropdown button', async () => {
    const { container } = render(<FilterControl label="Show" selected="held" onChange={() => undefined} buttons={buttons} />);
    const control = container.querySelector('.pul-segmented-control')!;
    expect(control).toHaveAttribute('role', 'list');
    // What ui-library does when there is no room (jsdom lays nothing out, so it is done here by hand).
    act(() => control.classList.add(COLLAPSED_CLASS));
    await waitFor(() => expect(control).toHaveAttribute('role', 'group'));
    expect(control).toHaveAttribute('aria-label', 'Show');
    act(() => control.classList.remove(COLLAPSED_CLASS));
    await waitFor(() => expect(control).toHaveAttribute('role', 'list'));
    expect(control).not.toHaveAttribute('aria-label');
  });
});
