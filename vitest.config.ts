import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files share one engine: run files one at a time, tests inside in order.
    fileParallelism: false,
    env: {FORCE_COLOR: '0'},
  },
});
