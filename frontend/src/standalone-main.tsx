import '@plesk/ui-library/dist/plesk-ui-library.css';
import './standalone.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { browserLocale, resolveLocale } from './app/locale';
import { StandaloneApp } from './app/StandaloneApp';

// The page speaks the language the screens will use (screen readers and spelling follow <html lang>).
document.documentElement.lang = resolveLocale(browserLocale());
const element = document.getElementById('app');
if (element) createRoot(element).render(<StandaloneApp apiBase="/api/v1" />);
