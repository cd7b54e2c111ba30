import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests of the standalone UI and of the Plesk build in a simulated Plesk page (plesk-page.spec.ts)
 * against the real daemon and a throwaway Postfix, in Debian's chromium
 * (installed by scripts/install-deps.sh; Playwright never downloads a browser here).
 */
export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  outputDir: '../../test-output/playwright',
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    actionTimeout: 20_000,
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
