// An in-memory ContainerFs for unit tests: directories, regular files and symlinks with modes,
// owners and times, and POSIX errors as FsError codes. Pure (no engine, no native part, no
// host file): what runs over it runs in milliseconds. test/unit/memory-contract.test.ts runs the
// drivers' contract cases (test/integration/contract-cases.ts) against it, so it behaves as the
// real drivers do where the builtins can tell.
//
// Paths resolve as RESOLVE_IN_ROOT does: an absolute link target starts again at this root, and
// `..` never climbs above it. A path with more than 40 links on its way fails with ELOOP.
// What it trusts: nothing of the paths, names and targets it is given (it only stores them); it is
// a fake of a container's filesystem, not a barrier.
import {Readable} from 'node:stream';
import {FsError} from '../../src/errors.js';
import {fileType, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type Capabilities, type ContainerFs, type DirEntry, type ReadRange,
  type Stat, type StatFs, type Timespec, type WriteOptions} from '../../src/vfs/types.js';

interface Meta {
  readonly ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  atime: Timespec;
  mtime: Timespec;
  ctime: Timespec;
}
interface DirNode extends Meta { readonly kind: 'dir'; readonly entries: Map<string, Node> }
interface FileNode extends Meta { readonly kind: 'file'; data: Buffer }
interface LinkNode extends Meta { readonly kind: 'symlink'; readonly target: string }
type Node = DirNode | FileNode | LinkNode;

/** Where a path leads: the directory holding its last component, that name, and what is there. */
interface Found {
  readonly parent: DirNode;
  readonly name: string;
  readonly node?: Node;
}

export interface MemoryFsOptions {
  /** The clock of new entries and changes (ms since the epoch); a fixed time by default. */
  readonly now?: () => number;
  /** Owner of what this filesystem creates. */
  readonly uid?: number;
  readonly gid?: number;
  /** Taken from a new entry's mode, as the process umask is (0 by default). */
  readonly umask?: number;
  /** A read of a file for which this answers true gives no byte until it is destroyed: the slow
   *  side of a test made controllable (a copy that is cancelled while it reads, never a race). */
  readonly stall?: (path: string) => boolean;
}

/** What a tree is built from (seed): a file's text, a link, or a directory, with optional mode, owner and mtime (s). */
export type Seed = string | {readonly symlink: string} | {readonly dir: true}
  | {readonly text: string; readonly mode?: number; readonly uid?: number; readonly gid?: number; readonly mtime?: number};

const MAX_LINKS = 40;
const parts = (path: string): string[] => path.split('/').filter((p) => p !== '' && p !== '.');

export class MemoryFs implements ContainerFs {
  /** It behaves as the local driver does (its name is only shown, never asked). */
  readonly driver = 'local' as const;
  readonly canRename = true;
  /** As the local driver: mode, owner and times are set after a write (and a write's own are kept). */
  readonly capabilities: Capabilities = {metadata: 'after', inPlace: true};
  private nextIno = 2;
  private readonly root: DirNode;
  private readonly now: () => number;

  constructor(readonly isHost = false, private readonly options: MemoryFsOptions = {}) {
    this.now = options.now ?? (() => Date.UTC(2024, 0, 15, 12));
    this.root = {...this.meta(S_IFDIR | 0o755), ino: 1, kind: 'dir', entries: new Map()};
  }

  /** A filesystem holding `tree` (paths relative to its root; parents are made 0755). */
  static of(tree: Record<string, Seed>, isHost = false, options: MemoryFsOptions = {}): MemoryFs {
    const fs = new MemoryFs(isHost, options);
    for (const [path, seed] of Object.entries(tree)) fs.seed(`/${path}`, seed);
    return fs;
  }

