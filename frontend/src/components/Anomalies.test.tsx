import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import pino from 'pino';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchAnomalies } from '../../../backend-bridge/src/enforcement/anomaly-response.js';
import { ADMIN, ApiHarness, JDOE, MARY, renderAs } from '../test-support/bridge';
import { DomainScreen } from '../screens/DomainScreen';
import { HistoryScreen } from '../screens/HistoryScreen';
import { OverviewScreen } from '../screens/OverviewScreen';
import { SettingsScreen } from '../screens/SettingsScreen';

let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start({ heldWithoutPostfix: true });
  harness.enforcer.anomalyWatch = watchAnomalies({ db: harness.db, enforcer: harness.enforcer, held: harness.held!, log: pino({ level: 'silent' }), notify: () => undefined, nowMs: () => harness.nowMs });
});
afterEach(async () => {
  await harness.close();
});

/** alice's login used from `count` addresses: 11 raises "logged in from many addresses" (threshold 10). */
const aliceLogsInFrom = (count: number) => {
  for (let i = 1; i <= count; i++) harness.enforcer.check({ sender: 'alice@example.com', saslUsername: 'alice@example.com', clientAddress: `203.0.113.${i}`, recipientCount: 1 });
};

const SEEN = 'Logged in from 11 IP addresses in an hour (more than 10)';

describe('Unusual sending on the Settings screen', () => {
  it('shows each signal with its threshold and "Off"; switching one off and another to mark compromised is saved', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    expect(await screen.findByText('Unusual sending')).toBeInTheDocument();
    const logins = screen.getByRole('textbox', { name: 'One login used from more than this many IP addresses in an hour' });
    await waitFor(() => expect(logins).toHaveValue('10'));
    expect(screen.getByRole('textbox', { name: 'Messages to more than this many recipient domains in an hour' })).toHaveValue('100');
    expect(screen.getByRole('textbox', { name: /An hour far above the usual/ })).toHaveValue('10');
    const autos = screen.getAllByRole('checkbox', { name: 'Mark the email address as compromised automatically' });
    expect(autos).toHaveLength(3);
    for (const auto of autos) expect(auto).not.toBeChecked();

    await user.click(screen.getAllByRole('checkbox', { name: 'Off' })[1]!); // recipient domains
    await user.click(autos[0]!); // logins: mark compromised
    await user.clear(logins);
    await user.type(logins, '5');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('The settings were saved.')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({
      anomalies: { loginAddresses: { threshold: 5, autoCompromise: true }, recipientDomains: { threshold: null }, volumeSurge: { threshold: 10, autoCompromise: false } },
    });
  });

  it('a threshold of 0 is refused at its field and nothing is saved', async () => {
    const user = userEvent.setup();
    renderAs(harness, ADMIN, <SettingsScreen onLeave={() => undefined} />);
    const logins = await screen.findByRole('textbox', { name: 'One login used from more than this many IP addresses in an hour' });
    await waitFor(() => expect(logins).toHaveValue('10'));
    await user.clear(logins);
    await user.type(logins, '0');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByText('must be a whole number from 1 to 10000, or null to switch the signal off')).toBeInTheDocument();
    expect((await harness.get(ADMIN, '/api/v1/settings')).json()).toMatchObject({ anomalies: { loginAddresses: { threshold: 10 } } });
  });
});

describe('Unusual sending on the overview and the rows', () => {
  it('the overview lists none, then the anomaly with its figures, live', async () => {
    renderAs(harness, ADMIN, <OverviewScreen />);
    expect(await screen.findByText('No unusual sending in the last 24 hours.')).toBeInTheDocument();
    aliceLogsInFrom(11);
    const list = await screen.findByTestId('anomalies');
    await waitFor(() => expect(within(list).getByText(SEEN)).toBeInTheDocument());
    expect(within(list).getByText('alice@example.com')).toBeInTheDocument();
  });

  it('another customer sees none of it', async () => {
    aliceLogsInFrom(11);
    renderAs(harness, MARY, <OverviewScreen />);
    expect(await screen.findByText('No unusual sending in the last 24 hours.')).toBeInTheDocument();
  });

  it("the email address's row carries the mark with its text; other rows none", async () => {
    aliceLogsInFrom(11);
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    const mark = await screen.findByTestId('anomaly-mark');
    expect(mark).toHaveTextContent(`Unusual sending: ${SEEN}`);
    expect(screen.getAllByTestId('anomaly-mark')).toHaveLength(1);
  });

  it('marked automatically: the overview says so, and History says why', async () => {
    await harness.request(ADMIN, 'PATCH', '/api/v1/settings', { anomalies: { loginAddresses: { autoCompromise: true } } });
    aliceLogsInFrom(11);
    renderAs(harness, ADMIN, <OverviewScreen />);
    await waitFor(() => expect(screen.getByText('Marked as compromised automatically')).toBeInTheDocument(), { timeout: 5000 });
    renderAs(harness, ADMIN, <HistoryScreen name="alice@example.com" />);
    expect(await screen.findByText(`Marked as compromised automatically: ${SEEN}`)).toBeInTheDocument();
  });

  it('in German', async () => {
    aliceLogsInFrom(11);
    renderAs(harness, ADMIN, <OverviewScreen />, { locale: 'de-DE' });
    expect(await screen.findByText('Anmeldung von 11 IP-Adressen in einer Stunde (mehr als 10)')).toBeInTheDocument();
  });
});
