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
import {absolute, basename, dirname, join} from '../src/vfs/path.js';
import type {Target} from '../src/vfs/namespace.js';
import {copyEntry, copyFile, DanglingDestination, followLinks, LinkGroups, Progress, type CopyOptions, type Place, type SkipReason} from '../src/vfs/transfer.js';
import {isDir, isSymlink, type Stat} from '../src/vfs/types.js';
import {cpMode, cpSpec as spec, isYes, readLine} from './cp-options.js';
import {refusalText, typeName} from '../src/vfs/untrusted.js';


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

/** The progress line on stderr (a TTY), drawn while a copy runs after a short delay. A message
 *  said meanwhile (an entry left out, one that failed) clears it first, so that the message starts
 *  at the margin and is not glued to it; the next tick draws it again below. */
class ProgressLine {
  private drawn = false;

  constructor(private readonly ctx: ShellContext, private readonly progress: Progress) {}

  /** Clears the line, if drawn (before a message). */
  clear(): void {
    if (!this.drawn) return;
    this.drawn = false;
    this.ctx.stderr.stream.write('\r\x1b[K');
  }

  async during<T>(total: number | undefined, work: Promise<T>): Promise<T> {
    const {ctx, progress} = this;
    if (!ctx.stderr.isTTY) return work;
    const start = ctx.now();
    const timer = setInterval(() => {
      const elapsedMs = ctx.now() - start;
      // Not while lines for stdout (-v) are still on their way: the line would be drawn before
      // them, and they would follow it on its row.
      if (elapsedMs < 300 || ctx.stdout.stream.writableLength > 0) return;
      this.drawn = true;
      const line = formatProgress({bytes: progress.bytes, files: progress.files, elapsedMs, ...(total !== undefined ? {total} : {})},
        ctx.stderr.columns - 1);
      ctx.stderr.stream.write(`\r\x1b[K${line}`);
    }, 100);
    try {
      return await work;
    } finally {
      clearInterval(timer);
      this.clear();
    }
  }
}

/**
 * --parents: the directories of `leaf` (the operand's name) below the destination directory, made
 * where missing with their source's mode (less the umask), each named with -v as GNU does.
 */
