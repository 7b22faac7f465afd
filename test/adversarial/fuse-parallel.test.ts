// dbox-fuse serves lookups in parallel: its one mutex guards the node table only, never a system
// call on a tree. A tree whose lookups the test holds (a FUSE mount served by this process through
// fuse-native: the kernel's LOOKUP becomes a getattr answered only when the test says so) stands
// for a slow one (a network volume, a stopped container's engine mount). N processes stat a name
// of that tree through dbox-fuse, each in its own directory; the test waits until N lookups are
// held in the tree AT ONCE (a count, reached or not: never a time). With fstatat under the lock
// the count would stay at one, and the other lookups would wait for the lock, not for the tree.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createInterface} from 'node:readline';
import Fuse from 'fuse-native';
import {afterEach, describe, expect, it} from 'vitest';
import {fuseHelper} from '../../src/self.js';
import {isMounted} from '../../src/fuse/mounts.js';

const usable = fs.existsSync(fuseHelper) && fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
if (process.env['CI'] === 'true' && !usable) throw new Error('CI=true but dbox-fuse, /dev/fuse or root is missing');

const binary = process.env['DBOX_FUSE_BINARY'] ?? fuseHelper;
const N = 8; // dbox-fuse runs up to 16 worker threads
const DEADLINE_MS = 30_000; // a bound on a hang: the wait ends when the count is reached

/** A tree of N directories d0.. each holding `held`, whose lookups wait for release(). */
async function heldTree(mnt: string): Promise<{held: () => number; reached: (n: number) => Promise<void>; release: () => void; close: () => Promise<void>}> {
  const waiting: (() => void)[] = [];
  let released = false;
  let wake = (): void => undefined;
  const now = new Date();
  const dir = {mode: 0o40755, uid: 0, gid: 0, size: 4096, nlink: 2, atime: now, mtime: now, ctime: now};
  const file = {mode: 0o100644, uid: 0, gid: 0, size: 0, nlink: 1, atime: now, mtime: now, ctime: now};
  const ops = {
    getattr(p: string, cb: (err: number, st?: unknown) => void) {
      if (p === '/' || /^\/d\d+$/.test(p)) return cb(0, dir);
      if (!/^\/d\d+\/held$/.test(p)) return cb(-2);
      if (released) return cb(0, file);
      waiting.push(() => cb(0, file));
      wake();
      return undefined;
    },
    readdir(p: string, cb: (err: number, names?: string[]) => void) {
      if (p === '/') return cb(0, Array.from({length: N}, (_, i) => `d${i}`));
      return cb(0, ['held']);
    },
  };
  fs.mkdirSync(mnt, {recursive: true});
  const fuse = new Fuse(mnt, ops as never, {force: true, mkdir: true, fsname: 'dboxheld'});
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  const release = (): void => {
    released = true;
    for (const w of waiting.splice(0)) w();
  };
  return {
    held: () => waiting.length,
    reached: (n) => new Promise<void>((resolve) => {
      wake = () => {
        if (waiting.length >= n) resolve();
      };
      wake();
    }),
    release,
    async close() {
      release();
      await new Promise<void>((resolve) => fuse.unmount(() => resolve()));
      if (isMounted(mnt)) spawnSync('umount', ['-l', mnt], {stdio: 'ignore'});
    },
  };
}

describe.runIf(usable)('dbox-fuse lookups in parallel', () => {
  let work: string | undefined;
  let server: ChildProcess | undefined;
  let tree: Awaited<ReturnType<typeof heldTree>> | undefined;
  const stats: ChildProcess[] = [];

  afterEach(async () => {
    tree?.release();
    for (const s of stats.splice(0)) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
    if (server && server.exitCode === null) {
      const gone = new Promise((r) => server!.once('exit', r));
      server.stdin!.end();
      await gone;
    }
    await tree?.close();
    if (work && isMounted(path.join(work, 'mnt'))) spawnSync('fusermount3', ['-u', '-z', path.join(work, 'mnt')]);
    if (work) fs.rmSync(work, {recursive: true, force: true});
    server = tree = work = undefined;
  });

  it(`${N} lookups of a slow tree are in the tree at once, none waits for another`, async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-parallel-'));
    tree = await heldTree(path.join(work, 'held'));
    const mnt = path.join(work, 'mnt');
    fs.mkdirSync(mnt);
    server = spawn(binary, [mnt], {stdio: ['pipe', 'pipe', 'inherit']});
    const lines = createInterface({input: server.stdout!})[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
    server.stdin!.write(Buffer.from(`+\0web\0${path.join(work, 'held')}\0\0`));
    expect((await lines.next()).value).toBe('ok');
    // Never a synchronous call on the mount from here: this thread serves the held tree.
    for (let i = 0; i < N; i++) expect((await fs.promises.stat(path.join(mnt, `web/d${i}`))).isDirectory()).toBe(true); // not held

    const exits: Promise<number | null>[] = [];
    for (let i = 0; i < N; i++) {
      const s = spawn('stat', ['-c', '%s', path.join(mnt, `web/d${i}/held`)], {stdio: 'ignore'});
      stats.push(s);
      exits.push(new Promise((r) => s.once('exit', (code) => r(code))));
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((r) => (timer = setTimeout(() => r('deadline'), DEADLINE_MS)));
    const outcome = await Promise.race([tree.reached(N).then(() => 'reached' as const), deadline]);
    clearTimeout(timer);
    expect(outcome, `only ${tree.held()} of ${N} lookups reached the tree at once`).toBe('reached');
    expect(tree.held()).toBe(N);
    tree.release();
    expect(await Promise.all(exits)).toEqual(Array(N).fill(0));
  });
});
