import { expect, test, type Browser } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { cli } from '../../backend-bridge/test-support/daemon-process.js';
import { expectAccessible, expectTwoSentThenDeferred, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';
import type { Login } from './standalone-daemon.js';

/**
 * The whole path, as people use it: the admin switches limits on in the browser, a customer caps a mailbox in the
 * "Limit Outgoing Messages" dialog, a real Postfix enforces it, and the page shows it live. Roles hold in the
 * browser too. Every screen is photographed (test-output/screenshots) and checked with axe.
 *
 * Directory: subscription example.com (customer jdoe of reseller res1: domains example.com with alice, bob, carol,
 * dave, and example.net), subscription other.org (customer mary, no reseller).
 */
// Limits start switched off with a roomy default: the admin turns them on in the browser. Over-limit mail is
// deferred here, so the sender sees 450 4.7.1; held mail (the default) has its own spec, held.spec.ts.
const stack = MailStack.forSpec({
  milter: true,
  settings: ['--enabled', 'off', '--mailbox-limit', '100', '--domain-limit', '10', '--subscription-limit', '20', '--over-limit-action', 'defer'],
  users: { admin: ['admin'], res1: ['reseller', ['example.com']], jdoe: ['customer', ['example.com']], mary: ['customer', ['other.org']] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });
const newPage = (browser: Browser) => pages.newPage(browser);
const logIn = (browser: Browser, who: Login, firstPath = '/') => pages.logIn(browser, who, firstPath);

test('the login page', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Log in to Outgoing Mail Limits' })).toBeVisible();
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await page.getByRole('button', { name: 'Log In' }).click();
  await expect(page.getByRole('alert')).toHaveText('Could not log in: wrong login or password');
  await shoot(page, 'login');
  await expectAccessible(page);
});

test('the admin switches limits on and sets the mailbox default to 3', async ({ browser }) => {
  const page = await logIn(browser, users.admin);
  await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { name: 'Limitations on outgoing email messages' })).toBeVisible();
  const enabled = page.getByLabel('Switch on limitations on outgoing email messages');
  await expect(enabled).not.toBeChecked();
  const mailboxDefault = page.getByRole('textbox', { name: 'Default limit on outgoing messages from an email address (per hour)' });
  await expect(mailboxDefault).toHaveValue('100');

  // A value the API refuses is reported at its field, and nothing is saved.
  await mailboxDefault.fill('-5');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByText('must be a whole number from 0 to 1000000000 or "unlimited"')).toBeVisible();

  // ui-library draws its own box over the input: click the label, as people do.
  await page.getByText('Switch on limitations on outgoing email messages').click();
  await expect(enabled).toBeChecked();
  await mailboxDefault.fill('3');
  // The health panel below the form: the daemon answers, so its line is OK.
  await expect(page.getByText('Health check', { exact: true })).toBeVisible();
  await expect(page.getByRole('row', { name: /Daemon running/ })).toContainText('The daemon runs and answers on its API socket');
  await expect(page.getByRole('row', { name: /Daemon running/ }).getByRole('status')).toHaveText('OK');
  await shoot(page, 'settings');
  await expectAccessible(page);
  await page.getByRole('button', { name: 'OK' }).click();
  await expect(page.getByText('The settings were saved.')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Control' })).toBeVisible();

  const shown = JSON.parse(await cli(['settings', 'show', '--json', '--data-dir', stack.daemon.dataDir])) as { enabled: boolean; defaults: { mailbox: unknown } };
  expect(shown).toMatchObject({ enabled: true, defaults: { mailbox: 3 } });
});

