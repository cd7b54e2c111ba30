import { expect, test } from '@playwright/test';
import { expectAccessible, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';

/**
 * Monitor only, chosen in the browser, with a real Postfix: the administrator ticks "Monitor only"; alice (limit 1
 * per hour) sends two messages, both accepted; the overview says one would have been held, and her row says what
 * would happen instead of "Holding new mail".
 */
const stack = MailStack.forSpec({
  milter: true,
  settings: ['--mailbox-limit', '1', '--domain-limit', '1000', '--subscription-limit', '1000'],
  users: { admin: ['admin'] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });

test('the administrator chooses Monitor only; mail over the limit passes; the overview shows what would have been held', async ({ browser }) => {
  const page = await pages.logIn(browser, users.admin);
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  const monitorOnly = page.getByRole('checkbox', { name: 'Monitor only' });
  await expect(monitorOnly).not.toBeChecked();
  // ui-library draws its own box over the input: click the label, as people do.
  await page.getByText('Monitor only', { exact: true }).click();
  await expect(monitorOnly).toBeChecked();
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByText('The settings were saved.')).toBeVisible();
  await expect(page.getByTestId('limits-monitor-only')).toContainText('Monitor only: limits on outgoing email messages are not enforced.');

  const send = (n: number) => stack.postfix.sendMail({ from: 'alice@example.com', to: ['someone@remote.test'], subject: `monitored ${n}` });
  for (const n of [1, 2]) {
    const result = await send(n);
    expect(result.accepted, result.transcript).toBe(true);
  }

  await page.getByRole('navigation').getByRole('link', { name: 'Outgoing Mail Control' }).click();
  const panel = page.getByTestId('would-have-been');
  await expect(panel).toContainText('Would have been held: 1. Would have been deferred: 0.');
  await expect(panel.getByRole('row', { name: /alice@example\.com/ })).toContainText('hourly');
  await shoot(page, 'overview-monitor-only');
  await expectAccessible(page);

  await page.goto('/domains/example.com');
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('Sending (monitor only): would hold new mail, at its limit');
  await expect(mailboxRow(page, 'alice@example.com')).not.toContainText('Holding new mail');
});