  /** Adds one entry (and its missing parents) synchronously. */
  seed(path: string, seed: Seed): void {
    const names = parts(path);
    let dir = this.root;
    for (const name of names.slice(0, -1)) {
      let next = dir.entries.get(name);
      if (!next) dir.entries.set(name, (next = {...this.meta(S_IFDIR | 0o755), kind: 'dir', entries: new Map()}));
      if (next.kind !== 'dir') throw new FsError('ENOTDIR', path);
      dir = next;
    }
    const name = names[names.length - 1]!;
    if (typeof seed === 'string') dir.entries.set(name, {...this.meta(S_IFREG | 0o644), kind: 'file', data: Buffer.from(seed)});
    else if ('symlink' in seed) dir.entries.set(name, {...this.meta(S_IFLNK | 0o777), kind: 'symlink', target: seed.symlink});
    else if ('dir' in seed) dir.entries.set(name, {...this.meta(S_IFDIR | 0o755), kind: 'dir', entries: new Map()});
    else {
      const node: FileNode = {...this.meta(S_IFREG | (seed.mode ?? 0o644)), kind: 'file', data: Buffer.from(seed.text)};
      if (seed.uid !== undefined) node.uid = seed.uid;
      if (seed.gid !== undefined) node.gid = seed.gid;
      if (seed.mtime !== undefined) node.mtime = node.atime = {sec: seed.mtime, nsec: 0};
      dir.entries.set(name, node);
    }
  }

  private time(): Timespec {
    const ms = this.now();
    return {sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6};
  }

  private meta(mode: number): Meta {
    const t = this.time();
    return {ino: this.nextIno++, mode, uid: this.options.uid ?? 0, gid: this.options.gid ?? 0, nlink: 1, atime: t, mtime: t, ctime: t};
  }

  private created(type: number, mode: number): Meta {
    return this.meta(type | (mode & 0o7777 & ~(this.options.umask ?? 0)));
  }

  /**
   * Resolves `path` inside this root: `..` stops at the root, an absolute link target starts again
   * there. The last component's link is followed when `follow`; a missing last component is
   * returned without a node (its parent must exist).
   */
  private find(path: string, follow: boolean): Found {
    let chain: DirNode[] = [this.root];
    let rest = path.split('/').filter((p) => p !== '');
    let links = 0;
    let last: Found = {parent: this.root, name: '', node: this.root};
    while (rest.length > 0) {
      const name = rest.shift()!;
      const dir = chain[chain.length - 1]!;
      if (name === '.' || name === '..') {
        if (name === '..' && chain.length > 1) chain.pop();
        const top = chain[chain.length - 1]!;
        last = {parent: chain[chain.length - 2] ?? this.root, name: '', node: top};
        continue;
      }
      const node = dir.entries.get(name);
      const final = rest.length === 0;
      if (node?.kind === 'symlink' && (!final || follow)) {
        if (++links > MAX_LINKS) throw new FsError('ELOOP', path);
        if (node.target.startsWith('/')) chain = [this.root];
        rest = [...node.target.split('/').filter((p) => p !== ''), ...rest];
        last = {parent: chain[chain.length - 1]!, name: '', node: chain[chain.length - 1]!};
        continue;
      }
      if (final) return node ? {parent: dir, name, node} : {parent: dir, name};
      if (!node) throw new FsError('ENOENT', path);
      if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
      chain.push(node);
      last = {parent: dir, name, node};
    }
    return last;
  }

  private existing(path: string, follow: boolean): Found & {readonly node: Node} {
    const found = this.find(path, follow);
    if (!found.node) throw new FsError('ENOENT', path);
    return found as Found & {readonly node: Node};
  }

  /** A place for a new entry at `path` (its last component is not followed). */
  private fresh(path: string): Found {
    const found = this.find(path, false);
    if (found.node) throw new FsError('EEXIST', path);
    return found;
  }

  private changed(node: Meta): void {
    node.ctime = this.time();
  }

  private touched(dir: DirNode): void {
    dir.mtime = dir.ctime = this.time();
  }

