import {defineConfig} from 'vitest/config';

const ci = process.env['CI'] === 'true';
/** End-to-end files that drive the line editor alone (harness/editor-driver), no dbox session. */
const EDITOR_ALONE = ['test/e2e/editor.test.ts', 'test/e2e/readline-diff.test.ts'];

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
      // No engine, no mount: pure logic, components, and the line editor alone in a terminal; files
      // in parallel, beside the others.
      {extends: true, test: {name: 'unit', include: ['test/unit/**/*.test.ts', 'test/components/**/*.test.tsx', 'test/components/**/*.test.ts',
        ...EDITOR_ALONE]}},
      // Integration, adversarial and end-to-end files share one engine (and count what it holds):
      // one file at a time, tests inside in order.
      {extends: true, test: {name: 'engine', include: ['test/integration/**/*.test.ts', 'test/adversarial/**/*.test.ts', 'test/e2e/**/*.test.ts'],
        exclude: EDITOR_ALONE, fileParallelism: false}},
    ],
  },
});
