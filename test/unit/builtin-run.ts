// Runs a builtin as the session does (src/shell/run-builtin.ts: the same entry, the same error
// reports and statuses) on a context whose host paths are an in-memory filesystem (memory-fs.ts,
// through the Namespace's `host` seam): exact stdout, stderr and status in milliseconds, with no
// engine (the Engine is made but never asked: host paths never reach it) and no host file.
import {Readable, Writable} from 'node:stream';
import {builtins} from '../../builtins/index.js';
import {Engine} from '../../src/docker/engine.js';
import type {Output, ShellContext} from '../../src/shell/context.js';
import {runBuiltin} from '../../src/shell/run-builtin.js';
import {Namespace} from '../../src/vfs/namespace.js';
import type {ContainerFs} from '../../src/vfs/types.js';

export interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

function collector(chunks: Buffer[], isTTY = false): Output {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return {stream, isTTY, columns: 80};
}

/** `argv` run as a builtin with `host` serving every host path, from `cwd`; `signal` is its Ctrl-C,
 *  `now` its clock (ms since the epoch), `stdin` its input; `stderrTTY`: its stderr is a terminal. */
export async function runOver(host: ContainerFs, argv: readonly string[], cwd = '/', env: Record<string, string> = {},
  signal = new AbortController().signal, {now = Date.now, stdin = '', stderrTTY = false}: {now?: () => number; stdin?: string; stderrTTY?: boolean} = {}): Promise<Ran> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const ctx: ShellContext = {
    cwd, home: '/root', env: {HOME: '/root', ...env}, ns: new Namespace(new Engine(), {host}),
    stdin: Readable.from(stdin === '' ? [] : [Buffer.from(stdin)]), stdinIsTTY: false, stdout: collector(out), stderr: collector(err, stderrTTY), color: false,
    signal, run: async () => 127, capture: async () => ({status: 127, stdout: '', stderr: '', error: 'no programs here'}), now,
  };
  const status = await runBuiltin(builtins, argv, ctx);
  return {stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), status};
}
