import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, DaemonProcess, eventually, tempDataDir } from '../../backend-bridge/test-support/daemon-process.js';
import { PostfixInstance } from '../../backend-bridge/test-support/postfix-instance.js';
import { expectTwoSentThenDeferred, mailboxRow } from './pages.js';
import { buildPleskUiLibraries } from './plesk-page/build-plesk-ui-library.js';

/**
 * The Plesk build inside a simulated Plesk page: PHP's built-in web server runs the real plib controllers on the
 * pm_ stand-ins (plesk-page/router.php, world in plesk-page/world.php); the page carries Plesk's
 * forgery_protection_token meta tag and loads RequireJS and a 'plesk-ui-library' module (React 18, ReactDOM and
 * @plesk/ui-library 3.46.5 in one module, built here). A customer opens the mailbox limits of a domain, caps a
 * mailbox through PHP → bridge, and a real Postfix enforces it.
 *
 * World: customer jdoe owns subscription example.com (alice, bob; add-on domain example.net), mary owns other.org.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const screenshots = path.join(repo, 'test-output/screenshots');
const MODULE = '/modules/outgoing-mail-limits';

let postfix: PostfixInstance;
let daemon: DaemonProcess;
let panel: ChildProcess;
let panelLog = '';
let baseUrl: string;

test.describe.configure({ mode: 'serial' });

/** Runs a PHP script of the extension with the stand-in world loaded first, as Plesk would run it. */
function runPhp(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', ['-d', `auto_prepend_file=${path.join(here, 'plesk-page/world.php')}`, script], { env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`php ${script} exited ${code}: ${output}`))));
  });
}

test.beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  const uiLibrary = await buildPleskUiLibraries(path.join(repo, 'test-output/plesk-page'));

  postfix = await PostfixInstance.start();
  await cli(['postfix', 'wire', '--config-dir', postfix.configDir]);
  await postfix.reload();

  const dataDir = tempDataDir();
  await cli(['settings', 'set', '--data-dir', dataDir, '--enabled', 'on', '--mailbox-limit', '100', '--domain-limit', '500', '--subscription-limit', '1000', '--over-limit-action', 'defer']);
  daemon = await DaemonProcess.start(dataDir, ['--postfix-config-dir', postfix.configDir]);
  const env = { OML_DATA_DIR: dataDir, OML_UI_LIBRARY: uiLibrary.current, OML_UI_LIBRARY_RENDER_ONLY: uiLibrary.renderOnly };
  // The directory comes from Plesk through the extension's own resync script.
  expect(await runPhp(path.join(repo, 'plib/scripts/resync.php'), env)).toContain('Directory synchronized');

  // Port 0: PHP's web server binds a free port itself and names it ("Development Server (http://127.0.0.1:N) started").
  panel = spawn('php', ['-S', '127.0.0.1:0', path.join(here, 'plesk-page/router.php')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  panel.stdout?.on('data', (chunk: Buffer) => (panelLog += chunk.toString()));
  panel.stderr?.on('data', (chunk: Buffer) => (panelLog += chunk.toString()));
  const started = /Development Server \((http:\/\/127\.0\.0\.1:\d+)\) started/;
  await eventually(() => started.test(panelLog) || panel.exitCode !== null, `PHP's web server to say where it listens:\n${panelLog}`);
  const bound = started.exec(panelLog)?.[1];
  if (!bound) throw new Error(`PHP's web server did not start:\n${panelLog}`);
  baseUrl = bound;
  await eventually(async () => {
    try {
      return (await fetch(`${baseUrl}/login-as?login=nobody`)).status === 404;
    } catch {
      return false;
    }
  }, `PHP's web server on ${baseUrl}:\n${panelLog}`);
});

test.afterAll(async () => {
  panel?.kill('SIGTERM');
  await daemon?.stop();
  await postfix?.stop();
});

const openContexts: BrowserContext[] = [];
test.afterEach(async () => {
  for (const context of openContexts.splice(0)) await context.close();
});

/**
 * A browser signed in to the panel as `login`; errors of the page's scripts fail the test. `renderOnly`: the page's
 * 'plesk-ui-library' module is that of a Plesk before about October 2025 (no createRoot).
 */
async function signedIn(browser: Browser, login: string, options: { renderOnly?: boolean; locale?: string } = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ baseURL: baseUrl });
  openContexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  await page.goto(`/login-as?login=${login}${options.renderOnly ? '&ui=render-only' : ''}${options.locale ? `&locale=${options.locale}` : ''}`);
  await expect(page.getByText(`Signed in as ${login}`)).toBeVisible();
  return { page, errors };
}

