// cd: change the working directory, which may be a host directory, /containers, or inside a container.
import {outputText} from '../src/format/quote.js';
import {writableBytes} from '../src/format/utf8.js';
import type {Builtin} from '../src/shell/context.js';
import {report} from '../src/shell/report.js';
import {FsError} from '../src/vfs/errors.js';
import {absolute} from '../src/vfs/path.js';
import {isDir} from '../src/vfs/types.js';

export const cd: Builtin = {
  name: 'cd',
  usage: 'cd [DIR | - | ~]',
  summary: 'change the working directory (no DIR: home; -: the previous one)',
  async run(args, ctx) {
    if (args.length > 1) {
      ctx.stderr.stream.write('cd: too many arguments\n');
      return {status: 1};
    }
    let dest = args[0] ?? ctx.home;
    if (dest === '-') {
      if (ctx.oldPwd === undefined) {
        ctx.stderr.stream.write('cd: OLDPWD not set\n');
        return {status: 1};
      }
      dest = ctx.oldPwd;
      ctx.stdout.stream.write(writableBytes(outputText(dest, ctx.stdout.isTTY) + '\n'));
    }
    const path = absolute(dest, ctx);
    try {
      if (!isDir(await ctx.ns.stat(path))) throw new FsError('ENOTDIR', path);
    } catch (error) {
      report(ctx, 'cd', error, dest);
      return {status: 1};
    }
    return {status: 0, effect: {kind: 'chdir', path}};
  },
};
