// The `engine` driver: a container's filesystem through the Docker Engine archive API.
// HEAD gives a stat, GET a tar (of one file, or of a directory with everything below it),
// PUT extracts a tar into an existing directory. It serves stopped containers and engines
// whose /proc dbox cannot reach. Paths are resolved by the engine inside the container's root.
// Listing a directory downloads its subtree once; the listings of every directory in it are
// kept for the life of this object (one command line), and dropped on any write.
import {Readable} from 'node:stream';
import tar from 'tar-stream';
import {Archive, goModeToPosix, type PathStat} from '../docker/archive.js';
import type {Engine} from '../docker/engine.js';
import {FsError} from './errors.js';
import {basename, dirname, join, linkTargetPath, normalize} from './path.js';
import {fileType, isDir, S_IFLNK, S_IFMT, type ContainerFs, type DirEntry, type Stat, type StatFs, type Timespec,
  type WriteOptions} from './types.js';

const tarTypeMode: Record<string, number> = {
  file: 0o100000, 'contiguous-file': 0o100000, link: 0o100000, directory: 0o040000, symlink: 0o120000,
  'character-device': 0o020000, 'block-device': 0o060000, fifo: 0o010000,
};

const timespec = (ms: number): Timespec => ({sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1e6});

function statFrom(mode: number, size: number, mtimeMs: number, uid = 0, gid = 0): Stat {
  const t = timespec(mtimeMs);
  return {dev: 0, ino: 0, mode, nlink: 1, uid, gid, rdev: 0, size, blksize: 4096, blocks: Math.ceil(size / 512),
    atime: t, mtime: t, ctime: t};
}

function statFromPathStat(p: PathStat): Stat {
  return statFrom(goModeToPosix(p.mode), p.size, Date.parse(p.mtime));
}

function statFromTar(h: tar.Header): Stat {
  const mode = (tarTypeMode[h.type ?? 'file'] ?? 0o100000) | ((h.mode ?? 0o644) & 0o7777);
  return statFrom(mode, h.size ?? 0, h.mtime?.getTime() ?? 0, h.uid, h.gid);
}

/** The bytes of the first entry of a tar stream (a GET of one file). */
async function* firstEntryBytes(stream: Readable): AsyncGenerator<Buffer> {
  const extract = tar.extract();
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    for await (const chunk of entry) yield chunk as Buffer;
    break;
  }
  stream.destroy();
}

/** tar-stream's streams are streamx streams: wrap one for APIs that want a Node Readable. */
const toNode = (pack: tar.Pack): Readable => Readable.from(pack, {objectMode: false});

const readOnly = (path: string): Promise<never> =>
  Promise.reject(new FsError('EROFS', path, '(the engine driver cannot change this; it needs a running local container)'));

export class EngineFs implements ContainerFs {
  readonly driver = 'engine' as const;
  private readonly archive: Archive;
  /** dir path -> entries, filled by one GET of an ancestor. */
  private readonly listings = new Map<string, DirEntry[]>();

  constructor(engine: Engine, id: string) {
    this.archive = new Archive(engine, id);
  }

  async lstat(path: string): Promise<Stat> {
    const p = await this.archive.stat(normalize(path));
    if (!p) throw new FsError('ENOENT', path);
    return statFromPathStat(p);
  }

  /** Resolves symlinks (in the container's root) up to 40 hops, as the kernel does. */
  private async resolve(path: string): Promise<{path: string; stat: PathStat}> {
    let current = normalize(path);
    for (let hops = 0; hops < 40; hops++) {
      const p = await this.archive.stat(current);
      if (!p) throw new FsError('ENOENT', path);
      if ((goModeToPosix(p.mode) & S_IFMT) !== S_IFLNK) return {path: current, stat: p};
      current = linkTargetPath(current, p.linkTarget);
    }
    throw new FsError('ELOOP', path);
  }

  async stat(path: string): Promise<Stat> {
    return statFromPathStat((await this.resolve(path)).stat);
  }

