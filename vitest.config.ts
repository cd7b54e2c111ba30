import { defineConfig } from 'vitest/config';
import { jsxConfig } from './frontend/vite.config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['backend-bridge/src/**/*.test.ts'],
          // Some run postconf and postfix (wiring, queue files): on a busy 2-core machine 5 s is not enough.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['backend-bridge/test/**/*.test.ts'],
          // Each file starts its own Postfix and daemon; running them one at a time keeps a 2-core machine calm.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'bench',
          include: ['bench/**/*.test.ts'],
          // The bench's own figures and workloads, against a real redis-server and the built daemon: one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'plesk',
          include: ['packaging/test/**/*.test.ts'],
          // The package and install tests run the built command, a real Postfix and a daemon each: one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          },
        },
        {
        // Component tests of the control-panel screens, in jsdom, with the same JSX settings as the builds.
        ...jsxConfig,
        test: {
          name: 'ui',
          include: ['frontend/src/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
          setupFiles: ['frontend/src/test-setup.ts'],
          css: false,
          // Typing into ui-library forms in jsdom is slow on a busy 2-core machine; 5 s left no headroom.
          testTimeout: 30_000,
        },
      },
    ],
  },
});
