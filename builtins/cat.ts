// cat: write files (host or container) to stdout, streaming and binary-safe; stdin when none or `-`;
// with -n -b -s -E -T -v -A -e -t through GNU's filter (src/format/cat-filter.ts).
// In a container only regular files and FIFOs are opened (a device node is refused unopened), and
// a FIFO is read as it fills until Ctrl-C (transfer.ts sendFile); host files are read as GNU cat does.
import {Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {CatFilter, catFilters, type CatOptions} from '../src/format/cat-filter.js';
import type {Builtin} from '../src/shell/context.js';
import {parseOptions} from '../src/shell/options.js';
import {helpText} from './help.js';
import {resolveOperand} from '../src/shell/operand.js';
import {report} from '../src/shell/report.js';
import {FsError} from '../src/errors.js';
import {Progress, sendFile} from '../src/vfs/transfer.js';

const spec = {
  short: {n: 'number', b: 'numberNonblank', s: 'squeeze', E: 'showEnds', T: 'showTabs', v: 'showNonprinting',
    A: 'showAll', e: 'e', t: 't', u: 'unbuffered'},
  long: {number: 'number', 'number-nonblank': 'numberNonblank', 'squeeze-blank': 'squeeze', 'show-ends': 'showEnds',
    'show-tabs': 'showTabs', 'show-nonprinting': 'showNonprinting', 'show-all': 'showAll'},
  usageStatus: 1,
};

/** A stream that writes `filter`'s bytes to `to` (never ending it: the caller's stdout). */
function filtered(to: NodeJS.WritableStream, filter: CatFilter): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const bytes = filter.filter(chunk);
      if (bytes.length === 0 || to.write(bytes)) done();
      else to.once('drain', () => done());
    },
  });
}

export const cat: Builtin = {
  name: 'cat',
  usage: 'cat [-nbsEATetuv] [FILE]...',
  summary: 'concatenate files to standard output (- or none: standard input)',
  options: [
    '-n, --number       number all lines', '-b, --number-nonblank  number non-empty lines', '-s, --squeeze-blank  one empty line of several',
    '-E, --show-ends    $ at each line end', '-T, --show-tabs    TAB as ^I', '-v, --show-nonprinting  ^X and M- for other bytes',
    '-A, --show-all     -vET', '-e                 -vE', '-t                 -vT', '-u                 (ignored)',
    '--help             this help',
  ],
  async run(args, ctx) {
    const end = args.indexOf('--');
    if ((end < 0 ? args : args.slice(0, end)).includes('--help')) {
      ctx.stdout.stream.write(helpText(cat));
      return {status: 0};
    }
    const {flags, operands} = parseOptions('cat', args, spec);
    const has = (f: string): boolean => flags.has(f);
    const options: CatOptions = {
      number: has('number'), numberNonblank: has('numberNonblank'), squeeze: has('squeeze'),
      showEnds: has('showEnds') || has('showAll') || has('e'), showTabs: has('showTabs') || has('showAll') || has('t'),
      showNonprinting: has('showNonprinting') || has('showAll') || has('e') || has('t'),
    };
    // With an option, the bytes go through GNU's filter (its state carries across files); without, as they are.
    const out = catFilters(options) ? filtered(ctx.stdout.stream, new CatFilter(options)) : ctx.stdout.stream;
    const progress = new Progress();
    const onAbort = (): void => progress.cancel();
    ctx.signal.addEventListener('abort', onAbort);
    let status = 0;
    try {
      for (const operand of operands.length > 0 ? operands : ['-']) {
        if (ctx.signal.aborted) return {status: 130};
        try {
          if (operand === '-') {
            await pipeline(ctx.stdin, out, {end: false, signal: ctx.signal});
            continue;
          }
          const {target} = await resolveOperand(operand, ctx);
          if (target.kind !== 'fs') throw new FsError('EISDIR', operand);
          await sendFile(target, out === ctx.stdout.stream ? ctx.stdout : {stream: out}, progress);
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