test('a customer caps a mailbox at 2; Postfix defers the third message and the row turns "Not sending" without a reload', async ({ browser }) => {
  const page = await logIn(browser, users.jdoe);
  await page.getByRole('navigation').getByRole('link', { name: 'Subscriptions' }).click();
  await page.getByRole('link', { name: 'example.com' }).click();
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Limits of subscription example.com' })).toBeVisible();
  await expect(page.getByText('Only the administrator or the reseller can change the limit of a subscription.')).toBeVisible();
  await expect(page.getByTestId('domain-list').getByRole('row').filter({ hasText: 'example.net' })).toBeVisible();
  await shoot(page, 'subscription');
  await expectAccessible(page);

  await page.getByTestId('domain-list').getByRole('link', { name: 'example.com' }).click();
  await expect(page.getByRole('heading', { name: 'Email addresses of example.com' })).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('0 of 3 this hour');
  await shoot(page, 'domain-mailboxes');
  await expectAccessible(page);

  await page.getByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('Use the default (3 per hour)')).toBeVisible();
  await expect(dialog.getByText('Your provider allows at most 10 per hour, so Unlimited is not offered. The domain example.com may send at most 10 per hour.')).toBeVisible();
  await expect(dialog.getByRole('radio', { name: 'Unlimited' })).toHaveCount(0);
  await dialog.getByText('Custom value', { exact: true }).click();
  await expect(dialog.getByRole('radio', { name: 'Custom value' })).toBeChecked();
  await dialog.getByRole('textbox', { name: 'Messages per hour' }).fill('2');
  await shoot(page, 'limit-dialog');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(page.getByText('Limit on outgoing messages saved for alice@example.com.')).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('2 per hour (own value)');

  // Marks this page load: a reload would lose it.
  await page.evaluate(() => ((window as unknown as { samePageLoad: boolean }).samePageLoad = true));
  await expectTwoSentThenDeferred(stack.postfix, 'alice@example.com');

  await expect(mailboxRow(page, 'alice@example.com')).toContainText(/2 of 2 this hour, frees in (59|60) min/);
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('Not sending');
  await expect(mailboxRow(page, 'bob@example.com')).toContainText('Sending');
  expect(await page.evaluate(() => (window as unknown as { samePageLoad?: boolean }).samePageLoad)).toBe(true);
  await shoot(page, 'domain-mailboxes-blocked');
});

test("a customer cannot reach another customer's domain or the server settings, even by URL", async ({ browser }) => {
  const page = await logIn(browser, users.jdoe, '/domains/other.org');
  await expect(page.getByRole('alert')).toContainText('Not found or not yours: Domain other.org not found');
  await expect(page.getByText('mallory@other.org')).toHaveCount(0);
  await shoot(page, 'not-yours');

  await page.goto('/subscriptions/other.org');
  await expect(page.getByRole('alert')).toContainText('Not found or not yours: Subscription other.org not found');
  await page.goto('/settings');
  await expect(page.getByRole('alert')).toContainText('Only the administrator can see or change the server settings.');
  await expect(page.getByRole('navigation').getByRole('link', { name: 'Settings' })).toHaveCount(0);

  await page.goto('/subscriptions');
  await expect(page.getByTestId('subscription-list').getByRole('link', { name: 'example.com' })).toBeVisible();
  await expect(page.getByTestId('subscription-list').getByText('other.org')).toHaveCount(0);
});

test('a reseller sees only the subscriptions of its own customers', async ({ browser }) => {
  const page = await logIn(browser, users.res1, '/subscriptions');
  await expect(page.getByRole('heading', { name: 'Subscriptions' })).toBeVisible();
  const list = page.getByTestId('subscription-list');
  await expect(list.getByRole('link', { name: 'example.com' })).toBeVisible();
  await expect(list.getByText('other.org')).toHaveCount(0);
  await shoot(page, 'subscriptions-reseller');
  await expectAccessible(page);

  await page.goto('/domains/other.org');
  await expect(page.getByRole('alert')).toContainText('Not found or not yours');
});

