// The `local` driver: a directory tree reached through an O_PATH fd of its root, usually
// /proc/<pid>/root of a running container (the host itself is a LocalFs rooted at "/").
// Every call goes through the native part, which resolves paths with openat2(RESOLVE_IN_ROOT),
// so a container's absolute symlinks and ".." chains stay inside the container.
//
// The root fd's lifetime: a container that stops or restarts must not be written through its old
// root (overlayfs would see two mounts of one upper directory), and a closed fd number is soon
// reused by another container's root, so closing it under a running line would send that line's
// next write into the wrong container. So a LocalFs is *retired*, never closed under its users:
// once retired every call fails with ESTALE before touching the fd; native work that holds the
// root across an await (tree copies, removals) runs inside use(), which keeps the fd open until it
// ends and is asked to cancel; the fd is closed when the last such work ends. Files opened for
// writing through the root (openFd, closed by closeFd) are revoked in place on retirement
// (native revokeFd): a copy in the middle of a file writes nothing more into the old root, and
// fails. What such work leaves behind (a copy's temporary) is removed through the container's
// successor (removeTemporary): the same container's current filesystem, which the namespace
// proves again, never the retired root.
import fs from 'node:fs';
import {constants as C} from 'node:fs';
import net from 'node:net';
import {Readable} from 'node:stream';
import {promisify} from 'node:util';
import {HOST_ROOT, native, O_PATH, READ_ANY, READ_FIFO, RENAME_NOREPLACE, STAT_LEN, type RawStat} from '../native.js';
import {FsError, toFsError} from '../errors.js';
import type {Capabilities, ContainerFs, DirEntry, FileType, HostRoot, ReadOptions, ReadRange, Stat, StatFs, Timespec,
  WriteOptions} from './types.js';
import {basename} from './path.js';
import type {Lease} from './serving.js';
import {temporaryOwner} from './temporaries.js';
import {notRegular} from './untrusted.js';

export function decodeStat(raw: RawStat | Float64Array, at = 0): Stat {
  const r = (i: number): number => raw[at + i]!;
  return {
    dev: r(0), ino: r(1), mode: r(2), nlink: r(3), uid: r(4), gid: r(5), rdev: r(6), size: r(7), blksize: r(8),
    blocks: r(9), atime: {sec: r(10), nsec: r(11)}, mtime: {sec: r(12), nsec: r(13)}, ctime: {sec: r(14), nsec: r(15)},
  };
}

const O_ACCMODE = 3;
/** A new file at most this large, its size known (as a copy knows it), is gathered and written
 *  whole in one step off the main thread (native writeNew), not through a stream. */
const SMALL_WRITE = 256 << 10;

/** The first chunks of `source` up to `limit` bytes: `whole` when it ended within them; else
 *  `rest` gives all of it, the gathered chunks first (the stream is not cut). */
async function gather(source: Readable, limit: number): Promise<{whole: Buffer} | {rest: Readable}> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) return {whole: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)};
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) break;
  }
  return {rest: Readable.from((async function* () {
    yield* chunks;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  })(), {objectMode: false})};
}

const write = promisify(fs.write) as (fd: number, buffer: Buffer, offset: number, length: number, position: null) =>
  Promise<{bytesWritten: number}>;

/** Writes all of `source` to `fd`, which stays ours: a stream given the fd closes it on an error
 *  (Node's WriteStream does, whatever autoClose says), and a number closed twice may by then be
 *  another file's. A write that fails ends the source. */
async function writeAll(fd: number, source: Readable): Promise<void> {
  try {
    for await (const piece of source) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
      for (let done = 0; done < chunk.length;) done += (await write(fd, chunk, done, chunk.length - done, null)).bytesWritten;
    }
  } catch (error) {
    source.destroy();
    throw error;
  }
}

// d_type values from <dirent.h>
const DT: Record<number, FileType> = {1: 'fifo', 2: 'char', 4: 'dir', 6: 'block', 8: 'file', 10: 'symlink', 12: 'socket'};

