// Runs one builtin on a context and turns what it throws into a coreutils-style message and a
// status: the one place that decides how errors of builtins are reported, wherever they run
// (called by the session's bash through the builtin server, or as `dbox attach …`).
import {topLevel} from '../errors.js';
import type {Registry, ShellContext} from './context.js';

export async function runBuiltin(registry: Registry, argv: readonly string[], ctx: ShellContext): Promise<number> {
  const [name, ...args] = argv;
  const builtin = name === undefined ? undefined : registry.find((b) => b.name === name);
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
  const {text, status} = topLevel(error);
  err.write(text);
  return status;
}
