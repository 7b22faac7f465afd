// What a builtin gets (ShellContext) and what it gives back (Result). Builtins never touch
// `process`: streams, environment, the working directory, the namespace, the clock and the way to
// run a program come in here (zx's pattern), so a test gives its own and checks exact output. A
// builtin runs in the dbox process on the stdin, stdout and stderr of the command that called it
// (src/shell/builtin-server.ts), or on dbox's own for `dbox attach …`. The shell's state (cwd,
// variables, exit) is bash's: builtins do not change it.
import type {Readable, Writable} from 'node:stream';
import type {Namespace} from '../vfs/namespace.js';

export interface Output {
  readonly stream: Writable;
  /** The raw fd behind `stream`, when bytes may be written to it directly (native copies). */
  readonly fd?: number;
  readonly isTTY: boolean;
  readonly columns: number;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What a program run with its output collected said (ShellContext.capture). */
export interface Captured {
  /** Its exit status: 128+N when signal N ended it, 127 when it could not be started (then `error` says why). */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string;
}

/** Runs a program with its output collected: ShellContext.capture. */
export type Capture = (program: string, args: readonly string[], options?: RunOptions) => Promise<Captured>;

export interface ShellContext {
  /** The caller's working directory (as the kernel sees it). */
  readonly cwd: string;
  readonly home: string;
  /** The caller's exported environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly ns: Namespace;
  readonly stdin: Readable;
  readonly stdinIsTTY: boolean;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Colour allowed on stdout (a TTY, and NO_COLOR unset). */
  readonly color: boolean;
  /** Aborted by Ctrl-C / SIGINT (or when the caller goes away): long work stops, cleans up and returns 130. */
  readonly signal: AbortSignal;
  /** Runs a program that needs the terminal (attach's helper, `docker exec -it`) in the caller's
   *  place: its process group, its terminal, its working directory; resolves to its exit status
   *  (128+N when signal N ended it, 127 when it could not be started). */
  readonly run: (program: string, args: readonly string[], options?: RunOptions) => Promise<number>;
  /** Runs a program that needs no terminal (attach's helper asked for its state or a cleanup) with
   *  no stdin and its stdout and stderr collected. The one other way a builtin runs a program. */
  readonly capture: Capture;
  /** The clock: milliseconds since the epoch (ls's six-month rule, cp's progress). */
  readonly now: () => number;
}

export interface Result {
  readonly status: number;
}

export interface Builtin {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  /** `help NAME`: one line per option, `-x, --long  what it does` */
  readonly options?: readonly string[];
  run(args: readonly string[], ctx: ShellContext): Promise<Result>;
}

/** The builtins a session offers: src/cli.ts hands it builtins/index.ts's (src/shell never imports
 *  builtins/, which import it). */
export type Registry = readonly Builtin[];

export const ok: Result = {status: 0};
export const failed: Result = {status: 1};