test('the admin overview shows what is at its limit, the top senders and the over-limit attempt', async ({ browser }) => {
  const page = await logIn(browser, users.admin);
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Control' })).toBeVisible();
  await expect(page.getByTestId('blocked-list').getByRole('row').filter({ hasText: 'alice@example.com' })).toContainText('2 of 2 this hour');
  await expect(page.getByTestId('top-senders').getByRole('row').filter({ hasText: 'alice@example.com' })).toBeVisible();
  await expect(page.getByTestId('events').getByRole('row').filter({ hasText: 'alice@example.com' })).toContainText('Deferred');
  await expect(page.getByRole('img', { name: /whole server, last 24 hours: 2 sent, 0 released, 0 held, 1 deferred/ })).toBeVisible();
  await page.getByTestId('top-senders').getByRole('button', { name: 'Show chart for alice@example.com' }).click();
  await expect(page.getByRole('img', { name: /alice@example\.com, last 24 hours: 2 sent, 0 released, 0 held, 1 deferred/ })).toBeVisible();
  await shoot(page, 'overview');
  await expectAccessible(page);

  // The period switch above the chart (the first "Last 7 days"; the report's comes later on the page).
  await page.getByRole('button', { name: 'Last 7 days' }).first().click();
  await expect(page.getByRole('img', { name: /^Messages per 6 hours for Email address alice@example\.com, last 7 days: 2 sent, 0 released, 0 held, 1 deferred$/ })).toBeVisible();
  await expect(page.getByText('Each bar is 6 hours (UTC).')).toBeVisible();
  // The report: alice's deferred attempt against her hourly limit, and the same as a CSV file.
  const report = page.getByTestId('report').getByRole('row').filter({ hasText: 'alice@example.com' });
  await expect(report).toContainText('jdoe (reseller res1)');
  await expect(report).toContainText('0 / 1');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  expect(download.suggestedFilename()).toBe('outgoing-mail-limits-report-7d.csv');
  const csv = await readFile((await download.path())!, 'utf8');
  expect(csv.split('\r\n')[0]).toMatch(/^level,name,customer,reseller,over_limit_events,/);
  expect(csv).toMatch(/\r\nmailbox,alice@example\.com,jdoe,res1,1,1,0,0,1,0,/);
  await expect(page.getByText('The report was downloaded.')).toBeVisible();
  await shoot(page, 'overview-report');
  await expectAccessible(page);
});

test("the admin blocks mary's domain at 0: locked by default, mary's dialog says who set it, and Postfix keeps deferring her mail", async ({ browser }) => {
  const admin = await logIn(browser, users.admin, '/subscriptions/other.org');
  await admin.getByTestId('domain-list').getByRole('button', { name: 'Limit Outgoing Messages of other.org' }).click();
  const dialog = admin.getByRole('dialog');
  await dialog.getByText('Custom value', { exact: true }).click();
  const value = dialog.getByRole('textbox', { name: 'Messages per hour' });
  // Ten digits fit the field: nothing scrolls out of sight.
  await value.fill('1000000000');
  expect(await value.evaluate((input: HTMLInputElement) => input.scrollWidth <= input.clientWidth)).toBe(true);
  await value.fill('99999999999');
  await expect(dialog.getByText('Enter a whole number from 0 to 1,000,000,000')).toBeVisible();
  await value.fill('0');
  await expect(dialog.getByRole('checkbox', { name: 'Let the reseller and the customer change this limit' })).not.toBeChecked();
  await expect(dialog.getByText('Locked: only you (or a higher role) can change this limit.')).toBeVisible();
  await expectAccessible(admin);
  await shoot(admin, 'limit-dialog-lock');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await expect(admin.getByText('Limit on outgoing messages saved for other.org.')).toBeVisible();

  const blocked = await stack.postfix.sendMail({ from: 'mallory@other.org', to: ['someone@remote.test'], subject: 'blocked' });
  expect(blocked.code, blocked.transcript).toBe(450);
  expect(blocked.text).toContain('domain other.org');

  const mary = await logIn(browser, users.mary, '/subscriptions/other.org');
  // The row says it is locked, and by whom, before any dialog opens.
  const maryRow = mary.getByTestId('domain-list').getByRole('row').filter({ hasText: 'other.org' });
  await expect(maryRow.getByRole('img', { name: 'Locked by the administrator admin' })).toBeVisible();
  await shoot(mary, 'domain-row-locked');
  await maryRow.getByRole('button', { name: 'Locked: only the administrator admin can change the limit of other.org' }).click();
  const locked = mary.getByRole('dialog');
  await expect(locked.getByText('The limit of other.org was set by the administrator admin. Only they (or a higher role) can change it.')).toBeVisible();
  await expect(locked.getByRole('button', { name: 'OK' })).toHaveCount(0);
  await expect(locked.getByRole('radio')).toHaveCount(0);
  await expect(locked.getByText('Close', { exact: true })).toBeVisible();
  await expectAccessible(mary);
  await shoot(mary, 'limit-dialog-locked');

  const still = await stack.postfix.sendMail({ from: 'mallory@other.org', to: ['someone@remote.test'], subject: 'still blocked' });
  expect(still.code, still.transcript).toBe(450);
});
