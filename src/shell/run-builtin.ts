// Runs one builtin on a context and turns what it throws into a coreutils-style message and a
// status: the one place that decides how errors of builtins are reported, wherever they run
// (called by the session's bash through the builtin server, or as `dbox attach …`).
import {builtinNamed} from '../../builtins/index.js';
import {DboxError, EngineUnreachable, UsageError} from '../vfs/errors.js';
import type {ShellContext} from './context.js';

export async function runBuiltin(argv: readonly string[], ctx: ShellContext): Promise<number> {
  const [name, ...args] = argv;
  const builtin = name === undefined ? undefined : builtinNamed(name);
  if (!builtin) {
    ctx.stderr.stream.write(`dbox: ${name ?? ''}: not a dbox builtin\n`);
    return 127;
  }
  try {
    return (await builtin.run(args, ctx)).status;
  } catch (error) {
    return reportError(ctx.stderr.stream, error);
  }
}

function reportError(err: NodeJS.WritableStream, error: unknown): number {
  if (error instanceof UsageError) {
    err.write(error.message + '\n');
    return error.status;
  }
  if (error instanceof EngineUnreachable || error instanceof DboxError) {
    err.write(`dbox: ${error.message}\n`);
    return 1;
  }
  err.write(`dbox: internal error (please report): ${(error as Error)?.stack ?? String(error)}\n`);
  return 70;
}
