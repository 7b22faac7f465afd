// The `engine` driver: a container's filesystem through the Docker Engine archive API.
// HEAD gives a stat, GET a tar (of one file, or of a directory with everything below it),
// PUT extracts a tar into an existing directory. It serves stopped containers and engines
// whose /proc dbox cannot reach. Paths are resolved by the engine inside the container's root.
// In a running container, listings, ranged reads and changes are commands run in it (exec) when
// it has them; a stopped one is changed by extraction alone (extraction.ts). Listing a directory
// otherwise downloads its subtree once; listings are reused for the life of a command line (a
// second in the mount, which lives long) and dropped on any write.
//
// What it trusts: the engine's in-root resolution of paths (HEAD, GET, PUT). Not the container:
// the output of its `sh` and `stat` is parsed strictly and a listing with a name that is not one
// path component is not believed (the archive lists instead, and the refusal is reported:
// untrusted.ts Refusals); not the engine's tar either: an
// entry whose name is absolute, has a `.`/`..`/empty component, lies outside the requested
// directory or below something the same archive did not show as a directory is dropped
// (untrusted.ts). Only regular files are read (createReadStream refuses the rest).
import {Readable} from 'node:stream';
import type tar from 'tar-stream';
import {Archive, goModeToPosix, tarEntries, type PathStat} from '../docker/archive.js';
import {tarStream} from '../docker/tar-write.js';
import {isUtf8Text} from '../format/utf8.js';
import {native} from '../native.js';
import type {Engine} from '../docker/engine.js';
import {errnoOfMessage, FsError} from '../errors.js';
import {Extraction} from './extraction.js';
import {basename, dirname, followInRoot, join, normalize, type LinkLook} from './path.js';
import {temporaryName} from './temporaries.js';
import {nameBytes} from '../format/utf8.js';
import {archivePath, entryPath, isEntryName, notRegular, Refusals} from './untrusted.js';
import {fileType, isDir, noCapabilities, S_IFLNK, S_IFMT, S_IFREG, timespecOfMs, type ContainerFs, type DirEntry, type ReadRange, type Stat,
  type Capabilities, type StatFs, type Timespec, type WriteOptions} from './types.js';

const tarTypeMode: Record<string, number> = {
  file: 0o100000, 'contiguous-file': 0o100000, link: 0o100000, directory: 0o040000, symlink: 0o120000,
  'character-device': 0o020000, 'block-device': 0o060000, fifo: 0o010000,
};

function statFrom(mode: number, size: number, mtimeMs: number, uid = 0, gid = 0): Stat {
  const t = timespecOfMs(mtimeMs);
  return {dev: 0, ino: 0, mode, nlink: 1, uid, gid, rdev: 0, size, blksize: 4096, blocks: Math.ceil(size / 512),
    atime: t, mtime: t, ctime: t};
}

function statFromPathStat(p: PathStat): Stat {
  return statFrom(goModeToPosix(p.mode), p.size, Date.parse(p.mtime));
}

/** st_rdev as glibc's makedev encodes it (what ls reads back). */
const makedev = (major: number, minor: number): number =>
  ((major & 0xfff) << 8) + (minor & 0xff) + (minor & ~0xff) * 4096;

function statFromTar(h: tar.Header): Stat {
  const mode = (tarTypeMode[h.type ?? 'file'] ?? 0o100000) | ((h.mode ?? 0o644) & 0o7777);
  // A tar header gives a link's size as 0: a symlink's size is its target's length in bytes (lstat).
  const size = h.type === 'symlink' ? nameBytes(h.linkname ?? '').length : h.size ?? 0;
  const st = statFrom(mode, size, h.mtime?.getTime() ?? 0, h.uid, h.gid);
  return h.type === 'character-device' || h.type === 'block-device' ? {...st, rdev: makedev(h.devmajor ?? 0, h.devminor ?? 0)} : st;
}

/**
 * The bytes of the file `path` from the engine's archive of it (a GET of one file): its one entry,
 * which must be a regular file named as the file is. Anything else (another name, a link, nothing,
 * a body shorter than its header says, bytes that are not a tar) is an EIO naming `path`: the engine
 * did not send the file, and nothing it sent instead is passed on as its bytes.
 */
