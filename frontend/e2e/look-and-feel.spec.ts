import { expect, test, type Browser, type Page } from '@playwright/test';
import type { DaemonProcess } from '../../backend-bridge/test-support/daemon-process.js';
import { exampleDirectory } from '../../backend-bridge/test-support/directory-fixture.js';
import { sendMessages } from '../../backend-bridge/test-support/policy-client.js';
import { expectAccessible, Pages, shoot } from './pages.js';
import { addUser, prepareDataDir, startStandaloneDaemon, type Login } from './standalone-daemon.js';

/**
 * The look-and-feel items as a browser lays them out: the chart's width and axis, table columns that keep their
 * width while usage refreshes, search as one types, the settings form's label column and "Unlimited" beside its
 * field, "not found" for an unknown address and the favicon. Mail reaches the daemon through its real policy
 * service socket (the same protocol Postfix speaks); no Postfix is needed for what is checked here.
 */
let daemon: DaemonProcess;
let baseUrl: string;
let admin: Login;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const dataDir = await prepareDataDir(exampleDirectory(), ['--mailbox-limit', '3', '--domain-limit', '10', '--subscription-limit', '20']);
  admin = await addUser(dataDir, 'admin', 'admin');
  ({ daemon, baseUrl } = await startStandaloneDaemon(dataDir));
});

test.afterAll(async () => {
  await daemon?.stop();
});

const pages = new Pages(() => baseUrl);
test.afterEach(async () => {
  await pages.closeAll();
});
const logIn = (browser: Browser, firstPath = '/') => pages.logIn(browser, admin, firstPath);
const phone = (page: Page) => page.setViewportSize({ width: 390, height: 844 });

test('the standalone app has a favicon', async ({ browser }) => {
  const page = await pages.newPage(browser);
  await page.goto('/');
  const href = await page.locator('link[rel="icon"]').getAttribute('href');
  expect(href).toBeTruthy();
  const icon = await page.request.get(href!);
  expect(icon.status()).toBe(200);
  expect(icon.headers()['content-type']).toContain('image/svg+xml');
});

test('an unknown address says "not found" and leads back to the overview', async ({ browser }) => {
  const page = await logIn(browser, '/mailboxes/nope@x');
  await expect(page.getByText('There is no page at /mailboxes/nope@x.')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Control' })).toHaveCount(0);
  await shoot(page, 'not-found');
  await expectAccessible(page);
  await page.getByRole('link', { name: 'Go to Outgoing Mail Control' }).click();
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Control' })).toBeVisible();
});

test('the chart fills the width it has, with a y-axis and the current hour labelled, and says held, not blocked', async ({ browser }) => {
  expect(await sendMessages(daemon.policySocket, 'alice@example.com', 4)).toEqual(['action=DUNNO', 'action=DUNNO', 'action=DUNNO', expect.stringMatching(/^action=HOLD /)]);
  const page = await logIn(browser);
  const chart = page.getByTestId('stats-chart');
  await expect(page.getByTestId('legend-held')).toContainText('Held: 1');
  await expect(page.getByTestId('legend-sent')).toContainText('Sent: 3');
  await expect(page.getByText(/blocked/i)).toHaveCount(0);
  await expect(page.getByTestId('current-hour')).toHaveText('This hour');
  await expect(page.getByTestId('y-tick')).toHaveText(['0', '1', '2', '3', '4']);
  const fills = async () => {
    const [svg, section] = await Promise.all([chart.boundingBox(), chart.locator('xpath=ancestor::figure').boundingBox()]);
    return Math.abs((svg?.width ?? 0) - (section?.width ?? -100)) <= 2;
  };
  await expect.poll(fills).toBe(true);
  expect((await chart.boundingBox())!.width).toBeGreaterThan(1000);
  await shoot(page, 'overview-chart');
  await expectAccessible(page);

  await phone(page);
  await expect.poll(fills).toBe(true);
  expect((await chart.boundingBox())!.width).toBeLessThanOrEqual(390);
  // The "nothing" lines are one line of text each, not pictures.
  await expect(page.locator('main img')).toHaveCount(0);
  await shoot(page, 'overview-chart-390');
});

test('table columns keep their width while usage refreshes; search filters as one types', async ({ browser }) => {
  const page = await logIn(browser, '/domains/example.com');
  const list = page.getByTestId('mailbox-list');
  const bob = list.getByRole('row').filter({ hasText: 'bob@example.com' });
  await expect(bob).toContainText('0 of 3 this hour');
  const widths = () => list.locator('th').evaluateAll((cells) => cells.map((cell) => Math.round(cell.getBoundingClientRect().width)));
  const before = await widths();
  expect(await sendMessages(daemon.policySocket, 'bob@example.com', 4)).toHaveLength(4);
  await expect(bob).toContainText(/3 of 3 this hour, frees in \d+ min/);
  expect(await widths()).toEqual(before);

  await page.getByRole('textbox', { name: 'Search by name' }).pressSequentially('car');
  await expect(list.getByRole('row').filter({ hasText: '@example.com' })).toHaveCount(1);
  await expect(list.getByRole('row').filter({ hasText: 'carol@example.com' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Search by name' })).toHaveValue('car');
  await expect(page.getByRole('textbox', { name: 'Search by name' })).toBeFocused();
});

test('settings: labels fit the label column and each "Unlimited" sits beside its field', async ({ browser }) => {
  const page = await logIn(browser, '/settings');
  const levels = ['an email address', 'a domain', 'a subscription'];
  for (const level of levels) {
    const field = page.getByRole('textbox', { name: `Default limit on outgoing messages from ${level} (per hour)` });
    await expect(field).toBeVisible();
    const row = field.locator('xpath=ancestor::*[contains(concat(" ", @class, " "), " pul-section-item ")][1]');
    const label = row.locator('.pul-section-item__title');
    const unlimited = row.getByText('Unlimited', { exact: true });
    const [fieldBox, labelBox, unlimitedBox] = await Promise.all([field.boundingBox(), label.boundingBox(), unlimited.boundingBox()]);
    // At most two lines of 20 px for Plesk's label; the checkbox on the field's line, to its right.
    expect(labelBox!.height).toBeLessThanOrEqual(44);
    expect(Math.abs(unlimitedBox!.y + unlimitedBox!.height / 2 - (fieldBox!.y + fieldBox!.height / 2))).toBeLessThan(8);
    expect(unlimitedBox!.x).toBeGreaterThan(fieldBox!.x + fieldBox!.width);
  }
  await shoot(page, 'settings-layout');
  await expectAccessible(page);
  await phone(page);
  const field = page.getByRole('textbox', { name: 'Default limit on outgoing messages from an email address (per hour)' });
  expect((await field.boundingBox())!.x + (await field.boundingBox())!.width).toBeLessThanOrEqual(390);
  await shoot(page, 'settings-layout-390');
});