async function makeParents(source: Source, dest: Extract<Target, {kind: 'fs'}>, destAbs: string, destOperand: string, leaf: string,
  verbose: ShellContext | undefined): Promise<void> {
  const names = leaf.split('/').filter((n) => n !== '' && n !== '.').slice(0, -1);
  let rel = '';
  for (const name of names) {
    rel = rel === '' ? name : `${rel}/${name}`;
    const path = join(dest.path, rel);
    const there = await dest.fs.lstat(path).catch(() => undefined);
    if (there) {
      if (!isDir(there)) throw new FsError('ENOTDIR', join(destAbs, rel));
      continue;
    }
    const from = await source.target.fs.stat(join(source.place.path.split('/').slice(0, -(names.length + 1)).join('/') || '/', rel))
      .catch(() => undefined);
    // (the sticky bit too, as GNU's: mkdir keeps it)
    await dest.fs.mkdir(path, (from?.mode ?? 0o755) & 0o1777);
    // GNU prints these two names unquoted (the source's as the operand names it: /tmp for
    // /tmp/x/f); dbox quotes a name that needs it (never raw bytes).
    if (verbose) verbose.stdout.stream.write(`${quotef(`${source.operand.startsWith('/') ? '/' : ''}${rel}`)} -> ${quotef(`${destOperand.replace(/\/+$/, '')}/${rel}`)}\n`);
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

/** What a command of several operands has copied so far, as GNU cp keeps it (two or more
 *  sources): a source named again by the same path is copied once, and a file this command has
 *  made is not overwritten by a later operand of the same name (`cp a b/a dir/` would lose the
 *  first copy). Keyed by filesystem, then path. */
class OperandMemory {
  private readonly sources = new Map<object, Set<string>>();
  private readonly made = new Map<object, Set<string>>();

  private static of(m: Map<object, Set<string>>, fs: object): Set<string> {
    let set = m.get(fs);
    if (!set) m.set(fs, (set = new Set()));
    return set;
  }

  /** Whether this source was named before, by the same path (and remembers it). A directory
   *  reached again by another name (a link followed by -H) is another source, as GNU's. */
  again(place: Place, abs: string): boolean {
    const seen = OperandMemory.of(this.sources, place.fs);
    if (seen.has(abs)) return true;
    seen.add(abs);
    return false;
  }

  /** This command wrote a non-directory at `to`. */
  wrote(to: Place): void {
    OperandMemory.of(this.made, to.fs).add(to.path);
  }

  wasWritten(to: Place): boolean {
    return this.made.get(to.fs)?.has(to.path) ?? false;
  }
}

export const cp: Builtin = {
  name: 'cp',
  usage: 'cp [-adfHiLlnPpRrsTuvx] [--preserve[=LIST]] [--sparse=WHEN] [--parents] [-t DIR] SOURCE... DEST',
  summary: 'copy files and trees between the host and containers, as GNU cp (onto an existing file it writes in place, once the bytes are staged whole beside it)',
  options: [
    '-a, --archive      -dR --preserve=all: a tree as it is (links as links, hard links kept, owner, mode, times)',
    '-d                 --no-dereference --preserve=links',
    '-f, --force        with -l or -s, replace an existing file (otherwise taken: a copy writes into an existing file)',
    '-i, --interactive  ask before overwriting (answer y to overwrite); the last of -i and -n wins',
    '-H                 follow symlinks named on the command line (inside their container)',
    '-l, --link         hard-link files instead of copying (in one filesystem only)',
    '-L, --dereference  always follow symlinks in SOURCE (inside their container, never to the host)',
    '-n, --no-clobber   do not overwrite an existing file',
    '-P, --no-dereference  never follow symlinks in SOURCE (the default with -r)',
    '-p                 --preserve=mode,ownership,timestamps',
    '--preserve[=LIST]  keep these attributes: mode, ownership, timestamps, links, all (xattr: taken, keeps nothing; context: refused, as GNU without SELinux)',
    '--no-preserve=LIST  do not keep these attributes',
    '--parents          the source\'s full name under DIRECTORY (missing directories made)',
    '-R, -r, --recursive  directories and their contents',
    '--remove-destination  remove an existing file first (a new file, not written in place)',
    '--sparse=WHEN      holes: auto (holes stay holes), always (zeros become holes too), never',
    '-s, --symbolic-link  make symlinks instead of copying (in one filesystem only; a relative SOURCE only into the current directory)',
    '-t, --target-directory=DIRECTORY  copy all SOURCE arguments into DIRECTORY',
    '-T, --no-target-directory  treat DEST as a normal file',
    '-u, --update       copy only when SOURCE is newer than DEST, or DEST is missing',
    '-v, --verbose      explain what is being done',
    '-x, --one-file-system  stay on this file system (directories of others are made empty)',
    '--devices          also device nodes from a container to the host (dbox)',
    '--help             this help',
  ],
  async run(args, ctx) {
    const parsed = parseOptions('cp', args, spec);
    const {flags, operands, values} = parsed;
    if (flags.has('help')) {
      ctx.stdout.stream.write(`usage: ${cp.usage}\n  ${cp.summary}\n\noptions:\n${cp.options!.map((o) => `  ${o}\n`).join('')}`);
      return {status: 0};
    }
    const mode = cpMode(parsed);
    if (mode.context) {
      ctx.stderr.stream.write('cp: cannot preserve security context without an SELinux-enabled kernel\n');
      return {status: 1};
    }
    const recursive = mode.recursive;
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
    if (flags.has('parents') && !intoDir) throw usage('with --parents, the destination must be a directory');
    if ((sourceOperands.length > 1 || targetDir !== undefined) && !intoDir) {
      const what = targetDir !== undefined ? 'target directory' : 'target';
      ctx.stderr.stream.write(`cp: ${what} ${quoteaf(destOperand)}: ${destStat ? 'Not a directory' : 'No such file or directory'}\n`);
      return {status: 1};
    }

    const progress = new Progress();
    const line = new ProgressLine(ctx, progress);
    const links = mode.preserve.includes('links') ? new LinkGroups(sourceOperands.length > 1) : undefined;
    const onAbort = (): void => progress.cancel();
    ctx.signal.addEventListener('abort', onAbort);
    let status = 0;
    let copiedBefore = false; // an earlier operand was copied (it stays, whatever happens to this one)
    let completedInterrupted = false; // the last copy completed though interrupted (in its last step, not cut)
    const memory = sourceOperands.length > 1 ? new OperandMemory() : undefined;
    /** -n keeps what is there; -u keeps what is as new as the source; -i asks (`shown`: the destination as named). */
    const keepsExisting = async (st: Stat, existing: Stat, shown: string): Promise<boolean> => {
      if (mode.noClobber || (flags.has('update') && (existing.mtime.sec > st.mtime.sec ||
        (existing.mtime.sec === st.mtime.sec && existing.mtime.nsec >= st.mtime.nsec)))) return true;
      if (!mode.interactive) return false;
      ctx.stderr.stream.write(`cp: overwrite ${quoteaf(shown)}? `);
      return !isYes(await readLine(ctx.stdin));
    };
    try {
      for (const operand of sourceOperands) {
        // Interrupted in a copy's last step, which is not cut (an in-place write from its staged
        // bytes): that copy is whole; what follows is not made, and said.
        if (ctx.signal.aborted) {
          ctx.stderr.stream.write(copiedBefore ? `cp: interrupted; ${quoteaf(operand)} and what follows it were not copied\n`
            : 'cp: interrupted; nothing was left at the destination\n');
          return {status: 130};
        }
        let source: Source;
        try {
          const {abs, target, dirStat} = await resolveOperand(operand, ctx);
          if (target.kind !== 'fs') throw new FsError('EISDIR', operand);
          const stat = dirStat ?? (mode.dereference === 'none' ? await target.fs.lstat(target.path) : await target.fs.stat(target.path));
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
        if (memory?.again(source.place, source.abs)) {
          ctx.stderr.stream.write(`cp: warning: source ${isDir(source.stat) ? 'directory' : 'file'} ${quoteaf(operand)} specified more than once\n`);
          continue;
        }
        // `dir/.` into a directory: its contents, into that directory itself (GNU's `DEST/.`).
        // --parents: the operand's whole name below the directory.
        const leaf = flags.has('parents') ? operand.replace(/^\/+/, '') : lastName(operand) === '.' ? '' : basename(source.abs);
        const finalAbs = intoDir ? join(destAbs, leaf) : destAbs;
        const shownDest = intoDir ? `${destOperand.replace(/\/+$/, '')}/${leaf === '' ? '.' : leaf}` : destOperand;
        const to: Place = {fs: dest.fs, path: intoDir ? join(dest.path, leaf) : dest.path};
        if (mode.linkInstead && source.place.fs !== dest.fs) {
          const what = mode.linkInstead === 'hard' ? 'hard link' : 'symbolic link';
          ctx.stderr.stream.write(`cp: cannot create ${what} ${quoteaf(shownDest)} to ${quoteaf(operand)}: Invalid cross-device link\n`);
          status = 1;
          continue;
        }
        if (flags.has('parents')) {
          try {
            await makeParents(source, dest, destAbs, destOperand, leaf, flags.has('verbose') ? ctx : undefined);
          } catch (error) {
            report(ctx, 'cp', error, shownDest, (w) => `cannot make directory '${w}'`);
            status = 1;
            continue;
          }
        }
        const existing = await to.fs.stat(to.path).catch(() => undefined);
        if (!existing && !isDir(source.stat) && /\/$/.test(destOperand) && !intoDir) {
          ctx.stderr.stream.write(`cp: cannot create regular file ${quoteaf(destOperand)}: Not a directory\n`);
          status = 1;
          continue;
        }
        // -l onto a name that already is that file: nothing to do (GNU says nothing).
        if (mode.linkInstead === 'hard' && existing && sameFile(existing, source.stat) && finalAbs !== source.abs) continue;
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
        if (existing && !isDir(existing) && (await keepsExisting(source.stat, existing, shownDest))) continue;
        // (GNU's order: -n and -u keep, -i asks, and only then is a file this command made refused.)
        if (existing && !isDir(existing) && memory?.wasWritten(to)) {
          ctx.stderr.stream.write(`cp: will not overwrite just-created ${quoteaf(shownDest)} with ${quoteaf(operand)}\n`);
          status = 1;
          continue;
        }
        if (existing && !isDir(existing) && mode.linkInstead && !flags.has('force') && !flags.has('removeDestination')) {
          const what = mode.linkInstead === 'hard' ? 'hard link' : 'symbolic link';
          ctx.stderr.stream.write(`cp: cannot create ${what} ${quoteaf(shownDest)} to ${quoteaf(operand)}: File exists\n`);
          status = 1;
          continue;
        }
        if (isDir(source.stat) && (finalAbs === source.abs || finalAbs.startsWith(source.abs + '/'))) {
          ctx.stderr.stream.write(`cp: cannot copy a directory, ${quoteaf(operand)}, into itself, ${quoteaf(shownDest)}\n`);
          status = 1;
          continue;
        }
        // The copy walks the operand's own entry or, with -L/-H on a link, the entry the link leads
        // to (transfer.ts copyEntry): what it names below its top is named below the operand.
        let top = source.place.path;
        if (mode.dereference !== 'none' && isDir(source.stat)) {
          const own = await source.place.fs.lstat(top).catch(() => undefined);
          if (own && isSymlink(own)) top = await followLinks(source.place.fs, top).catch(() => top);
        }
        /** Where `path` is below the walk's top ('' for the top itself), or undefined. */
        const below = (path: string): string | undefined => path === top ? ''
          : path.startsWith(top === '/' ? '/' : `${top}/`) ? path.slice(top === '/' ? 0 : top.length) : undefined;
        /** A path in the source filesystem, named below the operand as the user wrote it (as GNU names it). */
        const shown = (path: string): string => {
          const rest = below(path);
          return rest === undefined ? path : rest === '' ? operand : `${operand.replace(/\/+$/, '')}${rest}`;
        };
        const skipped = (path: string, mode: number, reason: SkipReason): void => {
          // A relative symlink (-s) is refused where GNU's is: named by its destination.
          line.clear();
          ctx.stderr.stream.write(reason === 'relative-symlink' ? `cp: ${shownDest}${below(path) ?? ''}: can make relative symbolic links only in current directory\n`
            : skippedLine(shown(path), mode, reason));
          status = 1;
        };
        // A listing of the source the container forged was not believed (the engine's archive was
        // listed instead): the copy is what the container holds, and the user hears of the attempt.
        const stopRefusals = source.place.fs.refusals?.listen((r) => {
          line.clear();
          ctx.stderr.stream.write(`cp: ${quotef(shown(r.path))}: ${refusalText(r)}\n`);
          status = 1;
        });
        try {
          const replace = flags.has('force') || flags.has('removeDestination');
          // -L: an entry that cannot be followed is named as GNU names it (below the operand as written).
          const unfollowed = (path: string, why: unknown): void => {
            const named = `${operand.replace(/\/+$/, '')}${below(path) ?? ''}`;
            line.clear();
            if (why === 'cycle') ctx.stderr.stream.write(`cp: cannot copy cyclic symbolic link ${quoteaf(named)}\n`);
            else report(ctx, 'cp', why, named, (w) => `cannot stat '${w}'`);
            status = 1;
          };
          // An entry of the tree that could not be copied: named (as copied from, and to), left out,
          // and the rest goes on, as GNU's; the status says so.
          const failed = (path: string, error: unknown): void => {
            line.clear();
            const into = `${shownDest.replace(/\/+$/, '')}${below(path) ?? ''}`;
            if (error instanceof DanglingDestination) ctx.stderr.stream.write(`cp: not writing through dangling symlink ${quoteaf(into)}\n`);
            else report(ctx, 'cp', error, [shown(path), into], (from, to) => `cannot copy ${from} to ${to}`);
            status = 1;
          };
          // A hidden temporary an earlier copy left here (its dbox was killed) is removed first: said,
          // named as the destination is shown, since a large tree takes a while.
          /** A path in the destination filesystem, named as the user wrote the destination ('dir/.' is 'dir'). */
          const shownAtDest = (path: string): string => {
            const here = shownDest.replace(/(\/+\.)+\/*$/, '').replace(/\/+$/, '') || (shownDest.startsWith('/') ? '/' : '.');
            const slash = here.lastIndexOf('/');
            const parent = slash > 0 ? here.slice(0, slash) : slash === 0 ? '/' : '';
            const under = (base: string, shownBase: string): string | undefined => path === base ? shownBase
              : path.startsWith(base === '/' ? '/' : `${base}/`) ? `${shownBase === '/' ? '' : shownBase}${path.slice(base === '/' ? 0 : base.length)}` : undefined;
            return under(to.path, here) ?? (parent === '' ? under(dirname(to.path), '.')?.replace(/^\.\//, '') : under(dirname(to.path), parent)) ?? path;
          };
          // A hidden temporary an earlier copy left here (its dbox was killed) is removed first: said,
          // since a large tree takes a while.
          const sweeping = (path: string): void => {
            line.clear();
            ctx.stderr.stream.write(`cp: removing ${quoteaf(shownAtDest(path))}, left by a copy that was killed\n`);
          };
          // A file met in a merge where one is already: -n, -u and -i decide for it as for an operand.
          const keep = async (path: string, st: Stat, there: Stat): Promise<boolean> => {
            line.clear();
            return keepsExisting(st, there, shownAtDest(path));
          };
          // -v: each entry of a tree as it is made, named as GNU names it (a new directory first).
          const copied = (path: string): void => {
            line.clear();
            const rest = below(path) ?? '';
            ctx.stdout.stream.write(`${quoteaf(shown(path))} -> ${quoteaf(rest === '' ? shownDest : `${shownDest.replace(/\/+$/, '')}${rest}`)}\n`);
          };
          // A container removed during a tree copy: the tree is not put in place.
          const stillThere = async (): Promise<boolean> => {
            for (const t of [source.target, dest]) if (t.container && t.engine && !(await t.engine.exists(t.container.id))) return false;
            return true;
          };
          const options: CopyOptions = {preserve: mode.preserve, devices, progress, skipped, unfollowed, failed, stillThere, sweeping,
            ...(flags.has('verbose') ? {copied} : {}),
            ...(mode.noClobber || flags.has('update') || mode.interactive ? {keep} : {}), sparse: mode.sparse,
            ...(links ? {links} : {}), ...(flags.has('removeDestination') ? {removeDestination: true} : {}),
            ...(mode.dereference === 'all' ? {dereference: true} : {}), ...(flags.has('oneFileSystem') ? {oneFileSystem: true} : {}),
            ...(mode.linkInstead === 'hard' ? {linkInstead: {kind: 'hard', replace}} : {}),
            ...(mode.linkInstead === 'symbolic' ? {linkInstead: {kind: 'symbolic', replace, base: operand.startsWith('/') ? source.place.path : operand,
              top: source.place.path, here: dirname(finalAbs) === absolute('.', ctx)}} : {})};
          const work = recursive || isSymlink(source.stat) ? copyEntry(source.place, to, options, source.stat)
            : copyFile(source.place, to, options, source.stat);
          await line.during(isDir(source.stat) ? undefined : source.stat.size, work);
          copiedBefore = true;
          completedInterrupted = ctx.signal.aborted;
          if (!isDir(source.stat)) memory?.wrote(to);
          if (flags.has('verbose') && !isDir(source.stat)) ctx.stdout.stream.write(`${quoteaf(operand)} -> ${quoteaf(shownDest)}\n`);
          // A local copy works on open handles and completes even if a container goes away meanwhile.
          for (const t of [source.target, dest]) {
            if (t.container && t.engine && !(await t.engine.exists(t.container.id))) {
              ctx.stderr.stream.write(`cp: container ${quoteaf(t.container.name)} was removed during the copy\n`);
              status = 1;
            }
          }
        } catch (error) {
          if (ctx.signal.aborted || progress.cancelled) {
            // A new file or tree is never left half-made; an existing file is written into only once
            // the bytes are staged whole beside it (transfer.ts writeStagedInPlace). A merge into an
            // existing directory keeps the entries it had put in place; earlier operands stay copied.
            const before = copiedBefore ? ' (the operands before it were copied)' : '';
            ctx.stderr.stream.write(existing && isDir(existing)
              ? `cp: interrupted; what was already copied into ${quoteaf(shownDest)} stays there, nothing half-made\n`
              : existing ? `cp: interrupted; ${quoteaf(shownDest)} was left as it was${before}\n`
                : copiedBefore ? `cp: interrupted; nothing of ${quoteaf(operand)} was left at ${quoteaf(shownDest)}${before}\n`
                  : 'cp: interrupted; nothing was left at the destination\n');
            return {status: 130};
          }
          if (error instanceof DanglingDestination) ctx.stderr.stream.write(`cp: not writing through dangling symlink ${quoteaf(shownDest)}\n`);
          else report(ctx, 'cp', error, [operand, shownDest], (from, to) => `cannot copy ${from} to ${to}`);
          status = 1;
        } finally {
          stopRefusals?.();
        }
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    if (ctx.signal.aborted) {
      ctx.stderr.stream.write(completedInterrupted ? 'cp: interrupted once the last copy was complete\n' : 'cp: interrupted\n');
      return {status: 130};
    }
    return {status};
  },
};
