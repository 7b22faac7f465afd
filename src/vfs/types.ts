// The one filesystem interface under the builtins, completion and FUSE. Paths given to a
// ContainerFs are absolute inside that filesystem ("/etc/hosts"). Errors are FsError with a
// POSIX code.
import type {Readable} from 'node:stream';
import type {Endpoint} from '../docker/endpoints.js';
import type {ContainerInfo} from '../docker/validate.js';
import type {Refusals} from './untrusted.js';

export interface Timespec {
  readonly sec: number;
  readonly nsec: number;
}

/** Milliseconds since the epoch as a Timespec. */
export const timespecOfMs = (ms: number): Timespec => ({sec: Math.floor(ms / 1000), nsec: Math.round((ms % 1000) * 1e6)});

export interface Stat {
  readonly dev: number;
  readonly ino: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly size: number;
  readonly blksize: number;
  readonly blocks: number;
  readonly atime: Timespec;
  readonly mtime: Timespec;
  readonly ctime: Timespec;
}

export type FileType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block' | 'unknown';

export interface DirEntry {
  readonly name: string;
  readonly type: FileType;
  /** lstat of the entry when the driver has it at no extra cost. */
  readonly stat?: Stat;
  /** An entry of /containers (or /hosts/<context>): the container it is, with its state, image
   *  and id as its engine listed them (engine JSON, validated: docker/validate.ts). */
  readonly container?: ContainerInfo;
  /** An entry of /hosts: the engine endpoint (a docker CLI context) it is. */
  readonly endpoint?: Endpoint;
}

export interface StatFs {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
  readonly namelen: number;
}

export interface WriteOptions {
  readonly mode: number;
  /** Fail with EEXIST when the file exists. A driver may write such a create behind: the call
   *  then resolves once the bytes have left, and the next call on that filesystem fails with the
   *  write's error if it failed (the agent driver does; a copy always ends with its rename). */
  readonly exclusive?: boolean;
  /** The number of bytes `source` will give, when known (the archive API needs it up front). */
  readonly size?: number;
  /** Owner and modification time to give the file where the write itself can carry them (a tar
   *  header); other drivers set them afterwards. */
  readonly owner?: {readonly uid: number; readonly gid: number};
  readonly mtime?: Timespec;
  /** An existing regular file at `path` is written into (opened O_WRONLY|O_TRUNC, never through a
   *  final symlink): its inode, mode, owner and hard links stay, `mode` and `owner` are not applied.
   *  Honoured where capabilities.inPlace says so; elsewhere the file is replaced by a new one. */
  readonly inPlace?: boolean;
  /** Aborts the write (Ctrl-C): it fails, and what it wrote is the caller's to remove. */
  readonly signal?: AbortSignal;
}

/** Part of a file: `length` bytes (to the end when absent) from `offset`. */
export interface ReadRange {
  readonly offset: number;
  readonly length?: number;
}

export interface ReadOptions {
  /** A FIFO may be read too (cat). */
  readonly fifo?: boolean;
}

/** Files of a filesystem as descriptors of this process, for a path that may be passed through
 *  (the mount reads and writes them directly). */
export interface Descriptors {
  /** Opens `path` in-root, flags as open(2); the caller closes the fd with closeFd (one opened for
   *  writing is revoked if the filesystem is retired meanwhile). */
  openFd(path: string, flags: number, mode?: number): Promise<number>;
  closeFd(fd: number): void;
}

/** Files handed over as descriptors of this process for reading, so a reader (cat, the mount)
 *  reads them here at the speed of the disk: a local root's files, or those the dbox agent hands
 *  over when it runs on this very host. */
export interface ReadFds {
  /** Opens a file for reading as createReadStream would (regular, or a FIFO with `fifo` where the
   *  driver reads FIFOs); the caller closes the fd. Undefined when this filesystem cannot hand a
   *  descriptor over now: read through createReadStream then. */
  openReadFd(path: string, options?: ReadOptions): Promise<number | undefined>;
}

/** A filesystem of this very host, reached through a root fd: two of them copy in the kernel
 *  (copy_file_range, the native fd-walking tree copy), and a file of one goes to an fd natively. */
export interface HostRoot extends Descriptors {
  /** Opens a file for reading as createReadStream would (regular, or a FIFO with `fifo`; on the
   *  host anything); the caller closes the fd. */
  openRead(path: string, options?: ReadOptions): Promise<number>;
  /** Opens the existing regular file `path` for writing, truncated (O_WRONLY|O_TRUNC), never
   *  through a final symlink and never anything but a regular file (checked on the inode opened);
   *  closed with closeFd. */
  openInPlace(path: string): Promise<number>;
  /** Runs native work on the root fd, kept open until it ends; `cancel` is called if the
   *  filesystem is retired meanwhile. */
  use<T>(path: string, work: (rootFd: number) => Promise<T>, cancel?: () => void): Promise<T>;
  /** The filesystem was retired (its container's process changed or went). */
  readonly isRetired: boolean;
}

/** A tree that can be lent whole as a root fd of this host, for reading only: an image's or a
 *  stopped container's layers as the dbox agent on this host assembled them. A tree copy from it
 *  then reads through the lent filesystem, as from a running local container (the kernel copies). */
