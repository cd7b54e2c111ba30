import AxeBuilder from '@axe-core/playwright';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PostfixInstance } from '../../backend-bridge/test-support/postfix-instance.js';
import type { Login } from './standalone-daemon.js';

/** Where every screen is photographed (they become the extension's screenshots). */
export const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-output/screenshots');

export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

/** No serious or critical accessibility violation on what the page shows now. */
export async function expectAccessible(page: Page): Promise<void> {
  // Colours are measured as drawn: a dialog still fading in, or a toast starting to fade out while axe runs, would
  // fail the contrast check. Transitions are switched off for the check, so everything is in its final state.
  const still = await page.addStyleTag({ content: '*, *::before, *::after { transition: none !important; animation-play-state: paused !important; }' });
  await page.waitForFunction(() =>
    document.getAnimations().every((animation) => animation.playState !== 'running' || animation.effect?.getTiming().iterations === Infinity),
  );
  const results = await new AxeBuilder({ page }).analyze();
  await still.evaluate((style) => style.remove());
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

/** A mailbox's row on the domain screen. */
export function mailboxRow(page: Page, address: string) {
  return page.getByTestId('mailbox-list').getByRole('row').filter({ hasText: address });
}

/** The browser scenarios' limit of 2 as Postfix answers it: two messages accepted, the third gets 450 4.7.1. */
export async function expectTwoSentThenDeferred(postfix: PostfixInstance, from: string): Promise<void> {
  const send = () => postfix.sendMail({ from, to: ['someone@remote.test'], subject: `from ${from}` });
  for (const attempt of [1, 2]) {
    const result = await send();
    expect(result.accepted, `message ${attempt}: ${result.transcript}`).toBe(true);
  }
  const third = await send();
  expect(third.accepted, third.transcript).toBe(false);
  expect(third.code).toBe(450);
  expect(third.enhanced).toBe('4.7.1');
  expect(third.text).toContain(`Outgoing limit of 2 messages/hour for mailbox ${from} reached`);
}