export async function* fileBytes(stream: Readable, path: string): AsyncGenerator<Buffer> {
  const unlike = (why: string): FsError => new FsError('EIO', path, `(the engine's archive of it ${why})`);
  try {
    for await (const entry of tarEntries(stream)) {
      const {type, name} = entry.header;
      if ((type !== 'file' && type !== 'contiguous-file') || name !== basename(path)) throw unlike('holds something else');
      for await (const chunk of entry) yield chunk as Buffer;
      return;
    }
    throw new EmptyArchive('EIO', path, "(the engine's archive of it is empty)");
  } catch (error) {
    if (error instanceof FsError) throw error;
    throw unlike('is cut short or malformed');
  }
}

/** An archive of a file with no entry at all. */
class EmptyArchive extends FsError {}

/** The names an archive of directory `dir` may give its entry `file`. */
const namesInDirArchive = (dir: string, file: string): string[] =>
  dir === '/' ? [basename(file), `/${basename(file)}`] : [`${basename(dir)}/${basename(file)}`];

/**
 * The bytes of the file `file` from the archive of its directory `dir` (a GET of it): the entry
 * named `dir`'s basename then the file's, which must be a regular file; the entries before it are
 * skipped unread. EIO when it is not there, or the archive is cut short or malformed.
 */
export async function* fileBytesInDir(stream: Readable, dir: string, file: string, path: string): AsyncGenerator<Buffer> {
  const want = namesInDirArchive(dir, file);
  try {
    for await (const entry of tarEntries(stream)) {
      const {type, name} = entry.header;
      if (!want.includes(name)) {
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') break;
      for await (const chunk of entry) yield chunk as Buffer;
      return;
    }
  } catch (error) {
    if (error instanceof FsError) throw error;
    throw new FsError('EIO', path, "(the engine's archive of it is cut short or malformed)");
  }
  throw new FsError('EIO', path, "(the engine's archive of its directory does not hold it)");
}

/** `range` of a byte stream; stops (and so closes the source) once the range is complete. */
export async function* sliceBytes(source: AsyncIterable<Buffer>, range: ReadRange): AsyncGenerator<Buffer> {
  let skip = range.offset;
  let left = range.length ?? Infinity;
  if (left <= 0) return;
  for await (let chunk of source) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    chunk = chunk.subarray(skip, skip + Math.min(left, chunk.length - skip));
    skip = 0;
    left -= chunk.length;
    yield chunk;
    if (left <= 0) return;
  }
}

/** `stat -c` format of the exec listing: raw mode (hex), links, uid, gid, size, mtime, name. */
const STAT_FORMAT = '%f %h %u %g %s %Y %n';
const statLine = /^([0-9a-f]+) (\d+) (\d+) (\d+) (\d+) (\d+) (.+)$/;

/**
 * The listings of a directory and of every directory below it, from an archive (a GET) of it.
 * Only names below `dir` made of entry names are kept, and only below an entry the archive
 * itself showed as a directory: a symlink entry followed by entries "through" it lists nothing
 * there. A name given twice keeps its last entry.
 */
export async function listingsOfArchive(dir: string, entries: AsyncIterable<{header: tar.Header; resume(): unknown}>): Promise<Map<string, DirEntry[]>> {
  const top = dir === '/' ? '' : basename(dir);
  const dirs = new Map<string, Map<string, DirEntry>>([[dir, new Map()]]);
  for await (const entry of entries) {
    entry.resume();
    const parts = archivePath(top, entry.header.name);
    if (parts === undefined || parts.length === 0) continue;
    const name = parts[parts.length - 1]!;
    const parent = parts.length === 1 ? dir : join(dir, parts.slice(0, -1).join('/'));
    const siblings = dirs.get(parent);
    const full = entryPath(parent, name);
    if (!siblings || full === undefined) continue;
    const stat = statFromTar(entry.header);
    siblings.set(name, {name, type: fileType(stat.mode), stat});
    if (isDir(stat)) {
      if (!dirs.has(full)) dirs.set(full, new Map());
    } else if (dirs.has(full)) {  // a directory given again as something else: nothing below it
      for (const k of [...dirs.keys()]) if (k === full || k.startsWith(`${full}/`)) dirs.delete(k);
    }
  }
  return new Map([...dirs].map(([k, v]) => [k, [...v.values()]]));
}


export class EngineFs implements ContainerFs {
  readonly driver = 'engine' as const;
  /** A tar header carries mode, owner and time; a change made later costs a request each; every
   *  call is a request to the engine. */
  readonly capabilities: Capabilities = {...noCapabilities, remote: true, inexactSizes: true};
  readonly refusals = new Refusals();
  private readonly archive: Archive;
  private readonly extraction: Extraction;
  /** dir path -> entries and when they were listed, filled by one GET of an ancestor, or by an
   *  exec listing. */
  private readonly listings = new Map<string, {readonly entries: DirEntry[]; readonly at: number}>();

