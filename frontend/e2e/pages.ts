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
  await still.evaluate((style) => (style as Element).remove());
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

/**
 * What is wrong with the layout now, in words (empty when nothing): the page wider than the window, a button,
 * cell or heading whose text does not fit in it, a box that scrolls sideways, a word broken over lines (the
 * "one letter per line" of a squeezed column), and a control or text drawn over another text. Only what is drawn
 * counts: text clipped away by a box around it (the chart's screen-reader table) is not looked at. `within`
 * narrows the check to one part, e.g. an open dialog (the page behind it is covered on purpose).
 */
export async function layoutFaults(page: Page, within = 'body'): Promise<string[]> {
  return page.evaluate((rootSelector) => {
    const faults: string[] = [];
    const root = document.querySelector(rootSelector);
    if (!root) return [`nothing matches ${rootSelector}`];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth) faults.push(`the page is ${doc.scrollWidth}px wide in a ${window.innerWidth}px window`);

    const describe = (element: Element) => `<${element.tagName.toLowerCase()}> "${(element.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 50)}"`;
    const shown = (element: Element) => {
      const style = getComputedStyle(element);
      const box = element.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.opacity !== '0';
    };
    type Box = { left: number; top: number; right: number; bottom: number };
    const intersect = (a: Box, b: Box): Box => ({ left: Math.max(a.left, b.left), top: Math.max(a.top, b.top), right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) });
    const area = (box: Box) => Math.max(0, box.right - box.left) * Math.max(0, box.bottom - box.top);
    /** The part of `box` left visible by the ancestors of `element` that clip what overflows them. */
    const visiblePart = (element: Element, box: Box, fromItself = false): Box => {
      let visible = box;
      for (let ancestor = fromItself ? element : element.parentElement; ancestor; ancestor = ancestor.parentElement) {
        const style = getComputedStyle(ancestor);
        if (style.overflowX !== 'visible' || style.overflowY !== 'visible' || style.clipPath !== 'none' || style.clip !== 'auto') {
          visible = intersect(visible, ancestor.getBoundingClientRect());
        }
      }
      return visible;
    };

    // Text that does not fit in its own box: cut, or a box one has to scroll sideways.
    for (const element of root.querySelectorAll('*')) {
      if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement || element instanceof SVGElement) continue;
      // 1 px boxes are text for screen readers only, clipped on purpose.
      if (!shown(element) || element.clientWidth <= 1 || element.clientHeight <= 1) continue;
      if (area(visiblePart(element, element.getBoundingClientRect())) === 0) continue;
      if (element.scrollWidth <= element.clientWidth + 1) continue;
      const style = getComputedStyle(element);
      const clips = style.overflowX !== 'visible';
      const isText = element.matches('button, a, th, td, h1, h2, h3, h4, label, [role="button"]');
      if (clips) faults.push(`${describe(element)} is cut or scrolls sideways: needs ${element.scrollWidth}px, has ${element.clientWidth}px`);
      else if (isText) faults.push(`${describe(element)} does not fit: needs ${element.scrollWidth}px, has ${element.clientWidth}px`);
    }

    // Lines of text as drawn, each with the element that holds it.
    const lines: Array<{ owner: Element; box: Box }> = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const owner = node.parentElement;
      const words = (node.textContent ?? '').trim().split(/\s+/).filter(Boolean);
      if (!owner || words.length === 0 || !shown(owner)) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const boxes = [...range.getClientRects()].filter((box) => box.width > 0.5 && box.height > 0.5).map((box) => visiblePart(owner, box, true));
      const drawn = boxes.filter((box) => area(box) > 0);
      if (drawn.length === 0) continue;
      // More lines than words: some word was broken over lines.
      const rows = new Set(boxes.map((box) => Math.round(box.top)));
      if (rows.size > words.length) faults.push(`${describe(owner)} breaks words over ${rows.size} lines`);
      for (const box of drawn) lines.push({ owner, box });
    }

    // A bar that sticks to the edge of a box that scrolls (Plesk's dialog footer: position sticky) is drawn over
    // what scrolls under it by design, and clears it at the end of the scroll; only that pair is not a fault.
    const stickyBarOf = (element: Element): Element | null => {
      for (let node: Element | null = element; node; node = node.parentElement) {
        if (getComputedStyle(node).position !== 'sticky') continue;
        for (let box = node.parentElement; box; box = box.parentElement) {
          if (box.scrollHeight > box.clientHeight + 1 && getComputedStyle(box).overflowY !== 'visible') return node;
        }
        return null;
      }
      return null;
    };
    const scrollsUnder = (a: Element, b: Element) => {
      const [barA, barB] = [stickyBarOf(a), stickyBarOf(b)];
      return barA !== barB && (barA === null || barB === null);
    };

    // A control or another text drawn over a text.
    const controls = [...root.querySelectorAll('button, a, input, select, textarea, [role="button"], [role="checkbox"]')].filter(shown);
    const overlap = (a: Box, b: Box) => area(intersect(a, b)) > 4;
    for (const control of controls) {
      // A link that wraps is drawn as one box per line, not as the box around them all.
      for (const fragment of control.getClientRects()) {
        const box = visiblePart(control, fragment);
        if (area(box) === 0) continue;
        for (const line of lines) {
          if (control.contains(line.owner) || line.owner.contains(control) || scrollsUnder(control, line.owner)) continue;
          if (overlap(box, line.box)) faults.push(`${describe(control)} covers the text ${describe(line.owner)}`);
        }
      }
    }
    for (let i = 0; i < lines.length; i++) {
      for (let j = i + 1; j < lines.length; j++) {
        const [a, b] = [lines[i]!, lines[j]!];
        if (a.owner === b.owner || a.owner.contains(b.owner) || b.owner.contains(a.owner) || scrollsUnder(a.owner, b.owner)) continue;
        if (overlap(a.box, b.box)) faults.push(`${describe(a.owner)} and ${describe(b.owner)} are drawn over each other`);
      }
    }
    return [...new Set(faults)];
  }, within);
}

/**
 * Nothing cut off, nothing wider than the window, no broken words, nothing drawn over a text (see layoutFaults).
 * A soft check: the test goes on to the next screen, so one run lists the faults of every screen.
 */
export async function expectNoHorizontalOverflow(page: Page, within?: string): Promise<void> {
  const where = `${page.url()} at ${page.viewportSize()?.width ?? '?'} px${within ? ` in ${within}` : ''}`;
  expect.soft(await layoutFaults(page, within), where).toEqual([]);
}
