import { render, screen } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiFailure } from '../api/client';
import { targetOfPath } from '../app/navigation';
import { LocaleOnly } from '../app/Providers';
import { ScreenView } from '../app/ScreenView';
import { DomainScreen } from '../screens/DomainScreen';
import { OverviewScreen } from '../screens/OverviewScreen';
import { ADMIN, ApiHarness, MARY, renderAs } from '../test-support/bridge';
import { LoadState } from './LoadState';

const failed = (failure: ApiFailure) =>
  render(
    <LocaleOnly>
      <LoadState data={null} error={failure} onRetry={() => undefined}>
        {() => 'content'}
      </LoadState>
    </LocaleOnly>,
  );

describe('error states', () => {
  it('offers Retry only where asking again can help', () => {
    failed(new ApiFailure('daemon not reachable', 502));
    expect(screen.getByRole('button', { name: 'Retry' })).toBeInTheDocument();
  });

  it('has no Retry for a refused permission', () => {
    failed(new ApiFailure('Only administrators see this', 403));
    expect(screen.getByText('You do not have permission to see this: Only administrators see this')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('has no Retry for something that does not exist', () => {
    failed(new ApiFailure('domain nope.test', 404));
    expect(screen.getByText('Not found or not yours: domain nope.test')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });
});

describe('screens with nothing to show', () => {
  let harness: ApiHarness;
  beforeEach(async () => {
    harness = await ApiHarness.start();
  });
  afterEach(async () => {
    await harness.close();
  });

  it('the overview says "nothing" in one line of text per list, without pictures', async () => {
    const { container } = renderAs(harness, ADMIN, <OverviewScreen />);
    expect(await screen.findByText('Nothing is at its limit now.')).toBeInTheDocument();
    expect(await screen.findByText('No messages were sent in the last hour.')).toBeInTheDocument();
    expect(screen.getAllByTestId('empty-state').length).toBeGreaterThanOrEqual(2);
    expect(container.querySelector('img')).toBeNull();
  });

  it('a domain that does not exist, or is not the caller\'s, is "not found" without Retry', async () => {
    renderAs(harness, ADMIN, <DomainScreen name="nope.test" />);
    expect(await screen.findByText(/Not found or not yours/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('a customer opening another customer\'s domain gets no Retry', async () => {
    renderAs(harness, MARY, <DomainScreen name="example.com" />);
    expect(await screen.findByText(/Not found or not yours|You do not have permission/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('an address that names no screen shows "not found", not the overview', async () => {
    window.history.pushState(null, '', '/mailboxes/nope@x');
    renderAs(harness, ADMIN, <ScreenView target={targetOfPath('/mailboxes/nope@x')} onLeaveSettings={() => undefined} />);
    expect(screen.getByText(/There is no page at \/mailboxes\/nope@x/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Go to Outgoing Mail Control' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Outgoing Mail Control' })).not.toBeInTheDocument();
    window.history.pushState(null, '', '/');
  });
});
