// exit: leave dbox with a status (default: the last command's).
import {escapeControls} from '../src/format/quote.js';
import type {Builtin} from '../src/shell/context.js';

export const exit: Builtin = {
  name: 'exit',
  usage: 'exit [N]',
  summary: 'leave dbox with status N (default: the status of the last command)',
  async run(args, ctx) {
    const arg = args[0];
    if (arg === undefined) return {status: 0, effect: {kind: 'exit', code: Number(ctx.env['?'] ?? 0)}};
    if (!/^-?\d+$/.test(arg)) {
      ctx.stderr.stream.write(`exit: ${escapeControls(arg)}: numeric argument required\n`);
      return {status: 2, effect: {kind: 'exit', code: 2}};
    }
    return {status: 0, effect: {kind: 'exit', code: ((Number(arg) % 256) + 256) % 256}};
  },
};
