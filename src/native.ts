// Typed binding to the C part (native/inroot.c), built by node-gyp on `npm install`.
// Every path argument is resolved inside `root` (an O_PATH directory fd from openRoot):
// symlinks and ".." never leave it. Names are carried losslessly: bytes that are not UTF-8 are
// lone surrogates U+DC80..U+DCFF in JS strings (native/name-codec.h), turned back into the same
// bytes on the way in; a path no name decodes to is EINVAL, one of PATH_MAX bytes or more
// ENAMETOOLONG.
import {createRequire} from 'node:module';

/** [dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns] */
export type RawStat = Float64Array;

export interface Native {
  openRoot(path: string): number;
  open(root: number, path: string, flags: number, mode: number): number;
  stat(root: number, path: string, follow: boolean): RawStat;
  fstat(fd: number): RawStat;
  readdir(root: number, path: string, withStat: boolean): {names: string[]; types: Uint8Array; stats?: Float64Array};
  readlink(root: number, path: string): string;
  mkdir(root: number, path: string, mode: number): void;
  rmdir(root: number, path: string): void;
  unlink(root: number, path: string): void;
  symlink(target: string, root: number, path: string): void;
  rename(root1: number, from: string, root2: number, to: string, flags: number): void;
  link(root1: number, from: string, root2: number, to: string): void;
  chmod(root: number, path: string, mode: number): void;
  chown(root: number, path: string, uid: number, gid: number, follow: boolean): void;
  utimes(root: number, path: string, as: number, ans: number, ms: number, mns: number, follow: boolean): void;
  /** Access and modification times of an open file, to the nanosecond. */
  futimens(fd: number, as: number, ans: number, ms: number, mns: number): void;
  statfs(root: number, path: string): number[];
  /** Copies in→out from the current offsets; progress is [bytes, files, cancel]. A regular file
   *  into an empty one keeps its holes (flags: COPY_SPARSE_NEVER, COPY_SPARSE_ALWAYS). */
  copyFd(inFd: number, outFd: number, progress?: Float64Array, flags?: number, size?: number): Promise<number>;
  /** Copies the entry src (not following a final symlink) to the new name dst, fd-walking;
   *  flags are COPY_*. Device nodes left out (no COPY_DEVICES) are listed by path and mode; with
   *  COPY_KEEP_GOING, so are the entries below the top that could not be copied (errors like
   *  Node's, path in the source; beyond 10,000 only counted), and the walk goes on. */
  copyTree(srcRoot: number, src: string, dstRoot: number, dst: string, flags: number, progress?: Float64Array):
    Promise<{bytes: number; skipped: {path: string; mode: number}[]; failures: NodeJS.ErrnoException[]; failuresDropped: number}>;
  removeTree(root: number, path: string): Promise<number>;
  /** A small file written whole off the main thread: opened in-root with `flags` (O_WRONLY
   *  added), `data` written, closed; resolves with the bytes written. What it made stays on an error. */
  writeNew(root: number, path: string, flags: number, mode: number, data: Buffer): Promise<number>;
  /** The root of container `id`'s process `pid`, once proven to be that container's (native/identity.h); EPERM when not. */
  openContainerRoot(pid: number, id: string): number;
  /** Whether the process behind a unix socket shares our PID namespace; throws when none answers. */
  peerInOurPidNamespace(socketPath: string): boolean;
  /** Whether a /proc/<pid>/cgroup text names container `id` (exposed for tests). */
  cgroupNames(cgroup: string, id: string): boolean;
  /** A container's symlink target as the mount presents it, for a link `depth` components below the
   *  container's root (native/link.h: never above the container); throws EINVAL, ENAMETOOLONG. */
  presentLink(target: string, depth: number): string;
  /** Opens path (links followed in-root) for reading, never opening a type `accept` (READ_*)
   *  does not allow: then fd is -1 and mode tells what it is. EISDIR for a directory. */
  openRead(root: number, path: string, accept: number): {fd: number; mode: number};
  /** The process is exiting: running copies stop at their next check. */
  shutdown(): void;
  /** Replaces the open file behind `fd` by a dead descriptor in place: later reads and writes on it
   *  fail with EBADF (even in a copy running on a worker thread); the number stays taken until closed. */
  revokeFd(fd: number): void;
  /** The process umask, read without changing it. */
  umask(): number;
  /** The permission bits a copy of an entry of `mode` gets (flags COPY_*): GNU cp's rule. */
  copyMode(mode: number, flags: number, umask: number): number;
  /** The bytes of a name, and back (the codec every path argument and result goes through). */
  encodeName(name: string): Buffer;
  decodeName(bytes: Buffer): string;

