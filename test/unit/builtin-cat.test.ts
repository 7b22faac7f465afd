// cat over the in-memory filesystem: exact output, messages and statuses.
import {describe, expect, it} from 'vitest';
import {runOver} from './builtin-run.js';
import {MemoryFs} from './memory-fs.js';

const tree = (): MemoryFs => MemoryFs.of({
  'home/a.txt': 'alpha\n',
  'home/b.txt': 'beta',
  'home/link': {symlink: 'a.txt'},
  'home/dir/x': 'x',
  'home/dangling': {symlink: 'nowhere'},
}, true);

describe('cat (memory fs)', () => {
  it('concatenates files in order, relative to the cwd, through links', async () => {
    expect(await runOver(tree(), ['cat', 'a.txt', '/home/b.txt', 'link'], '/home')).toEqual({stdout: 'alpha\nbetaalpha\n', stderr: '', status: 0});
  });

  it('reports each bad operand as GNU cat does and goes on, status 1', async () => {
    const r = await runOver(tree(), ['cat', 'nope', 'dir', 'a.txt', 'dangling', 'a.txt/x'], '/home');
    expect(r).toEqual({stdout: 'alpha\n', status: 1, stderr:
      'cat: nope: No such file or directory\ncat: dir: Is a directory\ncat: dangling: No such file or directory\ncat: a.txt/x: Not a directory\n'});
  });

  it('a name with controls is quoted, never printed raw', async () => {
    const r = await runOver(tree(), ['cat', 'bad\x1b]0;x'], '/home');
    expect(r.stderr).toBe("cat: 'bad'$'\\033'']0;x': No such file or directory\n");
    expect(r.status).toBe(1);
  });

  it('no operand and `-` read stdin (empty here)', async () => {
    expect(await runOver(tree(), ['cat'])).toEqual({stdout: '', stderr: '', status: 0});
    expect(await runOver(tree(), ['cat', '-', '/home/b.txt'])).toEqual({stdout: 'beta', stderr: '', status: 0});
  });
});
