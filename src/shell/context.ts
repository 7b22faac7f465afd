// What a builtin gets (ShellContext) and what it gives back (Result with an optional Effect).
// Builtins never touch `process`: streams, environment and the namespace come in here, and
// state changes (cd, exit) go back out as effects that one runner applies.
import type {Readable, Writable} from 'node:stream';
import type {Namespace} from '../vfs/namespace.js';

export interface Output {
  readonly stream: Writable;
  /** The raw fd behind `stream`, when bytes may be written to it directly (native copies). */
  readonly fd?: number;
  readonly isTTY: boolean;
  readonly columns: number;
}

export interface ShellContext {
  readonly cwd: string;
  readonly oldPwd: string | undefined;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly ns: Namespace;
  readonly stdin: Readable;
  readonly stdinFd?: number;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Colour allowed on stdout (a TTY, and NO_COLOR unset). */
  readonly color: boolean;
  /** Aborted by Ctrl-C / SIGINT: long work stops, cleans up and returns 130. */
  readonly signal: AbortSignal;
}

export type Effect = {readonly kind: 'chdir'; readonly path: string} | {readonly kind: 'exit'; readonly code: number};

export interface Result {
  readonly status: number;
  readonly effect?: Effect;
}

export interface Builtin {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  run(args: readonly string[], ctx: ShellContext): Promise<Result>;
}

export const ok: Result = {status: 0};
export const failed: Result = {status: 1};
