// A tree copy meets an entry it cannot copy (src/vfs/transfer.ts, CopyOptions.failed): as GNU cp,
// it names that entry, leaves it out and goes on; without a listener the first error ends the copy
// and the new tree is removed whole; an error about the whole copy (a full destination) ends it
// either way. A file of a tree is copied up to the size its stat gave (a file that never ends
// cannot hold the copy for ever). Pure logic on in-memory filesystems; the kernel's side (the
// native walk, /proc) is test/integration/cp-keep-going.test.ts.
import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {FsError} from '../../src/errors.js';
import {copyEntry, LinkGroups, Progress, type CopyOptions} from '../../src/vfs/transfer.js';
import type {DirEntry, WriteOptions} from '../../src/vfs/types.js';
import {MemoryFs} from './memory-fs.js';

/** A source whose reads of some files fail, whose listing of some directories fails, and whose
 *  `endless` file never ends (its stat says 3 bytes). */
class Faulty extends MemoryFs {
  constructor(private readonly unreadable: ReadonlySet<string>, private readonly unlistable: ReadonlySet<string>) {
    super(false);
  }
  override async createReadStream(path: string): Promise<Readable> {
    if (this.unreadable.has(path)) throw new FsError('EACCES', path);
    if (path.endsWith('/endless')) return new Readable({read() { this.push(Buffer.alloc(1 << 16, 0x61)); }});
    return super.createReadStream(path);
  }
  override async readdir(path: string): Promise<DirEntry[]> {
    if (this.unlistable.has(path)) throw new FsError('EACCES', path);
    return super.readdir(path);
  }
}

/** A destination that makes a file first, then fills it as the bytes come (as the local driver). */
class Eager extends MemoryFs {
  override async writeFile(path: string, source: Readable, options: WriteOptions): Promise<void> {
    await super.writeFile(path, Readable.from([]), options);
    for await (const chunk of source) {
      const now = await this.createReadStream(path);
      const had: Buffer[] = [];
      for await (const c of now) had.push(c as Buffer);
      await super.writeFile(path, Readable.from([Buffer.concat([...had, chunk as Buffer])]), {...options, exclusive: false});
    }
  }
}

/** A destination that is full for files named `full`. */
class Full extends MemoryFs {
  override async writeFile(path: string, source: Readable, options: WriteOptions): Promise<void> {
    if (path.endsWith('/full')) {
      source.destroy();
      throw new FsError('ENOSPC', path);
    }
    return super.writeFile(path, source, options);
  }
}

const tree = {'d/a': 'a', 'd/bad': 'secret', 'd/sub/b': 'b', 'd/locked/c': 'c', 'd/z': 'z', 'd/endless': 'abc'};

