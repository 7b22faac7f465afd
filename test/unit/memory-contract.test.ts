// The ContainerFs contract (the cases the local, engine and agent drivers pass on a real container,
// test/integration/contract-cases.ts) against the in-memory filesystem the builtins' unit tests
// use: where the fake and the real drivers could disagree, this suite says so. Plus what the
// contract does not reach: in-root resolution of `..` and absolute links, ELOOP, rename's errors.
import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {changeCases, code, CONTRACT_FILES, fileCases, rangesExpected, rangesRead, text} from '../integration/contract-cases.js';
import {MemoryFs, memoryCat, type Seed} from './memory-fs.js';

/** The contract fixture's container: its files, an /etc/passwd and a /tmp. */
const contractFs = (): MemoryFs => MemoryFs.of({
  ...(CONTRACT_FILES as Record<string, Seed>),
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
  tmp: {dir: true},
});

describe('memory fs: the drivers\' contract', () => {
  const shared = contractFs();
  fileCases({driver: 'memory', fs: () => shared, cat: (path) => memoryCat(shared, path)});
  changeCases({driver: 'memory', fs: () => shared, cat: (path) => memoryCat(shared, path)});
  it('reads byte ranges', async () => {
    expect(await rangesRead(shared)).toEqual(rangesExpected);
  });
});

describe('memory fs: in-root resolution', () => {
  const fs = MemoryFs.of({
    'etc/passwd': 'inside\n',
    'a/b/up': {symlink: '../../../../../etc/passwd'},
    'a/b/abs': {symlink: '/etc/passwd'},
    'a/b/root': {symlink: '/'},
    'a/loop1': {symlink: 'loop2'},
    'a/loop2': {symlink: 'loop1'},
    'a/file': 'f',
  });

  it('`..` stops at the root and absolute targets start there', async () => {
    expect(await text(fs, '/a/b/up')).toBe('inside\n');
    expect(await text(fs, '/a/b/abs')).toBe('inside\n');
    expect(await text(fs, '/../../etc/passwd')).toBe('inside\n');
    expect(await text(fs, '/a/b/root/etc/passwd')).toBe('inside\n');
    expect((await fs.readdir('/a/b/root/..')).map((e) => e.name).sort()).toEqual(['a', 'etc']);
  });

  it('POSIX errors: ELOOP, ENOTDIR, EEXIST, EISDIR, EINVAL, ENOENT', async () => {
    expect(await code(fs.stat('/a/loop1'))).toBe('ELOOP');
    expect(await code(fs.lstat('/a/loop1'))).toBe('ok');
    expect(await code(fs.stat('/a/file/x'))).toBe('ENOTDIR');
    expect(await code(fs.symlink('x', '/a/file'))).toBe('EEXIST');
    expect(await code(fs.writeFile('/a', Readable.from([]), {mode: 0o644}))).toBe('EISDIR');
    expect(await code(fs.writeFile('/a/file', Readable.from([]), {mode: 0o644, exclusive: true}))).toBe('EEXIST');
    expect(await code(fs.rename('/a', '/a/b/inside'))).toBe('EINVAL');
    expect(await code(fs.rename('/a', '/a/file'))).toBe('EINVAL'); // into itself, as Linux checks first
    expect(await code(fs.rename('/a/b', '/etc/passwd'))).toBe('ENOTDIR');
    expect(await code(fs.rename('/a/file', '/a/b'))).toBe('EISDIR');
    expect(await code(fs.link('/a', '/x'))).toBe('EPERM');
    expect(await code(fs.mkdir('/nope/x'))).toBe('ENOENT');
    expect(await code(fs.rmdir('/'))).toBe('EBUSY');
  });

  it('a write through a link lands at its target inside the root; a failed source leaves nothing', async () => {
    await fs.writeFile('/a/b/abs', Readable.from([Buffer.from('new\n')]), {mode: 0o644});
    expect(await text(fs, '/etc/passwd')).toBe('new\n');
    const failing = new Readable({read() { this.destroy(new Error('source failed')); }});
    await expect(fs.writeFile('/a/half', failing, {mode: 0o644})).rejects.toThrow('source failed');
    expect(await code(fs.lstat('/a/half'))).toBe('ENOENT');
  });
});