  private statOf(node: Node): Stat {
    const size = node.kind === 'file' ? node.data.length : node.kind === 'symlink' ? Buffer.byteLength(node.target) : 4096;
    const nlink = node.kind === 'dir' ? 2 + [...node.entries.values()].filter((e) => e.kind === 'dir').length : node.nlink;
    return {dev: 1, ino: node.ino, mode: node.mode, nlink, uid: node.uid, gid: node.gid, rdev: 0, size, blksize: 4096,
      blocks: Math.ceil(size / 4096) * 8, atime: node.atime, mtime: node.mtime, ctime: node.ctime};
  }

  async stat(path: string): Promise<Stat> {
    return this.statOf(this.existing(path, true).node);
  }

  async lstat(path: string): Promise<Stat> {
    return this.statOf(this.existing(path, false).node);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const {node} = this.existing(path, true);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    return [...node.entries].map(([name, e]) => ({name, type: fileType(e.mode), stat: this.statOf(e)}));
  }

  async readlink(path: string): Promise<string> {
    const {node} = this.existing(path, false);
    if (node.kind !== 'symlink') throw new FsError('EINVAL', path);
    return node.target;
  }

  async createReadStream(path: string, range?: ReadRange): Promise<Readable> {
    const {node} = this.existing(path, true);
    if (node.kind === 'dir') throw new FsError('EISDIR', path);
    if (node.kind !== 'file') throw new FsError('EPERM', path);
    if (this.options.stall?.(path)) return new Readable({read() {}});
    const start = range?.offset ?? 0;
    const bytes = node.data.subarray(start, range?.length === undefined ? undefined : start + range.length);
    return Readable.from(bytes.length > 0 ? [Buffer.from(bytes)] : []);
  }

  /** The bytes are read whole first: a source that fails, or a write aborted (`signal`), leaves
   *  nothing behind. */
  async writeFile(path: string, source: Readable, options: WriteOptions): Promise<void> {
    const chunks: Buffer[] = [];
    const abort = (): void => void source.destroy(new FsError('ECANCELED', path));
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort);
    try {
      for await (const chunk of source) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    if (options.signal?.aborted) throw new FsError('ECANCELED', path);
    const found = this.find(path, !options.exclusive);
    let node = found.node;
    if (node && options.exclusive) throw new FsError('EEXIST', path);
    if (node?.kind === 'dir') throw new FsError('EISDIR', path);
    if (node?.kind === 'symlink') throw new FsError('ELOOP', path); // exclusive: O_CREAT|O_EXCL never follows
    if (!node) {
      if (found.name === '') throw new FsError('EISDIR', path);
      node = {...this.created(S_IFREG, options.mode), kind: 'file', data: Buffer.alloc(0)};
      found.parent.entries.set(found.name, node);
      this.touched(found.parent);
    }
    node.data = Buffer.concat(chunks);
    node.mtime = this.time();
    this.changed(node);
    if (options.owner) [node.uid, node.gid] = [options.owner.uid, options.owner.gid];
    if (options.mtime) node.mtime = options.mtime;
  }

  async mkdir(path: string, mode = 0o777): Promise<void> {
    const found = this.fresh(path);
    if (found.name === '') throw new FsError('EEXIST', path);
    found.parent.entries.set(found.name, {...this.created(S_IFDIR, mode), kind: 'dir', entries: new Map()});
    this.touched(found.parent);
  }

  async rmdir(path: string): Promise<void> {
    const {parent, name, node} = this.existing(path, false);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    if (name === '') throw new FsError(node === this.root ? 'EBUSY' : 'EINVAL', path);
    if (node.entries.size > 0) throw new FsError('ENOTEMPTY', path);
    parent.entries.delete(name);
    this.touched(parent);
  }

  async unlink(path: string): Promise<void> {
    const {parent, name, node} = this.existing(path, false);
    if (node.kind === 'dir') throw new FsError('EISDIR', path);
    parent.entries.delete(name);
    node.nlink--;
    this.changed(node);
    this.touched(parent);
  }

