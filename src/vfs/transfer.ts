// Moving bytes between filesystems: the copy engine under `cp` and `cat`.
// Between two filesystems of this host (capabilities.hostRoot: the host, running local containers) it works on fds in the native part:
// copy_file_range for files, an fd-walking tree copy for directories; a tree whose filesystem can
// lend it whole as one of this host (capabilities.lendsRoot: a stopped container's or an image's
// layers, assembled by the agent here) is read through the lent one. Otherwise it streams
// through the ContainerFs interface. A destination never shows a half-written file: files go to
// a temporary name in the destination directory and are renamed into place (in a stopped
// container too: there the rename is a hard link made by the engine); new trees are built under
// a temporary name and renamed at the end. On failure or cancel the temporary is removed, and a
// copy into a directory first sweeps what a killed dbox left there (temporaries.ts).
// A copy onto an existing regular file writes into it, as GNU cp does (open O_WRONLY|O_TRUNC of
// the existing inode: it keeps its mode, owner and hard links; -p sets them after), once the
// bytes are staged whole in a temporary beside it (writeStagedInPlace: an interrupt never leaves
// it half-written; in a directory the user may not add a name to, written in place unstaged, as
// GNU's): through a host root (writeInPlace), and through the drivers' WriteOptions.inPlace (the agent opens the
// inode the same way). The engine's archive API can only extract a new inode: there the copy
// carries the old file's mode and owner, and the old file's other hard links keep the old bytes
// (README, Limitations). --remove-destination removes the file first and makes a new one.
// -a / --preserve=links: entries hard-linked in the source are linked in the copy, in a native
// tree copy by the native part, elsewhere by LinkGroups (one per command), which links only to
// a copy this command made, checked by inode after the link. A tree whose links may lead outside
// it (a new directory inside a merge, a command with several sources) is walked here, with the
// command's groups: the native walk knows only its own.
// An entry of a tree that cannot be copied (unreadable, a /proc file that fails) is, when the
// caller listens (CopyOptions.failed), told and left out, and the walk goes on, as GNU cp's (a
// file it failed to fill is removed, never left half-written); what concerns the whole copy (a
// cancel, a container gone, a destination full or read-only) still ends it, and a new tree is
// then removed whole.
//
// What it trusts: the destination path the user gave, and the host's own files (isHost). Of a
// container it trusts nothing: names in its listings become paths only through entryPath (one
// component, always below the destination: untrusted.ts); its files are read only if regular
// (openRead / createReadStream refuse the rest without opening it); what it may make on the host
// (modes, set-id bits, device nodes) and whether a destination symlink is followed are decided
// by copy-policy.ts. Walks are iterative: a deep or wide tree costs heap, not stack.
// -L/-H follow a container's links through its own filesystem (stat, followLinks: in-root, so a
// link to `/etc` is the container's /etc, also when the container swaps links meanwhile); a
// -L walk that meets a directory again below itself stops (ELOOP). A hard link (-a) is made only
// to a copy this command made, whose inode is checked before and after the link (a name swapped
// meanwhile is refused and the link removed); -l and -s link only inside one filesystem (EXDEV).
import fs from 'node:fs';
import {constants as C} from 'node:fs';
import {Transform, type Readable, type Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {COPY_DEVICES, COPY_KEEP_GOING, COPY_LINKS, COPY_OWNER, COPY_PRESERVE, COPY_SPARSE_ALWAYS, COPY_SPARSE_NEVER, COPY_TIMES,
  native} from '../native.js';
import {copyPolicy, type CopyPolicy, type PolicyOptions} from './copy-policy.js';
import {FsError, toFsError} from '../errors.js';
import {decodeStat} from './local-fs.js';
import {basename, dirname, followInRoot, join} from './path.js';
import {sweepTemporaries, temporaryName} from './temporaries.js';
import {capabilitiesOf, isDir, isSymlink, S_IFBLK, S_IFCHR, S_IFMT, S_IFREG, type ContainerFs, type DirEntry, type HostRoot,
  type Stat, type WriteOptions} from './types.js';
import {badName, entryPath} from './untrusted.js';

export interface Place {
  readonly fs: ContainerFs;
  readonly path: string;
}

/** Counters shared with the native copy workers: [bytes, files, cancel]; cancel also aborts
 *  `signal`, which ends uploads and streams. */
export class Progress {
  readonly raw = new Float64Array(3);
  private readonly aborter = new AbortController();
  /** Counters of native jobs in flight that can be stopped alone (part()). */
  private readonly parts = new Set<Float64Array>();
  get bytes(): number {
    let n = this.raw[0]!;
    for (const p of this.parts) n += p[0]!;
    return n;
  }
  get files(): number {
    let n = this.raw[1]!;
    for (const p of this.parts) n += p[1]!;
    return n;
  }
  get signal(): AbortSignal { return this.aborter.signal; }
  add(bytes: number, files = 0): void {
    this.raw[0] = this.raw[0]! + bytes;
    this.raw[1] = this.raw[1]! + files;
  }
  cancel(): void {
    this.raw[2] = 1;
    for (const p of this.parts) p[2] = 1;
    this.aborter.abort(new FsError('ECANCELED', ''));
  }
  /**
   * Runs a native job with counters of its own, which count here while it runs and stay here after;
   * `stop` ends that job alone (a container restarting under it), a cancel of this progress ends it too.
   */
  async part<T>(work: (raw: Float64Array, stop: () => void) => Promise<T>): Promise<T> {
    const raw = new Float64Array(3);
    raw[2] = this.raw[2]!;
    this.parts.add(raw);
    try {
      return await work(raw, () => void (raw[2] = 1));
    } finally {
      this.parts.delete(raw);
      this.add(raw[0]!, raw[1]!);
    }
  }
  get cancelled(): boolean { return this.raw[2] === 1; }
  check(path: string): void {
    if (this.cancelled) throw new FsError('ECANCELED', path);
  }
}

/** Why an entry was left out of a tree copy: a device node from a container (--devices makes
 *  it), or a special file a copy through the engine's archive API cannot make. */
export type SkipReason = 'device' | 'special' | 'relative-symlink';

/** -l / -s. A symlink names `base` and the path below `top`; a relative `base` only into the
 *  current directory (`here`: the top entry alone, as GNU cp). An existing non-directory is
 *  replaced only when `replace` (-f, --remove-destination). */
export type LinkInstead = {readonly kind: 'hard'; readonly replace: boolean}
  | {readonly kind: 'symbolic'; readonly replace: boolean; readonly base: string; readonly top: string; readonly here: boolean};

/** A group's first copy: where this command made it, and its inode there. */
interface Made {
  readonly fs: ContainerFs;
  readonly path: string;
  readonly ino: number;
}

/** Hard-link groups met by one command (--preserve=links): a source inode's first copy. */
export class LinkGroups {
  /** @param acrossSources the command copies several sources: a tree's links may lead into another's. */
  constructor(readonly acrossSources = false) {}

  private readonly bySource = new Map<ContainerFs, Map<string, Made>>();
  private key = (st: Stat): string => `${st.dev}:${st.ino}`;
  /** Whether `st` (of `fs`) can be in a group: a non-directory with other links and a real inode number. */
  static grouped = (st: Stat): boolean => !isDir(st) && st.nlink > 1 && st.ino !== 0;
  first(src: Place, st: Stat): Made | undefined {
    return this.bySource.get(src.fs)?.get(this.key(st));
  }
  /** The tree `from` of `fs` (a new tree, built under a temporary name) is now at `to`: the
   *  copies recorded in it are found there. */
  moved(fs: ContainerFs, from: string, to: string): void {
    this.below(fs, from, (m, k, v) => m.set(k, {...v, path: to + v.path.slice(from.length)}));
  }

  /** The tree `under` of `fs` was removed (a copy that failed): nothing links to what was in it. */
  forget(fs: ContainerFs, under: string): void {
    this.below(fs, under, (m, k) => m.delete(k));
  }

  private below(fs: ContainerFs, dir: string, each: (m: Map<string, Made>, key: string, made: Made) => void): void {
    for (const m of this.bySource.values()) {
      for (const [k, v] of [...m]) if (v.fs === fs && v.path.startsWith(`${dir}/`)) each(m, k, v);
    }
  }

  /** Records `made` (a copy this command just made) as the first of `st`'s group. */
  async record(src: Place, st: Stat, made: Place): Promise<void> {
    const ino = (await made.fs.lstat(made.path)).ino;
    let m = this.bySource.get(src.fs);
    if (!m) this.bySource.set(src.fs, (m = new Map()));
    if (!m.has(this.key(st))) m.set(this.key(st), {fs: made.fs, path: made.path, ino});
  }
}

export interface CopyOptions extends PolicyOptions {
  readonly progress: Progress;
  /** --remove-destination: an existing destination is removed and made anew, never written into. */
  readonly removeDestination?: boolean;
  /** -L: symlinks in a tree are followed (in-root: each lookup stays in the filesystem's root). */
  readonly dereference?: boolean;
  /** -x: a tree copy stays on the source's file system (directories of others are made empty). */
  readonly oneFileSystem?: boolean;
  /** -l / -s: non-directories are linked instead of copied. */
  readonly linkInstead?: LinkInstead;
  /** --preserve=links across the sources of one command. */
  readonly links?: LinkGroups;
  /** Told of each entry a tree copy leaves out (path in the source filesystem). */
  readonly skipped?: (path: string, mode: number, reason: SkipReason) => void;
  /** -L: told of an entry of a tree that could not be followed (a dangling link: its error; a
   *  link to a directory above it: 'cycle'), which the copy then leaves out and goes on, as GNU's. */
  readonly unfollowed?: (path: string, why: unknown) => void;
  /** Told of each entry of a tree that could not be copied (its path in the source; the error),
   *  which the copy leaves out, going on with the rest, as GNU's. Absent: the first error ends the
   *  copy. A cancel, a container gone, a destination full or read-only end it either way. */
  readonly failed?: (path: string, error: unknown) => void;
  /** Set by the tree walks for what they copy: a file is copied up to the size its stat gave, as
   *  the native walk copies it, so that a file that never ends (/proc's pagemap) cannot hold a
   *  tree copy for ever (the files of /proc and /sys, which say 0, come out empty); a file named
   *  alone is read to its end, as GNU reads it. */
  readonly inTree?: boolean;
  /** Whether the containers of the copy are still there (asked before a new tree is put in place:
   *  one removed meanwhile leaves a tree that lacks what went with it, which is not put there). */
  readonly stillThere?: () => Promise<boolean>;
  /** A temporary that an earlier copy left (its dbox was killed) is being removed from the
   *  destination: told first, since a large tree takes long to remove. */
  readonly sweeping?: (path: string) => void;
  /** A non-directory of a merge meets one at its destination `path` (`st`: the source's stat,
   *  `there`: the existing one's): kept when this says so (cp -n, -u, -i), else replaced. */
  readonly keep?: (path: string, st: Stat, there: Stat) => Promise<boolean>;
  /** Told of each entry a tree copy has made (its path in the source; a new directory before its
   *  entries, a directory merged into not at all), as GNU's cp -v names them. Such a tree is
   *  walked here: the native walk tells nothing of its entries. */
  readonly copied?: (path: string) => void;
}

/** The destination is a link that leads nowhere: not written through (cp says it as GNU's does). */
export class DanglingDestination extends FsError {
  constructor(path: string) {
    super('ENOENT', path, '(not writing through a dangling symlink)');
  }
}

/** What a copy reads of the file `src`: up to its stat's size in a tree (CopyOptions.inTree) where
 *  that size is the kernel's, else all. */
const capOf = (src: Place, st: Stat, options: CopyOptions): number | undefined =>
  (options.inTree && isRegular(st) && !capabilitiesOf(src.fs).inexactSizes ? st.size : undefined);

/** Errors that are about the whole copy, not one entry (the native part's own list: inroot.c fail()). */
const WHOLE_COPY = new Set(['ENOMEM', 'ESTALE', 'ENOSPC', 'EDQUOT', 'EROFS']);

/** An entry of a tree walk failed: told (CopyOptions.failed) and passed over, or thrown when it
 *  ends the copy. */
function passOver(options: CopyOptions, path: string, error: unknown): void {
  if (!options.failed || options.progress.cancelled || !(error instanceof FsError) || WHOLE_COPY.has(error.code)) throw error;
  options.failed(path, error);
}

/** A new name for `path`'s temporary, in its directory. Created with O_EXCL (or mkdir), so a
 *  name someone else holds fails rather than being reused. */
const temporary = (path: string): string => join(dirname(path), temporaryName(basename(path)));

/** Both roots, when both filesystems are of this host: the kernel copies between them. */
function bothLocal(a: ContainerFs, b: ContainerFs): [HostRoot, HostRoot] | undefined {
  const [ra, rb] = [capabilitiesOf(a).hostRoot, capabilitiesOf(b).hostRoot];
  return ra && rb ? [ra, rb] : undefined;
}

/** The copy sets a new entry's mode, owner and times after writing it (capabilities.metadata). */
const metaAfter = (fs: ContainerFs): boolean => capabilitiesOf(fs).metadata === 'after';

const isRegular = (st: Stat): boolean => (st.mode & S_IFMT) === S_IFREG;
const isDevice = (st: Stat): boolean => (st.mode & S_IFMT) === S_IFCHR || (st.mode & S_IFMT) === S_IFBLK;

let umaskBits: number | undefined;
/** The permission bits a copy of an entry of `mode` gets under `policy` (GNU cp's rule). */
function modeOf(mode: number, policy: CopyPolicy): number {
  umaskBits ??= native().umask();
  return native().copyMode(mode, policy.flags, umaskBits);
}

/** Removes a temporary left by a failed copy (through the container's current root if its old one
 *  was retired meanwhile); its own errors are not the user's concern. */
async function discard(place: Place): Promise<void> {
  const fs = place.fs;
  await (fs.removeTemporary ? fs.removeTemporary(place.path) : fs.remove(place.path)).catch(() => undefined);
}

/** Directories swept in this copy (one cp command), by filesystem. */
const swept = new WeakMap<Progress, Map<ContainerFs, Set<string>>>();

/** Sweeps stale temporaries from `dir` once per command, where listing is cheap (not in a
 *  stopped container, whose listing downloads the directory's whole subtree). */
async function sweepOnce(fs: ContainerFs, dir: string, options: CopyOptions): Promise<void> {
  if (!fs.canRename) return;
  let byFs = swept.get(options.progress);
  if (!byFs) swept.set(options.progress, (byFs = new Map()));
  let dirs = byFs.get(fs);
  if (!dirs) byFs.set(fs, (dirs = new Set()));
  if (dirs.has(dir)) return;
  dirs.add(dir);
  // The user a copy writes as: this process's on the host; root in a container (every driver writes there as root).
  await sweepTemporaries(fs, dir, fs.isHost ? process.geteuid?.() ?? 0 : 0, options.sweeping);
}

/**
 * Where writing to `path` lands when its last component is a symlink: as cp does, a copy onto a
 * link writes to the link's target. Targets resolve inside the filesystem's root.
 */
export async function followLinks(fs: ContainerFs, path: string): Promise<string> {
  return (await resolveLinks(fs, path)).path;
}

/** Where `path`'s links lead (in-root), and what is there (`found`: nothing there when absent). */
async function resolveLinks(fs: ContainerFs, path: string): Promise<{path: string; found?: Stat}> {
  const r = await followInRoot(path, async (p) => {
    const st = await fs.lstat(p).catch(() => undefined);
    return st && isSymlink(st) ? {link: await fs.readlink(p)} : st && {found: st};
  });
  if (r === 'loop') throw new FsError('ELOOP', path);
  return r;
}

/**
 * The same bytes, counted into progress (and stopped by a cancel) as they pass. A transform in the
 * pipe, not a 'data' listener: a listener would start the flow before a slow destination (an
 * upload that first asks the engine) is ready, and the first chunks would be lost.
 */
function counted(source: Readable, progress: Progress, path: string, cap = Infinity): Readable {
  let left = cap;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (progress.cancelled) return done(new FsError('ECANCELED', path));
      const part = chunk.length <= left ? chunk : chunk.subarray(0, left);
      left -= part.length;
      progress.add(part.length);
      done(null, part.length > 0 ? part : undefined);
      if (part.length < chunk.length) {
        // More than the stat said: the rest is not read (a file that never ends, as /proc's
        // pagemap). A file of exactly its size ends by itself.
        source.unpipe(counter);
        source.destroy();
        counter.end();
      }
    },
  });
  source.on('error', (error) => counter.destroy(error));
  // The reader may attach after an early error (a writer that first opens its file): the error is
  // kept on the stream for it (for-await and pipeline throw it), never an uncaught 'error' event.
  counter.on('error', () => undefined);
  counter.on('close', () => source.destroy());
  if (left === 0) {
    source.destroy();
    counter.end();
    return counter;
  }
  return source.pipe(counter);
}

