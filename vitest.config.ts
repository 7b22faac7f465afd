import {defineConfig} from 'vitest/config';

const ci = process.env['CI'] === 'true';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // A synchronous child process with no timeout of its own gets one (see the file).
    setupFiles: ['test/setup/sync-deadline.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files share one engine: run files one at a time, tests inside in order.
    fileParallelism: false,
    env: {FORCE_COLOR: '0'},
    // In CI a JSON report lets .ci/run print a plain summary and fail on any skipped test.
    reporters: ci ? ['default', 'json'] : ['default'],
    ...(ci ? {outputFile: {json: 'test-results.json'}} : {}),
  },
});
