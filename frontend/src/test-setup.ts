import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => cleanup());

// jsdom does not lay out pages: ui-library scrolls a field with an error into view, which jsdom lacks.
Element.prototype.scroll ??= function scroll() {};
Element.prototype.scrollIntoView ??= function scrollIntoView() {};
