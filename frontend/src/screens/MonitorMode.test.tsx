import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LimitsOffBanner } from '../components/LimitsOffBanner';
import { SendingStatus } from '../components/SendingStatus';
import { ADMIN, ApiHarness, JDOE, MARY, renderAs } from '../test-support/bridge';
import { OverviewScreen } from './OverviewScreen';
import { SettingsScreen } from './SettingsScreen';

// Defaults of the harness: mailbox 3, domain 5, subscription 8; alice is jdoe's, mallory is mary's.
let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
});
afterEach(async () => {
  await harness.close();
});

const settingsNow = async () => (await harness.get(ADMIN, '/api/v1/settings')).json() as { mode: string; earlyWarningPercent: number };
const monitorOnly = () => harness.request(ADMIN, 'PATCH', '/api/v1/settings', { mode: 'monitor' });

describe('the settings: Monitor only and the early warning', () => {
  it('"Monitor only" beside the switch saves mode monitor; it cannot be chosen while the switch is off', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    const monitor = await screen.findByRole('checkbox', { name: 'Monitor only' });
    expect(monitor).not.toBeChecked();
    expect(screen.getByText(/no message is held or deferred, not even those of email addresses marked as compromised/)).toBeInTheDocument();
    await user.click(monitor);
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect((await settingsNow()).mode).toBe('monitor');

    await user.click(screen.getByRole('checkbox', { name: 'Switch on limitations on outgoing email messages' }));
    await waitFor(() => expect(screen.getByRole('checkbox', { name: 'Monitor only' })).toBeDisabled());
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    await waitFor(async () => expect((await settingsNow()).mode).toBe('off'));
  });

  it('the early-warning share is saved, and a wrong one is refused at its field with nothing saved', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    const share = await screen.findByRole('textbox', { name: 'Early warning at (% of a limit)' });
    await waitFor(() => expect(share).toHaveValue('80'));
    await user.clear(share);
    await user.type(share, '120');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('must be a whole number of percent from 1 to 99, or 0 for no early warnings')).toBeInTheDocument();
    expect((await settingsNow()).earlyWarningPercent).toBe(80);
    await user.clear(share);
    await user.type(share, '90');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect((await settingsNow()).earlyWarningPercent).toBe(90);
  });
});

describe('monitor only on the screens', () => {
  it('the banner says "monitor only", not "switched off", with the link for the administrator only', async () => {
    await monitorOnly();
    renderAs(harness, ADMIN, <LimitsOffBanner />);
    const banner = await screen.findByTestId('limits-monitor-only');
    expect(banner).toHaveTextContent('Monitor only: limits on outgoing email messages are not enforced.');
    expect(within(banner).getByRole('link', { name: 'Switch them on' })).toBeInTheDocument();
    expect(screen.queryByTestId('limits-off')).not.toBeInTheDocument();
  });

  it('a customer sees the banner without the link', async () => {
    await monitorOnly();
    renderAs(harness, JDOE, <LimitsOffBanner />);
    expect(await screen.findByTestId('limits-monitor-only')).toHaveTextContent('Only the administrator can switch them on.');
  });

  it('a row over its limit says what would happen, never "Holding new mail"', async () => {
    await monitorOnly();
    expect(harness.sendMany('alice@example.com', 4)).toBe(4);
    const row = (await harness.get(ADMIN, '/api/v1/mailboxes/alice%40example.com')).json();
    renderAs(harness, ADMIN, <SendingStatus row={row} />);
    const state = await screen.findByTestId('sending-state');
    expect(state).toHaveTextContent('Sending (monitor only): would hold new mail, at its limit');
    expect(state).not.toHaveTextContent(/Holding/);
  });

  it('the overview shows what would have been held in the last 24 hours, by level and object, and the early warnings', async () => {
    await monitorOnly();
    renderAs(harness, ADMIN, <OverviewScreen />);
    const panel = await screen.findByTestId('would-have-been');
    expect(panel).toHaveTextContent('No message would have been held or deferred.');

    harness.sendMany('alice@example.com', 5); // 2 over alice's 3
    harness.sendMany('bob@example.com', 1); // the domain's 5 is full: 1 over
    await waitFor(() => expect(screen.getByTestId('would-have-been')).toHaveTextContent('Would have been held: 3. Would have been deferred: 0.'));
    expect(screen.getByTestId('would-have-been')).toHaveTextContent('email addresses 2, domains 1, subscriptions 0');
    const rows = within(screen.getByTestId('would-have-been')).getAllByRole('row').map((r) => r.textContent ?? '');
    expect(rows.find((r) => r.includes('alice@example.com'))).toMatch(/Email address.*2.*0.*hourly/);
    expect(rows.find((r) => r.includes('example.com') && !r.includes('@'))).toMatch(/Domain.*1.*0.*hourly/);
    const warnings = within(screen.getByTestId('early-warnings'));
    expect(warnings.getByText('email address alice@example.com reached 80 % of its hourly limit (3 of 3)')).toBeInTheDocument();
    // The attempts list names the action in words.
    await waitFor(() => expect(within(screen.getByTestId('events')).getAllByText('Would have been held (monitor only)').length).toBeGreaterThan(0));
  });

  it('a customer sees only its own objects in the panel', async () => {
    await monitorOnly();
    harness.sendMany('alice@example.com', 4);
    harness.sendMany('mallory@other.org', 5);
    renderAs(harness, MARY, <OverviewScreen />);
    await waitFor(() => expect(screen.getByTestId('would-have-been')).toHaveTextContent('Would have been held: 2.'));
    expect(within(screen.getByTestId('would-have-been')).queryByText('alice@example.com')).not.toBeInTheDocument();
  });

  it('with limits enforced and nothing monitored, the panel stays away; early warnings still show', async () => {
    renderAs(harness, ADMIN, <OverviewScreen />);
    expect(await screen.findByText('No email address, domain or subscription passed the early-warning share of a limit.')).toBeInTheDocument();
    expect(screen.queryByTestId('would-have-been')).not.toBeInTheDocument();
  });
});
