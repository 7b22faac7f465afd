// Waiting in tests, the one way: for a condition, with a deadline, never for a fixed time (CI runs
// on a shared 2-core machine, so a test must not depend on its speed). And what the engine did
// meanwhile: its events for one container while some work ran, as `docker events` reports them.
import {runCaptured} from './captured.js';

type Maybe<T> = T | undefined | null | false;

/**
 * Resolves with the first truthy value `probe` gives (polled every `everyMs`: the interval of a
 * poll, not a wait that is asserted on); rejects with "timed out waiting for WHAT" once `ms` have
 * passed without one.
 */
export async function until<T>(what: string, probe: () => Maybe<T> | Promise<Maybe<T>>, ms = 60_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The engine's actions (`exec_start`, `archive-path`, …; an action's detail after `:` dropped) on
 * `container` while `work` ran, asked of the engine `env` names (default: this process's). Asked
 * without blocking this process: work of this process may still hold the container.
 */
export async function actionsDuring(container: string, work: () => unknown, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const since = (Date.now() / 1000).toFixed(3);
  await work();
  const till = (Date.now() / 1000 + 1).toFixed(3);
  const {stdout} = await runCaptured('docker', ['events', '--since', since, '--until', till, '--filter', `container=${container}`, '--format', '{{.Action}}'],
    {cwd: '/', env});
  return stdout.split('\n').filter(Boolean).map((a) => a.split(':')[0]!);
}
