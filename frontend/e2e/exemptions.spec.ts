import { expect, test } from '@playwright/test';
import { expectAccessible, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';

/**
 * A temporary exemption set in the browser and enforced by a real Postfix: the administrator raises alice's hourly
 * limit of 2 to 4 in "Exempt Temporarily"; the row shows the badge with its end, the overview lists it, and Postfix
 * accepts 4 messages and defers the 5th at the raised limit. Ended early in the dialog, the limit of 2 is back.
 */
const stack = MailStack.forSpec({
  settings: ['--mailbox-limit', '2', '--domain-limit', '100', '--subscription-limit', '100', '--over-limit-action', 'defer'],
  users: { admin: ['admin'] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });

test('the administrator raises a limit for a while; the row and the overview show it; Postfix lets 4 through', async ({ browser }) => {
  const page = await pages.logIn(browser, users.admin, '/domains/example.com');
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('0 of 2 this hour');
  await page.getByRole('button', { name: 'Exempt Temporarily: alice@example.com' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('radio', { name: 'Keep the hourly limit (2)' })).toBeChecked();
  await dialog.getByText('Raise the hourly limit to', { exact: true }).click();
  await dialog.getByRole('textbox', { name: 'Messages per hour until the end' }).fill('4');
  await expect(dialog.getByLabel('Until', { exact: true })).toHaveAttribute('type', 'datetime-local');
  await shoot(page, 'exemption-dialog');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(page.getByText(/^Exemption of alice@example\.com saved until /)).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com').getByTestId('exemption-badge')).toHaveText(/^Raised to 4 per hour until /);

  const send = () => stack.postfix.sendMail({ from: 'alice@example.com', to: ['someone@remote.test'], subject: 'newsletter' });
  for (const attempt of [1, 2, 3, 4]) expect((await send()).accepted, `message ${attempt}`).toBe(true);
  const fifth = await send();
  expect(fifth.accepted, fifth.transcript).toBe(false);
  expect(fifth.text).toMatch(/Outgoing limit of 4 messages\/hour for mailbox alice@example\.com reached/);
  // The row's usage against its own limit; the badge says why it may send more.
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('4 of 2 this hour');
  await shoot(page, 'domain-mailboxes-exemption');
  await expectAccessible(page);

  await page.goto('/');
  await expect(page.getByTestId('exemptions')).toContainText('alice@example.com');
  await expect(page.getByTestId('exemptions')).toContainText('Raised to 4 per hour');
  await shoot(page, 'overview-exemptions');

  await page.goto('/domains/example.com');
  await page.getByRole('button', { name: 'Exempt Temporarily: alice@example.com' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'End Exemption Now' }).click();
  await expect(page.getByText('Exemption of alice@example.com ended; its own limits apply again.')).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com').getByTestId('exemption-badge')).toHaveCount(0);
  const afterEnd = await send();
  expect(afterEnd.text).toMatch(/Outgoing limit of 2 messages\/hour for mailbox alice@example\.com reached/);
});
