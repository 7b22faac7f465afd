// cp: copy files and trees between the host and containers, in any direction. What a copy may
// make on the host from a container (set-id bits, device nodes, writes through links) is
// src/vfs/copy-policy.ts's to decide; this reports what it left out.
import {formatProgress} from '../src/format/progress.js';
import {quoteaf, quotef} from '../src/format/quote.js';
import type {Builtin, ShellContext} from '../src/shell/context.js';
import {parseOptions} from '../src/shell/options.js';
import {report} from '../src/shell/report.js';
import {FsError, UsageError} from '../src/vfs/errors.js';
import {absolute, basename, join} from '../src/vfs/path.js';
import type {Target} from '../src/vfs/namespace.js';
import {copyEntry, copyFile, Progress, type Place, type SkipReason} from '../src/vfs/transfer.js';
import {isDir, type Stat} from '../src/vfs/types.js';
import {refusalText, typeName} from '../src/vfs/untrusted.js';

const spec = {
  short: {r: 'recursive', R: 'recursive', p: 'preserve', a: 'archive'},
  long: {recursive: 'recursive', archive: 'archive', preserve: 'preserve', devices: 'devices'},
};

/** The line for an entry a tree copy left out. */
function skippedLine(shown: string, mode: number, reason: SkipReason): string {
  const kind = typeName(mode).replace(/^an? /, '');
  return reason === 'device'
    ? `cp: omitting ${kind} ${quoteaf(shown)} (a device node from a container; --devices copies it)\n`
    : `cp: cannot copy ${kind} ${quoteaf(shown)}: Operation not supported (special files are copied only between local filesystems)\n`;
}

/** Draws a progress line on stderr (a TTY) while `work` runs, after a short delay. */
async function withProgress<T>(ctx: ShellContext, progress: Progress, total: number | undefined, work: Promise<T>): Promise<T> {
  if (!ctx.stderr.isTTY) return work;
  const start = Date.now();
  let drawn = false;
  const timer = setInterval(() => {
    const elapsedMs = Date.now() - start;
    if (elapsedMs < 300) return;
    drawn = true;
    const line = formatProgress({bytes: progress.bytes, files: progress.files, elapsedMs, ...(total !== undefined ? {total} : {})},
      ctx.stderr.columns - 1);
    ctx.stderr.stream.write(`\r\x1b[K${line}`);
  }, 100);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    if (drawn) ctx.stderr.stream.write('\r\x1b[K');
  }
}

interface Source {
  readonly operand: string;
  readonly abs: string;
  readonly place: Place;
  readonly stat: Stat;
  readonly target: Extract<Target, {kind: 'fs'}>;
}

const sameFile = (a: Stat, b: Stat): boolean => a.ino !== 0 && a.dev === b.dev && a.ino === b.ino;