export class LocalFs implements ContainerFs, HostRoot {
  readonly driver = 'local' as const;
  readonly canRename = true;
  /** A root fd of this host: native copies, fds the mount passes through, metadata set after a write. */
  readonly capabilities: Capabilities = {metadata: 'after', descriptors: this, hostRoot: this, inPlace: true,
    readFds: {openReadFd: (path, options) => this.openRead(path, options)}};
  private retired = false;
  readonly isHost: boolean;
  private closed = false;
  /** Native work in flight that holds the root fd (use()), and how to ask each to stop. */
  private busy = 0;
  private readonly cancels = new Set<() => void>();
  /** Descriptors of files opened for writing through the root and not yet closed (closeFd). */
  private readonly writers = new Set<number>();
  /** The same container's filesystem now (given by the namespace when it retires this one). */
  private successor?: () => Promise<ContainerFs | undefined>;

  private constructor(private readonly rootFd: number, readonly rootPath: string, private readonly release = (): void => fs.closeSync(rootFd)) {
    this.isHost = rootFd === HOST_ROOT;
  }

  /** Opens `rootPath` (a directory) as the root of a new LocalFs. */
  static open(rootPath: string): LocalFs {
    return new LocalFs(native().openRoot(rootPath), rootPath);
  }

  /** A LocalFs over a share of a root fd (a container's root proven by native/identity.c, vfs/serving.ts):
   *  released when this filesystem no longer uses it. */
  static adopt(root: Lease, label: string): LocalFs {
    return new LocalFs(root.fd, label, () => root.release());
  }

  /** The host's own filesystem: absolute paths, ordinary resolution. */
  static host(): LocalFs {
    return new LocalFs(HOST_ROOT, '/');
  }

  /**
   * No further use: calls fail with ESTALE from now on, files open for writing are revoked, work in
   * flight is asked to stop; the fd closes once no work holds it. `successor` finds the same
   * container's filesystem as it is now, for removeTemporary.
   */
  retire(successor?: () => Promise<ContainerFs | undefined>): void {
    if (this.rootFd === HOST_ROOT || this.retired) return;
    this.retired = true;
    this.successor = successor;
    for (const fd of this.writers) native().revokeFd(fd);
    for (const cancel of this.cancels) cancel();
    if (this.busy === 0) this.closeRoot();
  }

  /** Whether the filesystem was retired (its container's process changed or went). */
  get isRetired(): boolean {
    return this.retired;
  }

  /** Retires at once (tests and exit paths). */
  close(): void {
    this.retire();
  }

