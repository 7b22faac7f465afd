// A host file whose reads the test controls: a FUSE mount (fuse-native, served by this process)
// of regular files that answer at once up to `holdAt` bytes, then hold the next read until the test
// releases it. It makes "in the middle of a copy" a state to wait for (reached) instead of a time
// to guess, whatever dbox's copy is made of (copy_file_range, streams, the engine's PUT).
import fs from 'node:fs';
import path from 'node:path';
import Fuse from 'fuse-native';
import {spawnSync} from 'node:child_process';

export interface SlowFile {
  readonly path: string;
  /** A read at or past holdAt is waiting. */
  reached(): boolean;
  /** Lets every held and later read through. */
  release(): void;
}

export interface SlowSource {
  readonly mnt: string;
  file(name: string, size: number, holdAt: number): SlowFile;
  close(): Promise<void>;
}

export async function slowSource(dir: string): Promise<SlowSource> {
  const mnt = path.join(dir, 'slow');
  fs.mkdirSync(mnt, {recursive: true});
  const files = new Map<string, {size: number; holdAt: number; waiting: (() => void)[]; released: boolean; reached: boolean}>();
  const now = new Date();
  const ops = {
    getattr(p: string, cb: (err: number, st?: unknown) => void) {
      if (p === '/') return cb(0, {mode: 0o40755, uid: 0, gid: 0, size: 4096, nlink: 2, atime: now, mtime: now, ctime: now});
      const f = files.get(p.slice(1));
      if (!f) return cb(-2);
      return cb(0, {mode: 0o100644, uid: 0, gid: 0, size: f.size, nlink: 1, atime: now, mtime: now, ctime: now});
    },
    readdir(p: string, cb: (err: number, names?: string[]) => void) {
      if (p !== '/') return cb(-20);
      return cb(0, [...files.keys()]);
    },
    open(p: string, _flags: number, cb: (err: number, fd?: number) => void) {
      return files.has(p.slice(1)) ? cb(0, 42) : cb(-2);
    },
    release(_p: string, _fd: number, cb: (err: number) => void) {
      cb(0);
    },
    read(p: string, _fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
      const f = files.get(p.slice(1));
      if (!f) return cb(-2);
      const answer = (): void => {
        const n = Math.max(0, Math.min(len, f.size - pos));
        buf.fill(0x78, 0, n);
        cb(n);
      };
      if (pos + len <= f.holdAt || f.released) return answer();
      f.reached = true;
      f.waiting.push(answer);
      return undefined;
    },
  };
  const fuse = new Fuse(mnt, ops as never, {force: true, mkdir: true, timeout: false, fsname: 'dboxadvslow,direct_io'});
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  return {
    mnt,
    file(name, size, holdAt) {
      const f = {size, holdAt, waiting: [] as (() => void)[], released: false, reached: false};
      files.set(name, f);
      return {
        path: path.join(mnt, name),
        reached: () => f.reached,
        release() {
          f.released = true;
          for (const w of f.waiting.splice(0)) w();
        },
      };
    },
    async close() {
      for (const f of files.values()) {
        f.released = true;
        for (const w of f.waiting.splice(0)) w();
      }
      await new Promise<void>((resolve) => fuse.unmount(() => resolve()));
      spawnSync('umount', ['-l', mnt], {stdio: 'ignore'});
      fs.rmSync(mnt, {recursive: true, force: true});
    },
  };
}