export const cp: Builtin = {
  name: 'cp',
  usage: 'cp [-rpa] SOURCE... DEST',
  summary: 'copy files and trees between the host and containers (-r trees, -p keep owner/times, -a both; ' +
    '--devices: also device nodes from a container to the host)',
  async run(args, ctx) {
    const {flags, operands} = parseOptions('cp', args, spec);
    const recursive = flags.has('recursive') || flags.has('archive');
    const preserve = flags.has('preserve') || flags.has('archive');
    const devices = flags.has('devices');
    if (operands.length === 0) throw new UsageError("cp: missing file operand\nTry 'help cp' for more information.");
    if (operands.length === 1) {
      throw new UsageError(`cp: missing destination file operand after ${quoteaf(operands[0]!)}\nTry 'help cp' for more information.`);
    }
    const destOperand = operands[operands.length - 1]!;
    const destAbs = absolute(destOperand, ctx);
    const dest = await ctx.ns.resolve(destAbs);
    if (dest.kind !== 'fs') {
      report(ctx, 'cp', new FsError('EROFS', destOperand), destOperand, (w) => `cannot create '${w}'`);
      return {status: 1};
    }
    const destStat = await dest.fs.stat(dest.path).catch(() => undefined);
    const intoDir = destStat !== undefined && isDir(destStat);
    const sourceOperands = operands.slice(0, -1);
    if (sourceOperands.length > 1 && !intoDir) {
      ctx.stderr.stream.write(`cp: target ${quoteaf(destOperand)}: Not a directory\n`);
      return {status: 1};
    }

    const progress = new Progress();
    const onAbort = (): void => progress.cancel();
    ctx.signal.addEventListener('abort', onAbort);
    let status = 0;
    try {
      for (const operand of sourceOperands) {
        if (ctx.signal.aborted) return {status: 130};
        let source: Source;
        try {
          const abs = absolute(operand, ctx);
          const target = await ctx.ns.resolve(abs);
          if (target.kind !== 'fs') throw new FsError('EISDIR', operand);
          const stat = recursive ? await target.fs.lstat(target.path) : await target.fs.stat(target.path);
          source = {operand, abs, place: {fs: target.fs, path: target.path}, stat, target};
        } catch (error) {
          report(ctx, 'cp', error, operand, (w) => `cannot stat '${w}'`);
          status = 1;
          continue;
        }
        if (isDir(source.stat) && !recursive) {
          ctx.stderr.stream.write(`cp: -r not specified; omitting directory ${quoteaf(operand)}\n`);
          status = 1;
          continue;
        }
        const finalAbs = intoDir ? join(destAbs, basename(source.abs)) : destAbs;
        const shownDest = intoDir ? `${destOperand.replace(/\/+$/, '')}/${basename(source.abs)}` : destOperand;
        const to: Place = {fs: dest.fs, path: intoDir ? join(dest.path, basename(source.abs)) : dest.path};
        const existing = await to.fs.stat(to.path).catch(() => undefined);
        if ((existing && sameFile(existing, source.stat)) || finalAbs === source.abs) {
          ctx.stderr.stream.write(`cp: ${quoteaf(operand)} and ${quoteaf(shownDest)} are the same file\n`);
          status = 1;
          continue;
        }
        if (isDir(source.stat) && finalAbs.startsWith(source.abs + '/')) {
          ctx.stderr.stream.write(`cp: cannot copy a directory, ${quoteaf(operand)}, into itself, ${quoteaf(shownDest)}\n`);
          status = 1;
          continue;
        }
        /** A path in the source filesystem, shown as the virtual path the user copied from. */
        const shown = (path: string): string => {
          const base = source.place.path;
          return path === base ? source.abs : path.startsWith(base === '/' ? '/' : `${base}/`)
            ? `${source.abs === '/' ? '' : source.abs}${path.slice(base === '/' ? 0 : base.length)}` : path;
        };
        const skipped = (path: string, mode: number, reason: SkipReason): void => {
          ctx.stderr.stream.write(skippedLine(shown(path), mode, reason));
          status = 1;
        };
        // A listing of the source the container forged was not believed (the engine's archive was
        // listed instead): the copy is what the container holds, and the user hears of the attempt.
        const stopRefusals = source.place.fs.refusals?.listen((r) => {
          ctx.stderr.stream.write(`cp: ${quotef(shown(r.path))}: ${refusalText(r)}\n`);
          status = 1;
        });
        try {
          const options = {preserve, devices, progress, skipped};
          const work = recursive ? copyEntry(source.place, to, options) : copyFile(source.place, to, options, source.stat);
          await withProgress(ctx, progress, isDir(source.stat) ? undefined : source.stat.size, work);
          // A local copy works on open handles and completes even if a container goes away meanwhile.
          for (const t of [source.target, dest]) {
            if (t.container && t.engine && !(await t.engine.exists(t.container.id))) {
              ctx.stderr.stream.write(`cp: container ${quoteaf(t.container.name)} was removed during the copy\n`);
              status = 1;
            }
          }
        } catch (error) {
          if (ctx.signal.aborted || (error instanceof FsError && error.code === 'ECANCELED')) {
            ctx.stderr.stream.write('cp: interrupted; nothing was left at the destination\n');
            return {status: 130};
          }
          report(ctx, 'cp', error, [operand, shownDest], (from, to) => `cannot copy ${from} to ${to}`);
          status = 1;
        } finally {
          stopRefusals?.();
        }
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    return {status};
  },
};