/** Copies the bytes of a file (following symlinks) to `to`: into it if it is an existing regular
 *  file, else a new file made atomically. */
export async function copyFile(src: Place, to: Place, options: CopyOptions, stat?: Stat): Promise<void> {
  if (options.linkInstead) {
    await linkInstead(src, to, options);
    return;
  }
  await copyRegular(src, to, stat ?? (await src.fs.stat(src.path)), copyPolicy(src.fs, to.fs, options), options);
}

/** The sparse-file flags for copyFd. */
const sparseFlags = (policy: CopyPolicy): number => policy.flags & (COPY_SPARSE_NEVER | COPY_SPARSE_ALWAYS);

/** -l / -s: `to` becomes a link to `src` (replacing a non-directory there), in the same filesystem
 *  only: a hard link or a symlink cannot name a file of another container or of the host. False
 *  when it was left out (a relative symlink GNU would not make there). */
async function linkInstead(src: Place, to: Place, options: CopyOptions): Promise<boolean> {
  const how = options.linkInstead!;
  if (src.fs !== to.fs) throw new FsError('EXDEV', to.path, how.kind === 'hard' ? '(a hard link stays in one filesystem)' : '(a symbolic link would name a path of another filesystem)');
  if (how.kind === 'symbolic' && !how.base.startsWith('/') && !(how.here && src.path === how.top)) {
    const st = await src.fs.lstat(src.path);
    options.skipped?.(src.path, st.mode, 'relative-symlink');
    return false;
  }
  const existing = await to.fs.lstat(to.path).catch(() => undefined);
  if (existing && isDir(existing)) throw new FsError('EISDIR', to.path);
  if (existing && !how.replace) throw new FsError('EEXIST', to.path);
  if (existing) await to.fs.unlink(to.path);
  // -L (GNU's default for -l): a hard link to what a link leads to, in-root.
  if (how.kind === 'hard') await to.fs.link(options.dereference ? await followLinks(src.fs, src.path) : src.path, to.path);
  else await to.fs.symlink(how.base + src.path.slice(how.top.length), to.path);
  options.progress.add(0, 1);
  return true;
}

