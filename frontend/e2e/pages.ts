import AxeBuilder from '@axe-core/playwright';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Login } from './standalone-daemon.js';

/** Where every screen is photographed (they become the extension's screenshots). */
export const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output/screenshots');

export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

/** No serious or critical accessibility violation on what the page shows now. */
export async function expectAccessible(page: Page): Promise<void> {
  // Colours are measured as drawn: a dialog still fading in would fail the contrast check.
  await page.waitForFunction(() =>
    document.getAnimations().every((animation) => animation.playState !== 'running' || animation.effect?.getTiming().iterations === Infinity),
  );
  const results = await new AxeBuilder({ page }).analyze();
  const severe = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  expect(severe.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`)).toEqual([]);
}

/** Browser contexts of one spec: each page gets its own (its own cookies); closed after each test. */
export class Pages {
  private readonly open: BrowserContext[] = [];

  constructor(private readonly baseUrl: () => string) {}

  async newPage(browser: Browser): Promise<Page> {
    const context = await browser.newContext({ baseURL: this.baseUrl() });
    this.open.push(context);
    return context.newPage();
  }

  async logIn(browser: Browser, who: Login, firstPath = '/'): Promise<Page> {
    const page = await this.newPage(browser);
    await page.goto(firstPath);
    await page.getByLabel('Username').fill(who.login);
    await page.getByLabel('Password', { exact: true }).fill(who.password);
    await page.getByRole('button', { name: 'Log In' }).click();
    await expect(page.getByText(`Signed in as ${who.login}`)).toBeVisible();
    return page;
  }

  async closeAll(): Promise<void> {
    for (const context of this.open.splice(0)) await context.close();
  }
}
