// Running a program with dbox's own terminal handed over: `dbox attach …` from the command line,
// where dbox itself is the foreground job (inside the session, ShellContext.run asks the
// builtin's caller to run it instead: src/shell/builtin-server.ts).
import {constants} from 'node:os';
import type {RunOptions} from './context.js';

/** Runs a program with inherited stdio; resolves to its exit status (128+N when a signal N ended
 *  it, 127 when it could not be started). */
export async function runInherited(program: string, args: readonly string[], options: RunOptions = {}): Promise<number> {
  const {spawn} = await import('node:child_process'); // most commands never spawn: keep it off the start path
  return new Promise((resolve) => {
    const child = spawn(program, args, {stdio: 'inherit', ...(options.cwd ? {cwd: options.cwd} : {}),
      ...(options.env ? {env: options.env as NodeJS.ProcessEnv} : {})});
    child.on('error', (error) => {
      process.stderr.write(`dbox: ${program}: ${error.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 9)));
  });
}
