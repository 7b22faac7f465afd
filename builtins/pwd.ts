// pwd: print the (virtual) working directory (a container's directory names are hostile: escaped
// on a terminal, raw bytes elsewhere).
import {outputText} from '../src/format/quote.js';
import {writableBytes} from '../src/format/utf8.js';
import type {Builtin} from '../src/shell/context.js';

export const pwd: Builtin = {
  name: 'pwd',
  usage: 'pwd',
  summary: 'print the working directory',
  async run(_args, ctx) {
    ctx.stdout.stream.write(writableBytes(outputText(ctx.cwd, ctx.stdout.isTTY) + '\n'));
    return {status: 0};
  },
};
