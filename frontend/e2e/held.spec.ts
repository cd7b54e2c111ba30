import { expect, test, type Page } from '@playwright/test';
import { cli } from '../../backend-bridge/test-support/daemon-process.js';
import { expectAccessible, shoot } from './pages.js';
import { MailStack } from './mail-stack.js';

/**
 * Held mail in the browser, against the daemon and a real Postfix: over-limit mail is held (the default action),
 * shows on the "Held messages" screen, and what people do there happens in Postfix's queue: "Release Now" delivers
 * to the sink, "Delete" removes it, "Mark as Compromised" holds a mailbox's mail until "Restore".
 * Limits: mailbox 1, domain 50, subscription 100 per hour (a real hour: nothing leaves the hold queue by itself
 * while a mailbox is over its limit).
 */
const stack = MailStack.forSpec({
  settings: ['--enabled', 'on', '--mailbox-limit', '1', '--domain-limit', '50', '--subscription-limit', '100'],
  users: { admin: ['admin'], jdoe: ['customer', ['example.com']], mary: ['customer', ['other.org']] },
});
const { users, pages } = stack;

test.describe.configure({ mode: 'serial' });

/** Sends one message through Postfix's smtpd; over the limit it must still be accepted (held), never refused. */
async function send(from: string, subject: string): Promise<string> {
  const result = await stack.postfix.sendMail({ from, to: ['someone@remote.test'], subject });
  expect(result.accepted, result.transcript).toBe(true);
  expect(result.queueId, result.transcript).not.toBeNull();
  return result.queueId as string;
}

async function queueNameOf(queueId: string): Promise<string | null> {
  return (await stack.postfix.queue()).find((entry) => entry.queue_id === queueId)?.queue_name ?? null;
}

async function delivered(subject: string): Promise<boolean> {
  return (await stack.postfix.deliveredMessages()).some((message) => message.subject === subject);
}

function heldRow(page: Page, text: string) {
  return page.getByTestId('held-list').getByRole('row').filter({ hasText: text });
}

const queueIds: Record<string, string> = {};

