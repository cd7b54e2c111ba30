import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { TRANSLATIONS } from './src/messages/translations';

/**
 * One source, two builds:
 *   vite build --config frontend/vite.config.ts --mode plesk       → htdocs/dist/main.js, the AMD module Plesk pages load
 *   vite build --config frontend/vite.config.ts --mode standalone  → frontend/dist/, the app the daemon serves at /
 */
const frontendDir = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** What Plesk pages already carry: React 18, ReactDOM and ui-library, together in the RequireJS module 'plesk-ui-library'. */
const PLESK_PROVIDED = new Set(['react', 'react-dom', 'react-dom/client', '@plesk/ui-library']);
export const PLESK_UI_MODULE = 'plesk-ui-library';

/** Resolves every Plesk-provided import to the one external module, so the bundle declares a single dependency. */
function pleskProvided(): Plugin {
  return {
    name: 'plesk-provided-modules',
    enforce: 'pre',
    resolveId(source) {
      return PLESK_PROVIDED.has(source) ? { id: PLESK_UI_MODULE, external: true } : null;
    },
  };
}

/**
 * Each translation as an AMD module of its own (dist/locales/de-DE.js: `define({...})`): a Plesk page loads the
 * one of the person's locale beside main.js (plib/library/Screen.php), so main.js carries en-US only.
 */
function translationModules(): Plugin {
  return {
    name: 'translation-modules',
    generateBundle() {
      for (const [locale, messages] of Object.entries(TRANSLATIONS)) {
        this.emitFile({ type: 'asset', fileName: `locales/${locale}.js`, source: `define(${JSON.stringify(messages)});\n` });
      }
    },
  };
}

/** Classic JSX with named imports (`import { createElement } from 'react'`): what the Plesk module provides. */
export const jsxConfig: UserConfig = {
  plugins: [react({ jsxRuntime: 'classic' })],
  oxc: { jsx: { runtime: 'classic', pragma: 'createElement', pragmaFrag: 'Fragment' } },
};

export default defineConfig(({ mode }): UserConfig => {
  if (mode === 'plesk') {
    return {
      ...jsxConfig,
      plugins: [pleskProvided(), translationModules(), ...(jsxConfig.plugins ?? [])],
      root: frontendDir,
      base: './',
      // UMD libraries inside the bundle must not register themselves with the page's RequireJS.
      define: { 'define.amd': 'false', 'process.env.NODE_ENV': JSON.stringify('production') },
      build: {
        outDir: `${repoRoot}htdocs/dist`,
        emptyOutDir: true,
        sourcemap: false,
        // The UMD wrapper is an anonymous AMD module when RequireJS is present: what require(['.../main.js']) expects.
        lib: { entry: `${frontendDir}src/plesk-main.tsx`, formats: ['umd'], name: 'OutgoingMailLimits', fileName: () => 'main.js' },
        rolldownOptions: { output: { globals: { [PLESK_UI_MODULE]: 'PleskUiLibrary' }, exports: 'named' } },
      },
    };
  }
  return {
    ...jsxConfig,
    root: frontendDir,
    base: '/',
    build: { outDir: `${frontendDir}dist`, emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2000 },
  };
});
