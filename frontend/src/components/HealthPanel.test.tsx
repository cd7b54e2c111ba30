import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../api/client';
import { HEALTH_TEXTS, HEALTH_TITLES } from '../../../backend-bridge/src/core/health-check.js';
import { enUS } from '../messages/en-US';
import { ADMIN, ApiHarness, JDOE, renderAs } from '../test-support/bridge';
import { HealthPanel } from './HealthPanel';

let harness: ApiHarness;
/** GET /doctor asks postconf (two processes), which takes longer than a query of the store. */
const LOADED = { timeout: 10_000 };
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await harness.close();
});

const INTEGRATION = { login: 'plesk', userId: 'plesk-integration', role: 'admin' as const };

/** The row of a line, found by its title. */
function rowOf(title: string): HTMLElement {
  const row = within(screen.getByTestId('health-panel')).getByText(title).closest('tr');
  if (!row) throw new Error(`no row for ${title}`);
  return row;
}

describe('Health check panel', () => {
  it('shows the administrator one row per line with its state, what was found and what to do', async () => {
    await harness.request(INTEGRATION, 'PUT', '/api/v1/platform/plesk', { nativeLimiting: 'on', mailServer: 'postfix', checkedAt: '2029-12-31T23:00:00Z' });
    harness.recordHeld('AAAAAA111111', 'alice@example.com');
    renderAs(harness, ADMIN, <HealthPanel />);
    expect(await screen.findByText('Health check')).toBeInTheDocument();
    expect(await screen.findByTestId('health-panel', {}, LOADED)).toBeInTheDocument();
    // A single server: every line but the cluster's, which only a node of a cluster has.
    const { cluster, ...singleServer } = HEALTH_TITLES;
    for (const title of Object.values(singleServer)) expect(rowOf(title)).toBeInTheDocument();
    expect(within(screen.getByTestId('health-panel')).queryByText(cluster)).toBeNull();

    expect(within(rowOf('Daemon running')).getByText('OK')).toBeInTheDocument();
    const plesk = rowOf("Plesk's own limiting off");
    expect(within(plesk).getByText('Problem')).toBeInTheDocument();
    expect(within(plesk).getByText(/^Plesk's own limiting of outgoing mail is on \(reported 2029-12-31T23:00:00\.000Z\): mail is limited twice/)).toBeInTheDocument();
    expect(within(plesk).getByTestId('health-advice-plesk')).toHaveTextContent('What to do: Switch it off: plesk bin mailserver --disable-outgoing-antispam');
    expect(within(rowOf('Held mail waiting')).getByText(/^1 held message\(s\) waiting/)).toBeInTheDocument();
    expect(within(rowOf('Directory synced')).getByText('Warning')).toBeInTheDocument();
    // An ok line has no advice.
    expect(within(rowOf('Daemon running')).queryByTestId('health-advice-daemon')).toBeNull();
  });

  it('"Check Again" asks again and shows what changed', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <HealthPanel />, { pollMs: 0 });
    await screen.findByTestId('health-panel', {}, LOADED);
    expect(within(rowOf('Directory synced')).getByText('Warning')).toBeInTheDocument();
    await harness.request(INTEGRATION, 'POST', '/api/v1/directory/sync', {});
    await user.click(screen.getByRole('button', { name: 'Check Again' }));
    await waitFor(() => expect(within(rowOf('Directory synced')).getByText('OK')).toBeInTheDocument(), LOADED);
  });

  it('says when the check could not be loaded, and Retry loads it', async () => {
    const user = userEvent.setup();
    let failing = true;
    renderAs(harness, ADMIN, <HealthPanel />, {
      before: (config) => {
        if (failing && config.url?.endsWith('/doctor')) throw new Error('connection lost');
      },
    });
    expect(await screen.findByText(/Could not load the data: .*connection lost/, {}, LOADED)).toBeInTheDocument();
    failing = false;
    await user.click(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('health-panel', {}, LOADED)).toBeInTheDocument();
  });

  it("shows the daemon's own words for a reason these messages do not know (a newer daemon)", async () => {
    vi.spyOn(ApiClient.prototype, 'doctor').mockResolvedValue({
      state: 'warning',
      checkedAt: '2030-01-01T00:00:00Z',
      lines: [{ id: 'store', state: 'warning', reason: 'store.somethingNew', params: {}, found: 'Something new was found.', advice: 'Do the new thing.' }],
    });
    renderAs(harness, ADMIN, <HealthPanel />);
    await screen.findByTestId('health-panel', {}, LOADED);
    expect(within(rowOf('Store check')).getByText('Something new was found.')).toBeInTheDocument();
    expect(within(rowOf('Store check')).getByTestId('health-advice-store')).toHaveTextContent('What to do: Do the new thing.');
  });

  it('is not shown to a customer, and does not ask', () => {
    const asked: string[] = [];
    const { container } = renderAs(harness, JDOE, <HealthPanel />, { before: (config) => void asked.push(config.url ?? '') });
    expect(container).toBeEmptyDOMElement();
    expect(asked.filter((url) => url.endsWith('/doctor'))).toEqual([]);
  });

  it("has every reason's text in the messages, the same as the command's", () => {
    const reasons = enUS.health.reasons as Record<string, Record<string, { found: string; advice?: string }>>;
    const flattened = Object.fromEntries(Object.entries(reasons).flatMap(([group, texts]) => Object.entries(texts).map(([reason, text]) => [`${group}.${reason}`, text])));
    expect(flattened).toEqual(HEALTH_TEXTS);
    expect(enUS.health.titles).toEqual(HEALTH_TITLES);
  });
});
