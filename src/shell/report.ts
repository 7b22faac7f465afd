// Coreutils-style messages on stderr for errors a builtin meets.
import {DboxError, EngineUnreachable, FsError, strerror} from '../vfs/errors.js';
import type {ShellContext} from './context.js';

/** `cat: /containers/web/nope: No such file or directory` — `what` is the path as the user typed it. */
export function fsMessage(command: string, error: unknown, what: string, template?: (what: string) => string): string {
  if (error instanceof FsError) {
    const subject = template ? template(what) : what;
    return `${command}: ${subject}: ${strerror(error.code)}${error.hint ? ` ${error.hint}` : ''}`;
  }
  // No engine is not about one file: the session reports it once, as dbox.
  if (error instanceof EngineUnreachable) throw error;
  if (error instanceof DboxError) return `${command}: ${error.message}`;
  throw error;
}

export function report(ctx: ShellContext, command: string, error: unknown, what: string, template?: (w: string) => string): void {
  ctx.stderr.stream.write(fsMessage(command, error, what, template) + '\n');
}
