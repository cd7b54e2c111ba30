import { expect, test } from '@playwright/test';
import { expectAccessible, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';

/**
 * Unusual sending, set in the browser and raised by a real Postfix: the administrator lowers "Messages to more
 * than this many recipient domains in an hour" to 3 and has it mark the address compromised; alice then sends one
 * local message (sendmail, through the milter, which sees every recipient) to 4 domains. The overview lists the
 * anomaly, alice's row carries its mark, and she is marked compromised by the system.
 */
const stack = MailStack.forSpec({
  milter: true,
  settings: ['--mailbox-limit', '100', '--domain-limit', '1000', '--subscription-limit', '1000'],
  users: { admin: ['admin'] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });

test('the administrator sets "Unusual sending"; mail to 4 domains is listed on the overview and marked on the row', async ({ browser }) => {
  const page = await pages.logIn(browser, users.admin, '/settings');
  const domains = page.getByRole('textbox', { name: 'Messages to more than this many recipient domains in an hour' });
  await expect(domains).toHaveValue('100');
  await domains.fill('3');
  // ui-library draws its own box over the input: the label is what a person clicks.
  await page.getByText('Mark the email address as compromised automatically').nth(1).click();
  await expect(page.getByRole('checkbox', { name: 'Mark the email address as compromised automatically' }).nth(1)).toBeChecked();
  await shoot(page, 'settings-unusual-sending');
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByText('The settings were saved.')).toBeVisible();

  await page.goto('/');
  await expect(page.getByText('No unusual sending in the last 24 hours.')).toBeVisible();
  await stack.postfix.sendLocalMail({ from: 'alice@example.com', to: ['a@one.test', 'b@two.test', 'c@three.test', 'd@four.test'], subject: 'four domains' });

  const seen = 'Sent to 4 recipient domains in an hour (more than 3)';
  const list = page.getByTestId('anomalies');
  await expect(list.getByText(seen)).toBeVisible({ timeout: 30_000 });
  await expect(list.getByText('Marked as compromised automatically')).toBeVisible();
  await shoot(page, 'overview-unusual-sending');
  await expectAccessible(page);

  await page.goto('/domains/example.com');
  await expect(mailboxRow(page, 'alice@example.com').getByTestId('anomaly-mark')).toHaveText(`Unusual sending: ${seen}`);
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('Compromised');
  await expect(mailboxRow(page, 'bob@example.com').getByTestId('anomaly-mark')).toHaveCount(0);
  await shoot(page, 'domain-mailboxes-unusual-sending');
  await expectAccessible(page);
});