/** With --preserve=links, links `to` to the copy of an earlier member of `st`'s group when there
 *  is one (true), after checking that the name it links to is still that copy; false otherwise. */
async function linkToGroup(src: Place, to: Place, st: Stat, options: CopyOptions): Promise<boolean> {
  if (!options.links || !LinkGroups.grouped(st) || (copyPolicy(src.fs, to.fs, options).flags & COPY_LINKS) === 0) return false;
  const first = options.links.first(src, st);
  if (!first || first.fs !== to.fs) return false;
  const existing = await to.fs.lstat(to.path).catch(() => undefined);
  if (existing && isDir(existing)) throw new FsError('EISDIR', to.path);
  if (existing && existing.ino === first.ino) return true;
  if ((await to.fs.lstat(first.path)).ino !== first.ino) throw new FsError('ESTALE', first.path, '(no longer the copy this command made)');
  if (existing) await to.fs.unlink(to.path);
  await to.fs.link(first.path, to.path);
  if ((await to.fs.lstat(to.path)).ino !== first.ino) {
    await to.fs.unlink(to.path).catch(() => undefined);
    throw new FsError('ESTALE', to.path, '(the copy it was to be linked to was replaced meanwhile)');
  }
  options.progress.add(0, 1);
  return true;
}

/** copyFile under a policy: into an existing regular file (GNU's in-place write); else the bytes
 *  go to a temporary, renamed onto `to` (or onto the target of a symlink there, when the policy
 *  follows destination links). */