  async remove(path: string): Promise<void> {
    const {parent, name, node} = this.find(path, false);
    if (!node) return;
    if (name === '') throw new FsError('EBUSY', path);
    parent.entries.delete(name);
    if (node.kind !== 'dir') node.nlink--;
    this.touched(parent);
  }

  async rename(from: string, to: string, noReplace = false): Promise<void> {
    const src = this.existing(from, false);
    const dst = this.find(to, false);
    if (src.name === '' || dst.name === '') throw new FsError('EBUSY', from);
    if (src.node === dst.node) return;
    if (src.node.kind === 'dir') {
      // Not into itself: no directory on the destination's way is the one moved.
      for (let d: DirNode | undefined = dst.parent; d; d = this.parentOf(d)) {
        if (d === src.node) throw new FsError('EINVAL', from);
      }
    }
    if (dst.node) {
      if (noReplace) throw new FsError('EEXIST', to);
      if (src.node.kind === 'dir' && dst.node.kind !== 'dir') throw new FsError('ENOTDIR', to);
      if (src.node.kind !== 'dir' && dst.node.kind === 'dir') throw new FsError('EISDIR', to);
      if (dst.node.kind === 'dir' && dst.node.entries.size > 0) throw new FsError('ENOTEMPTY', to);
      if (dst.node.kind !== 'dir') dst.node.nlink--;
    }
    src.parent.entries.delete(src.name);
    dst.parent.entries.set(dst.name, src.node);
    this.changed(src.node);
    this.touched(src.parent);
    this.touched(dst.parent);
  }

  /** The directory holding `dir` (undefined for the root). */
  private parentOf(dir: DirNode): DirNode | undefined {
    const search = (from: DirNode): DirNode | undefined => {
      for (const e of from.entries.values()) {
        if (e === dir) return from;
        const found = e.kind === 'dir' ? search(e) : undefined;
        if (found) return found;
      }
      return undefined;
    };
    return dir === this.root ? undefined : search(this.root);
  }

  async symlink(target: string, path: string): Promise<void> {
    const found = this.fresh(path);
    found.parent.entries.set(found.name, {...this.meta(S_IFLNK | 0o777), kind: 'symlink', target});
    this.touched(found.parent);
  }

  async link(from: string, to: string): Promise<void> {
    const {node} = this.existing(from, false);
    if (node.kind === 'dir') throw new FsError('EPERM', from);
    const found = this.fresh(to);
    found.parent.entries.set(found.name, node);
    node.nlink++;
    this.changed(node);
    this.touched(found.parent);
  }

  async chmod(path: string, mode: number): Promise<void> {
    const {node} = this.existing(path, true);
    node.mode = (node.mode & S_IFMT) | (mode & 0o7777);
    this.changed(node);
  }

  async chown(path: string, uid: number, gid: number, follow: boolean): Promise<void> {
    const {node} = this.existing(path, follow);
    [node.uid, node.gid] = [uid, gid];
    this.changed(node);
  }

  async utimes(path: string, atime: Timespec, mtime: Timespec, follow: boolean): Promise<void> {
    const {node} = this.existing(path, follow);
    [node.atime, node.mtime] = [atime, mtime];
    this.changed(node);
  }

  async truncate(path: string, length: number): Promise<void> {
    const {node} = this.existing(path, true);
    if (node.kind === 'dir') throw new FsError('EISDIR', path);
    if (node.kind !== 'file') throw new FsError('EINVAL', path);
    const data = Buffer.alloc(length);
    node.data.copy(data, 0, 0, Math.min(length, node.data.length));
    node.data = data;
    node.mtime = this.time();
    this.changed(node);
  }

  async statfs(): Promise<StatFs> {
    return {bsize: 4096, blocks: 1 << 20, bfree: 1 << 19, bavail: 1 << 19, files: 1 << 16, ffree: 1 << 15, namelen: 255};
  }
}

/** The file at `path` of a memory fs as text (the contract's `cat`: what the filesystem itself holds). */
export async function memoryCat(fs: MemoryFs, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await fs.createReadStream(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString().trim();
}