/** What RequireJS defined on the page. */
function definedModules(page: Page): Promise<string[]> {
  return page.evaluate(() => Object.keys((window as unknown as { requirejs: { s: { contexts: { _: { defined: object } } } } }).requirejs.s.contexts._.defined));
}

/** Whether the page's 'plesk-ui-library' module has the export `name`. */
function pageModuleHas(page: Page, name: string): Promise<boolean> {
  return page.evaluate((exported) => {
    const defined = (window as unknown as { requirejs: { s: { contexts: { _: { defined: Record<string, Record<string, unknown>> } } } } }).requirejs.s.contexts._.defined;
    return typeof defined['plesk-ui-library']?.[exported] === 'function';
  }, name);
}

test('a customer caps a mailbox on the Plesk page; the write goes through PHP to the bridge and Postfix defers the message over it', async ({ browser }) => {
  const { page, errors } = await signedIn(browser, 'jdoe');
  await page.goto(`${MODULE}/index.php/ui/domain?name=example.com`);
  await expect(page.getByRole('heading', { name: 'Email addresses of example.com' }), `script errors: ${errors.join('\n')}\n${panelLog}`).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('0 of 100 this hour');
  await expect(mailboxRow(page, 'bob@example.com')).toContainText('Sending');

  // Loaded as Plesk loads it: RequireJS defined the page's module and the extension's bundle, and only they brought React.
  expect(await definedModules(page)).toEqual(expect.arrayContaining(['plesk-ui-library', `${MODULE}/dist/main.js`]));
  expect(await pageModuleHas(page, 'createRoot')).toBe(true);

  await page.getByRole('button', { name: 'Limit Outgoing Messages of alice@example.com' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.getByText('Use the default (100 per hour)')).toBeVisible();
  await dialog.getByText('Custom value', { exact: true }).click();
  await dialog.getByRole('textbox', { name: 'Messages per hour' }).fill('2');
  await page.screenshot({ path: path.join(screenshots, 'plesk-limit-dialog.png'), fullPage: true });
  const written = page.waitForResponse((response) => response.request().method() === 'PUT');
  await dialog.getByRole('button', { name: 'OK' }).click();
  const response = await written;
  expect(response.url()).toBe(`${baseUrl}${MODULE}/index.php/api/call?path=%2Fmailboxes%2Falice%2540example.com%2Flimit`);
  expect(response.status()).toBe(200);
  const sent = await response.request().allHeaders();
  expect(sent['x-oml-forgery-token']).toMatch(/^[0-9a-f]{64}$/);
  expect(sent['x-forgery-protection-token']).toBe(await page.locator('meta[name="forgery_protection_token"]').getAttribute('content'));
  await expect(page.getByText('Limit on outgoing messages saved for alice@example.com.')).toBeVisible();
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('2 per hour (own value)');

  await expectTwoSentThenDeferred(postfix, 'alice@example.com');

  await expect(mailboxRow(page, 'alice@example.com')).toContainText('2 of 2 this hour');
  await expect(mailboxRow(page, 'alice@example.com')).toContainText('Not sending');
  await page.screenshot({ path: path.join(screenshots, 'plesk-domain-mailboxes.png'), fullPage: true });

  // Links between screens are UiController pages too.
  await page.getByRole('link', { name: 'Subscription example.com' }).click();
  await expect(page).toHaveURL(`${baseUrl}${MODULE}/index.php/ui/subscription?name=example.com`);
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Limits of subscription example.com' })).toBeVisible();
  await expect(page.getByTestId('domain-list').getByRole('row').filter({ hasText: 'example.net' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('the PHP layer refuses another customer’s domain and a write without the extension’s token', async ({ browser }) => {
  const { page } = await signedIn(browser, 'mary');
  const refused = await page.goto(`${MODULE}/index.php/ui/domain?name=example.com`);
  expect(refused?.status()).toBe(404);
  await expect(page.getByRole('alert')).toHaveText('Error: Domain example.com not found or not yours.');
  await expect(page.locator('#outgoing-mail-limits')).toHaveCount(0);

  await page.goto(`${MODULE}/index.php/ui/domain?name=other.org`);
  await expect(page.getByRole('heading', { name: 'Email addresses of other.org' })).toBeVisible();
  const pleskToken = (await page.locator('meta[name="forgery_protection_token"]').getAttribute('content')) ?? '';
  // Plesk's own token alone gets past Plesk, not past the extension.
  const forged = await page.request.put(`${MODULE}/index.php/api/call?path=${encodeURIComponent('/mailboxes/mallory%40other.org/limit')}`, {
    headers: { 'X-Forgery-Protection-Token': pleskToken, 'X-Requested-With': 'XMLHttpRequest', 'Content-Type': 'application/json' },
    data: { limit: 0 },
  });
  expect(forged.status()).toBe(403);
  expect(((await forged.json()) as { error: string }).error).toContain('forgery-protection token');
  await page.reload();
  await expect(mailboxRow(page, 'mallory@other.org')).toContainText('100 per hour (server default)');
});

test('the admin opens Outgoing Mail Control on the Plesk page and sees the mailbox at its limit', async ({ browser }) => {
  const { page, errors } = await signedIn(browser, 'admin');
  await page.goto(`${MODULE}/index.php/ui/overview`);
  await expect(page.getByRole('heading', { name: 'Outgoing Mail Control' })).toBeVisible();
  await expect(page.getByTestId('blocked-list').getByRole('row').filter({ hasText: 'alice@example.com' })).toContainText('2 of 2 this hour');
  await expect(page.getByTestId('events').getByRole('row').filter({ hasText: 'alice@example.com' })).toContainText('Deferred');
  await page.screenshot({ path: path.join(screenshots, 'plesk-overview.png'), fullPage: true });

  // The link of a notification: one object's held mail (with the defer action here, none).
  await page.goto(`${MODULE}/index.php/ui/held?level=mailbox&name=alice%40example.com`);
  await expect(page.getByText('No held messages of alice@example.com.')).toBeVisible();
  expect(errors).toEqual([]);
});

test('in a German Plesk the page loads the German texts beside the module, and only those', async ({ browser }) => {
  const { page, errors } = await signedIn(browser, 'admin', { locale: 'de-DE' });
  const scripts: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
  });
  await page.goto(`${MODULE}/index.php/ui/overview`);
  await expect(page.getByRole('heading', { name: 'Kontrolle ausgehender E-Mails' })).toBeVisible();
  await expect(page.getByTestId('blocked-list').getByRole('row').filter({ hasText: 'alice@example.com' })).toContainText('2 von 2 in dieser Stunde');
  expect(scripts.filter((script) => script.startsWith(MODULE))).toEqual([`${MODULE}/dist/main.js`, `${MODULE}/dist/locales/de-DE.js`]);
  await page.screenshot({ path: path.join(screenshots, 'plesk-overview-de-DE.png'), fullPage: true });
  expect(errors).toEqual([]);
});

test('on a Plesk whose plesk-ui-library module has only ReactDOM’s legacy render, the screens mount and a write goes through', async ({ browser }) => {
  const { page, errors } = await signedIn(browser, 'mary', { renderOnly: true });
  await page.goto(`${MODULE}/index.php/ui/domain?name=other.org`);
  await expect(page.getByRole('heading', { name: 'Email addresses of other.org' }), `script errors: ${errors.join('\n')}\n${panelLog}`).toBeVisible();
  expect(await definedModules(page)).toEqual(expect.arrayContaining(['plesk-ui-library', `${MODULE}/dist/main.js`]));
  expect(await pageModuleHas(page, 'createRoot')).toBe(false);
  expect(await pageModuleHas(page, 'render')).toBe(true);

  await page.getByRole('button', { name: 'Limit Outgoing Messages of mallory@other.org' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Custom value', { exact: true }).click();
  await dialog.getByRole('textbox', { name: 'Messages per hour' }).fill('7');
  const written = page.waitForResponse((response) => response.request().method() === 'PUT');
  await dialog.getByRole('button', { name: 'OK' }).click();
  expect((await written).status()).toBe(200);
  await expect(mailboxRow(page, 'mallory@other.org')).toContainText('7 per hour (own value)');
  expect(errors).toEqual([]);
});

test('the admin’s settings screen in Plesk says that the extension enforces the limits and where Plesk’s fields went, on either module shape', async ({ browser }) => {
  for (const renderOnly of [false, true]) {
    const { page, errors } = await signedIn(browser, 'admin', { renderOnly });
    await page.goto(`${MODULE}/index.php/ui/settings`);
    const note = page.getByTestId('plesk-takeover-note');
    await expect(note.getByRole('heading', { name: 'Outgoing mail limits are now enforced by this extension' }), `script errors: ${errors.join('\n')}`).toBeVisible();
    await expect(note).toContainText('Plesk\'s own limitation of outgoing messages is switched off');
    await expect(note).toContainText('"Outgoing messages from a mailbox / domain / subscription (per hour)"');
    await expect(page.getByRole('checkbox', { name: 'Switch on limitations on outgoing email messages' })).toBeVisible();
    expect(await pageModuleHas(page, 'createRoot')).toBe(!renderOnly);
    if (!renderOnly) await page.screenshot({ path: path.join(screenshots, 'plesk-settings.png'), fullPage: true });
    expect(errors).toEqual([]);
  }
});
