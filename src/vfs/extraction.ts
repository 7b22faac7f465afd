// Changes to a container that cannot run commands (a stopped one), through the Engine's archive
// API alone. PUT only extracts a tar, but an extraction replaces whatever is at a name it writes,
// removing the old entry first; that gives the rest:
// - chmod, chown, utimes, truncate: the entry is downloaded and extracted again with the change;
// - remove: an entry of a type no extractor knows is sent in the path's place: the engine removes
//   what is there, then refuses the entry; whether the path is gone is checked after;
// - rename of a file, link or special file: a hard-link entry under the new name (the engine
//   replaces what is there by the same inode, in one step on its side), then the old name is
//   removed; a copy uploads under a temporary name and moves it into place so;
// - rename of a directory: the tree is kept on the host, removed, and extracted under the new name;
// - link: a hard-link entry.
// One container serves one archive request at a time, so what is downloaded to be sent again
// waits in a nameless host file in between.
// What it trusts: the engine's in-root extraction. What it downloads goes back into the same
// container only (never onto the host's filesystem: a nameless file holds it), with the pax
// records that could rename an entry behind its header dropped.
import nodeFs from 'node:fs';
import {Readable} from 'node:stream';
import type tar from 'tar-stream';
import {goModeToPosix, tarEntries, type Archive, type TarEntry} from '../docker/archive.js';
import {tarStream} from '../docker/tar-write.js';
import {FsError} from '../errors.js';
import {anonymousTempFd} from './host-temp.js';
import {basename, dirname} from './path.js';

/** A tar whose one entry, `name`, has a type no extractor knows ('Z'). */
const refusedEntryTar = (name: string): Readable => tarStream([{header: {name, typeflag: 'Z'}}]);

/** Drops the pax records that would rename an entry behind the header's back. */
function withName(header: tar.Header, name: string, linkname?: string): tar.Header {
  const {pax, ...rest} = header;
  const kept = pax ? Object.fromEntries(Object.entries(pax).filter(([k]) => k !== 'path' && k !== 'linkpath')) : undefined;
  return {...rest, name, ...(linkname === undefined ? {} : {linkname}), ...(kept && Object.keys(kept).length > 0 ? {pax: kept} : {})};
}

