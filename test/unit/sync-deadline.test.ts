// The suite's deadline on synchronous child processes (test/setup/sync-deadline.ts) reaches the
// named imports test files use, and a call that names its own timeout keeps it.
import {createRequire} from 'node:module';
import {execFileSync, spawnSync} from 'node:child_process';
import {afterEach, expect, test} from 'vitest';

afterEach(() => { delete process.env['DBOX_TEST_SYNC_DEADLINE_MS']; });

test('a spawnSync with no timeout of its own is killed at the deadline', () => {
  process.env['DBOX_TEST_SYNC_DEADLINE_MS'] = '200';
  const r = spawnSync('sleep', ['60']);
  expect((r.error as NodeJS.ErrnoException | undefined)?.code).toBe('ETIMEDOUT');
  expect(r.signal).toBe('SIGKILL');
});

test('execFileSync with options but no timeout throws at the deadline', () => {
  process.env['DBOX_TEST_SYNC_DEADLINE_MS'] = '200';
  expect(() => execFileSync('sleep', ['60'], {stdio: 'ignore'})).toThrow(/ETIMEDOUT/);
});

test('a timeout the call names is kept', () => {
  process.env['DBOX_TEST_SYNC_DEADLINE_MS'] = '60000';
  const r = spawnSync('sleep', ['60'], {timeout: 200});
  expect(r.signal).toBe('SIGTERM');
});

test('the CommonJS module and the named imports are the same patched functions', () => {
  const cp = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  expect(cp.spawnSync).toBe(spawnSync);
  expect((cp as unknown as Record<symbol, unknown>)[Symbol.for('dbox.test.sync-deadline')]).toBe(true);
});
