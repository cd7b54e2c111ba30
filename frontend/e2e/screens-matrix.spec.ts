import { expect, test, type Browser, type Locator, type Page } from '@playwright/test';
import { cli } from '../../backend-bridge/test-support/daemon-process.js';
import { expectAccessible, expectNoHorizontalOverflow, mailboxRow, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';
import type { Login } from './standalone-daemon.js';

/**
 * Every screen each role may open, at desktop (1280 px) and phone (390 px) width, with real held mail from a real
 * Postfix in it: loaded, checked with axe, checked for layout faults (nothing wider than the window, nothing cut,
 * no word broken over lines, no control over a text) and photographed as test-output/screenshots/
 * <role>-<screen>-<width>.png. At 390 px also the held-mail selection's confirmation and the "Limit Outgoing
 * Messages" dialog for one row and for a selection.
 *
 * Directory: subscription example.com (customer jdoe of reseller res1: domains example.com with alice, bob, carol,
 * dave, and example.net with erin), subscription other.org (customer mary, no reseller).
 */
const stack = MailStack.forSpec({
  settings: ['--enabled', 'on', '--mailbox-limit', '1', '--domain-limit', '50', '--subscription-limit', '100'],
  users: { admin: ['admin'], res1: ['reseller', ['example.com']], jdoe: ['customer', ['example.com']] },
});
const { users, pages } = stack;

// Nothing here changes what the next test sees: a failure does not skip the other roles and widths.

test.beforeAll(async () => {
  const { postfix } = stack;
  // Held mail of two senders (the second message of each, over the mailbox limit of 1), and a compromised address.
  const held: string[] = [];
  for (const from of ['alice@example.com', 'bob@example.com']) {
    for (const n of [1, 2]) {
      const result = await postfix.sendMail({ from, to: ['someone@remote.test', 'other@remote.test'], subject: `Quarterly report ${n} from ${from}` });
      expect(result.accepted, result.transcript).toBe(true);
      if (n === 2) held.push(result.queueId as string);
    }
  }
  const queueName = async (id: string) => (await postfix.queue()).find((entry) => entry.queue_id === id)?.queue_name ?? null;
  for (const id of held) await expect.poll(() => queueName(id)).toBe('hold');
  // History has something to show too: the marking.
  await cli(['mailbox', 'compromised', 'dave@example.com', '--data-dir', stack.dataDir]);
});

const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;
type Width = keyof typeof WIDTHS;
const pixels = (width: Width) => WIDTHS[width].width;

interface Screen {
  name: string;
  path: string;
  /** Shown once the screen has its data. */
  ready: (page: Page) => Locator;
}

const SCREENS: Screen[] = [
  { name: 'overview', path: '/', ready: (page) => page.getByTestId('held-count') },
  { name: 'subscriptions', path: '/subscriptions', ready: (page) => page.getByTestId('subscription-list').getByRole('row').filter({ hasText: 'example.com' }) },
  { name: 'subscription', path: '/subscriptions/example.com', ready: (page) => page.getByTestId('domain-list').getByRole('row').filter({ hasText: 'example.net' }) },
  { name: 'domain', path: '/domains/example.com', ready: (page) => mailboxRow(page, 'alice@example.com').getByTestId('usage') },
  { name: 'held', path: '/held', ready: (page) => page.getByTestId('held-list').getByRole('row').filter({ hasText: 'bob@example.com' }) },
  { name: 'history', path: '/history', ready: (page) => page.getByTestId('history-list').getByRole('row').filter({ hasText: 'dave@example.com' }) },
  { name: 'settings', path: '/settings', ready: (page) => page.getByRole('textbox', { name: 'Default limit on outgoing messages from an email address (per hour)' }) },
  { name: 'not-found', path: '/no/such/page', ready: (page) => page.getByText('There is no page at /no/such/page.') },
];
const ROLES = [
  { role: 'admin', who: () => users.admin, screens: SCREENS },
  { role: 'reseller', who: () => users.res1, screens: SCREENS.filter((screen) => screen.name !== 'settings') },
  { role: 'customer', who: () => users.jdoe, screens: SCREENS.filter((screen) => screen.name !== 'settings') },
] as const;

async function logIn(browser: Browser, who: Login, width: Width): Promise<Page> {
  const page = await pages.logIn(browser, who);
  await page.setViewportSize(WIDTHS[width]);
  return page;
}

/** Opens a screen through the address bar, as a link from a notification would, and waits for its data. */
async function open(page: Page, screen: Screen): Promise<void> {
  await page.goto(screen.path);
  await expect(screen.ready(page).first()).toBeVisible();
}

const dialog = (page: Page) => page.getByRole('dialog');
/** The open dialog's box, for the layout check (the page behind it is covered on purpose). */
const DIALOG = '[role="dialog"]';

test('the login page at desktop and phone width', async ({ browser }) => {
  for (const width of ['desktop', 'phone'] as const) {
    const page = await pages.newPage(browser);
    await page.setViewportSize(WIDTHS[width]);
    await page.goto('/');
    await expect(page.getByRole('heading', { name: 'Log in to Outgoing Mail Limits' })).toBeVisible();
    await expectAccessible(page);
    await expectNoHorizontalOverflow(page);
    await shoot(page, `login-${pixels(width)}`);
  }
});

for (const { role, who, screens } of ROLES) {
  for (const width of ['desktop', 'phone'] as const) {
    test(`${role} at ${pixels(width)} px: ${screens.map((screen) => screen.name).join(', ')}`, async ({ browser }) => {
      const page = await logIn(browser, who(), width);
      for (const screen of screens) {
        await test.step(screen.name, async () => {
          await open(page, screen);
          await expectAccessible(page);
          await expectNoHorizontalOverflow(page);
          await shoot(page, `${role}-${screen.name}-${pixels(width)}`);
        });
      }
    });
  }

  test(`${role} at 390 px: a selection of held mail, its confirmation, and the limit dialogs`, async ({ browser }) => {
    const page = await logIn(browser, who(), 'phone');
    const held = SCREENS.find((screen) => screen.name === 'held')!;
    await open(page, held);
    // On a phone the toolbar folds the selection's controls into its "Selection" menu, as Plesk's lists do.
    const selectionMenu = page.getByRole('button', { name: 'Selection', exact: true });
    await selectionMenu.click();
    await page.getByRole('option', { name: 'All on this page (2)' }).click();
    // The menu closes on a choice; a click while it is still closing would not open it again.
    await expect(page.getByRole('option', { name: 'All on this page (2)' })).toHaveCount(0);
    await expect(page.getByTestId('held-list').getByRole('row').filter({ has: page.getByRole('checkbox', { checked: true }) })).toHaveCount(2);
    await expectNoHorizontalOverflow(page);
    await shoot(page, `${role}-held-selection-390`);
    await selectionMenu.click();
    await page.getByRole('option', { name: 'Release Now (2)' }).click();
    await expect(dialog(page)).toContainText(/Release \d+ messages\?/);
    await expectAccessible(page);
    await expectNoHorizontalOverflow(page, DIALOG);
    await shoot(page, `${role}-held-bulk-confirm-390`);
    await dialog(page).getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog(page)).toHaveCount(0);

    await open(page, SCREENS.find((screen) => screen.name === 'domain')!);
    await mailboxRow(page, 'alice@example.com').getByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' }).click();
    await expect(dialog(page)).toContainText('alice@example.com');
    await expectAccessible(page);
    await expectNoHorizontalOverflow(page, DIALOG);
    await shoot(page, `${role}-limit-dialog-390`);
    await dialog(page).getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog(page)).toHaveCount(0);

    for (const address of ['alice@example.com', 'bob@example.com']) await mailboxRow(page, address).locator('.pul-checkbox__indicator').click();
    await page.getByTestId('mailbox-list').getByRole('button', { name: 'Limit Outgoing Messages', exact: true }).click();
    await expect(dialog(page)).toContainText('For 2 selected email addresses');
    await expectAccessible(page);
    await expectNoHorizontalOverflow(page, DIALOG);
    await shoot(page, `${role}-limit-dialog-bulk-390`);
  });
}
