// cp over the in-memory filesystem: exact messages and statuses, and the resulting tree (a file,
// -r, onto an existing file, into a directory, -p, errors), with nothing left behind (no
// temporary of the copy in any directory it wrote to).
import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {text} from '../integration/contract-cases.js';
import {runOver} from './builtin-run.js';
import {FsError} from '../../src/errors.js';
import type {ReadRange} from '../../src/vfs/types.js';
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

  it('-v names every entry of a new tree, a directory before its entries; a merge names what it adds, not the directory merged into', async () => {
    const fs = tree();
    const made = await runOver(fs, ['cp', '-rv', 'sub', 'copy'], '/home');
    expect(made.status).toBe(0);
    const lines = made.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe("'sub' -> 'copy'");
    expect(lines.slice(1).sort()).toEqual(["'sub/deep' -> 'copy/deep'", "'sub/deep/y' -> 'copy/deep/y'", "'sub/ln' -> 'copy/ln'", "'sub/x' -> 'copy/x'"]);
    expect(lines.indexOf("'sub/deep' -> 'copy/deep'")).toBe(lines.indexOf("'sub/deep/y' -> 'copy/deep/y'") - 1);
    await fs.remove('/home/copy/x');
    await fs.remove('/home/copy/deep/y');
    const merged = await runOver(fs, ['cp', '-rv', 'sub/.', 'copy'], '/home');
    expect(merged.stdout.split('\n').filter(Boolean).sort()).toEqual(["'sub/./deep/y' -> 'copy/./deep/y'", "'sub/./ln' -> 'copy/./ln'",
      "'sub/./x' -> 'copy/./x'"]);
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

  it('interrupted in a merge, or after earlier operands were copied: the message says what stays', async () => {
    let reached = (): void => undefined;
    const fs = MemoryFs.of({'home/src/a': 'a\n', 'home/src/big': 'never read\n', 'home/one': '1\n', 'dst/src/old': 'old\n', two: {dir: true}}, true,
      {stall: (path) => path === '/home/src/big' && (reached(), true)});
    const interrupted = async (argv: string[]): Promise<unknown> => {
      const reading = new Promise<void>((resolve) => (reached = resolve));
      const interrupt = new AbortController();
      const run = runOver(fs, argv, '/home', {}, interrupt.signal);
      await reading;
      interrupt.abort();
      return run;
    };
    // /dst/src exists: a merge, which keeps what it had put in place.
    expect(await interrupted(['cp', '-r', 'src', '/dst'])).toEqual({stdout: '', status: 130,
      stderr: "cp: interrupted; what was already copied into '/dst/src' stays there, nothing half-made\n"});
    expect(await names(fs, '/dst/src')).toEqual(['a', 'old']);
    // An earlier operand was copied: it stays, and the message does not say nothing was left.
    expect(await interrupted(['cp', '-r', 'one', 'src', '/two'])).toEqual({stdout: '', status: 130,
      stderr: "cp: interrupted; nothing of 'src' was left at '/two/src' (the operands before it were copied)\n"});
    expect(await names(fs, '/two')).toEqual(['one']);
  });

  it('interrupted in the last step of a write in place (not cut): that file is whole, the operands after it are named as not copied', async () => {
    let reached = (): void => undefined;
    const inLastStep = new Promise<void>((resolve) => (reached = resolve));
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    // The staged bytes are read back into the existing file: that read waits for the test.
    class Gated extends MemoryFs {
      override async createReadStream(path: string, range?: ReadRange): Promise<Readable> {
        if (path.includes('.dbox-')) {
          reached();
          await gate;
        }
        return super.createReadStream(path, range);
      }
    }
    const fs = new Gated(true);
    for (const [path, text] of [['/home/big', 'new\n'], ['/home/two', '2\n'], ['/dst/big', 'old\n']] as const) fs.seed(path, text);
    const interrupt = new AbortController();
    const run = runOver(fs, ['cp', 'big', 'two', '/dst'], '/home', {}, interrupt.signal);
    await inLastStep;
    interrupt.abort();
    open();
    expect(await run).toEqual({stdout: '', status: 130, stderr: "cp: interrupted; 'two' and what follows it were not copied\n"});
    expect(await text(fs, '/dst/big')).toBe('new\n');
    expect(await names(fs, '/dst')).toEqual(['big']);
  });

  it('from the host, a link at the destination that leads nowhere is not written through (alone or in a merge)', async () => {
    const fs = MemoryFs.of({'home/a': 'a\n', 'home/out': {symlink: '/planted/created'}, 'home/s/f': 'f\n', 'home/d/s/f': {symlink: '/planted/f'}, planted: {dir: true}}, true);
    expect(await runOver(fs, ['cp', 'a', 'out'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: not writing through dangling symlink 'out'\n"});
    expect(await runOver(fs, ['cp', '-r', 's', 'd'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: not writing through dangling symlink 'd/s/f'\n"});
    expect(await runOver(fs, ['cp', '-rn', 's', 'd'], '/home')).toEqual({stdout: '', status: 1,
      stderr: "cp: not writing through dangling symlink 'd/s/f'\n"}); // -n keeps what is there: not a link that leads nowhere (GNU)
    expect(await names(fs, '/planted')).toEqual([]);
  });

  it('in a merge, -n keeps each file already there, -u one as new as the source, -i asks for each', async () => {
    const fresh = (): MemoryFs => MemoryFs.of({'home/s/f': {text: 'new\n', mtime: 100}, 'home/s/g': {text: 'new\n', mtime: 100},
      'home/d/s/f': {text: 'old\n', mtime: 200}, 'home/d/s/g': {text: 'old\n', mtime: 50}}, true);
    let fs = fresh();
    expect(await runOver(fs, ['cp', '-rn', 's', 'd'], '/home')).toEqual({stdout: '', status: 0, stderr: ''});
    expect([await text(fs, '/home/d/s/f'), await text(fs, '/home/d/s/g')]).toEqual(['old\n', 'old\n']);
    fs = fresh();
    expect(await runOver(fs, ['cp', '-ru', 's', 'd'], '/home')).toMatchObject({status: 0});
    expect([await text(fs, '/home/d/s/f'), await text(fs, '/home/d/s/g')]).toEqual(['old\n', 'new\n']);
    fs = fresh();
    const r = await runOver(fs, ['cp', '-ri', 's', 'd'], '/home', {}, undefined, {stdin: 'n\ny\n'});
    expect(r.stderr.match(/cp: overwrite 'd\/s\/[fg]'\? /g)).toHaveLength(2);
    expect([await text(fs, '/home/d/s/f'), await text(fs, '/home/d/s/g')].sort()).toEqual(['new\n', 'old\n']);
  });

  it('on a terminal, a message said while the progress line is drawn starts at the margin, not glued to the line', async () => {
    // The clock jumps past the line's delay; the second look at it is a tick that draws the line,
    // and only then does the read of `b` fail (the order is made, not raced).
    let looks = 0;
    let drawn = (): void => undefined;
    const wasDrawn = new Promise<void>((resolve) => (drawn = resolve));
    const now = (): number => (++looks === 2 && setImmediate(drawn), 1_000_000 + (looks > 1 ? 1_000 : 0));
    class Failing extends MemoryFs {
      override async createReadStream(path: string, range?: ReadRange): Promise<Readable> {
        if (path !== '/home/src/b') return super.createReadStream(path, range);
        await wasDrawn;
        throw new FsError('EACCES', path);
      }
    }
    const fs = new Failing(true);
    fs.seed('/home/src/a', 'a\n');
    fs.seed('/home/src/b', 'b\n');
    const r = await runOver(fs, ['cp', '-r', 'src', 'dst'], '/home', {}, undefined, {now, stderrTTY: true});
    expect(r.status).toBe(1);
    const pieces = r.stderr.split('\r\x1b[K');
    expect(pieces.some((p) => /^\d/.test(p))).toBe(true); // the line was drawn (it starts with a size)
    expect(pieces.filter((p) => p.includes('cp: '))).toEqual(["cp: cannot copy 'src/b' to 'dst/b': Permission denied\n"]);
    expect(await names(fs, '/home/dst')).toEqual(['a']);
  });

  it('interrupted while it copies onto an existing file: the old file whole (the bytes are staged before they are written in place)', async () => {
    let reached = (): void => undefined;
    const fs = MemoryFs.of({'home/big': 'never read\n', 'home/old': 'old\n'}, true, {stall: (path) => path === '/home/big' && (reached(), true)});
    const reading = new Promise<void>((resolve) => (reached = resolve));
    const interrupt = new AbortController();
    const run = runOver(fs, ['cp', 'big', 'old'], '/home', {}, interrupt.signal);
    await reading;
    interrupt.abort();
    expect(await run).toEqual({stdout: '', status: 130,
      stderr: "cp: interrupted; 'old' was left as it was\n"});
    expect(await names(fs, '/home')).toEqual(['big', 'old']);
    expect(await text(fs, '/home/old')).toBe('old\n');
  });

  it('usage errors: status 1 (as GNU cp) and a hint', async () => {
    expect(await runOver(tree(), ['cp'])).toEqual({stdout: '', status: 1,
      stderr: "cp: missing file operand\nTry 'help cp' for more information.\n"});
    expect(await runOver(tree(), ['cp', 'a'])).toEqual({stdout: '', status: 1,
      stderr: "cp: missing destination file operand after 'a'\nTry 'help cp' for more information.\n"});
  });
});

describe('cp as GNU cp 9.1 (memory fs)', () => {
  const run = (fs: MemoryFs, argv: string[], stdin = ''): ReturnType<typeof runOver> =>
    runOver(fs, argv, '/home', {}, new AbortController().signal, {stdin});

  it('onto an existing file: written in place (inode, hard links, mode and owner kept); -p sets mode and owner', async () => {
    const fs = tree();
    await fs.link('/home/b.txt', '/home/b-link');
    const before = await fs.stat('/home/b.txt');
    expect(await run(fs, ['cp', 'a.txt', 'b.txt'])).toEqual(ok);
    const after = await fs.stat('/home/b.txt');
    expect(after).toMatchObject({ino: before.ino, uid: 1000, gid: 1000, nlink: 2});
    expect(await text(fs, '/home/b-link')).toBe('alpha\n');
    await fs.chmod('/home/b.txt', 0o640);
    expect(await run(fs, ['cp', 'a.txt', 'b.txt'])).toEqual(ok);
    expect((await fs.stat('/home/b.txt')).mode & 0o7777).toBe(0o640);
    expect(await run(fs, ['cp', '-p', 'a.txt', 'b.txt'])).toEqual(ok);
    expect(await fs.stat('/home/b.txt')).toMatchObject({ino: before.ino, uid: 0, gid: 0, mode: 0o100600, mtime: {sec: T, nsec: 0}});
    expect(await names(fs, '/home')).toEqual(['a.txt', 'b-link', 'b.txt', 'sub']);
  });

  it('--remove-destination: a new file; the old inode keeps its bytes under its other name', async () => {
    const fs = tree();
    await fs.link('/home/b.txt', '/home/b-link');
    const before = await fs.stat('/home/b.txt');
    expect(await run(fs, ['cp', '--remove-destination', 'a.txt', 'b.txt'])).toEqual(ok);
    expect((await fs.stat('/home/b.txt')).ino).not.toBe(before.ino);
    expect(await text(fs, '/home/b.txt')).toBe('alpha\n');
    expect(await text(fs, '/home/b-link')).toBe('beta\n');
  });

  it('-a keeps hard links inside a tree and between the names given; -r and --no-preserve=links do not', async () => {
    const fs = tree();
    await fs.link('/home/sub/x', '/home/sub/deep/x2');
    await fs.mkdir('/home/out');
    expect(await run(fs, ['cp', '-a', 'sub', 'a.txt', 'out'])).toEqual(ok);
    expect((await fs.stat('/home/out/sub/x')).ino).toBe((await fs.stat('/home/out/sub/deep/x2')).ino);
    expect((await fs.stat('/home/out/sub/x')).nlink).toBe(2);
    expect(await run(fs, ['cp', '-r', 'sub', 'r'])).toEqual(ok);
    expect((await fs.stat('/home/r/x')).ino).not.toBe((await fs.stat('/home/r/deep/x2')).ino);
    await fs.link('/home/a.txt', '/home/a2');
    await fs.mkdir('/home/two');
    expect(await run(fs, ['cp', '-a', 'a.txt', 'a2', 'two'])).toEqual(ok);
    expect((await fs.stat('/home/two/a.txt')).ino).toBe((await fs.stat('/home/two/a2')).ino);
    await fs.mkdir('/home/three');
    expect(await run(fs, ['cp', '-a', '--no-preserve=links', 'a.txt', 'a2', 'three'])).toEqual(ok);
    expect((await fs.stat('/home/three/a.txt')).ino).not.toBe((await fs.stat('/home/three/a2')).ino);
  });

  it('a hard-link group whose member is a symlink to outside: linked as a link, never followed', async () => {
    const fs = MemoryFs.of({'home/t/l': {symlink: '/etc/secret'}, 'etc/secret': 'host\n'}, false);
    await fs.link('/home/t/l', '/home/t/l2');
    expect(await run(fs, ['cp', '-a', 't', 'c'])).toEqual(ok);
    expect(await fs.readlink('/home/c/l')).toBe('/etc/secret');
    expect((await fs.lstat('/home/c/l2')).ino).toBe((await fs.lstat('/home/c/l')).ino);
    expect((await fs.stat('/etc/secret')).nlink).toBe(1);
  });

  it('a first copy replaced before its group is linked to it: refused, nothing linked to what replaced it', async () => {
    const fs = MemoryFs.of({'home/t/a': 'one\n', 'etc/secret': 'secret\n'}, false);
    await fs.link('/home/t/a', '/home/t/b');
    await fs.mkdir('/home/out');
    // The race made deterministic: just before the second member is linked, its first copy is swapped.
    const link = fs.link.bind(fs);
    fs.link = async (from: string, to: string): Promise<void> => {
      if (from === '/home/out/a') {
        await fs.unlink(from);
        await link('/etc/secret', from);
      }
      return link(from, to);
    };
    const r = await run(fs, ['cp', '-a', 't/a', 't/b', 'out']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^cp: cannot copy 't\/b' to 'out\/b': Stale file handle/);
    expect(await names(fs, '/home/out')).toEqual(['a']);
    expect((await fs.stat('/etc/secret')).nlink).toBe(2); // only the swap's own link
  });

  it('-i asks on stderr and reads one line per question (y overwrites, anything else skips); the last of -i and -n wins', async () => {
    const fs = tree();
    await fs.mkdir('/home/d');
    await fs.writeFile('/home/d/a.txt', Readable.from([Buffer.from('old a\n')]), {mode: 0o644});
    await fs.writeFile('/home/d/b.txt', Readable.from([Buffer.from('old b\n')]), {mode: 0o644});
    expect(await run(fs, ['cp', '-i', 'a.txt', 'b.txt', 'd'], 'y\nn\n')).toEqual({stdout: '', status: 0,
      stderr: "cp: overwrite 'd/a.txt'? cp: overwrite 'd/b.txt'? "});
    expect(await text(fs, '/home/d/a.txt')).toBe('alpha\n');
    expect(await text(fs, '/home/d/b.txt')).toBe('old b\n');
    expect(await run(fs, ['cp', '-i', 'b.txt', 'd'])).toEqual({stdout: '', status: 0, stderr: "cp: overwrite 'd/b.txt'? "});
    expect(await run(fs, ['cp', '-i', '-n', 'b.txt', 'd'], 'y\n')).toEqual(ok);
    expect(await text(fs, '/home/d/b.txt')).toBe('old b\n');
    expect(await run(fs, ['cp', '-n', '-i', 'b.txt', 'd'], 'yes\n')).toEqual({stdout: '', status: 0, stderr: "cp: overwrite 'd/b.txt'? "});
    expect(await text(fs, '/home/d/b.txt')).toBe('beta\n');
    expect(await run(fs, ['cp', '-i', 'a.txt', 'new'])).toEqual(ok);
  });

  it('-L, -H and -P: which symlinks are followed (in the filesystem\'s root)', async () => {
    const fs = MemoryFs.of({'home/f': 'file\n', 'home/d/in': {symlink: '/home/f'}, 'home/ld': {symlink: 'd'}, 'home/lf': {symlink: 'f'}});
    expect(await run(fs, ['cp', 'lf', 'c1'])).toEqual(ok);
    expect((await fs.lstat('/home/c1')).mode & 0o170000).toBe(0o100000);
    expect(await run(fs, ['cp', '-P', 'lf', 'c2'])).toEqual(ok);
    expect(await fs.readlink('/home/c2')).toBe('f');
    expect(await run(fs, ['cp', '-r', 'ld', 'c3'])).toEqual(ok);
    expect(await fs.readlink('/home/c3')).toBe('d');
    expect(await run(fs, ['cp', '-rH', 'ld', 'c4'])).toEqual(ok);
    expect(await fs.readlink('/home/c4/in')).toBe('/home/f');
    expect(await run(fs, ['cp', '-rL', 'ld', 'c5'])).toEqual(ok);
    expect(await text(fs, '/home/c5/in')).toBe('file\n');
    expect((await fs.lstat('/home/c5/in')).mode & 0o170000).toBe(0o100000);
  });

  it('-rL: a link to a directory above itself is a cycle, a dangling link cannot be stat-ed; each said as GNU, the rest copied', async () => {
    const fs = MemoryFs.of({'other/d/f': 'x', 'other/d/self': {symlink: '.'}, 'other/d/dang': {symlink: 'nowhere'}, 'home/x': 'x'});
    expect(await runOver(fs, ['cp', '-rL', 'd', '/home/c'], '/other')).toEqual({stdout: '', status: 1,
      stderr: "cp: cannot copy cyclic symbolic link 'd/self'\ncp: cannot stat 'd/dang': No such file or directory\n"});
    expect(await names(fs, '/home/c')).toEqual(['f']);
  });

  it('-l and -s link instead of copying; onto an existing file only with -f', async () => {
    const fs = tree();
    expect(await run(fs, ['cp', '-l', 'a.txt', 'hl'])).toEqual(ok);
    expect((await fs.stat('/home/hl')).ino).toBe((await fs.stat('/home/a.txt')).ino);
    expect(await run(fs, ['cp', '-s', 'a.txt', 'sl'])).toEqual(ok);
    expect(await fs.readlink('/home/sl')).toBe('a.txt');
    expect(await run(fs, ['cp', '-s', 'a.txt', 'sub/'])).toEqual({stdout: '', status: 1,
      stderr: 'cp: sub/a.txt: can make relative symbolic links only in current directory\n'});
    expect(await run(fs, ['cp', '-s', '/home/a.txt', 'sub/'])).toEqual(ok);
    expect(await fs.readlink('/home/sub/a.txt')).toBe('/home/a.txt');
    expect(await run(fs, ['cp', '-l', 'a.txt', 'b.txt'])).toEqual({stdout: '', status: 1,
      stderr: "cp: cannot create hard link 'b.txt' to 'a.txt': File exists\n"});
    expect(await run(fs, ['cp', '-lf', 'a.txt', 'b.txt'])).toEqual(ok);
    expect((await fs.stat('/home/b.txt')).ino).toBe((await fs.stat('/home/a.txt')).ino);
    expect(await run(fs, ['cp', '-rl', 'sub', 'hsub'])).toEqual(ok);
    expect((await fs.stat('/home/hsub/deep/y')).ino).toBe((await fs.stat('/home/sub/deep/y')).ino);
  });

  it('--parents: the source\'s whole name under the directory', async () => {
    const fs = tree();
    await fs.mkdir('/home/out');
    expect(await run(fs, ['cp', '--parents', 'sub/deep/y', 'out'])).toEqual(ok);
    expect(await text(fs, '/home/out/sub/deep/y')).toBe('y\n');
    expect(await run(fs, ['cp', '--parents', 'a.txt', 'b.txt'])).toEqual({stdout: '', status: 1,
      stderr: "cp: with --parents, the destination must be a directory\nTry 'help cp' for more information.\n"});
  });

  it('bad values: GNU\'s argmatch messages; --help', async () => {
    expect(await run(tree(), ['cp', '--preserve=bogus', 'a.txt', 'x'])).toEqual({stdout: '', status: 1,
      stderr: "cp: invalid argument 'bogus' for '--preserve'\nValid arguments are:\n  - 'mode'\n  - 'timestamps'\n  - 'ownership'\n" +
        "  - 'links'\n  - 'context'\n  - 'xattr'\n  - 'all'\nTry 'help cp' for more information.\n"});
    expect(await run(tree(), ['cp', '--sparse=x', 'a.txt', 'x'])).toEqual({stdout: '', status: 1,
      stderr: "cp: invalid argument 'x' for '--sparse'\nValid arguments are:\n  - 'never'\n  - 'auto'\n  - 'always'\n" +
        "Try 'help cp' for more information.\n"});
    const help = await run(tree(), ['cp', '--help']);
    expect(help.status).toBe(0);
    for (const o of ['-i,', '-L,', '-P,', '-H ', '-l,', '-s,', '-x,', '--parents', '--sparse=WHEN', '--preserve[=LIST]', '--no-preserve=LIST',
      '--remove-destination']) expect(help.stdout).toContain(o);
  });

  it('--preserve=LIST keeps what it names, in order with --no-preserve', async () => {
    const fs = tree();
    expect(await run(fs, ['cp', '--preserve=timestamps', 'b.txt', 't1'])).toEqual(ok);
    expect(await fs.stat('/home/t1')).toMatchObject({uid: 0, mtime: {sec: T, nsec: 0}});
    expect(await run(fs, ['cp', '--preserve=ownership', 'b.txt', 't2'])).toEqual(ok);
    expect((await fs.stat('/home/t2')).uid).toBe(1000);
    expect((await fs.stat('/home/t2')).mtime.sec).not.toBe(T);
    expect(await run(fs, ['cp', '-p', '--no-preserve=ownership', 'b.txt', 't3'])).toEqual(ok);
    expect(await fs.stat('/home/t3')).toMatchObject({uid: 0, mtime: {sec: T, nsec: 0}});
  });
});