  /** A listing made less than listingTtlMs ago. */
  private listing(dir: string): DirEntry[] | undefined {
    const known = this.listings.get(dir);
    if (known && Date.now() - known.at < this.listingTtlMs) return known.entries;
    this.listings.delete(dir);
    return undefined;
  }

  /**
   * `running`: commands can be run in the container (listing and changes go through exec).
   * `listingTtlMs`: how long a listing is reused. A command line's filesystem (the shell makes new
   * ones at each line) keeps them for its life: a walk of a tree (cp -r) sees one consistent
   * listing, made by one request, however long the walk takes. A long-lived user (the mount)
   * gives a second, so that it sees changes made behind its back as the kernel's caches do.
   */
  constructor(private readonly engine: Engine, private readonly id: string, private readonly running = false,
    private readonly listingTtlMs = Infinity) {
    this.archive = new Archive(engine, id);
    this.extraction = new Extraction(this.archive);
  }

  /** In a running container `mv` renames; a stopped one only takes uploads extracted in place. */
  get canRename(): boolean {
    return this.running;
  }

  /**
   * Runs a command in the container for a change to `path`; false when the container is not
   * running (the change is then made by extraction). A failed command becomes an FsError.
   */
  private async ran(path: string, cmd: readonly string[], env: readonly string[] = []): Promise<boolean> {
    this.listings.clear();
    // The exec API takes JSON text: a name that is not UTF-8 would reach the command as another
    // name (U+FFFD for each byte). Such a change is made by extraction, which carries bytes.
    if (!this.running || !cmd.every(isUtf8Text)) return false;
    let r;
    try {
      r = await this.engine.exec(this.id, cmd, env);
    } catch (error) {
      if ((error as {statusCode?: number}).statusCode === 409) return false;
      throw new FsError('ENOTSUP', path, `(cannot run ${cmd[0]} in the container: ${(error as {json?: {message?: string}}).json?.message ?? (error as Error).message})`);
    }
    if (r.code === 126 || r.code === 127) throw new FsError('ENOTSUP', path, `(the container has no ${cmd[0]}; dbox attach can bring a toolbox)`);
    if (r.code !== 0) throw new FsError(errnoOfMessage(r.stderr.toString()), path);
    return true;
  }

  /** One `stat` in the container for a whole directory: far cheaper than downloading its subtree. */
  private async execListing(dir: string): Promise<DirEntry[] | undefined> {
    if (!this.running || !isUtf8Text(dir)) return undefined; // JSON would carry another name: the archive lists
    const script = `cd -- "$1" || exit 3; exec stat -c '${STAT_FORMAT}' -- * .[!.]* ..?* 2>/dev/null`;
    const r = await this.engine.exec(this.id, ['sh', '-c', script, 'dbox', dir]).catch(() => undefined);
    if (!r || r.code === 3 || r.code === 126 || r.code === 127) return undefined;
    const entries: DirEntry[] = [];
    // Lines are cut as bytes; the name keeps its bytes (not UTF-8 ones as lone surrogates).
    for (let at = 0; at < r.stdout.length;) {
      const eol = r.stdout.indexOf(0x0a, at);
      const line = r.stdout.subarray(at, eol < 0 ? r.stdout.length : eol);
      at = eol < 0 ? r.stdout.length : eol + 1;
      if (line.length === 0) continue;
      const m = statLine.exec(line.toString('latin1'));
      if (!m) return undefined; // a name with a newline, or a foreign stat: the archive knows better
      const name = native().decodeName(line.subarray(line.length - m[7]!.length));
      if (!isEntryName(name)) { // a forged listing: the archive is the engine's own, and the user is told
        this.refusals.report({path: dir, name});
        return undefined;
      }
      const mode = parseInt(m[1]!, 16);
      const stat = {...statFrom(mode, Number(m[5]), Number(m[6]) * 1000, Number(m[3]), Number(m[4])), nlink: Number(m[2])};
      entries.push({name, type: fileType(mode), stat});
    }
    return entries;
  }

  async lstat(path: string): Promise<Stat> {
    const p = await this.archive.stat(normalize(path));
    if (!p) throw new FsError('ENOENT', path);
    return statFromPathStat(p);
  }