export interface RootLender {
  /** The tree as a filesystem of this host to read from, until the caller closes it; undefined
   *  when it cannot be had now (no agent on this host, not root, or not a tree the agent may lend). */
  lendRoot(): Promise<(ContainerFs & {close(): void}) | undefined>;
}

/** What a driver can do beyond the interface: the copy engine and the mount ask this, never the
 *  driver's class or name. */
export interface Capabilities {
  /** Where a new entry's mode (and with -p its owner and times) comes from. `after`: the copy sets
   *  them with chmod/chown/utimes once the entry is written (a new directory is made 0700 and
   *  given its mode once full). `carried`: the write itself carries them (WriteOptions' mode,
   *  owner and mtime, mkdir's mode), as an archive header does; nothing is set afterwards. */
  readonly metadata: 'after' | 'carried';
  /** Its files as descriptors of this process (absent: the mount reads and writes through the interface). */
  readonly descriptors?: Descriptors;
  /** A filesystem of this host on a root fd (absent: copies stream through the interface). */
  readonly hostRoot?: HostRoot;
  /** Every call is a request to an engine, which may be slow or never answer: the mount presents
   *  the container's own directory without asking it (a root is a directory), so such an engine
   *  holds up only what is read inside that container, never the mount's root. */
  readonly remote?: boolean;
  /** Its files handed over as descriptors for reading (absent: read through createReadStream). */
  readonly readFds?: ReadFds;
  /** The whole tree lent as a filesystem of this host, for tree copies to read (absent: it never can be). */
  readonly lendsRoot?: RootLender;
  /** writeFile honours WriteOptions.inPlace (absent: a write always makes a new inode, as the
   *  engine's archive API does). */
  readonly inPlace?: boolean;
  /** The sizes its listings give may be below what a read returns (an archive's hard-link entries
   *  say 0), and its reads always end (they are archives): a tree copy reads its files to their
   *  end rather than to the size listed (absent: sizes are the kernel's, and a file that never
   *  ends, as /proc's pagemap, is read only as far as its size says). */
  readonly inexactSizes?: boolean;
}

/** Capabilities of a driver that declares none: metadata carried by its writes, no descriptors. */
export const noCapabilities: Capabilities = {metadata: 'carried'};

/** What `fs` can do. */
export const capabilitiesOf = (fs: ContainerFs): Capabilities => fs.capabilities ?? noCapabilities;

export interface ContainerFs {
  /** What this driver can do beyond the interface (absent: noCapabilities). */
  readonly capabilities?: Capabilities;
  /** Which driver serves this filesystem: a name for tests and diagnostics only (nothing decides
   *  on it; what a driver can do is `capabilities`).
   *  `agent`: the local driver's operations, run by the dbox agent on the engine's host. */
  readonly driver: 'local' | 'agent' | 'engine';
  /** rename works here, so a copy can be written under a temporary name and renamed into place. */
  readonly canRename: boolean;
  /** The host's own filesystem: its names, types and links are the user's, and copies from it
   *  behave as GNU cp. Absent or false: a container's, whose every byte is untrusted. */
  readonly isHost?: boolean;
  stat(path: string): Promise<Stat>;
  lstat(path: string): Promise<Stat>;
  readdir(path: string): Promise<DirEntry[]>;
  readlink(path: string): Promise<string>;
  /** Streams a regular file's bytes, all or `range` of them (follows symlinks in-root). In a
   *  container anything else is refused (EPERM) without being opened, but a FIFO when `fifo`
   *  is set (read interruptibly: destroying the stream ends the wait); on the host, anything. */
  createReadStream(path: string, range?: ReadRange, options?: ReadOptions): Promise<Readable>;
  /** Creates or replaces `path` with the bytes of `source`. */
  writeFile(path: string, source: Readable, options: WriteOptions): Promise<void>;
  mkdir(path: string, mode?: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes a file or a whole tree (rm -rf, never following symlinks). */
  remove(path: string): Promise<void>;
  /** Removes a temporary of this process's copies, also once the filesystem was retired (its
   *  container restarted: through the container's current filesystem). Absent: remove does. */
  removeTemporary?(path: string): Promise<void>;
  /** Renames inside this filesystem; `noReplace` fails with EEXIST instead of replacing. */
  rename(from: string, to: string, noReplace?: boolean): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  /** A hard link `to` the existing `from` (a final symlink of `from` is linked, not followed). */
  link(from: string, to: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  chown(path: string, uid: number, gid: number, follow: boolean): Promise<void>;
  utimes(path: string, atime: Timespec, mtime: Timespec, follow: boolean): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
  statfs(path: string): Promise<StatFs>;
  /** Answers of the container this filesystem did not believe and worked around (a forged
   *  listing): a command that wants to tell its user listens while it works. */
  readonly refusals?: Refusals;
  /** Extracts a tar stream into the existing directory `dir`, in one go: present where a driver
   *  takes archives natively (the engine's PUT), where writing entry by entry costs a request each. */
  extractTar?(dir: string, tar: Readable): Promise<void>;
}

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

export function fileType(mode: number): FileType {
  switch (mode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    case S_IFCHR: return 'char';
    case S_IFBLK: return 'block';
    default: return 'unknown';
  }
}

export const isDir = (s: Stat): boolean => (s.mode & S_IFMT) === S_IFDIR;
export const isSymlink = (s: Stat): boolean => (s.mode & S_IFMT) === S_IFLNK;