/** The archive `source` with its top entry `oldBase` (and everything below it) named `newBase`. */
function renamedArchive(source: Readable, oldBase: string, newBase: string): Readable {
  const renamed = (name: string): string => {
    const n = name.replace(/^\.\//, '');
    return n === oldBase || n === `${oldBase}/` ? newBase : n.startsWith(`${oldBase}/`) ? newBase + n.slice(oldBase.length) : n;
  };
  return tarStream((async function* () {
    for await (const entry of tarEntries(source)) {
      const h = entry.header;
      const header = withName(h, renamed(h.name), h.type === 'link' && h.linkname ? renamed(h.linkname) : undefined);
      if (isFile(header)) yield {header, body: entry as AsyncIterable<Buffer>};
      else {
        entry.resume();
        yield {header};
      }
    }
  })());
}

const CANNOT_REMOVE = "(a stopped container, and this engine's archive extraction does not remove what it replaces)";

const isFile = (h: tar.Header): boolean => h.type === 'file' || h.type === 'contiguous-file';

export class Extraction {
  constructor(private readonly archive: Archive) {}

  /** A tar of `path` from the engine, closed however the reading ends. */
  private async *entries(path: string): AsyncGenerator<TarEntry> {
    const stream = await this.archive.get(path);
    if (!stream) throw new FsError('ENOENT', path);
    yield* tarEntries(stream);
  }

  /** Whether the directory `path` holds anything (stops reading at the first entry below it). */
  async hasChildren(path: string): Promise<boolean> {
    let n = 0;
    for await (const entry of this.entries(path)) {
      entry.resume();
      if (++n > 1) return true;
    }
    return false;
  }

  /** Extracts `path` again with `change` applied to its header (a directory's contents stay); a
   *  changed `size` truncates or extends a file. */
  async reextract(path: string, change: Partial<tar.Header>): Promise<void> {
    let header: tar.Header | undefined;
    let fd: number | undefined;
    for await (const entry of this.entries(path)) {
      header = entry.header;
      if (isFile(header)) fd = await this.hold(entry as unknown as AsyncIterable<Buffer>);
      else entry.resume();
      break;
    }
    if (fd !== undefined && change.size !== undefined) nodeFs.ftruncateSync(fd, change.size);
    if (!header) throw new FsError('EIO', path, '(the engine sent an empty archive)');
    try {
      const body = fd === undefined ? undefined : nodeFs.createReadStream('', {fd, start: 0, autoClose: false});
      // A changed size: the held file was cut or extended to it above.
      const size = fd === undefined ? header.size : nodeFs.fstatSync(fd).size;
      await this.archive.put(dirname(path), tarStream([{header: {...withName(header, basename(path)), ...change, size}, ...(body ? {body} : {})}]));
    } finally {
      if (fd !== undefined) nodeFs.closeSync(fd);
    }
    // An engine that extracts otherwise must not pass for a change.
    const after = await this.archive.stat(path);
    const kept = !after || (change.mode !== undefined && (goModeToPosix(after.mode) & 0o7777) !== (change.mode & 0o7777)) ||
      (change.size !== undefined && after.size !== change.size) ||
      (change.mtime !== undefined && Math.floor(Date.parse(after.mtime) / 1000) !== Math.floor(change.mtime.getTime() / 1000));
    if (kept) throw new FsError('EROFS', path, "(a stopped container, and this engine's archive extraction does not replace what exists)");
  }

  /** Removes `path` and everything below it. */
  async remove(path: string): Promise<void> {
    try {
      await this.archive.put(dirname(path), refusedEntryTar(basename(path)));
    } catch (error) {
      // The engine refuses the entry once the path is removed: expected. Only the result counts.
      if (typeof (error as {statusCode?: number}).statusCode !== 'number') throw error;
    }
    if (await this.archive.stat(path)) throw new FsError('EROFS', path, CANNOT_REMOVE);
  }

  /**
   * Moves `from` to `to`. Anything but a directory: a hard link `to` (replacing what is there),
   * then `from` removed. A directory (a whole tree): its archive is kept in a nameless host file,
   * `from` is removed (so an engine that cannot remove changes nothing), and the archive is
   * extracted again under the new name; should that fail, it is extracted back where it was.
   */
  async rename(from: string, to: string): Promise<void> {
    const st = await this.archive.stat(from);
    if (!st) throw new FsError('ENOENT', from);
    if ((goModeToPosix(st.mode) & 0o170000) !== 0o040000) {
      // An engine that cannot remove would keep both names: refuse before changing anything.
      if (!(await this.archive.removesOnExtraction())) throw new FsError('EROFS', from, CANNOT_REMOVE);
      await this.link(from, to);
      await this.remove(from);
      return;
    }
    const stream = await this.archive.get(from);
    if (!stream) throw new FsError('ENOENT', from);
    let fd: number;
    try {
      fd = await this.hold(stream as AsyncIterable<Buffer>);
    } finally {
      stream.destroy();
    }
    // Each reading opens the held file anew (it has no name; /proc/self/fd reaches it) and owns
    // that descriptor: the reader closes it when it is done, never the one held here.
    const saved = (): Readable => nodeFs.createReadStream(`/proc/self/fd/${fd}`);
    try {
      await this.remove(from);
      try {
        await this.archive.put(dirname(to), renamedArchive(saved(), basename(from), basename(to)));
      } catch (error) {
        await this.archive.put(dirname(from), saved()).catch(() => undefined);
        throw error;
      }
    } finally {
      nodeFs.closeSync(fd);
    }
  }

  /**
   * Writes the file `path` from the tar `pack` of one entry named `tmpName` (in the same
   * directory): extracted under that temporary name first, then moved into place by rename(), so
   * the old file stays whole until the new one is complete (a kill -9 or a cancel during the
   * upload leaves it untouched; the temporary is removed on failure). An engine that cannot
   * remove gets the upload in place.
   */
  async replace(path: string, tmpName: string, upload: (name: string) => Promise<void>): Promise<void> {
    if (!(await this.archive.removesOnExtraction())) return upload(basename(path));
    const tmp = `${dirname(path) === '/' ? '' : dirname(path)}/${tmpName}`;
    try {
      await upload(tmpName);
      await this.rename(tmp, path);
    } catch (error) {
      await this.remove(tmp).catch(() => undefined);
      throw error;
    }
  }

  /** A hard link `to` the file `from`: one link entry extracted in the directory holding both. */
  async link(from: string, to: string): Promise<void> {
    const fromParts = from.split('/').filter(Boolean);
    const toParts = to.split('/').filter(Boolean);
    let common = 0;
    while (common < Math.min(fromParts.length, toParts.length) - 1 && fromParts[common] === toParts[common]) common++;
    const dir = `/${fromParts.slice(0, common).join('/')}`;
    await this.archive.put(dir, tarStream([{header: {name: toParts.slice(common).join('/'), type: 'link', linkname: fromParts.slice(common).join('/')}}]));
  }

  /** Writes `bytes` into a nameless host file and returns its fd. */
  private async hold(bytes: AsyncIterable<Buffer>): Promise<number> {
    const fd = anonymousTempFd();
    try {
      let at = 0;
      for await (const chunk of bytes) at += nodeFs.writeSync(fd, chunk, 0, chunk.length, at);
      return fd;
    } catch (error) {
      nodeFs.closeSync(fd);
      throw error;
    }
  }
}
