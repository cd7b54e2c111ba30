import { LocaleProvider } from '@plesk/ui-library';
import { createElement, type ReactNode } from 'react';
import type { MessageTree } from '../messages/message-tree';
import { EnvironmentContext, type Environment } from './environment';
import { browserLocale, chooseLocale, FALLBACK_LOCALE, messagesOf, resolveLocale, type ShippedLocale } from './locale';
import { ToastProvider } from './toasts';

/** The shipped locale nearest to `locale` whose messages this page has; else en-US, texts and formats alike. */
function availableLocale(locale: string | undefined): { locale: ShippedLocale; messages: MessageTree } {
  const wanted = resolveLocale(locale);
  const messages = messagesOf(wanted);
  return messages ? { locale: wanted, messages } : { locale: FALLBACK_LOCALE, messages: messagesOf(FALLBACK_LOCALE) ?? {} };
}

/** Texts in Plesk's locale when the page passes one, else in the browser's language. */
export function LocaleOnly({ locale, children }: { locale?: string; children: ReactNode }) {
  const chosen = availableLocale(locale ?? browserLocale());
  chooseLocale(chosen.locale);
  return <LocaleProvider messages={chosen.messages}>{children}</LocaleProvider>;
}

/** Texts, toasts and the environment, around either build's screens. */
export function Providers({ environment, locale, children }: { environment: Environment; locale?: string; children: ReactNode }) {
  return (
    <LocaleOnly locale={locale}>
      <EnvironmentContext.Provider value={environment}>
        <ToastProvider>{children}</ToastProvider>
      </EnvironmentContext.Provider>
    </LocaleOnly>
  );
}
