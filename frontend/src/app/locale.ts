import { enUS } from '../messages/en-US';
import type { MessageTree } from '../messages/message-tree';

/** The locales the screens ship; en-US is the source of the keys and the fallback. */
export const SHIPPED_LOCALES = ['en-US', 'de-DE', 'ru-RU'] as const;
export type ShippedLocale = (typeof SHIPPED_LOCALES)[number];
export const FALLBACK_LOCALE: ShippedLocale = 'en-US';

/**
 * The messages at hand. en-US is always in the bundle; the standalone app brings the translations with it
 * (messages/translations.ts), while inside Plesk the page loads only the one of the person's locale beside the
 * module (Screen.php), so every Plesk page does not carry every language.
 */
const provided: Partial<Record<ShippedLocale, MessageTree>> = { 'en-US': enUS };

export function provideMessages(locale: ShippedLocale, messages: MessageTree): void {
  provided[locale] = messages;
}

/** The messages of a shipped locale, or null when they were not provided to this page. */
export function messagesOf(locale: ShippedLocale): MessageTree | null {
  return provided[locale] ?? null;
}

/**
 * The shipped locale for a requested one (Plesk's pm_Locale::getCode(), or the browser's navigator.language):
 * the same locale, else the shipped one of the same language (de-AT -> de-DE, ru -> ru-RU), else en-US.
 */
export function resolveLocale(requested: string | null | undefined): ShippedLocale {
  const wanted = (requested ?? '').trim().replace(/_/g, '-').toLowerCase();
  if (!wanted) return FALLBACK_LOCALE;
  const shipped: readonly ShippedLocale[] = SHIPPED_LOCALES;
  const exact = shipped.find((locale) => locale.toLowerCase() === wanted);
  if (exact) return exact;
  const language = wanted.split('-')[0];
  return shipped.find((locale) => locale.toLowerCase().split('-')[0] === language) ?? FALLBACK_LOCALE;
}

/** The browser's language, for the standalone app (no Plesk to say it). */
export function browserLocale(): string | undefined {
  return typeof navigator !== 'undefined' ? navigator.language : undefined;
}

/**
 * The locale the provider chose. Module state rather than React context because plain helpers (formatNumber,
 * pluralText) format outside components too; one app is mounted per page, so there is one locale at a time.
 */
let chosenLocale: ShippedLocale | null = null;

export function chooseLocale(locale: ShippedLocale): void {
  chosenLocale = locale;
}

/** The locale to format in: the provider's choice; else the page's language (Plesk sets <html lang>); else en-US. */
export function pageLocale(): string {
  return chosenLocale ?? ((typeof document !== 'undefined' && document.documentElement.lang) || FALLBACK_LOCALE);
}

/** A number as the locale writes it ("1,000" in en-US, "1.000" in de-DE, "1 000" in ru-RU). */
export function formatNumber(value: number): string {
  return new Intl.NumberFormat(pageLocale()).format(value);
}

/** A moment (epoch milliseconds or ISO text) as the locale writes date and time. */
export function formatDateTime(at: number | string): string {
  return new Intl.DateTimeFormat(pageLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at));
}

/** The hour and minute of a moment, as the locale writes them (the chart's axis). */
export function formatHourMinute(at: number | string): string {
  return new Intl.DateTimeFormat(pageLocale(), { hour: '2-digit', minute: '2-digit' }).format(new Date(at));
}
