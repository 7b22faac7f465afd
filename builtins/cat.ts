// cat: write files (host or container) to stdout, streaming and binary-safe; stdin when none or `-`.
// In a container only regular files and FIFOs are opened (a device node is refused unopened), and
// a FIFO is read as it fills until Ctrl-C (transfer.ts sendFile); host files are read as GNU cat does.
import {pipeline} from 'node:stream/promises';
import type {Builtin} from '../src/shell/context.js';
import {parseOptions} from '../src/shell/options.js';
import {resolveOperand} from '../src/shell/operand.js';
import {report} from '../src/shell/report.js';
import {FsError} from '../src/vfs/errors.js';
import {Progress, sendFile} from '../src/vfs/transfer.js';

export const cat: Builtin = {
  name: 'cat',
  usage: 'cat [FILE]...',
  summary: 'concatenate files to standard output (- or none: standard input)',
  async run(args, ctx) {
    const {operands} = parseOptions('cat', args, {short: {}, usageStatus: 1});
    const progress = new Progress();
    const onAbort = (): void => progress.cancel();
    ctx.signal.addEventListener('abort', onAbort);
    let status = 0;
    try {
      for (const operand of operands.length > 0 ? operands : ['-']) {
        if (ctx.signal.aborted) return {status: 130};
        try {
          if (operand === '-') {
            await pipeline(ctx.stdin, ctx.stdout.stream, {end: false, signal: ctx.signal});
            continue;
          }
          const {target} = await resolveOperand(operand, ctx);
          if (target.kind !== 'fs') throw new FsError('EISDIR', operand);
          await sendFile(target, ctx.stdout, progress);
        } catch (error) {
          if (ctx.signal.aborted) return {status: 130};
          report(ctx, 'cat', error, operand);
          status = 1;
        }
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    return {status};
  },
};