  /** Resolves symlinks (in the container's root) up to 40 hops, as the kernel does. */
  private async resolve(path: string): Promise<{path: string; stat: PathStat}> {
    const r = await followInRoot(normalize(path), async (current): Promise<LinkLook<PathStat>> => {
      const p = await this.archive.stat(current);
      if (!p) return undefined;
      return (goModeToPosix(p.mode) & S_IFMT) === S_IFLNK ? {link: await this.linkTarget(current, p, path)} : {found: p};
    });
    if (r === 'loop') throw new FsError('ELOOP', path);
    if (!r.found) throw new FsError('ENOENT', path);
    return {path: r.path, stat: r.found};
  }

  /** Where the link `link` whose stat is `p` leads: the engine's stat gives the end of its chain,
   *  resolved in the container, unless it is not UTF-8 (see linkEntryTarget). */
  private async linkTarget(link: string, p: PathStat, path: string): Promise<string> {
    return p.linkTarget.includes('\ufffd') ? this.linkEntryTarget(link, path) : p.linkTarget;
  }

  /**
   * The target of the link `link` as readlink(2) gives it, byte for byte: from the link's own tar
   * entry, whose link name is its bytes, in an archive of the link (or of its directory when its
   * name is not UTF-8: Docker answers that GET empty). The engine's stat is no substitute: it
   * gives the end of the link's chain, resolved, and as JSON, in which Go writes each byte that
   * is not UTF-8 as U+FFFD (another target).
   */
  private async linkEntryTarget(link: string, path: string): Promise<string> {
    const dir = dirname(link);
    const inDir = !isUtf8Text(basename(link));
    const stream = await this.archive.get(inDir ? dir : link);
    if (!stream) throw new FsError('ENOENT', path);
    const want = inDir ? namesInDirArchive(dir, link) : [basename(link)];
    try {
      for await (const entry of tarEntries(stream)) {
        entry.resume();
        if (!want.includes(entry.header.name)) continue;
        if (entry.header.type !== 'symlink' || !entry.header.linkname) break;
        return entry.header.linkname;
      }
    } catch (error) {
      if (error instanceof FsError) throw error;
    }
    throw new FsError('EIO', path, "(the engine's archive of it does not hold the link)");
  }

  async stat(path: string): Promise<Stat> {
    return statFromPathStat((await this.resolve(path)).stat);
  }

  async readlink(path: string): Promise<string> {
    const p = await this.archive.stat(normalize(path));
    if (!p) throw new FsError('ENOENT', path);
    if ((goModeToPosix(p.mode) & S_IFMT) !== S_IFLNK) throw new FsError('EINVAL', path);
    return this.linkEntryTarget(normalize(path), path);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    // A listing already made answers without a round trip (dropped on any change and per line).
    const known = this.listing(normalize(path));
    if (known) return known;
    const {path: dir, stat} = await this.resolve(path);
    if (!isDir(statFromPathStat(stat))) throw new FsError('ENOTDIR', path);
    const cached = this.listing(dir);
    if (cached) return cached;
    const listed = await this.execListing(dir);
    if (listed) {
      this.listings.set(dir, {entries: listed, at: Date.now()});
      return listed;
    }
    const stream = await this.archive.get(dir);
    if (!stream) throw new FsError('ENOENT', path);
    const listings = await listingsOfArchive(dir, tarEntries(stream)).catch((error: unknown) => {
      throw error instanceof FsError ? error : new FsError('EIO', path, "(the engine's archive of it is cut short or malformed)");
    });
    const at = Date.now();
    for (const [k, entries] of listings) this.listings.set(k, {entries, at});
    return this.listings.get(dir)!.entries;
  }

  async createReadStream(path: string, range?: ReadRange): Promise<Readable> {
    const {path: file, stat} = await this.resolve(path);
    const mode = goModeToPosix(stat.mode);
    if (isDir(statFromPathStat(stat))) throw new FsError('EISDIR', path);
    // The archive has no bytes for anything else (and a FIFO cannot be read through it).
    if ((mode & S_IFMT) !== S_IFREG) throw notRegular(path, mode);
    if (range?.length === 0) return Readable.from([]);
    // Nothing is asked of the engine until the first read here.
    if (range && range.offset > 0 && this.running && isUtf8Text(file)) return Readable.from(this.execRange(file, range, path), {objectMode: false});
    const bytes = this.archiveBytes(file, path);
    return Readable.from(range ? sliceBytes(bytes, range) : bytes, {objectMode: false, highWaterMark: 1 << 20});
  }

