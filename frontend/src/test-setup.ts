import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import { provideAllTranslations } from './messages/translations';

// The components are tested in every shipped language, as the standalone app has them all.
provideAllTranslations();

afterEach(() => cleanup());

// jsdom does not lay out pages: ui-library scrolls a field with an error into view, which jsdom lacks.
Element.prototype.scroll ??= function scroll() {};
Element.prototype.scrollIntoView ??= function scrollIntoView() {};