  private closeRoot(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  private live(path: string): void {
    if (this.retired) throw new FsError('ESTALE', path, '(the container stopped or restarted meanwhile)');
  }

  /**
   * Runs native work that needs the root fd beyond one synchronous call: the fd stays open until it
   * ends, even if the filesystem is retired meanwhile; `cancel` is called then, so that it stops.
   */
  async use<T>(path: string, work: (rootFd: number) => Promise<T>, cancel?: () => void): Promise<T> {
    this.live(path);
    this.busy++;
    if (cancel) this.cancels.add(cancel);
    try {
      return await work(this.rootFd);
    } finally {
      this.busy--;
      if (cancel) this.cancels.delete(cancel);
      if (this.retired && this.busy === 0) this.closeRoot();
    }
  }

  /** Runs a native call and turns its error into an FsError naming `path`. */
  private call<T>(path: string, op: () => T): Promise<T> {
    try {
      this.live(path);
      return Promise.resolve(op());
    } catch (error) {
      return Promise.reject(toFsError(error, path));
    }
  }

  /** Opens a file in-root; flags as open(2). The caller closes the fd with closeFd (a descriptor
   *  opened for writing is revoked if the filesystem is retired while it is open). */
  openFd(path: string, flags: number, mode = 0o666): Promise<number> {
    return this.call(path, () => {
      const fd = native().open(this.rootFd, path, flags, mode);
      if ((flags & O_ACCMODE) !== C.O_RDONLY) this.writers.add(fd);
      return fd;
    });
  }

  /** The existing regular file `path`, opened for writing and truncated: first as an O_PATH fd
   *  (O_NOFOLLOW), checked to be a regular file, then that very inode opened through
   *  /proc/self/fd (a name swapped meanwhile, for a device or a FIFO, is never opened). */
  async openInPlace(path: string): Promise<number> {
    const p = await this.openFd(path, O_PATH | C.O_NOFOLLOW);
    try {
      const st = fs.fstatSync(p);
      if (!st.isFile()) throw st.isSymbolicLink() ? new FsError('ELOOP', path) : notRegular(path, st.mode);
      return await this.call(path, () => {
        const fd = fs.openSync(`/proc/self/fd/${p}`, C.O_WRONLY | C.O_TRUNC | C.O_NOCTTY);
        this.writers.add(fd);
        return fd;
      });
    } finally {
      this.closeFd(p);
    }
  }

  /** Closes a descriptor openFd gave. */
  closeFd(fd: number): void {
    this.writers.delete(fd);
    fs.closeSync(fd);
  }

  /**
   * Removes `path`, a temporary of this process's copies (named by temporaries.ts), and nothing
   * else: through this root while it is current, else through the container's successor (its new
   * root, proven again by the namespace, or its engine), never through the retired root. Without a
   * successor (the container is gone) there is nothing left to remove it from.
   */
  async removeTemporary(path: string): Promise<void> {
    if (temporaryOwner(basename(path))?.pid !== process.pid) throw new FsError('EPERM', path, '(not a temporary of this process)');
    if (!this.retired) return this.remove(path);
    const next = await this.successor?.().catch(() => undefined);
    if (next && next !== this) await next.remove(path);
  }

  stat(path: string): Promise<Stat> {
    return this.call(path, () => decodeStat(native().stat(this.rootFd, path, true)));
  }

  lstat(path: string): Promise<Stat> {
    return this.call(path, () => decodeStat(native().stat(this.rootFd, path, false)));
  }

  readdir(path: string): Promise<DirEntry[]> {
    return this.call(path, () => {
      const {names, types, stats} = native().readdir(this.rootFd, path, true);
      return names.map((name, i) => {
        const stat = stats ? decodeStat(stats, i * STAT_LEN) : undefined;
        return {name, type: DT[types[i]!] ?? 'unknown', ...(stat && stat.mode !== 0 ? {stat} : {})};
      });
    });
  }

  readlink(path: string): Promise<string> {
    return this.call(path, () => native().readlink(this.rootFd, path));
  }

  /** Opens a file for reading as createReadStream does (the caller closes the fd): in a
   *  container a regular file, or a FIFO with `fifo`; nothing else is opened. */
  openRead(path: string, options?: ReadOptions): Promise<number> {
    const accept = this.isHost ? READ_ANY : options?.fifo ? READ_FIFO : 0;
    return this.call(path, () => {
      const {fd, mode} = native().openRead(this.rootFd, path, accept);
      if (fd < 0) throw notRegular(path, mode);
      return fd;
    });
  }

  async createReadStream(path: string, range?: ReadRange, options?: ReadOptions): Promise<Readable> {
    const fd = await this.openRead(path, options);
    const st = decodeStat(native().fstat(fd));
    if (range?.length === 0) {
      fs.closeSync(fd);
      return Readable.from([]);
    }
    // A FIFO is read as a pipe on the event loop, never by a blocking read in a worker.
    if ((st.mode & C.S_IFMT) === C.S_IFIFO) return new net.Socket({fd, readable: true, writable: false});
    const end = range?.length === undefined ? undefined : range.offset + range.length - 1;
    return fs.createReadStream('', {fd, highWaterMark: 1 << 20, start: range?.offset, end});
  }

  async writeFile(path: string, source: Readable, options: WriteOptions): Promise<void> {
    const flags = C.O_WRONLY | C.O_CREAT | C.O_TRUNC | (options.exclusive ? C.O_EXCL : 0);
    const existing = options.inPlace ? await this.lstat(path).catch(() => undefined) : undefined;
    const inPlace = existing !== undefined && (existing.mode & C.S_IFMT) === C.S_IFREG;
    if (!inPlace && options.size !== undefined && options.size <= SMALL_WRITE) {
      // A tree of small files: a stream and a main-thread open per file cost more than the bytes.
      let gathered: Awaited<ReturnType<typeof gather>>;
      try {
        gathered = await gather(source, SMALL_WRITE);
      } catch (error) {
        throw toFsError(error, path);
      }
      if ('whole' in gathered) {
        try {
          await this.use(path, (root) => native().writeNew(root, path, flags, options.mode, gathered.whole));
        } catch (error) {
          throw this.retired ? new FsError('ESTALE', path, '(the container stopped or restarted meanwhile)') : toFsError(error, path);
        }
        return;
      }
      source = gathered.rest; // more than it said it would give: streamed after all
    }
    let fd: number;
    try {
      fd = inPlace ? await this.openInPlace(path) : await this.openFd(path, flags, options.mode);
    } catch (error) {
      source.destroy(); // nothing will read it: what it holds open (a container's file) goes now
      throw error;
    }
    try {
      await writeAll(fd, source);
    } catch (error) {
      throw this.retired ? new FsError('ESTALE', path, '(the container stopped or restarted meanwhile)') : toFsError(error, path);
    } finally {
      this.closeFd(fd);
    }
  }

  mkdir(path: string, mode = 0o777): Promise<void> {
    return this.call(path, () => native().mkdir(this.rootFd, path, mode));
  }

  rmdir(path: string): Promise<void> {
    return this.call(path, () => native().rmdir(this.rootFd, path));
  }

  unlink(path: string): Promise<void> {
    return this.call(path, () => native().unlink(this.rootFd, path));
  }

  async remove(path: string): Promise<void> {
    try {
      await this.use(path, (root) => native().removeTree(root, path));
    } catch (error) {
      throw toFsError(error, path);
    }
  }

  rename(from: string, to: string, noReplace = false): Promise<void> {
    return this.call(from, () => native().rename(this.rootFd, from, this.rootFd, to, noReplace ? RENAME_NOREPLACE : 0));
  }

  symlink(target: string, path: string): Promise<void> {
    return this.call(path, () => native().symlink(target, this.rootFd, path));
  }

  link(from: string, to: string): Promise<void> {
    return this.call(to, () => native().link(this.rootFd, from, this.rootFd, to));
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.call(path, () => native().chmod(this.rootFd, path, mode));
  }

  chown(path: string, uid: number, gid: number, follow: boolean): Promise<void> {
    return this.call(path, () => native().chown(this.rootFd, path, uid, gid, follow));
  }

  utimes(path: string, atime: Timespec, mtime: Timespec, follow: boolean): Promise<void> {
    return this.call(path, () =>
      native().utimes(this.rootFd, path, atime.sec, atime.nsec, mtime.sec, mtime.nsec, follow),
    );
  }

  async truncate(path: string, length: number): Promise<void> {
    const fd = await this.openFd(path, C.O_WRONLY);
    try {
      fs.ftruncateSync(fd, length);
    } catch (error) {
      throw toFsError(error, path);
    } finally {
      this.closeFd(fd);
    }
  }

  statfs(path: string): Promise<StatFs> {
    return this.call(path, () => {
      const [bsize, blocks, bfree, bavail, files, ffree, namelen] = native().statfs(this.rootFd, path);
      return {bsize: bsize!, blocks: blocks!, bfree: bfree!, bavail: bavail!, files: files!, ffree: ffree!, namelen: namelen!};
    });
  }
}
