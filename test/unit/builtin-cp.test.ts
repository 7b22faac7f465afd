// cp over the in-memory filesystem: exact messages and statuses, and the resulting tree (a file,
// -r, onto an existing file, into a directory, -p, errors), with nothing left behind (no
// temporary of the copy in any directory it wrote to).
import {describe, expect, it} from 'vitest';
import {text} from '../integration/contract-cases.js';
import {runOver} from './builtin-run.js';
import {MemoryFs} from './memory-fs.js';

const T = 1_600_000_000;
const tree = (): MemoryFs => MemoryFs.of({
  'home/a.txt': {text: 'alpha\n', mode: 0o600, mtime: T},
  'home/b.txt': {text: 'beta\n', mode: 0o600, uid: 1000, gid: 1000, mtime: T},
  'home/sub/x': {text: 'x\n', mode: 0o600},
  'home/sub/deep/y': 'y\n',
  'home/sub/ln': {symlink: 'x'},
}, true);

const names = async (fs: MemoryFs, dir: string): Promise<string[]> => (await fs.readdir(dir)).map((e) => e.name).sort();
const ok = {stdout: '', stderr: '', status: 0};

describe('cp (memory fs)', () => {
  it('copies a file to a new name, with its mode', async () => {
    const fs = tree();
    expect(await runOver(fs, ['cp', 'a.txt', 'c.txt'], '/home')).toEqual(ok);
    expect(await text(fs, '/home/c.txt')).toBe('alpha\n');
    expect((await fs.stat('/home/c.txt')).mode & 0o7777).toBe(0o600);
    expect(await names(fs, '/home')).toEqual(['a.txt', 'b.txt', 'c.txt', 'sub']);
  });

  it('onto an existing file: its bytes replaced, nothing else left', async () => {
    const fs = tree();
    expect(await runOver(fs, ['cp', '/home/a.txt', '/home/b.txt'])).toEqual(ok);
    expect(await text(fs, '/home/b.txt')).toBe('alpha\n');
    expect(await names(fs, '/home')).toEqual(['a.txt', 'b.txt', 'sub']);
  });

  it('into a directory, several sources', async () => {
    const fs = tree();
    expect(await runOver(fs, ['cp', 'a.txt', 'b.txt', 'sub'], '/home')).toEqual(ok);
    expect(await names(fs, '/home/sub')).toEqual(['a.txt', 'b.txt', 'deep', 'ln', 'x']);
  });

  it('-r copies a tree (links as links); -p keeps owner and times', async () => {
    const fs = tree();
    expect(await runOver(fs, ['cp', '-r', 'sub', 'copy'], '/home')).toEqual(ok);
    expect(await names(fs, '/home')).toEqual(['a.txt', 'b.txt', 'copy', 'sub']);
    expect(await names(fs, '/home/copy')).toEqual(['deep', 'ln', 'x']);
    expect(await text(fs, '/home/copy/deep/y')).toBe('y\n');
    expect(await fs.readlink('/home/copy/ln')).toBe('x');
    expect(await runOver(fs, ['cp', '-p', 'b.txt', 'kept'], '/home')).toEqual(ok);
    expect(await fs.stat('/home/kept')).toMatchObject({uid: 1000, gid: 1000, mtime: {sec: T, nsec: 0}});
  });

  it('-r into an existing directory nests the tree there', async () => {
    const fs = tree();
    await fs.mkdir('/home/dest');
    expect(await runOver(fs, ['cp', '-r', '/home/sub', '/home/dest'])).toEqual(ok);
    expect(await names(fs, '/home/dest/sub')).toEqual(['deep', 'ln', 'x']);
  });

  it('errors: GNU messages, status 1, nothing written', async () => {
    const fs = tree();
    expect(await runOver(fs, ['cp', 'nope', 'z'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: cannot stat 'nope': No such file or directory\n"});
    expect(await runOver(fs, ['cp', 'sub', 'z'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: -r not specified; omitting directory 'sub'\n"});
    expect(await runOver(fs, ['cp', 'a.txt', 'b.txt', 'a.txt'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: target 'a.txt': Not a directory\n"});
    expect(await runOver(fs, ['cp', 'a.txt', 'a.txt'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: 'a.txt' and 'a.txt' are the same file\n"});
    expect(await runOver(fs, ['cp', '-r', 'sub', 'sub/deep'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: cannot copy a directory, 'sub', into itself, 'sub/deep/sub'\n"});
    // GNU says "cannot create regular file 'no/where'" (issue 12, the gnu branch's to change).
    expect(await runOver(fs, ['cp', 'a.txt', 'no/where'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: cannot copy 'a.txt' to 'no/where': No such file or directory\n"});
    expect(await runOver(fs, ['cp', 'a.txt', 'b.txt/x'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: cannot stat 'b.txt/x': Not a directory\n"}); // GNU cp 9.1's words
    expect(await names(fs, '/home')).toEqual(['a.txt', 'b.txt', 'sub']);
    expect(await names(fs, '/home/sub/deep')).toEqual(['y']);
  });

  it('interrupted while it reads (the read stalls until then): status 130, nothing left at the destination', async () => {
    let reached = (): void => undefined;
    const fs = MemoryFs.of({'home/big': 'never read\n', 'home/sub/y': 'y\n', dst: {dir: true}}, true,
      {stall: (path) => path === '/home/big' && (reached(), true)});
    for (const argv of [['cp', 'big', 'out'], ['cp', '-r', '/home', '/dst/copy']]) {
      const reading = new Promise<void>((resolve) => (reached = resolve));
      const interrupt = new AbortController();
      const run = runOver(fs, argv, '/home', {}, interrupt.signal);
      await reading;
      interrupt.abort();
      expect(await run).toEqual({stdout: '', status: 130, stderr: 'cp: interrupted; nothing was left at the destination\n'});
      expect(await names(fs, '/home')).toEqual(['big', 'sub']);
      expect(await names(fs, '/home/sub')).toEqual(['y']);
      expect(await names(fs, '/dst')).toEqual([]);
    }
  });

  it('usage errors: status 1 (as GNU cp) and a hint', async () => {
    expect(await runOver(tree(), ['cp'])).toEqual({stdout: '', status: 1,
      stderr: "cp: missing file operand\nTry 'help cp' for more information.\n"});
    expect(await runOver(tree(), ['cp', 'a'])).toEqual({stdout: '', status: 1,
      stderr: "cp: missing destination file operand after 'a'\nTry 'help cp' for more information.\n"});
  });
});
