// cp: copy files and trees between the host and containers, in any direction. What a copy may
// make on the host from a container (set-id bits, device nodes, writes through links) is
// src/vfs/copy-policy.ts's to decide; this reports what it left out.
import {formatProgress} from '../src/format/progress.js';
import {quoteaf, quotef} from '../src/format/quote.js';
import type {Builtin, ShellContext} from '../src/shell/context.js';
import {parseOptions} from '../src/shell/options.js';
import {resolveOperand} from '../src/shell/operand.js';
import {report} from '../src/shell/report.js';
import {FsError, UsageError} from '../src/errors.js';
import {absolute, basename, join} from '../src/vfs/path.js';
import type {Target} from '../src/vfs/namespace.js';
import {copyEntry, copyFile, Progress, type Place, type SkipReason} from '../src/vfs/transfer.js';
import {isDir, type Stat} from '../src/vfs/types.js';
import {refusalText, typeName} from '../src/vfs/untrusted.js';

const spec = {
  short: {r: 'recursive', R: 'recursive', p: 'preserve', a: 'archive', f: 'force', v: 'verbose', n: 'noClobber',
    u: 'update', t: 'targetDir', T: 'noTargetDir'},
  long: {recursive: 'recursive', archive: 'archive', preserve: 'preserve', devices: 'devices', force: 'force',
    verbose: 'verbose', 'no-clobber': 'noClobber', update: 'update', 'target-directory': 'targetDir',
    'no-target-directory': 'noTargetDir'},
  valued: ['targetDir'],
  usageStatus: 1,
};

const usage = (line: string): UsageError => new UsageError(`cp: ${line}\nTry 'help cp' for more information.`, 1);

/** The last name of an operand as written (`dir/.` ends in `.`: its contents go into the target). */
const lastName = (operand: string): string => operand.replace(/\/+$/, '').split('/').pop() ?? '';

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
  const start = ctx.now();
  let drawn = false;
  const timer = setInterval(() => {
    const elapsedMs = ctx.now() - start;
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
  usage: 'cp [-rpafvnuT] SOURCE... DEST | cp [-rpafvnu] -t DIR SOURCE...',
  summary: 'copy files and trees between the host and containers (-r trees, -p keep owner/times, -a both; ' +
    '--devices: also device nodes from a container to the host)',
  options: [
    '-r, -R, --recursive  directories and their contents', '-p, --preserve     keep owner, mode and times',
    '-a, --archive      -r and -p, links as links', '-n, --no-clobber   do not replace an existing file',
    '-u, --update       replace only older files', '-v, --verbose      name each copy', '-f, --force        (a copy replaces anyway)',
    '-t, --target-directory=DIR  copy all sources into DIR', '-T, --no-target-directory  DEST is a name, never a directory to copy into',
    '--devices          also device nodes from a container to the host',
  ],
  async run(args, ctx) {
    const {flags, operands, values} = parseOptions('cp', args, spec);
    const recursive = flags.has('recursive') || flags.has('archive');
    const preserve = flags.has('preserve') || flags.has('archive');
    const devices = flags.has('devices');
    const targetDir = values.get('targetDir');
    if (targetDir !== undefined && flags.has('noTargetDir')) throw usage('cannot combine --target-directory (-t) and --no-target-directory (-T)');
    if (operands.length === 0) throw usage('missing file operand');
    if (operands.length === 1 && targetDir === undefined) throw usage(`missing destination file operand after ${quoteaf(operands[0]!)}`);
    if (flags.has('noTargetDir') && operands.length > 2) throw usage(`extra operand ${quoteaf(operands[2]!)}`);
    const destOperand = targetDir ?? operands[operands.length - 1]!;
    const sourceOperands = targetDir !== undefined ? operands : operands.slice(0, -1);
    const destAbs = absolute(destOperand, ctx);
    const dest = await ctx.ns.resolve(destAbs);
    if (dest.kind !== 'fs') {
      report(ctx, 'cp', new FsError('EROFS', destOperand), destOperand, (w) => `cannot create '${w}'`);
      return {status: 1};
    }
    let destStat: Stat | undefined;
    let destError: unknown;
    try {
      destStat = destOperand === '' ? undefined : (await resolveOperand(destOperand, ctx)).dirStat ?? (await dest.fs.stat(dest.path));
    } catch (error) {
      destError = error;
    }
    // `file/` names no file: GNU says so when it stats the target (ENOENT, the one error a copy creates past).
    if (destError instanceof FsError && destError.code !== 'ENOENT') {
      report(ctx, 'cp', destError, destOperand, (w) => `cannot stat '${w}'`);
      return {status: 1};
    }
    const intoDir = destStat !== undefined && isDir(destStat) && !flags.has('noTargetDir');
    if ((sourceOperands.length > 1 || targetDir !== undefined) && !intoDir) {
      const what = targetDir !== undefined ? 'target directory' : 'target';
      ctx.stderr.stream.write(`cp: ${what} ${quoteaf(destOperand)}: ${destStat ? 'Not a directory' : 'No such file or directory'}\n`);
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
          const {abs, target, dirStat} = await resolveOperand(operand, ctx);
          if (target.kind !== 'fs') throw new FsError('EISDIR', operand);
          const stat = dirStat ?? (recursive ? await target.fs.lstat(target.path) : await target.fs.stat(target.path));
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
        // `dir/.` into a directory: its contents, into that directory itself (GNU's `DEST/.`).
        const leaf = lastName(operand) === '.' ? '' : basename(source.abs);
        const finalAbs = intoDir ? join(destAbs, leaf) : destAbs;
        const shownDest = intoDir ? `${destOperand.replace(/\/+$/, '')}/${leaf === '' ? '.' : leaf}` : destOperand;
        const to: Place = {fs: dest.fs, path: intoDir ? join(dest.path, leaf) : dest.path};
        const existing = await to.fs.stat(to.path).catch(() => undefined);
        if (!existing && !isDir(source.stat) && /\/$/.test(destOperand) && !intoDir) {
          ctx.stderr.stream.write(`cp: cannot create regular file ${quoteaf(destOperand)}: Not a directory\n`);
          status = 1;
          continue;
        }
        if ((existing && sameFile(existing, source.stat)) || finalAbs === source.abs) {
          ctx.stderr.stream.write(`cp: ${quoteaf(operand)} and ${quoteaf(shownDest)} are the same file\n`);
          status = 1;
          continue;
        }
        if (existing && isDir(source.stat) && !isDir(existing)) {
          ctx.stderr.stream.write(`cp: cannot overwrite non-directory ${quoteaf(shownDest)} with directory ${quoteaf(operand)}\n`);
          status = 1;
          continue;
        }
        if (existing && !isDir(source.stat) && isDir(existing)) {
          ctx.stderr.stream.write(`cp: cannot overwrite directory ${quoteaf(shownDest)} with non-directory\n`);
          status = 1;
          continue;
        }
        // -n keeps what is there; -u keeps what is as new as the source.
        if (existing && !isDir(existing) && (flags.has('noClobber') ||
          (flags.has('update') && (existing.mtime.sec > source.stat.mtime.sec ||
            (existing.mtime.sec === source.stat.mtime.sec && existing.mtime.nsec >= source.stat.mtime.nsec))))) continue;
        if (isDir(source.stat) && (finalAbs === source.abs || finalAbs.startsWith(source.abs + '/'))) {
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
          if (flags.has('verbose')) ctx.stdout.stream.write(`${quoteaf(operand)} -> ${quoteaf(shownDest)}\n`);
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
