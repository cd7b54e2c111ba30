import { LocaleProvider } from '@plesk/ui-library';
import { createElement, type ReactNode } from 'react';
import type { MessageTree } from '../messages/message-tree';
import { EnvironmentContext, type Environment } from './environment';
import { browserLocale, chooseLocale, LOCALES, resolveLocale } from './locale';
import { ToastProvider } from './toasts';

/** The messages of the shipped locale nearest to `locale` (en-US for any locale not shipped). */
export function messagesFor(locale: string | undefined): MessageTree {
  return LOCALES[resolveLocale(locale)];
}

/** Texts in Plesk's locale when the page passes one, else in the browser's language. */
export function LocaleOnly({ locale, children }: { locale?: string; children: ReactNode }) {
  const chosen = resolveLocale(locale ?? browserLocale());
  chooseLocale(chosen);
  return <LocaleProvider messages={LOCALES[chosen]}>{children}</LocaleProvider>;
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
