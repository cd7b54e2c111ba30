import { render, screen, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../api/client';
import type { SessionInfo } from '../api/types';
import type { Environment } from '../app/environment';
import { Providers } from '../app/Providers';
import { SettingsScreen } from '../screens/SettingsScreen';
import { ADMIN, ApiHarness, bridgeAdapter, renderAs } from '../test-support/bridge';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
});
afterEach(async () => {
  await harness.close();
});

/** The settings screen as the Plesk page shows it: the session came through Plesk's PHP layer. */
function settingsInPlesk() {
  const api = new ApiClient({ apiBase: '/api/v1', writeHeaders: () => ({}), adapter: bridgeAdapter(harness, ADMIN) });
  const session: SessionInfo = { login: ADMIN.login, role: ADMIN.role, csrfToken: null, via: 'plesk' };
  const environment: Environment = { api, session, navigator: { href: () => '#', go: () => undefined }, pollMs: 50 };
  return render(
    <Providers environment={environment}>
      <SettingsScreen onLeave={() => undefined} />
    </Providers>,
  );
}

describe('the note on the settings screen inside Plesk', () => {
  it('says that this extension enforces the limits and where Plesk’s own fields went, at the top of the screen', async () => {
    settingsInPlesk();
    const note = await screen.findByTestId('plesk-takeover-note');
    expect(within(note).getByRole('heading', { name: 'Outgoing mail limits are now enforced by this extension' })).toBeInTheDocument();
    expect(within(note).getAllByRole('listitem').map((item) => item.textContent)).toEqual([
      'Plesk\'s own limitation of outgoing messages is switched off, so that no message is limited twice.',
      'Plesk\'s server defaults, the values of the service plans and the limits that were set on subscriptions, domains and email addresses were imported.',
      'Service plans keep using Plesk\'s own plan fields "Outgoing messages from a mailbox / domain / subscription (per hour)": they are the plan values this extension enforces.',
      'The limits of subscriptions, domains and email addresses are changed here, in Outgoing Mail Control, or on the settings form of an email address (Limit Outgoing Messages).',
    ]);
    // Above the form: the first thing after the screen's title.
    const title = screen.getByRole('heading', { name: 'Limitations on outgoing email messages' });
    expect(title.compareDocumentPosition(note) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    const form = await screen.findByRole('checkbox', { name: 'Switch on limitations on outgoing email messages' });
    expect(note.compareDocumentPosition(form) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it('is not shown in the standalone app, which has no Plesk fields', async () => {
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    expect(await screen.findByRole('checkbox', { name: 'Switch on limitations on outgoing email messages' })).toBeInTheDocument();
    expect(screen.queryByTestId('plesk-takeover-note')).toBeNull();
    expect(screen.queryByText(/now enforced by this extension/)).toBeNull();
  });
});