  async readlink(path: string): Promise<string> {
    const p = await this.archive.stat(normalize(path));
    if (!p) throw new FsError('ENOENT', path);
    if ((goModeToPosix(p.mode) & S_IFMT) !== S_IFLNK) throw new FsError('EINVAL', path);
    return p.linkTarget;
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const {path: dir, stat} = await this.resolve(path);
    if (!isDir(statFromPathStat(stat))) throw new FsError('ENOTDIR', path);
    const cached = this.listings.get(dir);
    if (cached) return cached;
    const stream = await this.archive.get(dir);
    if (!stream) throw new FsError('ENOENT', path);
    // Entry names are relative to the parent of `dir`: "etc/", "etc/hostname", ...
    const prefix = dir === '/' ? '' : basename(dir);
    const listings = new Map<string, DirEntry[]>([[dir, []]]);
    const extract = tar.extract();
    stream.on('error', (error) => extract.destroy(error));
    stream.pipe(extract as unknown as NodeJS.WritableStream);
    for await (const entry of extract) {
      entry.resume();
      const header = entry.header;
      const rel = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      const inner = prefix === '' ? rel : rel === prefix ? '' : rel.startsWith(prefix + '/') ? rel.slice(prefix.length + 1) : undefined;
      if (inner === undefined || inner === '' || inner === '.') continue;
      const full = join(dir, inner);
      const stat = statFromTar(header);
      const parent = dirname(full);
      const entries = listings.get(parent) ?? [];
      entries.push({name: basename(full), type: fileType(stat.mode), stat});
      listings.set(parent, entries);
      if (isDir(stat) && !listings.has(full)) listings.set(full, []);
    }
    for (const [k, v] of listings) this.listings.set(k, v);
    return listings.get(dir)!;
  }

  async createReadStream(path: string): Promise<Readable> {
    const {path: file, stat} = await this.resolve(path);
    if (isDir(statFromPathStat(stat))) throw new FsError('EISDIR', path);
    const stream = await this.archive.get(file);
    if (!stream) throw new FsError('ENOENT', path);
    return Readable.from(firstEntryBytes(stream), {objectMode: false, highWaterMark: 1 << 20});
  }

  /** Uploads one file. The archive API needs its size in the tar header, so a source of unknown
   *  size is collected first. */
  async writeFile(path: string, source: Readable, options: WriteOptions): Promise<void> {
    const target = normalize(path);
    if (options.exclusive && (await this.archive.stat(target))) throw new FsError('EEXIST', path);
    let size = options.size;
    let body: Readable = source;
    if (size === undefined) {
      const chunks: Buffer[] = [];
      for await (const chunk of source) chunks.push(chunk as Buffer);
      const data = Buffer.concat(chunks);
      size = data.length;
      body = Readable.from([data]);
    }
    const pack = tar.pack();
    const entry = pack.entry({name: basename(target), size, mode: options.mode & 0o7777, type: 'file'}, (error) => {
      if (error) pack.destroy(error);
      else pack.finalize();
    });
    body.on('error', (error) => pack.destroy(error));
    body.pipe(entry);
    await this.putInto(dirname(target), toNode(pack), path);
  }

  private async putInto(dir: string, pack: Readable, path: string): Promise<void> {
    const parent = await this.archive.stat(dir);
    if (!parent) throw new FsError('ENOENT', path);
    if (!isDir(statFromPathStat(parent))) throw new FsError('ENOTDIR', path);
    this.listings.clear();
    await this.archive.put(dir, pack);
  }

  async mkdir(path: string, mode = 0o755): Promise<void> {
    const target = normalize(path);
    if (await this.archive.stat(target)) throw new FsError('EEXIST', path);
    const pack = tar.pack();
    pack.entry({name: basename(target), type: 'directory', mode: mode & 0o7777});
    pack.finalize();
    await this.putInto(dirname(target), toNode(pack), path);
  }

  async symlink(target: string, path: string): Promise<void> {
    const p = normalize(path);
    if (await this.archive.stat(p)) throw new FsError('EEXIST', path);
    const pack = tar.pack();
    pack.entry({name: basename(p), type: 'symlink', linkname: target});
    pack.finalize();
    await this.putInto(dirname(p), toNode(pack), path);
  }

  rmdir(path: string): Promise<void> { return readOnly(path); }
  unlink(path: string): Promise<void> { return readOnly(path); }
  remove(path: string): Promise<void> { return readOnly(path); }
  rename(from: string): Promise<void> { return readOnly(from); }
  link(_from: string, to: string): Promise<void> { return readOnly(to); }
  chmod(path: string): Promise<void> { return readOnly(path); }
  chown(path: string): Promise<void> { return readOnly(path); }
  utimes(path: string): Promise<void> { return readOnly(path); }
  truncate(path: string): Promise<void> { return readOnly(path); }

  async statfs(): Promise<StatFs> {
    return {bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255};
  }
}