async function copyRegular(src: Place, to: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<void> {
  if (await linkToGroup(src, to, st, options)) return;
  const here = await to.fs.lstat(to.path).catch(() => undefined);
  let dst = to;
  let existing = here;
  if (here && options.removeDestination && !isDir(here)) {
    // --remove-destination: what is there goes first, a link too (wherever it leads), as GNU's.
    await to.fs.unlink(to.path);
    existing = undefined;
  } else if (here && isSymlink(here)) {
    // A link that leads nowhere is neither written through nor replaced (GNU: "not writing
    // through dangling symlink"): a link planted in a shared directory would have root create
    // any file it names. One that leads somewhere is written through from the host; from a
    // container it is replaced (README, Safety).
    const end = await resolveLinks(to.fs, to.path);
    if (!end.found) throw new DanglingDestination(to.path);
    if (policy.followDestLinks) {
      dst = {fs: to.fs, path: end.path};
      existing = end.found;
    }
  }
  if (existing && isRegular(existing) && existing.nlink > 1 && (policy.flags & COPY_LINKS) !== 0) {
    // -a onto a file with other names: they keep the old bytes, the copy is a file of its own
    // (GNU unlinks it first).
    await dst.fs.unlink(dst.path);
  } else if (existing && isRegular(existing)) {
    await writeStagedInPlace(src, dst, st, policy, options);
    if (options.links && LinkGroups.grouped(st)) await options.links.record(src, st, dst);
    return;
  }
  await copyRegularNew(src, dst, st, policy, options);
  if (options.links && LinkGroups.grouped(st)) await options.links.record(src, st, dst);
}

/**
 * GNU's in-place write, made safe to interrupt: a kill or Ctrl-C while the bytes arrive must not
 * leave the existing file half-written, so they are first staged in a temporary beside it (a
 * cancel or kill there leaves the old file whole, the temporary removed or swept by the next
 * copy), and only then filled into the existing inode from the temporary, on the destination's
 * own filesystem, with a progress of its own that Ctrl-C does not cancel (only a kill -9 in that
 * last, local step can cut it). A driver that cannot write in place extracts a new inode
 * atomically anyway (writeInPlace).
 */
async function writeStagedInPlace(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<void> {
  if (capabilitiesOf(dst.fs).inPlace !== true || !dst.fs.canRename) return writeInPlace(src, dst, st, policy, options);
  await sweepOnce(dst.fs, dirname(dst.path), options);
  // GNU leaves the directory alone: its times are put back once the temporary is gone.
  const dir = await dst.fs.lstat(dirname(dst.path)).catch(() => undefined);
  const staged = {fs: dst.fs, path: temporary(dst.path)};
  const before = options.progress.bytes;
  try {
    try {
      await writeNewFile(src, staged, st, policy, options);
    } catch (error) {
      // A directory the user may not add a name to, around a file the user may write: GNU writes
      // in place, and so does this copy then, without the staging (an interrupt while the bytes
      // arrive can leave the file part-written there, as GNU's would).
      const refused = error instanceof FsError && error.path === staged.path && (error.code === 'EACCES' || error.code === 'EPERM');
      if (!refused) throw error;
      options.progress.add(before - options.progress.bytes); // what was read for the staging is read again
      return await writeInPlace(src, dst, st, policy, options);
    }
    if (options.progress.cancelled) throw new FsError('ECANCELED', dst.path);
    await writeInPlace(staged, dst, st, policy, {...options, progress: new Progress()});
  } finally {
    await discard(staged);
    if (dir) await dst.fs.utimes(dirname(dst.path), dir.atime, dir.mtime, false).catch(() => undefined);
  }
}

/** The bytes of `src` written into the existing regular file `dst` (truncated first); its mode,
 *  owner and times change only where the policy keeps the source's. */
async function writeInPlace(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<void> {
  const local = bothLocal(src.fs, dst.fs);
  const asFile: Stat = {...st, mode: S_IFREG | (st.mode & 0o7777)};
  if (local) {
    const inFd = await local[0].openRead(src.path);
    let outFd: number | undefined;
    try {
      outFd = await local[1].openInPlace(dst.path);
      await native().copyFd(inFd, outFd, options.progress.raw, sparseFlags(policy), capOf(src, st, options) ?? -1)
        .catch((e: unknown) => Promise.reject(toFsError(e, src.path)));
      options.progress.add(0, 1);
      setMetaFd(outFd, st, policy, false); // the source's (what is read may be a staged copy)
    } catch (error) {
      if (local[1].isRetired) throw new FsError('ESTALE', dst.path, '(the container stopped or restarted meanwhile)');
      throw error;
    } finally {
      fs.closeSync(inFd);
      if (outFd !== undefined) local[1].closeFd(outFd);
    }
    return;
  }
  const before = options.progress.bytes;
  const stream = counted(await src.fs.createReadStream(src.path), options.progress, src.path, capOf(src, st, options));
  // The engine extracts a new inode (it cannot write in place): it carries the old file's mode and owner.
  const old = capabilitiesOf(dst.fs).inPlace === true ? undefined : await dst.fs.lstat(dst.path);
  const keepMode = (policy.flags & COPY_PRESERVE) !== 0;
  const keepOwner = (policy.flags & COPY_OWNER) !== 0;
  await dst.fs.writeFile(dst.path, stream, {mode: keepMode || !old ? modeOf(asFile.mode, policy) : old.mode & 0o7777, inPlace: true,
    signal: options.progress.signal, ...(isRegular(st) ? {size: st.size} : {}),
    ...(keepOwner ? {owner: {uid: st.uid, gid: st.gid}} : old ? {owner: {uid: old.uid, gid: old.gid}} : {}),
    ...((policy.flags & COPY_TIMES) !== 0 ? {mtime: st.mtime} : {})});
  options.progress.add(isRegular(st) ? st.size - (options.progress.bytes - before) : 0, 1);
  if (old) return;
  if (keepOwner) await dst.fs.chown(dst.path, st.uid, st.gid, false);
  if (keepMode || keepOwner) await dst.fs.chmod(dst.path, modeOf(asFile.mode, policy));
  if ((policy.flags & COPY_TIMES) !== 0) await dst.fs.utimes(dst.path, st.atime, st.mtime, false);
}

/** Whether a failed chown of a copy is let pass, as GNU cp lets it for a user who may not give
 *  files away (EPERM; EINVAL: an owner with no mapping here), and as the native walk does. */
const ownerNotGiven = (error: unknown): boolean => {
  const code = (error as {code?: string}).code;
  return code === 'EPERM' || code === 'EINVAL';
};

/** Owner, mode and times of a file the copy wrote through `fd`, as the policy keeps them; a new
 *  file (`created`) always gets its mode, a file written in place keeps its own unless -p. */
function setMetaFd(fd: number, st: Stat, policy: CopyPolicy, created: boolean): void {
  if ((policy.flags & COPY_OWNER) !== 0) {
    try {
      fs.fchownSync(fd, st.uid, st.gid);
    } catch (error) {
      if (!ownerNotGiven(error)) throw error;
    }
  }
  if (created || (policy.flags & (COPY_PRESERVE | COPY_OWNER)) !== 0) fs.fchmodSync(fd, modeOf(S_IFREG | (st.mode & 0o7777), policy));
  if ((policy.flags & COPY_TIMES) !== 0) native().futimens(fd, st.atime.sec, st.atime.nsec, st.mtime.sec, st.mtime.nsec);
}

/** A new file at `dst` (nothing there, or what is there replaced): a temporary renamed into place. */
async function copyRegularNew(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<void> {
  // A stopped container renames only by extraction: its driver uploads under a temporary name
  // and moves it into place itself (engine-fs.ts writeFile).
  if (!dst.fs.canRename) return writeNewFile(src, dst, st, policy, options, false);
  await sweepOnce(dst.fs, dirname(dst.path), options);
  const tmp = {fs: dst.fs, path: temporary(dst.path)};
  try {
    await writeNewFile(src, tmp, st, policy, options);
    await dst.fs.rename(tmp.path, dst.path);
  } catch (error) {
    await discard(tmp);
    throw error;
  }
}

/** Writes a copy of the file `src` to `dst` (a new name unless `exclusive` is false), with its
 *  mode (and with -p owner and times). A FIFO or device of the host is read as GNU cp reads it. */
async function writeNewFile(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions, exclusive = true): Promise<void> {
  const cap = capOf(src, st, options);
  const local = bothLocal(src.fs, dst.fs);
  if (local) return copyLocalFile(local[0], src.path, local[1], dst.path, policy, options, cap);
  // A special file read as a file is a file: the mode a regular file would get.
  const asFile: Stat = {...st, mode: S_IFREG | (st.mode & 0o7777)};
  const before = options.progress.bytes;
  const stream = counted(await src.fs.createReadStream(src.path), options.progress, src.path, cap);
  await dst.fs.writeFile(dst.path, stream, {mode: modeOf(asFile.mode, policy), exclusive, signal: options.progress.signal,
    ...(isRegular(st) ? {size: st.size} : {}), ...carried(st, policy)});
  options.progress.add(isRegular(st) ? st.size - (options.progress.bytes - before) : 0, 1);
  if (metaAfter(dst.fs)) await applyMeta(dst, asFile, policy);
}

async function copyLocalFile(srcFs: HostRoot, src: string, dstFs: HostRoot, tmp: string, policy: CopyPolicy, options: CopyOptions,
  cap?: number): Promise<void> {
  const inFd = await srcFs.openRead(src);
  let outFd: number | undefined;
  try {
    const st = decodeStat(native().fstat(inFd));
    outFd = await dstFs.openFd(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    await native().copyFd(inFd, outFd, options.progress.raw, sparseFlags(policy), cap ?? -1).catch((e: unknown) => Promise.reject(toFsError(e, src)));
    options.progress.add(0, 1);
    setMetaFd(outFd, st, policy, true);
  } catch (error) {
    // The destination's container stopped or restarted under the copy: its descriptor was revoked.
    if (dstFs.isRetired) throw new FsError('ESTALE', tmp, '(the container stopped or restarted meanwhile)');
    throw error;
  } finally {
    fs.closeSync(inFd);
    if (outFd !== undefined) dstFs.closeFd(outFd);
  }
}

/** Owner (--preserve=ownership), mode and times (--preserve=timestamps) of a new entry where the
 *  copy sets them (metadata 'after'). A directory keeps the setgid bit it inherited from its
 *  parent, as mkdir gives it. */
async function applyMeta(place: Place, st: Stat, policy: CopyPolicy): Promise<void> {
  if ((policy.flags & COPY_OWNER) !== 0) {
    await place.fs.chown(place.path, st.uid, st.gid, false).catch((error: unknown) => {
      if (!ownerNotGiven(error)) throw error;
    });
  }
  if (!isSymlink(st)) {
    const inherited = isDir(st) ? (await place.fs.lstat(place.path)).mode & 0o2000 : 0;
    await place.fs.chmod(place.path, modeOf(st.mode, policy) | inherited);
  }
  if ((policy.flags & COPY_TIMES) !== 0) await place.fs.utimes(place.path, st.atime, st.mtime, false);
}

/**
 * Copies the entry `src` (a symlink is copied as a link) to `dst`. A new directory is built
 * under a temporary name and renamed into place; an existing directory is merged into.
 */
export async function copyEntry(src: Place, dst: Place, options: CopyOptions, stat?: Stat): Promise<void> {
  options.progress.check(src.path);
  const policy = copyPolicy(src.fs, dst.fs, options);
  const st = stat ?? (await src.fs.lstat(src.path));
  // A followed link (-L, -H: the caller's stat is the target's): the entry it leads to, found in-root.
  if (stat && !isSymlink(st) && isSymlink(await src.fs.lstat(src.path))) src = {fs: src.fs, path: await followLinks(src.fs, src.path)};
  if (!isDir(st)) {
    await copyNonDir(src, dst, st, policy, options);
    return;
  }
  const existing = await dst.fs.lstat(dst.path).catch(() => undefined);
  if (existing && !isDir(existing)) throw new FsError('EEXIST', dst.path, '(cannot overwrite non-directory with directory)');
  // A tree the source can lend whole as a root of this host (capabilities.lendsRoot) is read
  // through it, as a running local container's is: the kernel copies.
  const lent = capabilitiesOf(dst.fs).hostRoot ? await capabilitiesOf(src.fs).lendsRoot?.lendRoot() : undefined;
  try {
    const from = lent ? {fs: lent, path: src.path} : src;
    const treePolicy = lent ? copyPolicy(lent, dst.fs, options) : policy;
    if (existing) return await mergeTree(from, dst, treePolicy, options);
    await sweepOnce(dst.fs, dirname(dst.path), options);
    await copyNewTree(from, dst, st, treePolicy, options);
  } finally {
    lent?.close();
  }
}

/** A file, link or special file of a tree copy, onto `dst` (replaced if it exists); false when it
 *  was left out (a special file that cannot be made there, a device without --devices, a
 *  relative symlink of -s). */
async function copyNonDir(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<boolean> {
  if (options.linkInstead) return linkInstead(src, dst, options);
  if (isSymlink(st)) await copySymlink(src, dst, st, policy, options);
  else if (isRegular(st)) await copyRegular(src, dst, st, policy, options);
  else return copySpecial(src, dst, st, policy, options);
  return true;
}

/** A special file: made by the native copy, under a temporary name (or left out, and listed). */
async function copySpecial(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<boolean> {
  const local = bothLocal(src.fs, dst.fs);
  if (!local) {
    options.skipped?.(src.path, st.mode, isDevice(st) && (policy.flags & COPY_DEVICES) === 0 ? 'device' : 'special');
    return false;
  }
  await sweepOnce(dst.fs, dirname(dst.path), options);
  const tmp = {fs: dst.fs, path: temporary(dst.path)};
  try {
    const made = await nativeTree(local, src.path, tmp.path, policy, options);
    if (made) await dst.fs.rename(tmp.path, dst.path);
    return made;
  } catch (error) {
    await discard(tmp);
    throw error;
  }
}

/** The native tree copy of `src` to the new name `dst`; false when it made nothing (a device
 *  node left out). */
async function nativeTree(local: [HostRoot, HostRoot], src: string, dst: string, policy: CopyPolicy, options: CopyOptions): Promise<boolean> {
  // Both roots stay open until the copy ends; a container stopping or restarting meanwhile stops
  // this copy (not the rest of the command), which then fails with ESTALE.
  const flags = policy.flags | (options.failed ? COPY_KEEP_GOING : 0);
  const gone = (): boolean => !options.progress.cancelled && (local[0].isRetired || local[1].isRetired);
  const result = await options.progress.part((raw, stop) => local[0].use(src, (srcRoot) => local[1].use(dst, (dstRoot) =>
    native().copyTree(srcRoot, src, dstRoot, dst, flags, raw), stop), stop))
    .catch((e: unknown) => {
      if (gone()) throw new FsError('ESTALE', src, '(the container stopped or restarted meanwhile)');
      throw toFsError(e, src);
    });
  // Entries that failed because a root was revoked are not one entry's failure: the copy is.
  if (gone()) throw new FsError('ESTALE', src, '(the container stopped or restarted meanwhile)');
  for (const f of result.failures) passOver(options, f.path ?? src, toFsError(f, f.path ?? src));
  if (result.failuresDropped > 0) {
    passOver(options, src, new FsError('EIO', src, `(and ${result.failuresDropped} more entries below it that could not be copied)`));
  }
  for (const s of result.skipped) options.skipped?.(s.path, s.mode, 'device');
  return !result.skipped.some((s) => s.path === src);
}

/** A new directory tree at `dst`: built under a temporary name where renaming is possible.
 *  `linkedOutside`: its hard links may lead to copies made outside it (a merge). */
async function copyNewTree(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions, linkedOutside = false): Promise<void> {
  // The native walk copies links as links, every file system, and copies (not links) files; it
  // starts from a named entry, so a whole root ("/") goes through the interface; and it keeps
  // hard-link groups of its own, so a tree whose links may lead outside it is walked here.
  const outside = (policy.flags & COPY_LINKS) !== 0 && (linkedOutside || options.links?.acrossSources === true);
  const walkHere = options.dereference || options.oneFileSystem || options.linkInstead || options.copied || src.path === '/' || outside;
  const local = walkHere ? undefined : bothLocal(src.fs, dst.fs);
  const tmp = dst.fs.canRename ? {fs: dst.fs, path: temporary(dst.path)} : dst;
  try {
    if (local) await nativeTree(local, src.path, tmp.path, policy, options);
    else await copyTreeByInterface(src, tmp, st, policy, options);
    // A container removed meanwhile: what the walk missed went with it, the tree is not put in place.
    if (options.stillThere && !(await options.stillThere())) throw new FsError('ESTALE', src.path, '(a container was removed during the copy)');
    if (tmp !== dst) {
      await dst.fs.rename(tmp.path, dst.path, true);
      options.links?.moved(dst.fs, tmp.path, dst.path);
    }
  } catch (error) {
    if (tmp !== dst) {
      await discard(tmp);
      options.links?.forget(dst.fs, tmp.path);
    }
    throw error;
  }
}

/** The entry `name` of directory `dir`, checked to be one component (below `dir`). */
function entry(dir: string, name: string): string {
  const path = entryPath(dir, name);
  if (path === undefined) throw badName(dir, name);
  return path;
}

/** Entries in inode order where the listing has them, as GNU cp reads a directory (what a copy
 *  says comes in the same order). */
const inodeOrder = (entries: DirEntry[]): DirEntry[] => entries.sort((a, b) => (a.stat?.ino ?? 0) - (b.stat?.ino ?? 0));

/** Merges the directory `src` into the existing directory `dst`, depth first with a stack:
 *  subdirectories into real directories only (lstat: a symlink there is not followed). */
async function mergeTree(src: Place, dst: Place, policy: CopyPolicy, given: CopyOptions): Promise<void> {
  // Whether the containers are still there is asked once, by the command, not per new subdirectory.
  const {stillThere: _once, ...rest} = given;
  const options: CopyOptions = {...rest, inTree: true};
  // Depth first, each directory's entries in the order GNU reads them (a subdirectory is merged
  // where it is met): what is said comes in GNU's order.
  interface Merging {readonly sdir: string; readonly ddir: string; readonly entries: DirEntry[]; next: number}
  const enter = async (sdir: string, ddir: string): Promise<Merging | undefined> => {
    try {
      return {sdir, ddir, entries: inodeOrder(await src.fs.readdir(sdir)), next: 0};
    } catch (error) {
      passOver(options, sdir, error);
      return undefined;
    }
  };
  const first = await enter(src.path, dst.path);
  const stack: Merging[] = first ? [first] : [];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next === f.entries.length) {
      stack.pop();
      // -p/-a: a directory merged into takes the source's owner, mode and times, as GNU cp's does.
      if ((policy.flags & (COPY_PRESERVE | COPY_OWNER | COPY_TIMES)) !== 0) {
        try {
          await applyMeta({fs: dst.fs, path: f.ddir}, await src.fs.lstat(f.sdir), policy);
        } catch (error) {
          passOver(options, f.sdir, error);
        }
      }
      continue;
    }
    const e = f.entries[f.next++]!;
    options.progress.check(f.sdir);
    const from = {fs: src.fs, path: entry(f.sdir, e.name)};
    const to = {fs: dst.fs, path: entry(f.ddir, e.name)};
    try {
      const st = options.dereference ? await src.fs.stat(from.path) : e.stat ?? (await src.fs.lstat(from.path));
      if (!isDir(st)) {
        // What is there, as GNU's meets it for a file: through a link (so that one leading
        // nowhere is refused, not kept by -n).
        const look = isRegular(st) ? (p: string) => dst.fs.stat(p) : (p: string) => dst.fs.lstat(p);
        const there = options.keep ? await look(to.path).catch(() => undefined) : undefined;
        if (there && !isDir(there) && (await options.keep!(to.path, st, there))) continue;
        if (await copyNonDir(from, to, st, policy, options)) options.copied?.(from.path);
        continue;
      }
      const existing = await dst.fs.lstat(to.path).catch(() => undefined);
      if (!existing) await copyNewTree(from, to, st, policy, options, true);
      else if (isDir(existing)) {
        const sub = await enter(from.path, to.path);
        if (sub) stack.push(sub);
      } else throw new FsError('EEXIST', to.path, '(cannot overwrite non-directory with directory)');
    } catch (error) {
      passOver(options, from.path, error);
    }
  }
}

/** A symlink onto `dst`: made under a temporary name and renamed over whatever is there (a
 *  link at the destination is replaced, never followed). */
async function copySymlink(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<void> {
  if (await linkToGroup(src, dst, st, options)) return;
  const target = await src.fs.readlink(src.path);
  const tmp = dst.fs.canRename ? {fs: dst.fs, path: temporary(dst.path)} : dst;
  if (tmp !== dst) await sweepOnce(dst.fs, dirname(dst.path), options);
  await dst.fs.symlink(target, tmp.path);
  try {
    if (metaAfter(tmp.fs)) await applyMeta(tmp, st, policy);
    if (tmp !== dst) await dst.fs.rename(tmp.path, dst.path);
  } catch (error) {
    if (tmp !== dst) await discard(tmp);
    throw error;
  }
  if (options.links && LinkGroups.grouped(st)) await options.links.record(src, st, dst);
  options.progress.add(0, 1);
}

/** Regular files a tree copy writes at once into a local destination (copyTreeByInterface). */
const WRITES_AHEAD = 8;

interface Frame {
  readonly src: string;
  readonly dst: string;
  readonly st: Stat;
  readonly entries: DirEntry[];
  next: number;
}

/** Tree copy through the interface (any driver on either side); dst does not exist yet. Depth
 *  first with a stack of directories, each directory's mode and times applied once it is full. */
async function copyTreeByInterface(src: Place, dst: Place, st: Stat, policy: CopyPolicy, options: CopyOptions): Promise<void> {
  // Where metadata is set after (a local directory) it is made 0700 and given its mode at the end;
  // where it is carried (the engine) it takes its mode now (it writes as root, and a mode and
  // times set later would cost a command each).
  const local = metaAfter(dst.fs);
  const mkdir = async (path: string, s: Stat): Promise<Frame> => {
    await dst.fs.mkdir(path, local ? 0o700 : modeOf(s.mode, policy));
    return {src: '', dst: path, st: s, entries: [], next: 0};
  };
  // -x: a directory of another file system is made, empty. -L: a directory met again below itself is a loop.
  const within = (s: Stat): boolean => !options.oneFileSystem || s.dev === st.dev;
  const ancestors = new Set<string>([`${st.dev}:${st.ino}`]);
  // A group's first copy is what this copy made, so its links are looked for in this tree too.
  const groups = (policy.flags & COPY_LINKS) !== 0 ? options.links ?? new LinkGroups() : undefined;
  const opts: CopyOptions = {...options, inTree: true, ...(groups ? {links: groups} : {})};
  const list = async (path: string): Promise<DirEntry[]> => inodeOrder(await src.fs.readdir(path));
  // Regular files are written a few at a time into a local destination (the kernel's create of
  // one overlaps the next one's read and the JS around it), and settled in order: what fails is
  // said in the walk's order, a directory is given its metadata only once its files are written,
  // a file of a hard-link group waits for the files before it, and nothing is still being
  // written when the walk ends or throws (the new tree may be removed then).
  const writesAhead = capabilitiesOf(dst.fs).hostRoot && !capabilitiesOf(src.fs).inexactSizes ? WRITES_AHEAD : 1;
  // A file of this new tree that could not be filled is not left half-written.
  const fileFailed = async (from: Place, to: Place, error: unknown): Promise<void> => {
    if (options.failed) await dst.fs.unlink(to.path).catch(() => undefined);
    passOver(options, from.path, error);
  };
  const pending: {readonly from: Place; readonly to: Place; readonly done: Promise<void>}[] = [];
  const settle = async (keep: number): Promise<void> => {
    while (pending.length > keep) {
      const p = pending.shift()!;
      await p.done.then(() => options.copied?.(p.from.path), (error: unknown) => fileFailed(p.from, p.to, error));
    }
  };
  const top = await mkdir(dst.path, st);
  options.copied?.(src.path);
  const stack: Frame[] = [{...top, src: src.path, entries: await list(src.path)}];
  try {
    await walk();
  } finally {
    await Promise.allSettled(pending.map((p) => p.done));
  }

  async function walk(): Promise<void> {
    while (stack.length > 0) {
      const f = stack[stack.length - 1]!;
      if (f.next === f.entries.length) {
        await settle(0);
        stack.pop();
        ancestors.delete(`${f.st.dev}:${f.st.ino}`);
        if (local) await applyMeta({fs: dst.fs, path: f.dst}, f.st, policy);
        options.progress.add(0, 1);
        continue;
      }
      const e = f.entries[f.next++]!;
      options.progress.check(f.src);
      const from = {fs: src.fs, path: entry(f.src, e.name)};
      const to = {fs: dst.fs, path: entry(f.dst, e.name)};
      let est: Stat;
      try {
        est = options.dereference ? await src.fs.stat(from.path) : e.stat ?? (await src.fs.lstat(from.path));
      } catch (error) {
        await settle(0);
        if (options.dereference && options.unfollowed) options.unfollowed(from.path, error);
        else passOver(options, from.path, error);
        continue;
      }
      // A plain file (no hard-link group): written alongside those before it.
      if (isRegular(est) && !opts.linkInstead && !(groups && LinkGroups.grouped(est))) {
        const done = writeNewFile(from, to, est, policy, opts);
        done.catch(() => undefined); // settled (and its error said) in order, by settle
        pending.push({from, to, done});
        await settle(writesAhead - 1);
        continue;
      }
      await settle(0);
      let made = false;
      try {
        if (isDir(est)) {
          const id = `${est.dev}:${est.ino}`;
          if (options.dereference && est.ino !== 0 && ancestors.has(id)) {
            if (!options.unfollowed) throw new FsError('ELOOP', from.path);
            options.unfollowed(from.path, 'cycle');
            continue;
          }
          const frame = await mkdir(to.path, est);
          options.copied?.(from.path);
          // Made, and given its mode when it is left (also when it cannot be listed: GNU's stays too).
          ancestors.add(id);
          let entries: DirEntry[] = [];
          try {
            if (within(est)) entries = await list(from.path);
          } finally {
            stack.push({...frame, src: from.path, entries});
          }
        } else if (opts.linkInstead) {
          if (await linkInstead(from, to, opts)) options.copied?.(from.path);
        } else if (isSymlink(est)) {
          await copySymlink(from, to, est, policy, opts);
          options.copied?.(from.path);
        } else if (isRegular(est)) {
          if (!(await linkToGroup(from, to, est, opts))) {
            made = true;
            await writeNewFile(from, to, est, policy, opts);
            if (groups && LinkGroups.grouped(est)) await groups.record(from, est, to);
          }
          options.copied?.(from.path);
        } else if (bothLocal(src.fs, dst.fs)) {
          // A special file between filesystems of this host: made as the native walk makes it (-L: the one a link leads to).
          const followed = options.dereference ? {fs: src.fs, path: await followLinks(src.fs, from.path)} : from;
          if (await copyNonDir(followed, to, est, policy, opts)) options.copied?.(from.path);
        } else options.skipped?.(from.path, est.mode, isDevice(est) && (policy.flags & COPY_DEVICES) === 0 ? 'device' : 'special');
      } catch (error) {
        if (made) await fileFailed(from, to, error);
        else passOver(options, from.path, error);
      }
    }
  }
}

/** What an upload carries in its tar header with -p: owner and modification time. */
const carried = (st: Stat, policy: CopyPolicy): Pick<WriteOptions, 'owner' | 'mtime'> => ({
  ...((policy.flags & COPY_OWNER) !== 0 ? {owner: {uid: st.uid, gid: st.gid}} : {}),
  ...((policy.flags & COPY_TIMES) !== 0 ? {mtime: st.mtime} : {})});

/** Writes a file's bytes to `out` (cat): a regular file, or a FIFO read as it fills, until a
 *  cancel. With a raw fd and a file handed over as a descriptor (readFds: a file of this host, or
 *  one the agent on this host opened), the native part copies. */
export async function sendFile(src: Place, out: {fd?: number; stream: Writable}, progress: Progress): Promise<void> {
  const reader = capabilitiesOf(src.fs).readFds;
  const fd = reader && out.fd !== undefined ? await reader.openReadFd(src.path, {fifo: true}) : undefined;
  if (fd !== undefined && out.fd !== undefined) {
    try {
      await native().copyFd(fd, out.fd, progress.raw).catch((e: unknown) => Promise.reject(toFsError(e, src.path)));
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  const stream = await src.fs.createReadStream(src.path, undefined, {fifo: true});
  await pipeline(stream, out.stream, {end: false, signal: progress.signal}).catch((e: unknown) =>
    Promise.reject(progress.cancelled ? new FsError('ECANCELED', src.path) : toFsError(e, src.path)));
}

