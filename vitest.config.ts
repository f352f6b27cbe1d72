import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['runner/test/**/*.test.ts'],
    globalSetup: ['runner/test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Tests start workers, servers and subprocesses; two cores are shared by all of them.
    maxWorkers: 2,
  },
});
