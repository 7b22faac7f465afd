// Types for fuse-native 2.2.6, which ships none. Conventions (from its index.js):
// every op ends with a callback whose first argument is 0 or a negative errno; read and write
// answer with the byte count as that first argument (cb(bytes)); times are milliseconds.
declare module 'fuse-native' {
  export interface FuseStat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    dev?: number;
    nlink?: number;
    ino?: number;
    rdev?: number;
    blksize?: number;
    blocks?: number;
    atime: number | Date;
    mtime: number | Date;
    ctime: number | Date;
  }
  export interface FuseStatfs {
    bsize: number;
    frsize: number;
    blocks: number;
    bfree: number;
    bavail: number;
    files: number;
    ffree: number;
    favail: number;
    fsid: number;
    flag: number;
    namemax: number;
  }
  type Cb = (err: number) => void;
  type ResultCb<T> = (err: number, result?: T) => void;
  export interface FuseOps {
    init?(cb: Cb): void;
    getattr?(path: string, cb: ResultCb<FuseStat>): void;
    fgetattr?(path: string, fd: number, cb: ResultCb<FuseStat>): void;
    access?(path: string, mode: number, cb: Cb): void;
    statfs?(path: string, cb: ResultCb<FuseStatfs>): void;
    readdir?(path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void): void;
    readlink?(path: string, cb: ResultCb<string>): void;
    open?(path: string, flags: number, cb: ResultCb<number>): void;
    create?(path: string, mode: number, cb: ResultCb<number>): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
    write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
    flush?(path: string, fd: number, cb: Cb): void;
    /** Note the order: datasync before fd. */
    fsync?(path: string, datasync: number, fd: number, cb: Cb): void;
    release?(path: string, fd: number, cb: Cb): void;
    truncate?(path: string, size: number, cb: Cb): void;
    ftruncate?(path: string, fd: number, size: number, cb: Cb): void;
    utimens?(path: string, atime: number, mtime: number, cb: Cb): void;
    chmod?(path: string, mode: number, cb: Cb): void;
    chown?(path: string, uid: number, gid: number, cb: Cb): void;
    unlink?(path: string, cb: Cb): void;
    rename?(src: string, dest: string, cb: Cb): void;
    link?(src: string, dest: string, cb: Cb): void;
    symlink?(target: string, path: string, cb: Cb): void;
    mkdir?(path: string, mode: number, cb: Cb): void;
    rmdir?(path: string, cb: Cb): void;
  }
  export interface FuseOptions {
    force?: boolean;
    mkdir?: boolean;
    timeout?: number | false;
    debug?: boolean;
    fsname?: string;
    maxRead?: number;
    kernelCache?: boolean;
    autoCache?: boolean;
    attrTimeout?: number;
    entryTimeout?: number;
    defaultPermissions?: boolean;
  }
  export default class Fuse {
    constructor(mnt: string, ops: FuseOps, opts?: FuseOptions);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
  }
}
