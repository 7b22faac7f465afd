// The FUSE operations: a thin adapter from fuse-native's callbacks onto the namespace's
// ContainerFs drivers. The mount's root lists the containers; `/<name>/…` is a container's
// filesystem. Every error becomes a negative errno in one place (settle). Paths, names and link
// targets are dbox's names (invalid bytes as U+DC00+byte), both ways: server.ts wraps these ops
// in byte-names.ts, the one place that converts them from and to fuse-native's bytes.
//
// Host safety through the mount: the kernel follows a symlink on the reader's side, from the
// directory the reader used, so every target (absolute or relative) is presented by the mount's one
// rule (native/link.h, shared with dbox-fuse): resolved lexically in the container and written as
// at most depth-1 leading `../` then plain names (`/etc/shadow` read at /web/data/x becomes
// `../etc/shadow`, `../../../../etc/shadow` there too). The depth is exact: this server is given
// full paths. Writes go through the drivers, which resolve every path inside the container.
//
// With allow_other (callerOwns) what a request creates is given its caller's uid and gid, which
// only the kernel tells (libfuse's request context, src/fuse/caller.ts): read synchronously as the
// handler starts, and a request whose caller is unknown fails rather than making a root-owned
// entry. Set-ID bits come only with the caller's ownership: in the same write (a tar header, one
// agent request), or after the fchown (a local root); an entry whose ownership cannot be given is
// removed again and the call fails.
import fs from 'node:fs';
import os from 'node:os';
import {constants as C} from 'node:fs';
import {Readable} from 'node:stream';
import type {FuseOps, FuseStat} from 'fuse-native';
import {nameBytes} from '../format/utf8.js';
import {FsError} from '../errors.js';
import type {Namespace, Target} from '../vfs/namespace.js';
import {CONTAINERS, HOSTS, IMAGES, VOLUMES} from '../vfs/path.js';
import {native} from '../native.js';
import {capabilitiesOf, isSymlink, timespecOfMs, type ContainerFs, type Descriptors, type Stat} from '../vfs/types.js';
import {logLine} from './log.js';
import {RemoteFile} from './remote-file.js';
import {currentCaller} from './caller.js';

const errnos = os.constants.errno as Record<string, number>;

/** Negative errno for anything thrown (any of the system's errno names); an error without one is
 *  EIO (and logged: it is a bug). */
export function toErrno(error: unknown): number {
  const code = (error as {code?: unknown})?.code;
  const n = typeof code === 'string' && Object.hasOwn(errnos, code) ? errnos[code] : undefined;
  if (n !== undefined) return -n;
  process.stderr.write(logLine(`unexpected error: ${(error as Error)?.stack ?? String(error)}`));
  return -errnos['EIO']!;
}

/** Runs a synchronous fs call: its result, or a negative errno. */
function sync(op: () => number): number {
  try {
    return op();
  } catch (error) {
    return toErrno(error);
  }
}

function settle<R>(work: () => Promise<R>, cb: (err: number, result?: R) => void): void {
  work().then((r) => cb(0, r), (e: unknown) => cb(toErrno(e)));
}

const ms = (t: {sec: number; nsec: number}): number => t.sec * 1000 + Math.floor(t.nsec / 1e6);

export function toFuseStat(s: Stat): FuseStat {
  return {mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, dev: s.dev, nlink: s.nlink, ino: s.ino, rdev: s.rdev,
    blksize: s.blksize, blocks: s.blocks, atime: ms(s.atime), mtime: ms(s.mtime), ctime: ms(s.ctime)};
}

/** Symlink `target` of the container's `innerPath` as the mount presents it (native/link.h). */
const presentLink = (target: string, innerPath: string): string =>
  native().presentLink(target, innerPath.split('/').filter(Boolean).length);

const rootStat: FuseStat = {mode: 0o040555, uid: 0, gid: 0, size: 0, nlink: 2, atime: 0, mtime: 0, ctime: 0};

/** The directory of a container the engine serves, as presented (times: its creation, in s). */
const containerRootStat = (created: number): FuseStat =>
  ({mode: 0o040755, uid: 0, gid: 0, size: 4096, nlink: 2, atime: created * 1000, mtime: created * 1000, ctime: created * 1000});

interface Handle {
  readonly fd: number;
  readonly remote?: RemoteFile;
  /** The filesystem it was opened through (its descriptors are revoked if the container restarts). */
  readonly local?: Descriptors;
}

type FileTarget = {readonly fs: ContainerFs; readonly path: string};

const O_ACCMODE = 3;

/** Where /hosts appears in the mount (see target below). */
export const HOSTS_DIR = '/.hosts';
export const IMAGES_DIR = '/.images';
export const VOLUMES_DIR = '/.volumes';