  // The shell's part (native/builtin-server.c, native/terminal.c).
  /** Listens on a unix socket (created 0600); calls back per connection of a same-uid peer with
   *  its socket, its stdin/stdout/stderr and its first frame. */
  listenBuiltins(path: string, onConnection: (c: BuiltinConnection) => void): unknown;
  closeBuiltins(server: unknown): void;
  tcgetpgrp(fd: number): number;
  /** Gives the terminal to a process group of this session (SIGTTOU blocked meanwhile). */
  tcsetpgrp(fd: number, pgid: number): void;
  getpgrp(): number;
  /** SIGTTOU and SIGTTIN ignored: writing to or switching the terminal from the background never stops dbox. */
  ignoreTerminalStops(): void;
  /** [rows, columns] of a terminal; undefined for anything else. */
  winsize(fd: number): [number, number] | undefined;
  /** A pipe or socket we write to whose reader has gone. */
  widowed(fd: number): boolean;
}

export interface BuiltinConnection {
  /** The connected socket (ours to close). */
  readonly fd: number;
  /** The peer's stdin, stdout and stderr (ours to close), or none. */
  readonly fds: number[];
  readonly type: string;
  readonly payload: Buffer;
  readonly pid: number;
}

/** copyTree flags: -p (owner, times, exact mode); no setuid/setgid on what is made; recreate
 *  device nodes (else they are skipped and listed). */
export const COPY_PRESERVE = 1;
/** --preserve=ownership and --preserve=timestamps (COPY_PRESERVE: --preserve=mode; -p is all three). */
export const COPY_OWNER = 64;
export const COPY_TIMES = 128;
export const COPY_DROP_SETID = 2;
export const COPY_DEVICES = 4;
/** -a / --preserve=links: entries hard-linked together in the source are linked in the copy. */
export const COPY_LINKS = 8;
/** --sparse=never (write holes as zeros) and --sparse=always (zeros become holes); neither: holes stay holes. */
export const COPY_SPARSE_NEVER = 16;
export const COPY_SPARSE_ALWAYS = 32;
/** copyTree: an entry below the top that cannot be copied is listed (failures) and the walk goes on. */
export const COPY_KEEP_GOING = 256;
/** openRead: a FIFO may be opened too; anything may (the host's own files). */
export const READ_FIFO = 1;
export const READ_ANY = 2;

export const RENAME_NOREPLACE = 1;
/** The root value for the host's own filesystem (ordinary resolution of absolute paths). */
export const HOST_ROOT = -1;
export const O_PATH = 0o10000000;
export const STAT_LEN = 16;

let loaded: Native | undefined;

/** Loads the addon on first use, so lines that never touch a container file do not pay for it. */
export function native(): Native {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    try {
      loaded = require('../build/Release/dbox_native.node') as Native;
      // A copy waiting on a FIFO or a device must not hold the exit up (libuv joins its workers).
      const addon = loaded;
      process.once('exit', () => addon.shutdown());
    } catch (error) {
      throw new Error(`dbox: the native part is not built (${(error as Error).message}); run \`npm install\` in the dbox directory`);
    }
  }
  return loaded;
}
