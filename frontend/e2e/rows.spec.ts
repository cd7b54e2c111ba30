import { expect, test, type Browser, type Page } from '@playwright/test';
import { cli } from '../../backend-bridge/test-support/daemon-process.js';
import { expectAccessible, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';
import type { Login } from './standalone-daemon.js';

/**
 * Rows say what is so, with real mail through a real Postfix: a mailbox with room under a domain at 0 says its mail
 * is held because of the domain and links to it; an email address is marked compromised and restored from its row;
 * with limits switched off every screen says so and no row says "Not sending" or "Holding".
 *
 * Directory: subscription example.com (customer jdoe: domains example.com with alice, bob, carol, dave, and
 * example.net with erin), subscription other.org (customer mary).
 */
const stack = MailStack.forSpec({
  settings: ['--enabled', 'on', '--mailbox-limit', '3', '--domain-limit', '50', '--subscription-limit', '100'],
  prepare: async (dataDir) => {
    await cli(['limit', 'set', 'domain', 'example.net', '0', '--data-dir', dataDir]);
  },
  users: { admin: ['admin'], jdoe: ['customer', ['example.com']] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });
const logIn = (browser: Browser, who: Login, firstPath = '/') => pages.logIn(browser, who, firstPath);

async function sendHeld(from: string, subject: string): Promise<void> {
  const result = await stack.postfix.sendMail({ from, to: ['someone@remote.test'], subject });
  expect(result.accepted, result.transcript).toBe(true);
  const queueId = result.queueId as string;
  await expect.poll(async () => (await stack.postfix.queue()).find((entry) => entry.queue_id === queueId)?.queue_name ?? null).toBe('hold');
}

const stateOf = (page: Page, address: string) => mailboxRow(page, address).getByTestId('sending-state');

test('a mailbox with room under a domain at 0 says the domain holds its mail, and links to its held messages', async ({ browser }) => {
  await sendHeld('erin@example.net', 'erin 1');
  const page = await logIn(browser, users.jdoe, '/domains/example.net');
  await expect(mailboxRow(page, 'erin@example.net')).toContainText('0 of 3 this hour');
  await expect(stateOf(page, 'erin@example.net')).toHaveText('Holding new mail: domain example.net has limit 0');
  await shoot(page, 'rows-domain-at-zero');
  await expectAccessible(page);

  await mailboxRow(page, 'erin@example.net').getByRole('link', { name: '1 held, of erin@example.net' }).click();
  await expect(page.getByRole('heading', { name: 'Held messages of erin@example.net', exact: true })).toBeVisible();
  await expect(page.getByTestId('held-list').getByRole('row').filter({ hasText: 'erin@example.net' })).toContainText(
    'Waits until a person releases it: domain example.net has limit 0.',
  );
  await shoot(page, 'rows-held-as-of-now');
});

test('an email address is marked compromised from its row, says so with its usage explained, and is restored from its row', async ({ browser }) => {
  const page = await logIn(browser, users.admin, '/domains/example.com');
  await expect(stateOf(page, 'alice@example.com')).toHaveText('Sending');
  await mailboxRow(page, 'alice@example.com').getByRole('button', { name: 'Mark as Compromised: alice@example.com' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Mark as Compromised' }).click();
  await expect(page.getByText('alice@example.com was marked as compromised.')).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com').getByText('Compromised', { exact: true })).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('0 of 0 this hour');
  await expect(stateOf(page, 'alice@example.com')).toHaveText('Holding new mail: marked as compromised');

  await sendHeld('alice@example.com', 'alice 1');
  await expect(mailboxRow(page, 'alice@example.com').getByRole('link', { name: '1 held, of alice@example.com' })).toBeVisible();
  await shoot(page, 'rows-compromised');
  await expectAccessible(page);

  await mailboxRow(page, 'alice@example.com').getByRole('button', { name: 'Restore alice@example.com' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
  await expect(page.getByText('alice@example.com was restored; its held messages are sent as the limit allows.')).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com').getByText('Compromised', { exact: true })).toHaveCount(0);
  // Restored to 3 per hour: the held message leaves by itself and counts.
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('1 of 3 this hour');
  await expect(stateOf(page, 'alice@example.com')).toHaveText('Sending');
});

test('limits switched off: every screen says so, the admin gets a link to switch them on, and no row says "Not sending" or "Holding"', async ({ browser }) => {
  await cli(['settings', 'set', '--enabled', 'off', '--data-dir', stack.daemon.dataDir]);
  const admin = await logIn(browser, users.admin, '/domains/example.net');
  await expect(admin.getByTestId('limits-off')).toContainText('Limitations on outgoing email messages are switched off');
  await expect(stateOf(admin, 'erin@example.net')).toHaveText('Sending: limits are switched off');
  await expect(admin.getByText(/Not sending|Holding new mail/)).toHaveCount(0);
  await shoot(admin, 'rows-limits-off');
  await expectAccessible(admin);
  await admin.setViewportSize({ width: 390, height: 844 });
  await shoot(admin, 'rows-limits-off-390');
  await admin.getByTestId('limits-off').getByRole('link', { name: 'Switch them on' }).click();
  await expect(admin.getByRole('heading', { name: 'Limitations on outgoing email messages' })).toBeVisible();

  const customer = await logIn(browser, users.jdoe, '/subscriptions');
  await expect(customer.getByTestId('limits-off')).toContainText('Only the administrator can switch them on.');
  await customer.goto('/');
  await expect(customer.getByTestId('limits-off')).toBeVisible();
  await shoot(customer, 'rows-limits-off-customer');
});
