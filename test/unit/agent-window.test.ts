// Read-ahead and write-behind of the agent driver: which files are fetched ahead and for how long
// they answer; when a written-behind failure is reported (the next call, once).
import {afterEach, describe, expect, it, vi} from 'vitest';
import {ReadAhead} from '../../src/agent/read-ahead.js';
import {WriteBehind} from '../../src/agent/write-behind.js';
import type {DirEntry, Stat} from '../../src/vfs/types.js';

const st = (size: number, mode = 0o100644): Stat => ({dev: 1, ino: 1, mode, nlink: 1, uid: 0, gid: 0, rdev: 0, size, blksize: 4096,
  blocks: 0, atime: {sec: 0, nsec: 0}, mtime: {sec: 0, nsec: 0}, ctime: {sec: 0, nsec: 0}});
const file = (name: string, size = 10): DirEntry => ({name, type: 'file', stat: st(size)});

describe('read-ahead', () => {
  afterEach(() => vi.useRealTimers());

  it('fetches the next small regular files of a fresh listing, and answers with them once', async () => {
    const fetched: string[] = [];
    const ra = new ReadAhead(async (p) => {
      fetched.push(p);
      return Buffer.from(p);
    });
    const entries = [file('a'), file('b'), {name: 'd', type: 'dir' as const, stat: st(0, 0o40755)}, file('big', 2 << 20), file('c'),
      {name: 'l', type: 'symlink' as const, stat: st(1, 0o120777)}];
    expect(ra.take('/x/a', '/x', 'a', entries, Date.now())).toBeUndefined();
    expect(fetched).toEqual(['/x/b', '/x/c']);
    expect((await ra.take('/x/b', '/x', 'b', entries, Date.now()))?.toString()).toBe('/x/b');
    expect(ra.take('/x/b', '/x', 'b', entries, Date.now())).toBeUndefined(); // once
    expect(fetched).toEqual(['/x/b', '/x/c']);
  });

  it('nothing without a listing, or with one older than 30 s; nothing held beyond a second; nothing after a change', () => {
    vi.useFakeTimers();
    const fetched: string[] = [];
    const ra = new ReadAhead(async (p) => {
      fetched.push(p);
      return Buffer.alloc(0);
    });
    const entries = [file('a'), file('b'), file('c')];
    ra.take('/x/a', '/x', 'a', undefined, 0);
    ra.take('/x/a', '/x', 'a', entries, Date.now() - 30_001);
    expect(fetched).toEqual([]);
    ra.take('/x/a', '/x', 'a', entries, Date.now());
    expect(fetched).toEqual(['/x/b', '/x/c']);
    vi.advanceTimersByTime(1001);
    expect(ra.take('/x/b', '/x', 'b', undefined, 0)).toBeUndefined();
    ra.take('/x/a', '/x', 'a', entries, Date.now());
    ra.clear();
    expect(ra.take('/x/b', '/x', 'b', undefined, 0)).toBeUndefined();
  });

  it('follows the reader\'s order: the listing\'s (grep -r), or by inode (cp -r reads as GNU cp does): every read after the first is held', async () => {
    const inos = [5, 3, 9, 1, 7, 2, 8, 6, 4, 10];
    const listing = inos.map((ino, i): DirEntry => ({name: `f${i}`, type: 'file', stat: {...st(10), ino}}));
    for (const order of [listing, [...listing].sort((a, b) => a.stat!.ino - b.stat!.ino)]) {
      const ra = new ReadAhead(async (p) => Buffer.from(p));
      const misses: string[] = [];
      for (const e of order) {
        const held = ra.take(`/x/${e.name}`, '/x', e.name, listing, Date.now());
        if (!held) misses.push(e.name);
        else expect((await held).toString()).toBe(`/x/${e.name}`);
      }
      expect(misses).toEqual([order[0]!.name]);
    }
  });

  it('keeps at most 128 files and 8 MiB ahead', () => {
    const fetched: string[] = [];
    const ra = new ReadAhead(async (p) => {
      fetched.push(p);
      return Buffer.alloc(0);
    });
    const many = Array.from({length: 200}, (_, i) => file(`f${i}`, 1000));
    ra.take('/f0', '/', 'f0', many, Date.now());
    expect(fetched).toHaveLength(128);
    const big = Array.from({length: 20}, (_, i) => file(`g${i}`, 1 << 20));
    const ra2 = new ReadAhead(async (p) => {
      fetched.push(p);
      return Buffer.alloc(0);
    });
    fetched.length = 0;
    ra2.take('/g0', '/', 'g0', big, Date.now());
    expect(fetched).toHaveLength(8);
  });
});

describe('write-behind', () => {
  const deferred = (): {promise: Promise<void>; resolve(): void; reject(e: Error): void} => {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return {promise, resolve, reject};
  };

  it('resolves when the bytes have left; a failure is the next barrier\'s, once', async () => {
    const wb = new WriteBehind();
    const done = deferred();
    await wb.start(10, () => ({sent: Promise.resolve(), done: done.promise}));
    expect(wb.pending).toBe(true);
    done.reject(new Error('EEXIST'));
    await expect(wb.barrier()).rejects.toThrow('EEXIST');
    await expect(wb.barrier()).resolves.toBeUndefined();
    expect(wb.pending).toBe(false);
  });

  it('a write whose bytes could not leave fails itself, and is not reported twice', async () => {
    const wb = new WriteBehind();
    await expect(wb.start(10, () => ({sent: Promise.reject(new Error('source broke')), done: Promise.reject(new Error('source broke'))})))
      .rejects.toThrow('source broke');
    await expect(wb.barrier()).resolves.toBeUndefined();
  });

  it('waits for the oldest beyond 64 writes', async () => {
    const wb = new WriteBehind();
    const all = Array.from({length: 65}, () => deferred());
    for (let i = 0; i < 64; i++) await wb.start(1, () => ({sent: Promise.resolve(), done: all[i]!.promise}));
    let started = false;
    const last = wb.start(1, () => {
      started = true;
      return {sent: Promise.resolve(), done: all[64]!.promise};
    });
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(false);
    all[0]!.resolve();
    await last;
    expect(started).toBe(true);
    for (const d of all) d.resolve();
    await wb.barrier();
  });
});
