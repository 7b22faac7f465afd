// ls over the in-memory filesystem: exact output, messages and statuses (-l, -a, -1, errors).
import {beforeAll, afterAll, describe, expect, it} from 'vitest';
import {runOver} from './builtin-run.js';
import {MemoryFs} from './memory-fs.js';

const T = 1_600_000_000; // 2020-09-13 12:26:40 UTC: older than six months, so ls shows the year
const tree = (): MemoryFs => {
  const fs = MemoryFs.of({
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:1000:\n',
    'home/b.txt': {text: 'beta\n', mode: 0o600, uid: 1000, gid: 1000, mtime: T},
    'home/a.txt': {text: 'alpha\n', mode: 0o644, mtime: T},
    'home/.hidden': {text: '', mtime: T},
    'home/link': {symlink: 'a.txt'},
    'home/sub/x': 'x',
  }, true, {now: () => T * 1000});
  return fs;
};

describe('ls (memory fs)', () => {
  let tz: string | undefined;
  beforeAll(() => {
    tz = process.env['TZ'];
    process.env['TZ'] = 'UTC';
  });
  afterAll(() => {
    if (tz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = tz;
  });

  it('-1 lists one name a line, sorted, hidden names left out; -a shows them with . and ..', async () => {
    expect(await runOver(tree(), ['ls', '-1', '/home'])).toEqual({stdout: 'a.txt\nb.txt\nlink\nsub\n', stderr: '', status: 0});
    expect((await runOver(tree(), ['ls', '-1a'], '/home')).stdout).toBe('.\n..\n.hidden\na.txt\nb.txt\nlink\nsub\n');
  });

  it('without a terminal, names go one a line too', async () => {
    expect((await runOver(tree(), ['ls', 'home'])).stdout).toBe('a.txt\nb.txt\nlink\nsub\n');
  });

  it('-l: mode, links, owner and group names from the filesystem\'s own files, size, time, link targets', async () => {
    const r = await runOver(tree(), ['ls', '-l', '/home']);
    expect(r).toEqual({status: 0, stderr: '', stdout: [
      'total 16',
      '-rw-r--r-- 1 root root    6 Sep 13  2020 a.txt',
      '-rw------- 1 app  app     5 Sep 13  2020 b.txt',
      'lrwxrwxrwx 1 root root    5 Sep 13  2020 link -> a.txt',
      'drwxr-xr-x 2 root root 4096 Sep 13  2020 sub',
      ''].join('\n')});
  });

  it('file operands are listed before directories; a missing one is reported, status 2', async () => {
    const r = await runOver(tree(), ['ls', '-1', 'nope', 'sub', 'a.txt'], '/home');
    expect(r).toEqual({status: 2, stderr: "ls: cannot access 'nope': No such file or directory\n", stdout: 'a.txt\n\nsub:\nx\n'});
  });

  it('an unknown option is a usage error', async () => {
    const r = await runOver(tree(), ['ls', '-j']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ls: invalid option -- 'j'\nTry 'help ls' for more information\.\n$/);
    expect(r.status).toBe(2);
  });
});
