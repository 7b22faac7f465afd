import {defineConfig} from 'vitest/config';

const ci = process.env['CI'] === 'true';

export default defineConfig({
  test: {
    // A synchronous child process with no timeout of its own gets one (see the file).
    setupFiles: ['test/setup/sync-deadline.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: {FORCE_COLOR: '0'},
    // In CI a JSON report lets .ci/run print a plain summary and fail on any skipped test.
    reporters: ci ? ['default', 'json'] : ['default'],
    ...(ci ? {outputFile: {json: 'test-results.json'}} : {}),
    projects: [
      // Pure logic and components: no engine, no mount; files in parallel, beside the others.
      {extends: true, test: {name: 'unit', include: ['test/unit/**/*.test.ts', 'test/components/**/*.test.tsx', 'test/components/**/*.test.ts']}},
      // Integration, adversarial and end-to-end files share one engine (and count what it holds):
      // one file at a time, tests inside in order.
      {extends: true, test: {name: 'engine', include: ['test/integration/**/*.test.ts', 'test/adversarial/**/*.test.ts', 'test/e2e/**/*.test.ts'],
        fileParallelism: false}},
    ],
  },
});
