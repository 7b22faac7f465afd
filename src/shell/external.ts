// The edge where dbox hands the terminal to another program: the user's real shell ($SHELL -c,
// bash if unset) for external commands, and attach's helper.
import {constants} from 'node:os';

/** Runs a program with the terminal handed over (inherited stdio); resolves to its exit status
 *  (128+N when a signal N ended it, 127 when it could not be started). */
export async function runInherited(cmd: string, args: readonly string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): Promise<number> {
  const {spawn} = await import('node:child_process'); // most lines never spawn: keep it off the start path
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {stdio: 'inherit', ...options});
    child.on('error', (error) => {
      process.stderr.write(`dbox: ${cmd}: ${error.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 9)));
  });
}

export interface ExternalRun {
  readonly text: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly shell: string;
}

export function runExternal(run: ExternalRun): Promise<number> {
  return runInherited(run.shell, ['-c', run.text], {cwd: run.cwd, env: run.env});
}
