// Moving bytes between filesystems: the copy engine under `cp` and `cat`.
// Between two LocalFs (host or running local containers) it works on fds in the native part:
// copy_file_range for files, an fd-walking tree copy for directories. Otherwise it streams
// through the ContainerFs interface. A destination never shows a half-written file: files go to
// a temporary name in the destination directory and are renamed into place; new trees are built
// under a temporary name and renamed at the end. On failure or cancel the temporary is removed.
import fs from 'node:fs';
import {constants as C} from 'node:fs';
import {Transform, type Readable, type Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {native} from '../native.js';
import {FsError, toFsError} from './errors.js';
import {LocalFs, decodeStat} from './local-fs.js';
import {basename, dirname, join, linkTargetPath} from './path.js';
import {isDir, isSymlink, S_IFMT, S_IFREG, type ContainerFs, type Stat, type WriteOptions} from './types.js';

export interface Place {
  readonly fs: ContainerFs;
  readonly path: string;
}

/** Counters shared with the native copy workers: [bytes, files, cancel]. */
export class Progress {
  readonly raw = new Float64Array(3);
  get bytes(): number { return this.raw[0]!; }
  get files(): number { return this.raw[1]!; }
  add(bytes: number, files = 0): void {
    this.raw[0] = this.bytes + bytes;
    this.raw[1] = this.files + files;
  }
  cancel(): void { this.raw[2] = 1; }
  get cancelled(): boolean { return this.raw[2] === 1; }
  check(path: string): void {
    if (this.cancelled) throw new FsError('ECANCELED', path);
  }
}

export interface CopyOptions {
  /** -p: keep owner, group and times (mode is always kept, as cp does). */
  readonly preserve: boolean;
  readonly progress: Progress;
}

// Created with O_EXCL (or mkdir), so a name someone else holds fails rather than being reused.
const tempName = (path: string): string =>
  join(dirname(path), `.${basename(path)}.dbox-${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`);

const bothLocal = (a: ContainerFs, b: ContainerFs): [LocalFs, LocalFs] | undefined =>
  a instanceof LocalFs && b instanceof LocalFs ? [a, b] : undefined;

/** Removes a temporary left by a failed copy; its own errors are not the user's concern. */
async function discard(place: Place): Promise<void> {
  await place.fs.remove(place.path).catch(() => undefined);
}

/**
 * Where writing to `path` lands when its last component is a symlink: as cp does, a copy onto a
 * link writes to the link's target. Targets resolve inside the filesystem's root.
 */
export async function followLinks(fs: ContainerFs, path: string): Promise<string> {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    const st = await fs.lstat(current).catch(() => undefined);
    if (!st || !isSymlink(st)) return current;
    const target = await fs.readlink(current);
    current = linkTargetPath(current, target);
  }
  throw new FsError('ELOOP', path);
}

/**
 * The same bytes, counted into progress (and stopped by a cancel) as they pass. A transform in the
 * pipe, not a 'data' listener: a listener would start the flow before a slow destination (an
 * upload that first asks the engine) is ready, and the first chunks would be lost.
 */
function counted(source: Readable, progress: Progress, path: string): Readable {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.add(chunk.length);
      done(progress.cancelled ? new FsError('ECANCELED', path) : null, chunk);
    },
  });
  source.on('error', (error) => counter.destroy(error));
  return source.pipe(counter);
}

/** Copies the bytes of a file (following symlinks) to `dst`, replacing it atomically. */
export async function copyFile(src: Place, to: Place, options: CopyOptions, stat?: Stat): Promise<void> {
  const st = stat ?? (await src.fs.stat(src.path));
  const dst = {fs: to.fs, path: await followLinks(to.fs, to.path)};
  const tmp = {fs: dst.fs, path: tempName(dst.path)};
  const local = bothLocal(src.fs, dst.fs);
  if (!dst.fs.canRename) {
    // A stopped container through the archive API: no rename, the engine extracts the upload in place.
    await dst.fs.writeFile(dst.path, await src.fs.createReadStream(src.path), {mode: st.mode & 0o7777, size: st.size, ...carried(st, options)});
    options.progress.add(st.size, 1);
    return;
  }
  try {
    if (local) await copyLocalFile(local[0], src.path, local[1], tmp.path, options);
    else {
      const before = options.progress.bytes;
      const stream = counted(await src.fs.createReadStream(src.path), options.progress, src.path);
      await dst.fs.writeFile(tmp.path, stream, {mode: st.mode & 0o7777, exclusive: true, size: st.size, ...carried(st, options)});
      options.progress.add(st.size - (options.progress.bytes - before), 1);
      if (dst.fs.driver === 'local') await applyMeta(tmp, st, options.preserve);
    }
    await dst.fs.rename(tmp.path, dst.path);
  } catch (error) {
    await discard(tmp);
    throw error;
  }
}

