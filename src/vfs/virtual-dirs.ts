// A read-only tree of empty directories made from a list of names that may hold '/' (image
// references: "dbox-test/busybox:latest" is the directory dbox-test holding busybox:latest), for
// /images and /volumes above the filesystems of what they name (namespace.ts). Each name is a
// path of components checked by whoever made the list (src/docker/layers.ts: no empty, "." or
// ".." component); a name that is a prefix of another is served by its own filesystem, never here.
import {Readable} from 'node:stream';
import {FsError} from '../errors.js';
import {noCapabilities, type ContainerFs, type DirEntry, type Stat, type StatFs} from './types.js';

const dirStat: Stat = {dev: 0, ino: 1, mode: 0o040555, nlink: 2, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096,
  blocks: 0, atime: {sec: 0, nsec: 0}, mtime: {sec: 0, nsec: 0}, ctime: {sec: 0, nsec: 0}};

/** The components under `dir` ("/" or "/a/b") of `names`, each once, in the list's order. */
export function childrenOf(names: readonly string[], dir: string): string[] | undefined {
  const prefix = dir === '/' ? '' : `${dir.slice(1)}/`;
  const out = new Set<string>();
  for (const n of names) if (n.startsWith(prefix) && n.length > prefix.length) out.add(n.slice(prefix.length).split('/')[0]!);
  return out.size > 0 || dir === '/' ? [...out] : undefined;
}

export class VirtualDirs implements ContainerFs {
  readonly driver = 'engine' as const;
  readonly capabilities = noCapabilities;
  readonly canRename = false;

  constructor(private readonly names: () => Promise<readonly string[]>) {}

  private async children(path: string): Promise<string[]> {
    const c = childrenOf(await this.names(), path);
    if (!c) throw new FsError('ENOENT', path);
    return c;
  }

  async stat(path: string): Promise<Stat> {
    // The top (/images, /volumes) is there whether or not the engine answers, as /hosts is: the
    // session binds it at its start, and an engine that is down must not cost the mount.
    if (path !== '/') await this.children(path);
    return dirStat;
  }

  lstat(path: string): Promise<Stat> {
    return this.stat(path);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    return (await this.children(path)).map((name) => ({name, type: 'dir' as const, stat: dirStat}));
  }

  readlink(path: string): Promise<string> {
    return Promise.reject(new FsError('EINVAL', path));
  }

  async createReadStream(path: string): Promise<Readable> {
    await this.children(path);
    throw new FsError('EISDIR', path);
  }

  async statfs(): Promise<StatFs> {
    return {bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255};
  }

  private refuse(path: string): Promise<never> {
    return Promise.reject(new FsError('EROFS', path));
  }

  writeFile(path: string): Promise<void> { return this.refuse(path); }
  mkdir(path: string): Promise<void> { return this.refuse(path); }
  rmdir(path: string): Promise<void> { return this.refuse(path); }
  unlink(path: string): Promise<void> { return this.refuse(path); }
  remove(path: string): Promise<void> { return this.refuse(path); }
  rename(from: string): Promise<void> { return this.refuse(from); }
  symlink(_target: string, path: string): Promise<void> { return this.refuse(path); }
  link(_from: string, to: string): Promise<void> { return this.refuse(to); }
  chmod(path: string): Promise<void> { return this.refuse(path); }
  chown(path: string): Promise<void> { return this.refuse(path); }
  utimes(path: string): Promise<void> { return this.refuse(path); }
  truncate(path: string): Promise<void> { return this.refuse(path); }
}