  /**
   * The bytes of the regular file `file` from the engine's archive (the response is closed however
   * the reading ends). Docker answers a GET of a file whose name is not UTF-8 with an empty archive
   * (its include filter drops the name), though an archive of the directory holds it byte for
   * byte: such a file is read from there.
   */
  private async *archiveBytes(file: string, path: string): AsyncGenerator<Buffer> {
    const stream = await this.archive.get(file);
    if (!stream) throw new FsError('ENOENT', path);
    let any = false;
    try {
      for await (const chunk of fileBytes(stream, file)) {
        any = true;
        yield chunk;
      }
      return;
    } catch (error) {
      if (any || !(error instanceof EmptyArchive) || isUtf8Text(basename(file))) throw error;
    }
    const dir = dirname(file);
    const listing = await this.archive.get(dir);
    if (!listing) throw new FsError('ENOENT', path);
    yield* fileBytesInDir(listing, dir, file, path);
  }

  /** A range read by the container itself (`tail -c +N | head -c L`): only the range travels. A
   *  container without those tools (or whose user cannot read the file) is served by the archive.
   *  The script's first byte is a marker: what the engine itself writes on a failed exec (an OCI
   *  error on stdout) is never taken for the file's bytes. */
  private async *execRange(file: string, range: ReadRange, path: string): AsyncGenerator<Buffer> {
    const script = '[ -r "$1" ] && command -v tail >/dev/null && command -v head >/dev/null || exit 127\nprintf D\n' +
      'if [ -z "$3" ]; then exec tail -c "+$2" -- "$1"; fi\ntail -c "+$2" -- "$1" | head -c "$3"';
    const run = await this.engine.execStream(this.id, ['sh', '-c', script, 'dbox', file, String(range.offset + 1), String(range.length ?? '')])
      .catch(() => undefined);
    if (run) {
      let marked: boolean | undefined;
      for await (const chunk of run.stdout as AsyncIterable<Buffer>) {
        if (chunk.length === 0) continue;
        if (marked === undefined) {
          marked = chunk[0] === 0x44;
          if (!marked) break;
          if (chunk.length > 1) yield chunk.subarray(1);
          continue;
        }
        yield chunk;
      }
      const r = await run.result;
      if (marked && r.code === 0) return;
      if (marked) throw new FsError(errnoOfMessage(r.stderr.toString()), path);
    }
    yield* sliceBytes(this.archiveBytes(file, path), range);
  }