async function copyLocalFile(srcFs: LocalFs, src: string, dstFs: LocalFs, tmp: string, options: CopyOptions): Promise<void> {
  const inFd = await srcFs.openFd(src, C.O_RDONLY);
  let outFd: number | undefined;
  try {
    const st = decodeStat(native().fstat(inFd));
    if ((st.mode & S_IFMT) !== S_IFREG) throw new FsError(isDir(st) ? 'EISDIR' : 'EINVAL', src);
    outFd = await dstFs.openFd(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    await native().copyFd(inFd, outFd, options.progress.raw).catch((e: unknown) => Promise.reject(toFsError(e, src)));
    options.progress.add(0, 1);
    const fd = outFd;
    if (options.preserve) fs.fchownSync(fd, st.uid, st.gid);
    fs.fchmodSync(fd, st.mode & 0o7777);
    if (options.preserve) fs.futimesSync(fd, st.atime.sec + st.atime.nsec / 1e9, st.mtime.sec + st.mtime.nsec / 1e9);
  } finally {
    fs.closeSync(inFd);
    if (outFd !== undefined) fs.closeSync(outFd);
  }
}

async function applyMeta(place: Place, st: Stat, preserve: boolean): Promise<void> {
  if (preserve && place.fs.driver === 'local') await place.fs.chown(place.path, st.uid, st.gid, false);
  if (!isSymlink(st)) await place.fs.chmod(place.path, st.mode & 0o7777);
  if (preserve) await place.fs.utimes(place.path, st.atime, st.mtime, false);
}

/**
 * Copies the entry `src` (a symlink is copied as a link) to `dst`. A new directory is built
 * under a temporary name and renamed into place; an existing directory is merged into.
 */
export async function copyEntry(src: Place, dst: Place, options: CopyOptions): Promise<void> {
  options.progress.check(src.path);
  const st = await src.fs.lstat(src.path);
  if (!isDir(st)) {
    if (isSymlink(st)) await copySymlink(src, dst, options);
    else await copyFile(src, dst, options, st);
    return;
  }
  const existing = await dst.fs.lstat(dst.path).catch(() => undefined);
  if (existing && !isDir(existing)) throw new FsError('EEXIST', dst.path, '(cannot overwrite non-directory with directory)');
  if (existing) {
    for (const entry of await src.fs.readdir(src.path)) {
      await copyEntry({fs: src.fs, path: join(src.path, entry.name)}, {fs: dst.fs, path: join(dst.path, entry.name)}, options);
    }
    return;
  }
  const local = bothLocal(src.fs, dst.fs);
  const tmp = dst.fs.canRename ? {fs: dst.fs, path: tempName(dst.path)} : dst;
  try {
    if (local) {
      // Both roots stay open until the copy ends; a container stopping meanwhile cancels it.
      const cancel = (): void => options.progress.cancel();
      await local[0].use(src.path, (srcRoot) => local[1].use(tmp.path, (dstRoot) =>
        native().copyTree(srcRoot, src.path, dstRoot, tmp.path, options.preserve, options.progress.raw), cancel), cancel)
        .catch((e: unknown) => Promise.reject(toFsError(e, src.path)));
    } else {
      await copyTreeByInterface(src, tmp, st, options);
    }
    if (tmp !== dst) await dst.fs.rename(tmp.path, dst.path, true);
  } catch (error) {
    if (tmp !== dst) await discard(tmp);
    throw error;
  }
}

async function copySymlink(src: Place, dst: Place, options: CopyOptions): Promise<void> {
  const target = await src.fs.readlink(src.path);
  const tmp = dst.fs.canRename ? {fs: dst.fs, path: tempName(dst.path)} : dst;
  await dst.fs.symlink(target, tmp.path);
  try {
    if (options.preserve && tmp.fs.driver === 'local') {
      const st = await src.fs.lstat(src.path);
      await tmp.fs.chown(tmp.path, st.uid, st.gid, false);
      await tmp.fs.utimes(tmp.path, st.atime, st.mtime, false);
    }
    if (tmp !== dst) await dst.fs.rename(tmp.path, dst.path);
  } catch (error) {
    if (tmp !== dst) await discard(tmp);
    throw error;
  }
  options.progress.add(0, 1);
}

/** Tree copy through the interface (any driver on either side); dst does not exist yet. */
async function copyTreeByInterface(src: Place, dst: Place, st: Stat, options: CopyOptions): Promise<void> {
  await dst.fs.mkdir(dst.path, 0o700);
  for (const entry of await src.fs.readdir(src.path)) {
    options.progress.check(src.path);
    const from = {fs: src.fs, path: join(src.path, entry.name)};
    const to = {fs: dst.fs, path: join(dst.path, entry.name)};
    const est = entry.stat ?? (await src.fs.lstat(from.path));
    if (isDir(est)) await copyTreeByInterface(from, to, est, options);
    else if (isSymlink(est)) await copySymlink(from, to, options);
    else {
      const stream = await src.fs.createReadStream(from.path);
      await dst.fs.writeFile(to.path, stream, {mode: est.mode & 0o7777, exclusive: true, size: est.size, ...carried(est, options)});
      options.progress.add(est.size, 1);
      if (to.fs.driver === 'local') await applyMeta(to, est, options.preserve);
    }
  }
  // A directory's mode and times from the engine driver would cost a command each: local only.
  if (dst.fs.driver === 'local') await applyMeta(dst, st, options.preserve);
  options.progress.add(0, 1);
}

/** What an upload carries in its tar header with -p: owner and modification time. */
const carried = (st: Stat, options: CopyOptions): Pick<WriteOptions, 'owner' | 'mtime'> =>
  options.preserve ? {owner: {uid: st.uid, gid: st.gid}, mtime: st.mtime} : {};

/** Writes a file's bytes to `out` (cat). With a raw fd and a local file, the native part copies. */
export async function sendFile(src: Place, out: {fd?: number; stream: Writable}, progress: Progress): Promise<void> {
  if (src.fs instanceof LocalFs && out.fd !== undefined) {
    const fd = await src.fs.openFd(src.path, C.O_RDONLY);
    try {
      if (isDir(decodeStat(native().fstat(fd)))) throw new FsError('EISDIR', src.path);
      await native().copyFd(fd, out.fd, progress.raw).catch((e: unknown) => Promise.reject(toFsError(e, src.path)));
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  const stream = await src.fs.createReadStream(src.path);
  await pipeline(stream, out.stream, {end: false}).catch((e: unknown) => Promise.reject(toFsError(e, src.path)));
}
