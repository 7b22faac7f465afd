// pwd: print the (virtual) working directory.
import type {Builtin} from '../src/shell/context.js';

export const pwd: Builtin = {
  name: 'pwd',
  usage: 'pwd',
  summary: 'print the working directory',
  async run(_args, ctx) {
    ctx.stdout.stream.write(ctx.cwd + '\n');
    return {status: 0};
  },
};
