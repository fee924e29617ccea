import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/.work/**', 'dist/**'],
    // Integration tests mount, create cgroups and run real containers as root;
    // running test files one at a time keeps their host-state checks
    // (test/helpers/env.ts hostSnapshot) meaningful. Tests inside a file still
    // run sequentially unless a file opts into concurrency itself.
    fileParallelism: false,
    setupFiles: ['test/setup.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // .ci/run reads numPassedTests / numFailedTests from the JSON report.
    reporters: ['default', 'json'],
    outputFile: { json: 'test/.work/vitest.json' },
  },
});