test('over-limit mail is held, shows on the Held messages screen, and "Release Now" delivers it', async ({ browser }) => {
  await send('alice@example.com', 'alice 1');
  queueIds.alice = await send('alice@example.com', 'alice 2');
  await send('bob@example.com', 'bob 1');
  queueIds.bob = await send('bob@example.com', 'bob 2');
  await send('mallory@other.org', 'mallory 1');
  queueIds.mallory = await send('mallory@other.org', 'mallory 2');
  for (const id of Object.values(queueIds)) await expect.poll(() => queueNameOf(id)).toBe('hold');

  const page = await pages.logIn(browser, users.admin);
  await expect(page.getByTestId('held-count')).toHaveText(/3 messages are held because of outgoing limits\./);
  await page.getByRole('link', { name: 'Show held messages' }).click();
  await expect(page.getByRole('heading', { name: 'Held messages', exact: true })).toBeVisible();
  const alice = heldRow(page, 'alice@example.com');
  await expect(alice).toContainText('Email address alice@example.com');
  // What was reached, and when it leaves as of now (not the wait written when it was held).
  await expect(alice).toContainText(/Limit of 1 per hour for email address alice@example\.com reached\. Sent automatically in about (59|60) min\./);
  await expect(heldRow(page, 'bob@example.com')).toBeVisible();
  await expect(heldRow(page, 'mallory@other.org')).toBeVisible();
  await shoot(page, 'held-messages');
  await expectAccessible(page);

  await page.getByRole('button', { name: `Release now the message ${queueIds.alice}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('As the administrator, you release it even if the limit is reached now');
  await shoot(page, 'held-release-confirmation');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'Release Now' }).click();
  await expect(page.getByText(`The message ${queueIds.alice} was released.`)).toBeVisible();
  await expect(heldRow(page, 'alice@example.com')).toHaveCount(0);
  await expect.poll(() => delivered('alice 2'), { timeout: 30_000 }).toBe(true);

  // The admin's release beyond the limit is counted and audited as such.
  const audit = JSON.parse(await cli(['held', 'list', '--status', 'released', '--json', '--data-dir', stack.daemon.dataDir])) as Array<{ queueId: string; resolvedBy: string }>;
  expect(audit).toEqual([expect.objectContaining({ queueId: queueIds.alice, resolvedBy: 'admin' })]);
});

test('"Delete" removes a held message from the queue after a confirmation; it is never delivered', async ({ browser }) => {
  const page = await pages.logIn(browser, users.admin, '/held');
  await page.getByRole('button', { name: `Delete the message ${queueIds.bob}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('is removed from the mail queue and is never delivered');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByText(`The message ${queueIds.bob} was deleted.`)).toBeVisible();
  await expect(heldRow(page, 'bob@example.com')).toHaveCount(0);
  expect(await queueNameOf(queueIds.bob as string)).toBeNull();
  expect(await delivered('bob 2')).toBe(false);

  await page.getByRole('button', { name: 'Deleted', exact: true }).click();
  await expect(heldRow(page, 'bob@example.com')).toContainText('Deleted by admin');
});

test("a customer sees only its own held mail, cannot release beyond the limit, and is told why a release waits", async ({ browser }) => {
  const aliceAgain = await send('alice@example.com', 'alice 3');
  await expect.poll(() => queueNameOf(aliceAgain)).toBe('hold');
  const page = await pages.logIn(browser, users.jdoe);
  await page.getByRole('navigation').getByRole('link', { name: 'Held messages' }).click();
  await expect(heldRow(page, 'alice@example.com')).toBeVisible();
  await expect(page.getByTestId('held-list')).not.toContainText('mallory@other.org');

  await page.getByRole('button', { name: `Release now the message ${aliceAgain}` }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('If the limit has no room now, the message stays held and is sent automatically later.');
  await expect(dialog).not.toContainText('As the administrator');
  await dialog.getByRole('button', { name: 'Release Now' }).click();
  // The refusal in people's words, worded by the screen from the code the API answers.
  await expect(
    page.getByText(new RegExp(`^The message ${aliceAgain} was not released: Limit of 1 per hour for email address alice@example\\.com reached\\. The message stays held and is sent automatically in about \\d+ min\\.$`)),
  ).toBeVisible();
  await expect(heldRow(page, 'alice@example.com')).toBeVisible();
  expect(await queueNameOf(aliceAgain)).toBe('hold');
  await shoot(page, 'held-messages-customer');
  await expectAccessible(page);
});

test('a customer marks a mailbox compromised from its row: its mail is held; Restore lets it go', async ({ browser }) => {
  const page = await pages.logIn(browser, users.jdoe, '/domains/example.com');
  await page.getByTestId('mailbox-list').getByRole('link', { name: 'Held messages of carol@example.com' }).click();
  await expect(page.getByRole('heading', { name: 'Held messages of carol@example.com', exact: true })).toBeVisible();
  await expect(page.getByText('No held messages of carol@example.com.')).toBeVisible();
  await page.getByRole('button', { name: 'Mark as Compromised: carol@example.com' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('The limit of carol@example.com becomes 0');
  await dialog.getByRole('button', { name: 'Mark as Compromised' }).click();
  await expect(page.getByText('carol@example.com was marked as compromised.')).toBeVisible();
  await expect(page.getByTestId('compromised-list').getByRole('row').filter({ hasText: 'carol@example.com' })).toContainText('the default');

  const carol = await send('carol@example.com', 'carol 1');
  // The reason as of now: it waits for a person because the address is marked compromised.
  await expect(heldRow(page, 'carol@example.com')).toContainText(
    'Sending is not allowed: limit 0 for email address carol@example.com. Waits until a person releases it: email address carol@example.com is marked as compromised.',
  );
  expect(await queueNameOf(carol)).toBe('hold');
  await shoot(page, 'held-compromised');
  await expectAccessible(page);

  await page.getByTestId('compromised-list').getByRole('button', { name: 'Restore carol@example.com' }).click();
  // Restore asks first, like the other actions.
  const confirmRestore = page.getByRole('dialog', { name: 'Restore carol@example.com?' });
  await confirmRestore.getByRole('button', { name: 'Restore', exact: true }).click();
  await expect(page.getByText('carol@example.com was restored; its held messages are sent as the limit allows.')).toBeVisible();
  await expect(page.getByTestId('compromised-list')).toHaveCount(0);
  // Back to the default of 1 an hour: the release worker sends the held message by itself.
  await expect.poll(() => delivered('carol 1'), { timeout: 30_000 }).toBe(true);
  await expect(heldRow(page, 'carol@example.com')).toHaveCount(0);
});

test('a failed load shows the error with Retry, and Retry loads the list', async ({ browser }) => {
  // Not the overview: it asks for held mail too.
  const page = await pages.logIn(browser, users.admin, '/subscriptions');
  // The next request for held mail fails on the way, as with a dropped connection.
  await page.route('**/api/v1/held?*', (route) => route.abort('connectionfailed'), { times: 1 });
  await page.getByRole('navigation').getByRole('link', { name: 'Held messages' }).click();
  await expect(page.getByRole('alert')).toContainText('Could not load the data: Network Error');
  await page.getByRole('button', { name: 'Retry' }).click();
  await expect(heldRow(page, 'mallory@other.org')).toBeVisible();
});

test('a bad day: select all from one sender, release them with one confirmation; subjects show as the text they are', async ({ browser }) => {
  const subject = '<b>Rechnung</b> für Sie';
  const encoded = `=?UTF-8?B?${Buffer.from(subject, 'utf8').toString('base64')}?=`;
  const ids: string[] = [];
  await send('erin@example.net', 'erin 1');
  for (const n of [2, 3, 4]) ids.push(await send('erin@example.net', n === 2 ? encoded : `erin ${n}`));
  for (const id of ids) await expect.poll(() => queueNameOf(id)).toBe('hold');

  const page = await pages.logIn(browser, users.admin, '/held');
  const first = heldRow(page, ids[0] as string);
  await expect(first).toContainText(subject);
  await expect(first).toContainText('someone@remote.test');
  // The customer's markup is text: no element came of it.
  await expect(page.getByTestId('held-list').locator('b')).toHaveCount(0);

  await page.getByRole('button', { name: 'Select', exact: true }).click();
  await page.getByText('All from erin@example.net (3)').click();
  await page.getByRole('button', { name: 'Release Now (3)' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Release 3 messages?');
  await expect(dialog).toContainText('As the administrator, you release them even if the limit is reached now');
  await shoot(page, 'held-bulk-confirmation');
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'Release Now' }).click();
  await expect(page.getByText('3 messages were released.')).toBeVisible();
  await expect(heldRow(page, 'erin@example.net')).toHaveCount(0);
  await expect.poll(() => delivered(encoded), { timeout: 30_000 }).toBe(true);
  await expect.poll(() => delivered('erin 4'), { timeout: 30_000 }).toBe(true);

  // What left by itself says so in words.
  await page.getByRole('button', { name: 'Released', exact: true }).click();
  await expect(heldRow(page, 'carol@example.com')).toContainText('Released automatically');
  await expect(page.getByTestId('held-list')).not.toContainText('worker');
  await shoot(page, 'held-released');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/held');
  await expect(heldRow(page, 'mallory@other.org')).toBeVisible();
  await shoot(page, 'held-messages-390');
});

test('History: who changed what, old → new, for what each role may see', async ({ browser }) => {
  const admin = await pages.logIn(browser, users.admin);
  await admin.getByRole('navigation').getByRole('link', { name: 'History' }).click();
  await expect(admin.getByRole('heading', { name: 'History', exact: true })).toBeVisible();
  const list = admin.getByTestId('history-list');
  await expect(list).toContainText('released beyond the limit');
  await expect(list).toContainText('Marked as compromised: limit from the default to 0 per hour');
  await expect(list).toContainText('jdoe (customer)');
  await shoot(admin, 'history');
  await expectAccessible(admin);
  await admin.getByRole('textbox', { name: 'Login of the person' }).fill('jdoe');
  await admin.getByRole('textbox', { name: 'Login of the person' }).press('Enter');
  await expect(list.getByRole('row').filter({ hasText: 'admin (administrator)' })).toHaveCount(0);
  await expect(list).toContainText('Restored: limit from 0 per hour to the default');

  const mary = await pages.logIn(browser, users.mary, '/history');
  await expect(mary.getByTestId('history-list')).toContainText('No changes are recorded yet.');
  await expect(mary.getByTestId('history-list')).not.toContainText('carol@example.com');
  await mary.setViewportSize({ width: 390, height: 844 });
  await shoot(mary, 'history-customer-390');
  await expectAccessible(mary);
});
