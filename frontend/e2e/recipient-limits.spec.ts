import { expect, test } from '@playwright/test';
import { expectAccessible, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';

/**
 * A maximum of recipients set in the browser and enforced by a real Postfix: jdoe gives alice "Recipients per
 * message: 3" in the "Limit Outgoing Messages" dialog; a message to 4 recipients gets the permanent 554 5.5.3
 * answer, one to 3 passes, and the administrator's overview lists the refusal in words.
 */
const stack = MailStack.forSpec({
  milter: true,
  settings: ['--mailbox-limit', '100', '--domain-limit', '1000', '--subscription-limit', '1000'],
  users: { admin: ['admin'], jdoe: ['customer', ['example.com']] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });

test('a customer sets recipients per message in the dialog; Postfix refuses a message over it for good; the overview says so', async ({ browser }) => {
  const page = await pages.logIn(browser, users.jdoe, '/domains/example.com');
  await page.getByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByRole('radio', { name: 'Use the default (any number)' })).toBeChecked();
  await dialog.getByText('Custom maximum', { exact: true }).click();
  await dialog.getByRole('textbox', { name: 'Most recipients in one message' }).fill('3');
  await shoot(page, 'limit-dialog-recipients');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(page.getByText('Limit on outgoing messages saved for alice@example.com.')).toBeVisible();

  const to = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@remote.test`);
  const four = await stack.postfix.sendMail({ from: 'alice@example.com', to: to(4), subject: 'four' });
  expect(four.accepted, four.transcript).toBe(false);
  expect([four.code, four.enhanced]).toEqual([554, '5.5.3']);
  expect(four.text).toContain('Too many recipients: at most 3 per message for mailbox alice@example.com');
  expect((await stack.postfix.sendMail({ from: 'alice@example.com', to: to(3), subject: 'three' })).accepted).toBe(true);

  const admin = await pages.logIn(browser, users.admin, '/');
  await expect(admin.getByTestId('events')).toContainText('Refused: more than 3 recipients');
  await shoot(admin, 'overview-recipients-refused');
  await expectAccessible(admin);
});
