// Every synchronous child process a test starts gets a deadline.
//
// A test's own timeout cannot end a spawnSync/execFileSync/execSync that never returns: the call
// blocks the worker's event loop, so the timer that would fail the test never runs, and one stuck
// `docker exec` or a read on a wedged mount holds the whole suite until CI's own limit kills it
// without a word about which test it was. Here a call that names no timeout of its own gets
// a deadline (3 minutes); when it passes, the child is killed and the call fails (or returns with an
// ETIMEDOUT error) in the test that made it, which then reports where it was.
import childProcess from 'node:child_process';
import {syncBuiltinESMExports} from 'node:module';

// DBOX_TEST_SYNC_DEADLINE_MS changes it (read at each call, so a test of this file can shorten it).
export const syncDeadlineMs = (): number => Number(process.env['DBOX_TEST_SYNC_DEADLINE_MS']) || 180_000;

type Options = {timeout?: number; killSignal?: NodeJS.Signals | number} | undefined;

const withDeadline = (options: Options): Options =>
  options?.timeout !== undefined && options.timeout > 0 ? options : {...options, timeout: syncDeadlineMs(), killSignal: options?.killSignal ?? 'SIGKILL'};

// (file, args?, options?) and (command, options?): the options are the first plain object after
// the file that is not an array; when there is none they are appended.
const patch = <F extends (...a: never[]) => unknown>(fn: F): F => (((...args: unknown[]) => {
  const at = args.findIndex((a, i) => i > 0 && a !== null && typeof a === 'object' && !Array.isArray(a));
  if (at >= 0) args[at] = withDeadline(args[at] as Options);
  else args.push(withDeadline(undefined));
  return (fn as unknown as (...a: unknown[]) => unknown)(...args);
}) as unknown as F);

const marker = Symbol.for('dbox.test.sync-deadline');
const cp = childProcess as unknown as Record<string | symbol, unknown>;
if (!cp[marker]) {
  cp[marker] = true;
  childProcess.spawnSync = patch(childProcess.spawnSync);
  childProcess.execFileSync = patch(childProcess.execFileSync);
  childProcess.execSync = patch(childProcess.execSync);
  syncBuiltinESMExports();
}
