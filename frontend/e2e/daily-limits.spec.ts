import { expect, test } from '@playwright/test';
import { expectAccessible, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';

/**
 * A daily limit set in the browser and enforced by a real Postfix: jdoe gives alice "Messages per day: 2" in the
 * "Limit Outgoing Messages" dialog; with an hourly limit of 100 the third message is deferred with the daily
 * reason, and alice's row shows the last 24 hours.
 */
const stack = MailStack.forSpec({
  milter: true,
  settings: ['--mailbox-limit', '100', '--domain-limit', '1000', '--subscription-limit', '1000', '--over-limit-action', 'defer'],
  users: { jdoe: ['customer', ['example.com']] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });

test('a customer sets a daily limit in the dialog; Postfix defers past it with the daily reason; the row shows the day', async ({ browser }) => {
  const page = await pages.logIn(browser, users.jdoe, '/domains/example.com');
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('0 of 100 this hour');
  await page.getByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('radio', { name: 'Use the default (no daily limit)' })).toBeChecked();
  await dialog.getByText('Custom daily value', { exact: true }).click();
  await dialog.getByRole('textbox', { name: 'Messages per day' }).fill('2');
  await shoot(page, 'limit-dialog-daily');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(page.getByText('Limit on outgoing messages saved for alice@example.com.')).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('0 of 100 this hour · 0 of 2 today');

  const send = () => stack.postfix.sendMail({ from: 'alice@example.com', to: ['someone@remote.test'], subject: 'daily' });
  for (const attempt of [1, 2]) expect((await send()).accepted, `message ${attempt}`).toBe(true);
  const third = await send();
  expect(third.accepted, third.transcript).toBe(false);
  expect(third.code).toBe(450);
  expect(third.text).toMatch(/Outgoing daily limit of 2 messages for mailbox alice@example\.com reached; try again in 24 hours/);

  await expect(mailboxRow(page, 'alice@example.com')).toContainText(/2 of 100 this hour · 2 of 2 today, frees in 2[34] h \d+ min/);
  await shoot(page, 'domain-mailboxes-daily');
  await expectAccessible(page);
});
