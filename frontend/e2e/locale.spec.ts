import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { DaemonProcess } from '../../backend-bridge/test-support/daemon-process.js';
import { exampleDirectory } from '../../backend-bridge/test-support/directory-fixture.js';
import { sendMessages } from '../../backend-bridge/test-support/policy-client.js';
import { expectAccessible, shoot } from './pages.js';
import { addUser, prepareDataDir, startStandaloneDaemon, type Login } from './standalone-daemon.js';

/**
 * The standalone app in the browser's language: German and Russian words, numbers as each language writes them,
 * and <html lang> saying which, at desktop and phone width.
 */
let daemon: DaemonProcess;
let baseUrl: string;
let admin: Login;
const contexts: BrowserContext[] = [];

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  const dataDir = await prepareDataDir(exampleDirectory(), ['--mailbox-limit', '1000', '--domain-limit', '5000', '--subscription-limit', '9000']);
  admin = await addUser(dataDir, 'admin', 'admin');
  ({ daemon, baseUrl } = await startStandaloneDaemon(dataDir));
  await sendMessages(daemon.policySocket, 'alice@example.com', 2);
});

test.afterAll(async () => {
  await daemon?.stop();
});

test.afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

async function logInWith(browser: Browser, locale: string, words: { login: string; password: string; submit: string }): Promise<Page> {
  const context = await browser.newContext({ baseURL: baseUrl, locale });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto('/');
  await page.getByLabel(words.login).fill(admin.login);
  await page.getByLabel(words.password, { exact: true }).fill(admin.password);
  await page.getByRole('button', { name: words.submit }).click();
  return page;
}

const cases = [
  {
    locale: 'de-AT',
    lang: 'de-DE',
    words: { login: 'Benutzername', password: 'Passwort', submit: 'Anmelden' },
    signedIn: 'Angemeldet als admin',
    overview: 'Kontrolle ausgehender E-Mails',
    domainTitle: 'E-Mail-Adressen von example.com',
    usage: '2 von 1.000 in dieser Stunde',
    // ui-library's own text of the list, in the same language.
    total: '4 Elemente insgesamt',
  },
  {
    locale: 'ru-RU',
    lang: 'ru-RU',
    words: { login: 'Имя пользователя', password: 'Пароль', submit: 'Войти' },
    signedIn: 'Вы вошли как admin',
    overview: 'Контроль исходящей почты',
    domainTitle: 'Адреса электронной почты example.com',
    usage: '2 из 1\u00a0000 за этот час',
    total: 'Всего элементов: 4',
  },
];

for (const c of cases) {
  test(`a browser in ${c.locale} gets the screens in ${c.lang}, numbers as ${c.lang} writes them`, async ({ browser }) => {
    const page = await logInWith(browser, c.locale, c.words);
    await expect(page.getByText(c.signedIn)).toBeVisible();
    await expect(page.getByRole('heading', { name: c.overview })).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe(c.lang);
    await expectAccessible(page);
    await shoot(page, `locale-${c.lang}-overview`);

    await page.goto('/domains/example.com');
    await expect(page.getByRole('heading', { name: c.domainTitle })).toBeVisible();
    await expect(page.getByText(c.usage, { exact: true })).toBeVisible();
    await expect(page.getByText(c.total, { exact: true })).toBeVisible();
    await expectAccessible(page);
    await shoot(page, `locale-${c.lang}-domain`);
    await page.setViewportSize({ width: 390, height: 844 });
    await expect(page.getByText(c.usage, { exact: true })).toBeVisible();
    await shoot(page, `locale-${c.lang}-domain-390`);
  });
}
