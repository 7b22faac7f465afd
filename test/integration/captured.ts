// A process run to completion with its output captured, for the differential suites (bash vs
// dbox, GNU coreutils vs dbox): what each printed and how it ended, compared byte for byte.
import {spawn} from 'node:child_process';

export interface Run {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit status, or the signal's name. */
  readonly status: number | string;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Written to its stdin, then closed (default: nothing). */
  readonly input?: string;
  readonly argv0?: string;
  /** How output bytes become the strings compared ('latin1': one char per byte, nothing merged). */
  readonly encoding?: BufferEncoding;
}

/** Runs `cmd` with `args` to its end (killed after 60 s); output decoded once it is all there. */
export function runCaptured(cmd: string, args: readonly string[], opts: RunOptions): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], ...(opts.argv0 ? {argv0: opts.argv0} : {})});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const encoding = opts.encoding ?? 'utf8';
      resolve({stdout: Buffer.concat(out).toString(encoding), stderr: Buffer.concat(err).toString(encoding), status: code ?? String(signal)});
    });
  });
}

/** Runs `jobs` with at most `n` at a time; results in the jobs' order. */
export async function pool<T>(n: number, jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({length: n}, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}
