// Starting a helper process that says when it is ready: the one owner of spawn-and-wait-for-ready
// (dbox-fuse, the mount process of `dbox mount` and of the shell).
//
// The helper writes one line on a channel of its own (a pipe at stdio index `channel`): "ready"
// (optionally followed by words), or "error WHY". Anything else, or its exit before a line, is a
// failed start. Once ready, nothing of the spawner stays attached to the child except what the
// caller asked for: in particular its stderr never goes to a pipe the spawner owns (a helper that
// outlives its launcher would die of EPIPE at its first warning), but to `stderr` (a log fd).
import {spawn, type ChildProcess, type StdioOptions} from 'node:child_process';
import {createInterface} from 'node:readline';
import type {Readable} from 'node:stream';

export class StartFailed extends Error {
  /** `told`: the reason is the helper's own ("error WHY"), not how it ended. */
  constructor(message: string, readonly told = false) {
    super(message);
  }
}

export interface SpawnReadyOptions {
  /** The stdio index the child answers on (1 for stdout, 3 for an extra pipe). */
  readonly channel: 1 | 3;
  /** stdin: 'pipe' (the child reads EOF when we go), or 'ignore'. */
  readonly stdin: 'pipe' | 'ignore';
  /** Where the child's stderr goes: a log file's fd, or 'inherit'. */
  readonly stderr: number | 'inherit';
  /** In its own session: no signal of our terminal reaches it. */
  readonly detached?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

export interface Started {
  readonly child: ChildProcess;
  /** The words after "ready". */
  readonly said: string;
  /** The channel's later lines (dbox-fuse answers control records there). */
  readonly lines: AsyncIterableIterator<string> | undefined;
}

/** Spawns `command` and waits for its ready line; rejects with StartFailed (its reason) otherwise. */
export async function spawnReady(command: string, args: readonly string[], options: SpawnReadyOptions): Promise<Started> {
  const stdio: StdioOptions = [options.stdin, options.channel === 1 ? 'pipe' : 'ignore', options.stderr];
  if (options.channel === 3) stdio.push('pipe');
  const child = spawn(command, args, {stdio, detached: options.detached ?? false, env: options.env ?? process.env});
  const {said, lines} = await readyOf(child, options.channel);
  return {child, said, lines: options.channel === 1 ? lines : undefined};
}

/**
 * Waits for the ready line of `child` (spawned by the caller) on its pipe at stdio index `channel`:
 * resolves with the words after "ready" and the channel's later lines (the channel is closed when
 * it is not stdout); rejects with StartFailed, the reason, after ending the child, on anything else.
 */
export async function readyOf(child: ChildProcess, channel: number): Promise<{said: string; lines: AsyncIterableIterator<string>}> {
  const stream = child.stdio[channel] as Readable;
  const lines = createInterface({input: stream, crlfDelay: Infinity})[Symbol.asyncIterator]();
  const exited = new Promise<string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode ? `killed by ${child.signalCode}` : `exited with status ${child.exitCode}`);
    child.once('error', (e) => resolve(e.message));
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with status ${code}`));
  });
  // The line, or the channel's end (the child exited, or could not start: its pipes close).
  const first = await lines.next().then((r) => (r.done ? undefined : r.value), () => undefined);
  if (first === undefined || !/^ready\b/.test(first)) {
    child.kill('SIGTERM');
    stream.destroy();
    if (first?.startsWith('error ')) throw new StartFailed(first.slice(6), true);
    throw new StartFailed(first === undefined ? await exited : `unexpected answer: ${JSON.stringify(first)}`);
  }
  if (channel !== 1) stream.destroy();
  return {said: first.slice(5).trim(), lines};
}
