import '@plesk/ui-library/dist/plesk-ui-library.css';
import './standalone.css';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { StandaloneApp } from './app/StandaloneApp';

const element = document.getElementById('app');
if (element) createRoot(element).render(<StandaloneApp apiBase="/api/v1" />);