/** A mode without its set-user/group-ID bits: what is made for a caller has them only once it is theirs. */
const bare = (mode: number): number => mode & ~0o6000;

type Owner = {readonly uid: number; readonly gid: number};

export interface OpsOptions {
  /** allow_other on the mount these ops serve: what a request creates is given its caller's uid
   *  and gid (as bindfs does; dbox-fuse does the same for the trees it serves). */
  readonly callerOwns?: boolean;
}

export function makeOps(ns: Namespace, options: OpsOptions = {}): FuseOps {
  const handles = new Map<number, Handle>();

  /** The caller to give what this request makes (allow_other), read first thing in a handler
   *  (src/fuse/caller.ts); undefined when nothing is given, null when the caller is unknown (the
   *  request then fails: see `known`). */
  const callerOwner = (): Owner | null | undefined => (options.callerOwns ? currentCaller() ?? null : undefined);
  const known = (owner: Owner | null | undefined): Owner | undefined => {
    if (owner === null) throw new FsError('EPERM', '', '(the fuse-native binding does not say who calls: npm install rebuilds it)');
    return owner;
  };

  /** Gives what a request made at `t` (with `mode`) to its caller; if that fails, removes it and fails. */
  const own = async (t: FileTarget, owner: Owner | undefined, mode: number, remove: () => Promise<void>): Promise<void> => {
    if (!owner) return;
    try {
      await t.fs.chown(t.path, owner.uid, owner.gid, false);
      if (bare(mode) !== mode) await t.fs.chmod(t.path, mode);
    } catch (error) {
      await remove().catch(() => undefined);
      throw error;
    }
  };

  // `/<name>/…` is a container of the current engine; the hidden `/.hosts/<context>/<name>/…`
  // reaches every context (it is not listed, so the root stays one entry per container).
  // So do the hidden `/.images/…` and `/.volumes/…` (the session binds them on /images and /volumes).
  const under = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
  const virtual = (p: string): string =>
    under(p, HOSTS_DIR) ? HOSTS + p.slice(HOSTS_DIR.length)
      : under(p, IMAGES_DIR) ? IMAGES + p.slice(IMAGES_DIR.length)
        : under(p, VOLUMES_DIR) ? VOLUMES + p.slice(VOLUMES_DIR.length)
          : CONTAINERS + (p === '/' ? '' : p);
  const target = (p: string): Promise<Target> => ns.resolve(virtual(p));
  /** A path inside a container; the mount's root itself holds no files. */
  const file = async (p: string): Promise<FileTarget> => {
    const t = await target(p);
    if (t.kind !== 'fs') throw new FsError('EPERM', p);
    return t;
  };
  /** Where a change goes: a container, never the mount's root. */
  const writable = file;
  const containerOf = (p: string): string => p.split('/').slice(0, p.startsWith(`${HOSTS_DIR}/`) ? 4 : p.startsWith(`${VOLUMES_DIR}/`) ? 3 : 2).join('/');
  const sameContainer = async (a: string, b: string): Promise<[FileTarget, FileTarget]> => {
    if (containerOf(a) !== containerOf(b)) throw new FsError('EXDEV', a);
    return [await writable(a), await writable(b)];
  };
  /** An open engine-served file: read as it streams in, written back whole on flush. */
  const remoteHandle = (remote: RemoteFile): number => {
    handles.set(remote.fd, {fd: remote.fd, remote});
    return remote.fd;
  };

  /** The engine-served files open for writing at `t` (their uploads must keep a chmod or chown). */
  const writing = (t: FileTarget): RemoteFile[] =>
    [...handles.values()].flatMap((h) => (h.remote?.writes(t.fs, t.path) ? [h.remote] : []));

  /** Names with their stats, so the kernel learns file types from readdir (find -type, ls --color). */
  const listDir = async (p: string): Promise<[string[], FuseStat[]]> => {
    const t = await target(p);
    if (t.kind !== 'fs') { // the containers of an engine, or the contexts of /hosts
      const names = (await ns.readdir(virtual(p))).map((e) => e.name);
      return [['.', '..', ...names], [rootStat, rootStat, ...names.map(() => rootStat)]];
    }
    const entries = await t.fs.readdir(t.path);
    const stats = await Promise.all(entries.map(async (e) => {
      const st = e.stat ?? (await t.fs.lstat(`${t.path}/${e.name}`).catch(() => undefined));
      return st ? fuseStatOf(t.fs, `${t.path}/${e.name}`, st) : {...rootStat, mode: 0o100000};
    }));
    // '.' and '..' need only their type here; the kernel asks getattr for their attributes.
    return [['.', '..', ...entries.map((e) => e.name)], [rootStat, rootStat, ...stats]];
  };

  /** A stat as the mount shows it: a symlink's size is the length of its presented target. */
  const fuseStatOf = async (fs: ContainerFs, inner: string, st: Stat): Promise<FuseStat> => {
    const out = toFuseStat(st);
    if (isSymlink(st)) {
      out.size = await fs.readlink(inner).then((target) => nameBytes(presentLink(target, inner)).length, () => 0);
    }
    return out;
  };

  return {
    getattr: (p, cb) =>
      settle(async () => {
        const t = await target(p);
        if (t.kind !== 'fs') return rootStat;
        // A container's own directory, when a remote driver serves it, is presented without asking
        // the engine (a root is a directory): an engine that is slow, or never answers, for one
        // container then holds up only what is read inside it, never the mount's root (dbox-fuse
        // opens the tree of every name at once).
        if (t.path === '/' && capabilitiesOf(t.fs).remote && t.container) return containerRootStat(t.container.created);
        return fuseStatOf(t.fs, t.path, await t.fs.lstat(t.path));
      }, cb),
    readdir: (p, cb) => {
      listDir(p).then(([names, stats]) => cb(0, names, stats), (e: unknown) => cb(toErrno(e)));
    },
    readlink: (p, cb) => settle(async () => {
      const t = await file(p);
      return presentLink(await t.fs.readlink(t.path), t.path);
    }, cb),
    statfs: (p, cb) =>
      settle(async () => {
        const t = await target(p);
        const s = t.kind === 'fs' ? await t.fs.statfs(t.path) : {bsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, namelen: 255};
        return {bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files,
          ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: s.namelen};
      }, cb),
    access: (p, _mode, cb) => settle(async () => {
      const t = await target(p);
      if (t.kind === 'fs') await t.fs.lstat(t.path);
    }, cb),
    open: (p, flags, cb) =>
      settle(async () => {
        const t = await file(p);
        const local = capabilitiesOf(t.fs).descriptors;
        if (local) {
          const fd = await local.openFd(t.path, flags & ~(C.O_CREAT | C.O_EXCL));
          handles.set(fd, {fd, local});
          return fd;
        }
        const readOnly = (flags & O_ACCMODE) === C.O_RDONLY && !(flags & C.O_TRUNC);
        // A file handed over open (the agent on this host): read here, as a local one.
        const handed = readOnly ? await capabilitiesOf(t.fs).readFds?.openReadFd(t.path) : undefined;
        if (handed !== undefined) {
          handles.set(handed, {fd: handed});
          return handed;
        }
        const remote = new RemoteFile(t.fs, t.path);
        if (!readOnly) {
          const st = await t.fs.stat(t.path);
          await remote.openForWrite({mode: st.mode & 0o7777, owner: {uid: st.uid, gid: st.gid}}, (flags & C.O_TRUNC) !== 0)
            .catch((error: unknown) => {
              remote.close();
              throw error;
            });
        }
        return remoteHandle(remote);
      }, cb),
    create: (p, mode, cb) => {
      const caller = callerOwner();
      settle(async () => {
        const owner = known(caller);
        const t = await writable(p);
        const local = capabilitiesOf(t.fs).descriptors;
        if (local) {
          // Given to the caller only what this request made (O_EXCL), set-ID bits once it is theirs.
          const fd = await local.openFd(t.path, C.O_CREAT | C.O_RDWR | (owner ? C.O_EXCL : 0), owner ? bare(mode) : mode);
          try {
            if (owner) {
              fs.fchownSync(fd, owner.uid, owner.gid);
              if (bare(mode) !== mode) fs.fchmodSync(fd, mode & 0o7777);
            }
          } catch (error) {
            local.closeFd(fd);
            await t.fs.unlink(t.path).catch(() => undefined);
            throw error;
          }
          handles.set(fd, {fd, local});
          return fd;
        }
        // The kernel looks the new file up at once: it must exist in the container before any write.
        // The write carries the caller's ownership with the mode (one archive header, one agent request).
        const upload = {mode: mode & 0o7777, ...(owner ? {owner} : {})};
        await t.fs.writeFile(t.path, Readable.from([]), {...upload, size: 0, ...(owner ? {exclusive: true} : {})});
        const remote = new RemoteFile(t.fs, t.path);
        await remote.openForWrite(upload, true);
        return remoteHandle(remote);
      }, cb);
    },
    // Synchronous on purpose: a request is at most 128 KiB against a local file (page cache), and
    // the threadpool round trip cost more than the copy (measured: dd through the mount 2× faster).
    // Safe because this process never touches its own mount.
    read: (_p, fd, buf, len, pos, cb) => {
      const remote = handles.get(fd)?.remote;
      if (!remote) return cb(sync(() => fs.readSync(fd, buf, 0, len, pos)));
      remote.read(buf, len, pos).then(cb, (e: unknown) => cb(toErrno(e)));
    },
    write: (_p, fd, buf, len, pos, cb) => {
      const remote = handles.get(fd)?.remote;
      cb(sync(() => (remote ? remote.write(buf, len, pos) : fs.writeSync(fd, buf, 0, len, pos))));
    },
    // close(2) waits for this: an engine-served file is uploaded here, and a failure reaches close.
    flush: (_p, fd, cb) => {
      const remote = handles.get(fd)?.remote;
      if (!remote) return cb(0);
      remote.flush().then(() => cb(0), (e: unknown) => cb(toErrno(e)));
    },
    fsync: (_p, datasync, fd, cb) => {
      const remote = handles.get(fd)?.remote;
      if (remote) return void remote.flush().then(() => cb(0), (e: unknown) => cb(toErrno(e)));
      (datasync ? fs.fdatasync : fs.fsync)(fd, (err) => cb(err ? toErrno(err) : 0));
    },
    release: (_p, fd, cb) => {
      const handle = handles.get(fd);
      const remote = handle?.remote;
      handles.delete(fd);
      if (handle?.local) return cb(sync(() => (handle.local!.closeFd(fd), 0)));
      if (!remote) return fs.close(fd, (err) => cb(err ? toErrno(err) : 0));
      remote.flush().finally(() => remote.close()).then(() => cb(0), (e: unknown) => cb(toErrno(e)));
    },
    truncate: (p, size, cb) => settle(async () => {
      const t = await writable(p);
      await t.fs.truncate(t.path, size);
    }, cb),
    ftruncate: (_p, fd, size, cb) => {
      const remote = handles.get(fd)?.remote;
      if (remote) return cb(sync(() => (remote.truncate(size), 0)));
      fs.ftruncate(fd, size, (err) => cb(err ? toErrno(err) : 0));
    },
    utimens: (p, atime, mtime, cb) => settle(async () => {
      const t = await writable(p);
      // UTIME_OMIT arrives as 2^64-1 (scripts/fix-fuse-native.js): keep that time as it is.
      const omit = (v: number): boolean => v >= 2 ** 63;
      const current = omit(atime) || omit(mtime) ? await t.fs.lstat(t.path) : undefined;
      await t.fs.utimes(t.path, omit(atime) ? current!.atime : timespecOfMs(atime), omit(mtime) ? current!.mtime : timespecOfMs(mtime), false);
    }, cb),
    chmod: (p, mode, cb) => settle(async () => {
      const t = await writable(p);
      await t.fs.chmod(t.path, mode & 0o7777);
      for (const r of writing(t)) r.keep({mode: mode & 0o7777});
    }, cb),
    chown: (p, uid, gid, cb) => settle(async () => {
      const t = await writable(p);
      await t.fs.chown(t.path, uid, gid, false);
      const open = writing(t);
      const unchanged = (id: number): boolean => id === -1 || id === 0xffffffff;
      if (open.length === 0) return;
      // -1 keeps one of the two as it is (the engine's stat knows no owner: asked only then).
      const st = unchanged(uid) || unchanged(gid) ? await t.fs.lstat(t.path) : undefined;
      for (const r of open) r.keep({owner: {uid: unchanged(uid) ? r.owner?.uid ?? st!.uid : uid, gid: unchanged(gid) ? r.owner?.gid ?? st!.gid : gid}});
    }, cb),
    unlink: (p, cb) => settle(async () => {
      const t = await writable(p);
      await t.fs.unlink(t.path);
    }, cb),
    rmdir: (p, cb) => settle(async () => {
      const t = await writable(p);
      await t.fs.rmdir(t.path);
    }, cb),
    mkdir: (p, mode, cb) => {
      const caller = callerOwner();
      settle(async () => {
        const owner = known(caller);
        const t = await writable(p);
        await t.fs.mkdir(t.path, (owner ? bare(mode) : mode) & 0o7777);
        await own(t, owner, mode & 0o7777, () => t.fs.rmdir(t.path));
      }, cb);
    },
    symlink: (target, p, cb) => {
      const caller = callerOwner();
      settle(async () => {
        const owner = known(caller);
        const t = await writable(p);
        await t.fs.symlink(target, t.path);
        await own(t, owner, 0o777, () => t.fs.unlink(t.path));
      }, cb);
    },
    rename: (src, dest, cb) => settle(async () => {
      const [a, b] = await sameContainer(src, dest);
      await a.fs.rename(a.path, b.path);
    }, cb),
    link: (src, dest, cb) => settle(async () => {
      const [a, b] = await sameContainer(src, dest);
      await a.fs.link(a.path, b.path);
    }, cb),
  };
}
