import '@plesk/ui-library/dist/plesk-ui-library.css';
import './standalone.css';
import { setLocale } from '@plesk/ui-library';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { browserLocale, resolveLocale } from './app/locale';
import { StandaloneApp } from './app/StandaloneApp';
import { provideAllTranslations } from './messages/translations';

// The page speaks the language the screens will use (screen readers and spelling follow <html lang>), and so do
// ui-library's own texts ("4 items total"); inside Plesk, Plesk sets both for its page.
provideAllTranslations();
const locale = resolveLocale(browserLocale());
document.documentElement.lang = locale;
setLocale(locale);
const element = document.getElementById('app');
if (element) createRoot(element).render(<StandaloneApp apiBase="/api/v1" />);