  /** Uploads one file. The archive API needs its size in the tar header, so a source of unknown
   *  size is collected first. In a stopped container an existing file is replaced only once the
   *  upload is complete (Extraction.replace); a running one is written under a temporary name
   *  and renamed by the copy itself (canRename). */
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
    const upload = async (name: string): Promise<void> => {
      const header = {name, size, mode: options.mode & 0o7777, type: 'file' as const,
        ...(options.owner ? {uid: options.owner.uid, gid: options.owner.gid} : {}),
        ...(options.mtime ? {mtime: new Date(options.mtime.sec * 1000 + options.mtime.nsec / 1e6)} : {})};
      // The source's error reaches the pack, which carries it to the upload.
      await this.putInto(dirname(target), tarStream([{header, body}]), path, options.signal);
    };
    if (this.running || options.exclusive) await upload(basename(target));
    else {
      await this.extraction.replace(target, temporaryName(basename(target)), upload);
      // The move into place is a hard-link entry, which the engine chowns: the kernel then
      // clears set-id bits (root's chown too), so they are set again.
      if ((options.mode & 0o6000) !== 0) await this.chmod(path, options.mode & 0o7777);
    }
  }

  async extractTar(dir: string, tar: Readable): Promise<void> {
    await this.putInto(normalize(dir), tar, dir);
  }

  private async putInto(dir: string, pack: Readable, path: string, signal?: AbortSignal): Promise<void> {
    const parent = await this.archive.stat(dir);
    if (!parent) throw new FsError('ENOENT', path);
    if (!isDir(statFromPathStat(parent))) throw new FsError('ENOTDIR', path);
    this.listings.clear();
    try {
      await this.archive.put(dir, pack, signal);
    } catch (error) {
      if (signal?.aborted) throw new FsError('ECANCELED', path);
      throw error;
    }
  }

  async mkdir(path: string, mode = 0o755): Promise<void> {
    const target = normalize(path);
    if (await this.archive.stat(target)) throw new FsError('EEXIST', path);
    await this.putInto(dirname(target), tarStream([{header: {name: basename(target), type: 'directory', mode: mode & 0o7777}}]), path);
  }

  async symlink(target: string, path: string): Promise<void> {
    const p = normalize(path);
    if (await this.archive.stat(p)) throw new FsError('EEXIST', path);
    await this.putInto(dirname(p), tarStream([{header: {name: basename(p), type: 'symlink', linkname: target}}]), path);
  }

  private async mustExist(path: string): Promise<Stat> {
    return this.lstat(path);
  }

  async unlink(path: string): Promise<void> {
    if (isDir(await this.mustExist(path))) throw new FsError('EISDIR', path);
    if (!(await this.ran(path, ['rm', '-f', '--', normalize(path)]))) await this.extraction.remove(normalize(path));
  }

  async rmdir(path: string): Promise<void> {
    if (!isDir(await this.mustExist(path))) throw new FsError('ENOTDIR', path);
    if (await this.ran(path, ['rmdir', '--', normalize(path)])) return;
    if (await this.extraction.hasChildren(normalize(path))) throw new FsError('ENOTEMPTY', path);
    await this.extraction.remove(normalize(path));
  }

  async remove(path: string): Promise<void> {
    if (await this.ran(path, ['rm', '-rf', '--', normalize(path)])) return;
    if (await this.archive.stat(normalize(path))) await this.extraction.remove(normalize(path));
  }

  async rename(from: string, to: string, noReplace = false): Promise<void> {
    const [src, dst] = [await this.mustExist(from), await this.archive.stat(normalize(to))];
    const [source, target] = [normalize(from), normalize(to)];
    if (source === target) return;
    if (dst && noReplace) throw new FsError('EEXIST', to);
    if (dst && isDir(statFromPathStat(dst)) && !isDir(src)) throw new FsError('EISDIR', to);
    if (dst && !isDir(statFromPathStat(dst)) && isDir(src)) throw new FsError('ENOTDIR', to);
    if (target.startsWith(`${source}/`)) throw new FsError('EINVAL', to);
    // A directory target would make mv move into it: rename replaces, as rename(2) does.
    if (dst && isDir(statFromPathStat(dst))) await this.rmdir(to);
    if (!(await this.ran(from, ['mv', '-f', '--', source, target]))) await this.extraction.rename(source, target);
  }

  async link(from: string, to: string): Promise<void> {
    if (isDir(await this.mustExist(from))) throw new FsError('EPERM', from);
    if (await this.archive.stat(normalize(to))) throw new FsError('EEXIST', to);
    if (!(await this.ran(to, ['ln', '--', normalize(from), normalize(to)]))) await this.extraction.link(normalize(from), normalize(to));
  }

  async chmod(path: string, mode: number): Promise<void> {
    await this.mustExist(path);
    if (await this.ran(path, ['chmod', (mode & 0o7777).toString(8), '--', normalize(path)])) return;
    await this.extraction.reextract((await this.resolve(path)).path, {mode: mode & 0o7777});
  }

  async chown(path: string, uid: number, gid: number, follow: boolean): Promise<void> {
    await this.mustExist(path);
    if (await this.ran(path, ['chown', ...(follow ? [] : ['-h']), `${uid}:${gid}`, '--', normalize(path)])) return;
    await this.extraction.reextract(follow ? (await this.resolve(path)).path : normalize(path), {uid, gid});
  }

  async utimes(path: string, atime: Timespec, mtime: Timespec, follow: boolean): Promise<void> {
    await this.mustExist(path);
    // touch -d takes a date: in UTC, to the second (busybox has no @epoch).
    const date = (t: Timespec): string => new Date(t.sec * 1000).toISOString().slice(0, 19).replace('T', ' ');
    const h = follow ? [] : ['-h'];
    if (await this.ran(path, ['touch', ...h, '-a', '-d', date(atime), '--', normalize(path)], ['TZ=UTC'])) {
      await this.ran(path, ['touch', ...h, '-m', '-d', date(mtime), '--', normalize(path)], ['TZ=UTC']);
      return;
    }
    // An extraction sets the modification time from the header, to the second; the engine makes
    // the access time no earlier than that.
    await this.extraction.reextract(follow ? (await this.resolve(path)).path : normalize(path), {mtime: new Date(mtime.sec * 1000)});
  }

  async truncate(path: string, length: number): Promise<void> {
    if (isDir(await this.mustExist(path))) throw new FsError('EISDIR', path);
    if (await this.ran(path, ['truncate', '-s', String(length), '--', normalize(path)])) return;
    await this.extraction.reextract((await this.resolve(path)).path, {size: length});
  }

  async statfs(): Promise<StatFs> {
    return {bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255};
  }
}
