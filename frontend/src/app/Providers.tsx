import { LocaleProvider } from '@plesk/ui-library';
import { createElement, type ReactNode } from 'react';
import { enUS } from '../messages/en-US';
import { EnvironmentContext, type Environment } from './environment';
import { ToastProvider } from './toasts';

/** Messages by locale; en-US is the only translation so far and the fallback for any other locale. */
export function messagesFor(locale: string | undefined): typeof enUS {
  void locale;
  return enUS;
}

export function LocaleOnly({ locale, children }: { locale?: string; children: ReactNode }) {
  return <LocaleProvider messages={messagesFor(locale)}>{children}</LocaleProvider>;
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
