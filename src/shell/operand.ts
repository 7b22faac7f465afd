// A command-line operand as GNU's tools meet it, the one place that says so for every builtin:
// the empty name names nothing (`ls ''`: No such file or directory, never the working
// directory), and a trailing slash asks for a directory: the path is followed (a link to a
// directory is the directory) and anything else is `Not a directory`. The lexical normalisation
// of path.ts (which drops the slash) comes after these checks.
import {FsError} from '../errors.js';
import type {Target} from '../vfs/namespace.js';
import {absolute} from '../vfs/path.js';
import {isDir, type Stat} from '../vfs/types.js';
import type {ShellContext} from './context.js';

/** The name before a trailing `/`, `/.` or `/..` (which the kernel resolves only through a
 *  directory), or undefined when `operand` has none. */
export function directoryStem(operand: string): string | undefined {
  const m = /^(.*?[^/])\/+(\.\.?\/*)?$/.exec(operand);
  return m ? m[1] : undefined;
}

export interface Operand {
  readonly abs: string;
  readonly target: Target;
  /** The followed stat of a name that asked for a directory (`link/`), when it did. */
  readonly dirStat?: Stat;
}

/** Resolves `operand`; throws ENOENT for '', ENOTDIR for `file/` (and the stat error of a missing `x/`). */
export async function resolveOperand(operand: string, ctx: ShellContext): Promise<Operand> {
  if (operand === '') throw new FsError('ENOENT', operand);
  const abs = absolute(operand, ctx);
  const stem = directoryStem(operand);
  let dirStat: Stat | undefined;
  if (stem !== undefined) {
    const at = await ctx.ns.resolve(absolute(stem, ctx));
    if (at.kind === 'fs') {
      dirStat = await at.fs.stat(at.path);
      if (!isDir(dirStat)) throw new FsError('ENOTDIR', operand);
    }
  }
  const target = await ctx.ns.resolve(abs);
  return {abs, target, ...(dirStat && /\/+$/.test(operand) ? {dirStat} : {})};
}
