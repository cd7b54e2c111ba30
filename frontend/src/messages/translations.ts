import { provideMessages, type ShippedLocale } from '../app/locale';
import { deDE } from './de-DE';
import type { MessageTree } from './message-tree';
import { ruRU } from './ru-RU';

/** The translations beside en-US: bundled into the standalone app, and written as one module each for Plesk pages. */
export const TRANSLATIONS: Readonly<Record<Exclude<ShippedLocale, 'en-US'>, MessageTree>> = { 'de-DE': deDE, 'ru-RU': ruRU };

/** Makes every translation available (the standalone app and the component tests). */
export function provideAllTranslations(): void {
  for (const [locale, messages] of Object.entries(TRANSLATIONS)) provideMessages(locale as ShippedLocale, messages);
}
