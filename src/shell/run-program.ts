// The programs a builtin runs (ShellContext.run and .capture; injected, so tests give their own):
// runInherited with dbox's own terminal handed over, for `dbox attach …` from the command line,
// where dbox itself is the foreground job (inside the session, ShellContext.run asks the
// builtin's caller to run it instead: src/shell/builtin-server.ts); runCaptured, the same in both,
// with no terminal and the output collected.
import {constants} from 'node:os';
import type {Captured, RunOptions} from './context.js';

const statusOf = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal ? constants.signals[signal] : 9);
const spawnOptions = (options: RunOptions): {cwd?: string; env?: NodeJS.ProcessEnv} =>
  ({...(options.cwd ? {cwd: options.cwd} : {}), ...(options.env ? {env: options.env as NodeJS.ProcessEnv} : {})});

/** Runs a program with inherited stdio; resolves to its exit status (128+N when a signal N ended
 *  it, 127 when it could not be started). */
export async function runInherited(program: string, args: readonly string[], options: RunOptions = {}): Promise<number> {
  const {spawn} = await import('node:child_process'); // most commands never spawn: keep it off the start path
  return new Promise((resolve) => {
    const child = spawn(program, args, {stdio: 'inherit', ...spawnOptions(options)});
    child.on('error', (error) => {
      process.stderr.write(`dbox: ${program}: ${error.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(statusOf(code, signal)));
  });
}

/** Runs a program with no stdin and its stdout and stderr collected (as UTF-8); 127 and why when it could not be started. */
export async function runCaptured(program: string, args: readonly string[], options: RunOptions = {}): Promise<Captured> {
  const {spawn} = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(program, args, {stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions(options)});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error) => resolve({status: 127, stdout: '', stderr: '', error: error.message}));
    // 'close', not 'exit': every byte of both pipes has arrived.
    child.on('close', (code, signal) => resolve({status: statusOf(code, signal), stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8')}));
  });
}
