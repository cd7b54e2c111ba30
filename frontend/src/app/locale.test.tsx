import { getDefaultNormalizer, screen, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DomainScreen } from '../screens/DomainScreen';
import { ADMIN, ApiHarness, JDOE, renderAs } from '../test-support/bridge';
import { chooseLocale, formatDateTime, resolveLocale } from './locale';

describe('resolveLocale', () => {
  it('takes a shipped locale as it is, the shipped one of the same language otherwise, and en-US for the rest', () => {
    expect(resolveLocale('de-DE')).toBe('de-DE');
    expect(resolveLocale('ru-RU')).toBe('ru-RU');
    expect(resolveLocale('de-AT')).toBe('de-DE');
    expect(resolveLocale('de_CH')).toBe('de-DE');
    expect(resolveLocale('ru')).toBe('ru-RU');
    expect(resolveLocale('RU-ua')).toBe('ru-RU');
    expect(resolveLocale('en-GB')).toBe('en-US');
    expect(resolveLocale('fr-FR')).toBe('en-US');
    expect(resolveLocale('')).toBe('en-US');
    expect(resolveLocale(undefined)).toBe('en-US');
  });
});

describe('formatDateTime', () => {
  it('writes a date as the chosen locale does', () => {
    const afternoon = Date.UTC(2026, 11, 3, 14, 5);
    chooseLocale('de-DE');
    expect(formatDateTime(afternoon)).toContain('03.12.2026');
    chooseLocale('ru-RU');
    expect(formatDateTime(afternoon)).toContain('2026 г.');
    chooseLocale('en-US');
    expect(formatDateTime(afternoon)).toContain('Dec 3, 2026');
  });
});

let harness: ApiHarness;
beforeEach(async () => {
  harness = await ApiHarness.start();
  // Limits large enough to need a thousands separator.
  for (const [path, limit] of [['subscriptions/example.com', 9000], ['domains/example.com', 5000], ['mailboxes/alice@example.com', 1000]] as const) {
    const answer = await harness.request(ADMIN, 'PUT', `/api/v1/${path}/limit`, { limit });
    if (answer.statusCode !== 200) throw new Error(`PUT ${path}: ${answer.statusCode} ${answer.body}`);
  }
  harness.sendMany('alice@example.com', 2);
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await harness.close();
});

function row(name: string): HTMLElement {
  const found = screen.getByText(name, { selector: 'td *, td' }).closest('tr');
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe('screens in the locale', () => {
  it("shows a screen in German with German numbers when Plesk's locale is de-DE", async () => {
    renderAs(harness, JDOE, <DomainScreen name="example.com" />, { locale: 'de-DE' });
    expect(await screen.findByText('E-Mail-Adressen von example.com')).toBeInTheDocument();
    await screen.findByText('alice@example.com');
    expect(within(row('alice@example.com')).getByText('2 von 1.000 in dieser Stunde')).toBeInTheDocument();
    expect(within(row('alice@example.com')).getByText('Sendet')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Ausgehende Nachrichten begrenzen: alice@example.com' })).toBeInTheDocument();
  });

  it("shows a screen in Russian with Russian numbers when Plesk's locale is ru-RU", async () => {
    renderAs(harness, JDOE, <DomainScreen name="example.com" />, { locale: 'ru-RU' });
    expect(await screen.findByText('Адреса электронной почты example.com')).toBeInTheDocument();
    await screen.findByText('alice@example.com');
    // Russian groups thousands with a no-break space.
    expect(within(row('alice@example.com')).getByText('2 из 1\u00a0000 за этот час', { normalizer: getDefaultNormalizer({ collapseWhitespace: false }) })).toBeInTheDocument();
    expect(within(row('alice@example.com')).getByText('Отправляет')).toBeInTheDocument();
  });

  it("standalone (no locale from Plesk) follows the browser's language, de-AT as German", async () => {
    vi.stubGlobal('navigator', { ...navigator, language: 'de-AT' });
    renderAs(harness, JDOE, <DomainScreen name="example.com" />);
    expect(await screen.findByText('E-Mail-Adressen von example.com')).toBeInTheDocument();
  });

  it('an unknown locale falls back to en-US', async () => {
    renderAs(harness, JDOE, <DomainScreen name="example.com" />, { locale: 'fr-FR' });
    expect(await screen.findByText('Email addresses of example.com')).toBeInTheDocument();
    await screen.findByText('alice@example.com');
    expect(within(row('alice@example.com')).getByText('2 of 1,000 this hour')).toBeInTheDocument();
  });
});
