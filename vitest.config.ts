import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['backend-bridge/src/**/*.test.ts'],
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
          name: 'plesk',
          include: ['packaging/test/**/*.test.ts'],
          // The package and install tests run the built command, a real Postfix and a daemon each: one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