async function text(fs: MemoryFs, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await fs.createReadStream(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function names(fs: MemoryFs, dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string, rel: string): Promise<void> => {
    for (const e of await fs.readdir(p)) {
      out.push(`${rel}${e.name}`);
      if (e.type === 'dir') await walk(`${p}/${e.name}`, `${rel}${e.name}/`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

async function seeded(): Promise<Faulty> {
  const src = new Faulty(new Set(['/d/bad']), new Set(['/d/locked']));
  const base = MemoryFs.of(tree);
  // The same tree, in the faulty filesystem.
  const copy = async (p: string): Promise<void> => {
    for (const e of await base.readdir(p)) {
      const path = `${p === '/' ? '' : p}/${e.name}`;
      if (e.type === 'dir') {
        await src.mkdir(path);
        await copy(path);
      } else {
        await src.writeFile(path, await base.createReadStream(path), {mode: 0o644, exclusive: true});
      }
    }
  };
  await copy('/');
  return src;
}

describe('a tree copy that meets entries it cannot copy', () => {
  it('with a listener: each is named, left out, and the rest is copied (a directory it cannot list is made, empty)', async () => {
    const src = await seeded();
    const dst = new MemoryFs(true);
    await dst.mkdir('/out');
    const failed: string[] = [];
    const options: CopyOptions = {preserve: false, progress: new Progress(), failed: (p, e) => failed.push(`${p} ${(e as FsError).code}`)};
    await copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, options);
    expect(failed.sort()).toEqual(['/d/bad EACCES', '/d/locked EACCES']);
    expect(await names(dst, '/out/d')).toEqual(['a', 'endless', 'locked', 'sub', 'sub/b', 'z']);
    // The endless file: as much as its stat said.
    expect((await dst.stat('/out/d/endless')).size).toBe(3);
    expect(await names(dst, '/out')).not.toContain(expect.stringMatching(/dbox/));
  });

  it('merging into an existing directory: the same, entry by entry', async () => {
    const src = await seeded();
    const dst = new MemoryFs(true);
    await dst.mkdir('/out');
    await dst.mkdir('/out/d');
    const failed: string[] = [];
    await copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, {preserve: false, progress: new Progress(), failed: (p) => failed.push(p)});
    expect(failed.sort()).toEqual(['/d/bad', '/d/locked']);
    expect(await names(dst, '/out/d')).toEqual(['a', 'endless', 'sub', 'sub/b', 'z']);
  });

  it('a file whose read fails in the middle is not left half-written (the destination had made it)', async () => {
    const src = MemoryFs.of({'d/a': 'a', 'd/torn': 'ten bytes.', 'd/z': 'z'});
    const read = src.createReadStream.bind(src);
    src.createReadStream = async (path: string) => path === '/d/torn'
      ? Readable.from((async function* () {
        yield Buffer.from('half');
        throw new FsError('EIO', path);
      })())
      : read(path);
    const dst = new Eager(true);
    await dst.mkdir('/out');
    const failed: string[] = [];
    await copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, {preserve: false, progress: new Progress(), failed: (p, e) => failed.push(`${p} ${(e as FsError).code}`)});
    expect(failed).toEqual(['/d/torn EIO']);
    expect(await names(dst, '/out/d')).toEqual(['a', 'z']);
  });

  it('without a listener: the first error ends the copy, and nothing of the new tree is left', async () => {
    const src = await seeded();
    const dst = new MemoryFs(true);
    await dst.mkdir('/out');
    await expect(copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, {preserve: false, progress: new Progress()})).rejects.toMatchObject({code: 'EACCES'});
    expect(await names(dst, '/out')).toEqual([]);
  });

  it('a full destination ends the copy even with a listener, and nothing of the new tree is left', async () => {
    const src = MemoryFs.of({'d/a': 'a', 'd/full': 'x', 'd/z': 'z'});
    const dst = new Full(true);
    await dst.mkdir('/out');
    const failed: string[] = [];
    await expect(copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'}, {preserve: false, progress: new Progress(), failed: (p) => failed.push(p)}))
      .rejects.toMatchObject({code: 'ENOSPC'});
    expect(failed).toEqual([]);
    expect(await names(dst, '/out')).toEqual([]);
  });

  it('a container removed during the copy: the tree is not put in place', async () => {
    const src = MemoryFs.of({'d/a': 'a', 'd/z': 'z'});
    const dst = new MemoryFs(true);
    await dst.mkdir('/out');
    await expect(copyEntry({fs: src, path: '/d'}, {fs: dst, path: '/out/d'},
      {preserve: false, progress: new Progress(), failed: () => undefined, stillThere: async () => false})).rejects.toMatchObject({code: 'ESTALE'});
    expect(await names(dst, '/out')).toEqual([]);
  });

  it('a tree removed whole forgets the hard links made in it: a later source\'s member is copied on its own', async () => {
    const src = MemoryFs.of({'s1/x': 'x', 's1/full': 'f', 's2/keep': 'k'});
    await src.link('/s1/x', '/s2/y');
    const dst = new Full(true);
    await dst.mkdir('/out');
    const links = new LinkGroups(true);
    const options: CopyOptions = {preserve: ['links'], links, progress: new Progress(), failed: () => undefined};
    await expect(copyEntry({fs: src, path: '/s1'}, {fs: dst, path: '/out/s1'}, options)).rejects.toMatchObject({code: 'ENOSPC'});
    await copyEntry({fs: src, path: '/s2'}, {fs: dst, path: '/out/s2'}, options);
    expect(await names(dst, '/out')).toEqual(['s2', 's2/keep', 's2/y']);
    expect(await text(dst, '/out/s2/y')).toBe('x');
  });
});
