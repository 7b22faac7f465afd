// The `agent` driver: a running container's filesystem served by the dbox agent on the engine's
// host (native/agent), over this process's one session with it (src/agent/session.ts). The same
// operations as the local driver, run there: in-root resolution (openat2), listings with
// attributes and link targets, ranged reads, atomic writes, tree removal; many requests in
// flight, so a stat or a listing costs one round trip (the container's root is opened in the same
// round trip as the first request). A directory's small files read one after the other are
// fetched ahead (src/agent/read-ahead.ts), and new files written under names nobody has
// (exclusive creates, as copies make) are written behind (src/agent/write-behind.ts): either way
// a tree costs a round trip per window of files, not one per file. When the agent runs on this
// very host, files are handed over open (src/agent/fd-channel.ts) and read and written here.
//
// What it trusts: the agent's answers only as checked by the client (src/agent/client.ts and
// protocol.ts: names are one component, sizes and types in range, frames bounded). The pid it
// names comes from the engine and is proven on the agent's side (the container's cgroup, held
// through its /proc entry); when the agent cannot prove it (another process, or none any more),
// this filesystem hands over to the one the namespace gives for that case (the archive API), and
// says so. Like a LocalFs, an AgentFs is retired when the container's process changes: every
// later call fails with ESTALE and the agent closes the root once no request holds it.
// A listing is reused for a second (LISTING_TTL_MS) for the lstat and readlink of its names, as
// the mount's own attribute caches are: a change made through this filesystem drops it at once, a
// change made by the container itself shows within that second. A handed-over fd is used only
// once fstat says it is a regular file.
import fs from 'node:fs';
import {Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {AgentErrno, AgentLost, type AgentClient} from '../agent/client.js';
import {Op, Payload, type ListedEntry} from '../agent/protocol.js';
import {ReadAhead} from '../agent/read-ahead.js';
import {WriteBehind} from '../agent/write-behind.js';
import type {FdChannel} from '../agent/fd-channel.js';
import {RootRefused, type Root, type RootSource} from '../agent/roots.js';
import {AgentUnavailable, type AgentSession} from '../agent/session.js';
import {FsError, toFsError} from '../errors.js';
import {LocalFs} from './local-fs.js';
import {basename, dirname} from './path.js';
import {noCapabilities, type Capabilities, type ContainerFs, type DirEntry, type ReadRange, type Stat, type StatFs, type Timespec, type WriteOptions} from './types.js';
import {notRegular} from './untrusted.js';

/** How long a listing's link targets answer readlink (as the engine driver reuses its listings). */
const LISTING_TTL_MS = 1000;
const AHEAD_LIMIT = 1 << 20;
/** Listings kept (for link targets, and as read-ahead hints): the most recent ones. */
const LISTINGS_KEPT = 64;
/** Writes of at least this many bytes (or of unknown size) go through a handed-over fd, when there is a channel. */
const FD_MIN = 256 << 10;
const RENAME_NOREPLACE = 1;

/** A handed-over fd, once checked to be a regular file (else closed, and the error every driver gives). */
function regularFd(fd: number, path: string): number {
  const st = fs.fstatSync(fd);
  if (st.isFile()) return fd;
  fs.closeSync(fd);
  throw notRegular(path, st.mode);
}

/** A stream of a handed-over fd's bytes (all, or `range`), once it is checked to be a regular file. */
function fdReadStream(fd: number, path: string, range?: ReadRange): Readable {
  regularFd(fd, path);
  if (range?.length === 0) {
    fs.closeSync(fd);
    return Readable.from([]);
  }
  const end = range?.length === undefined ? undefined : range.offset + range.length - 1;
  return fs.createReadStream('', {fd, highWaterMark: 1 << 20, start: range?.offset ?? 0, end});
}

export class AgentFs implements ContainerFs {
  readonly driver = 'agent' as const;
  /** Writes carry mode, owner and time to the agent (one request), and write in place when asked.
   *  Files are handed over open for reading when the agent runs on this very host (openReadFd;
   *  else undefined), and a root of the agent's own is lent whole for tree copies (lendRoot). */
  readonly capabilities: Capabilities = {...noCapabilities, readFds: this, inPlace: true, lendsRoot: this};
  readonly canRename = true;
  private retired = false;
  private busy = 0;
  /** The filesystem that serves this container when the agent cannot (set once, never undone). */
  private delegate: ContainerFs | undefined;
  private readonly listings = new Map<string, {at: number; entries: ListedEntry[]; byName?: Map<string, ListedEntry>}>();
  private readonly behind = new WriteBehind();
  /** Small files fetched whole ahead of their reads; at most AHEAD_LIMIT bytes each (a bigger one is read on its own). */
  private readonly ahead = new ReadAhead((path) => this.run(path, async (c, h) => {
    const {stream} = await c.read(h, path, 0, AHEAD_LIMIT + 1);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    if (size > AHEAD_LIMIT) throw new FsError('EFBIG', path);
    return Buffer.concat(chunks, size);
  }, () => Promise.reject(new FsError('EAGAIN', path)), false));

  /**
   * @param source where the root comes from: a running container's process, or a stopped
   * container's filesystem held mounted by the engine (src/agent/roots.ts).
   * @param fallback what serves the container when the agent cannot (the namespace's decision;
   * called once, with the reason, and whether the user was told it already).
   */
  constructor(private readonly session: AgentSession, readonly id: string, private readonly source: RootSource,
    private readonly fallback: (why: string, said: boolean) => Promise<ContainerFs>) {}

  /** No further use: calls fail with ESTALE; the agent closes the root once no request holds it. */
  retire(): void {
    this.retired = true;
    if (this.busy === 0) this.source.retire();
  }

  /** The container's root in the current session (opened, pipelined with the request that needs it, when there is none). */
  private async open(write: boolean): Promise<Root> {
    return this.source.root(await this.session.client(), write);
  }

  /** The session's fd channel, when files of this root may be handed out. */
  private fds(c: AgentClient): Promise<FdChannel | undefined> {
    return this.source.handsOut ? this.session.fds(c) : Promise.resolve(undefined);
  }

  private error(e: unknown, path: string): Error {
    if (e instanceof AgentErrno) {
      return e.code === 'ESTALE' ? new FsError('ESTALE', path, '(the container stopped or restarted meanwhile)') : new FsError(e.code, path);
    }
    if (e instanceof AgentLost) return new FsError('EIO', path, `(the dbox agent stopped: ${e.message})`);
    return toFsError(e, path);
  }

  private async handOver(why: string, reported: boolean): Promise<ContainerFs> {
    this.delegate ??= await this.fallback(why, reported);
    return this.delegate;
  }

  /**
   * Runs `op` on the agent (after, or together with, opening the root), or `instead` on the
   * delegate when the agent cannot serve this container.
   */
  private async run<T>(path: string, op: (c: AgentClient, h: number) => Promise<T>, instead: (fs: ContainerFs) => Promise<T>,
    ordered = true, write = false): Promise<T> {
    if (this.retired) throw new FsError('ESTALE', path, '(the container stopped or restarted meanwhile)');
    // Written-behind files first: their failure is this call's (write-behind.ts).
    if (ordered && this.behind.pending) await this.behind.barrier();
    if (this.delegate) return instead(this.delegate);
    this.busy++;
    this.source.busy();
    let root: Root;
    try {
      root = await this.open(write);
    } catch (error) {
      this.done();
      if (error instanceof AgentUnavailable) return instead(await this.handOver(error.message, true)); // the session said why
      if (error instanceof RootRefused) return instead(await this.handOver(error.message, false));
      throw this.error(error, path);
    }
    try {
      const result = op(root.client, root.handle);
      try {
        await root.ready;
      } catch (error) {
        result.catch(() => undefined);
        // Not this container's process (a lying engine), or no process any more (it stopped).
        if (error instanceof AgentErrno && ['EPERM', 'EACCES', 'ESRCH', 'ENOENT'].includes(error.code)) {
          return await instead(await this.handOver(`the agent could not prove the container's process (${error.code})`, false));
        }
        throw error;
      }
      return await result;
    } catch (error) {
      throw this.error(error, path);
    } finally {
      this.done();
    }
  }

  /** A request ended: when none is left, the root may be let go (or closed, once retired). */
  private done(): void {
    if (--this.busy > 0) return;
    if (this.retired) this.source.retire();
    else this.source.idle();
  }

  /** A change: listings seen so far, and files fetched ahead, may be out of date. */
  private changing<T>(work: Promise<T>): Promise<T> {
    this.listings.clear();
    this.ahead.clear();
    return work;
  }

  private call(path: string, op: number, payload: (h: number) => Payload, instead: (fs: ContainerFs) => Promise<void>): Promise<void> {
    return this.changing(this.run(path, async (c, h) => {
      await c.call(op, payload(h));
    }, instead, true, true));
  }

  stat(path: string): Promise<Stat> {
    return this.run(path, (c, h) => c.stat(h, path, true), (f) => f.stat(path));
  }

  lstat(path: string): Promise<Stat> {
    // A name of a directory listed within the second: its listed attributes (the mount looks up
    // every name of a listing at once: 1,000 round trips for `ls -l` of 1,000 entries).
    const st = this.listed(path)?.stat;
    if (st) return Promise.resolve(st);
    return this.run(path, (c, h) => c.stat(h, path, false), (f) => f.lstat(path));
  }

  /** `path`'s entry in its directory's listing, when that was made within LISTING_TTL_MS (and
   *  nothing changed through this filesystem since: changing() drops the listings). */
  private listed(path: string): ListedEntry | undefined {
    if (path === '/' || this.delegate) return undefined;
    const seen = this.listings.get(dirname(path));
    if (!seen || Date.now() - seen.at >= LISTING_TTL_MS) return undefined;
    seen.byName ??= new Map(seen.entries.map((e) => [e.name, e]));
    return seen.byName.get(basename(path));
  }

  async readdir(path: string): Promise<DirEntry[]> {
    let listed: ListedEntry[] | undefined;
    const entries = await this.run(path, async (c, h) => {
      listed = await c.readdir(h, path, true);
      return listed.map(({name, type, stat}): DirEntry => (stat ? {name, type, stat} : {name, type}));
    }, (f) => f.readdir(path));
    if (listed) {
      this.listings.delete(path);
      this.listings.set(path, {at: Date.now(), entries: listed});
      if (this.listings.size > LISTINGS_KEPT) this.listings.delete(this.listings.keys().next().value!);
    }
    return entries;
  }

  readlink(path: string): Promise<string> {
    const target = this.listed(path)?.target;
    if (target !== undefined) return Promise.resolve(target);
    return this.run(path, (c, h) => c.readlink(h, path), (f) => f.readlink(path));
  }

  async createReadStream(path: string, range?: ReadRange): Promise<Readable> {
    if (!range && !this.delegate) {
      const dir = dirname(path);
      const listing = this.listings.get(dir);
      const held = this.ahead.take(path, dir, basename(path), listing?.entries, listing?.at ?? 0);
      if (held) {
        const data = await held.catch(() => undefined); // failed ahead: read again, for the read's own error
        if (data) return Readable.from([data]);
      }
    }
    const stream = await this.regularOnly(path, this.run(path, async (c, h) => {
      const chan = await this.fds(c);
      if (!chan) return (await c.read(h, path, range?.offset ?? 0, range?.length, (e) => this.error(e, path))).stream;
      const {id} = await c.openReadFd(h, path);
      return fdReadStream(await chan.take(id), path, range);
    }, (f) => f.createReadStream(path, range)));
    if (this.delegate) return stream;
    // The root stays held while the file is being read (a stopped container's is let go only after).
    this.busy++;
    this.source.busy();
    stream.once('close', () => this.done());
    return stream;
  }

  /** The agent opens regular files only (EINVAL otherwise): said as every driver says it. */
  private regularOnly<T>(path: string, work: Promise<T>): Promise<T> {
    return work.catch(async (error: unknown) => {
      if (!(error instanceof FsError) || error.code !== 'EINVAL') throw error;
      const st = await this.lstat(path).catch(() => undefined);
      throw st && (st.mode & 0o170000) !== 0o100000 ? notRegular(path, st.mode) : error;
    });
  }

  /** A regular file opened by the agent and handed over (it runs on this host, and this root's
   *  files may be handed out): read here, natively. Undefined when there is no fd channel, or the
   *  archive API serves this container. The agent opens regular files only (a FIFO: an error). */
  openReadFd(path: string): Promise<number | undefined> {
    if (this.delegate || !this.source.handsOut) return Promise.resolve(undefined);
    // A small file of a directory just listed: read with the files around it (read-ahead), one
    // round trip for many, rather than one hand-over each (grep -r through the mount).
    const st = this.listed(path)?.stat;
    if (st && (st.mode & 0o170000) === 0o100000 && st.size <= AHEAD_LIMIT) return Promise.resolve(undefined);
    return this.regularOnly(path, this.run(path, async (c, h) => {
      const chan = await this.fds(c);
      if (!chan) return undefined;
      const {id} = await c.openReadFd(h, path);
      return regularFd(await chan.take(id), path);
    }, () => Promise.resolve(undefined)));
  }

  /** The tree lent whole by the agent on this host, when its root is one of the agent's own (an
   *  image's or a stopped container's layers, a volume: never a process's root, nor the engine's
   *  mount of a stopped container while a write holds it), for the copy engine's native reads.
   *  Only to root: another user reading through it would meet the permissions of the files, which
   *  the agent's own reads do not. Undefined when it cannot be had (said nowhere: the copy reads
   *  through the agent then). */
  async lendRoot(): Promise<LocalFs | undefined> {
    if (this.delegate || process.geteuid?.() !== 0) return undefined;
    return this.run('/', async (c, h) => {
      const chan = await this.session.fds(c);
      if (!chan) return undefined;
      let id: number;
      try {
        id = await c.lendRoot(h);
      } catch (error) {
        if (error instanceof AgentErrno && (error.code === 'EOPNOTSUPP' || error.code === 'ENOTSUP')) return undefined; // not a root of its own
        throw error;
      }
      const fd = await chan.take(id);
      if (!fs.fstatSync(fd).isDirectory()) {
        fs.closeSync(fd);
        throw new FsError('ENOTDIR', '/', '(the dbox agent lent something else than a directory)');
      }
      return LocalFs.adopt({fd, release: () => fs.closeSync(fd)}, `the layers of ${this.id.slice(0, 12)}`);
    }, () => Promise.resolve(undefined));
  }

  writeFile(path: string, source: Readable, options: WriteOptions): Promise<void> {
    const spec = {exclusive: options.exclusive === true, inPlace: options.inPlace === true, mode: options.mode,
      ...(options.owner ? {owner: options.owner} : {}), ...(options.mtime ? {mtime: options.mtime} : {})};
    const instead = (f: ContainerFs): Promise<void> => f.writeFile(path, source, options);
    const direct = async (c: AgentClient, h: number): Promise<void> => {
      const chan = await this.fds(c);
      if (!chan) return c.write(h, path, spec, source);
      // Written here, through the new file's fd; put in place by the agent (or dropped) after.
      const id = await c.openWriteFd(h, path, spec);
      try {
        await pipeline(source, fs.createWriteStream('', {fd: await chan.take(id)}));
      } catch (error) {
        await c.commit(id, false).catch(() => undefined);
        throw error;
      }
      await c.commit(id, true);
    };
    if (!options.exclusive || (options.size ?? Infinity) >= FD_MIN) return this.changing(this.run(path, direct, instead, true, true));
    // A small new file under a name nobody has: written behind (the next call of this filesystem reports its failure).
    return this.changing(this.behind.start(options.size ?? AHEAD_LIMIT, () => {
      let left!: (v: void | PromiseLike<void>) => void;
      let broke!: (e: Error) => void;
      const sent = new Promise<void>((res, rej) => {
        left = res;
        broke = rej;
      });
      const done = this.run(path, (c, h) => {
        const w = c.writeStart(h, path, spec, source);
        w.sent.then(left, broke);
        return w.done;
      }, instead, false, true);
      done.then(left, broke); // when it ends before its bytes were sent (an early error, a hand-over)
      return {sent: sent.catch((e: unknown) => Promise.reject(this.error(e, path))), done};
    }));
  }

  mkdir(path: string, mode = 0o777): Promise<void> {
    return this.call(path, Op.MKDIR, (h) => new Payload().u32(h).u32(mode).str(path), (f) => f.mkdir(path, mode));
  }

  rmdir(path: string): Promise<void> {
    return this.call(path, Op.RMDIR, (h) => new Payload().u32(h).str(path), (f) => f.rmdir(path));
  }

  unlink(path: string): Promise<void> {
    return this.call(path, Op.UNLINK, (h) => new Payload().u32(h).str(path), (f) => f.unlink(path));
  }

  remove(path: string): Promise<void> {
    return this.changing(this.run(path, async (c, h) => {
      await c.long(Op.REMOVE, new Payload().u32(h).str(path)).done;
    }, (f) => f.remove(path), true, true));
  }

  rename(from: string, to: string, noReplace = false): Promise<void> {
    return this.call(from, Op.RENAME, (h) => new Payload().u32(h).str(from).u32(h).str(to).u32(noReplace ? RENAME_NOREPLACE : 0),
      (f) => f.rename(from, to, noReplace));
  }

  symlink(target: string, path: string): Promise<void> {
    return this.call(path, Op.SYMLINK, (h) => new Payload().u32(h).str(target).str(path), (f) => f.symlink(target, path));
  }

  link(from: string, to: string): Promise<void> {
    return this.call(to, Op.LINK, (h) => new Payload().u32(h).str(from).u32(h).str(to), (f) => f.link(from, to));
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.call(path, Op.CHMOD, (h) => new Payload().u32(h).u32(mode).str(path), (f) => f.chmod(path, mode));
  }

  chown(path: string, uid: number, gid: number, follow: boolean): Promise<void> {
    return this.call(path, Op.CHOWN, (h) => new Payload().u32(h).u32(uid).u32(gid).u8(follow ? 1 : 0).str(path),
      (f) => f.chown(path, uid, gid, follow));
  }

  utimes(path: string, atime: Timespec, mtime: Timespec, follow: boolean): Promise<void> {
    return this.call(path, Op.UTIMES,
      (h) => new Payload().u32(h).i64(atime.sec).u32(atime.nsec).i64(mtime.sec).u32(mtime.nsec).u8(follow ? 1 : 0).str(path),
      (f) => f.utimes(path, atime, mtime, follow));
  }

  truncate(path: string, length: number): Promise<void> {
    return this.call(path, Op.TRUNCATE, (h) => new Payload().u32(h).i64(length).str(path), (f) => f.truncate(path, length));
  }

  statfs(path: string): Promise<StatFs> {
    return this.run(path, async (c, h) => {
      const [bsize, blocks, bfree, bavail, files, ffree, namelen] = await c.statfs(h, path);
      return {bsize: bsize!, blocks: blocks!, bfree: bfree!, bavail: bavail!, files: files!, ffree: ffree!, namelen: namelen!};
    }, (f) => f.statfs(path));
  }
}
