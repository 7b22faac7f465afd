// ls's GNU 9.1 options over the in-memory filesystem (exact stdout, stderr and status, in
// milliseconds): -L inside the filesystem's own root, -I/--hide, -w, --si, --time-style and
// TIME_STYLE, --color with LS_COLORS (the exact escapes GNU writes) and without it, numeric ids
// right-aligned, the size column over mixed operands; help for ls, cat and cd. The byte-for-byte
// comparison with the real GNU ls is test/integration/gnu-ls-differential.test.ts; this file pins
// the same behaviour where no engine or GNU binary is needed, plus the hostile cases a fake can
// stage exactly (colour never wraps a raw control character, a link never leaves the root).
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {fnmatcher} from '../../src/format/fnmatch.js';
import {colorOf, Painter, parseLsColors} from '../../src/format/ls-colors.js';
import {filevercmp} from '../../src/format/ls-sort.js';
import {strftime} from '../../src/format/strftime.js';
import {textWidth} from '../../src/format/width.js';
import {lsArgs} from '../../builtins/ls-options.js';
import {runOver} from './builtin-run.js';
import {MemoryFs} from './memory-fs.js';

const T = 1_600_000_000; // 2020-09-13 12:26:40 UTC
const tree = async (): Promise<MemoryFs> => {
  const fs = MemoryFs.of({
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:1000:\n',
    'd/a.txt': {text: 'alpha\n', mtime: T},
    'd/b.tar.gz': {text: 'gz', mtime: T},
    'd/run.sh': {text: '#!/bin/sh\n', mode: 0o755, mtime: T},
    'd/nobody': {text: 'n', uid: 4242, gid: 77, mtime: T},
    'd/.dot': {text: '', mtime: T},
    'd/link': {symlink: 'a.txt'},
    'd/orphan': {symlink: 'nowhere'},
    'd/escape': {symlink: '../../../../etc/passwd'},
    'd/sub/x': {text: 'x', mtime: T},
    'd/loop': {symlink: '/d'},
    'ow/.keep': '',
    [`hostile/${'\x1b]0;pwned\x07'}`]: 'x',
  }, true, {now: () => T * 1000});
  await fs.chmod('/ow', 0o40777);
  return fs;
};

describe('ls GNU options (memory fs)', () => {
  let tz: string | undefined;
  beforeAll(() => {
    tz = process.env['TZ'];
    process.env['TZ'] = 'UTC';
  });
  afterAll(() => {
    if (tz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = tz;
  });

  it('-I and --ignore leave names out always; --hide only without -a/-A; a pattern never matches a leading dot by `*`', async () => {
    const fs = await tree();
    expect((await runOver(fs, ['ls', '-I', '*.txt', '--ignore=[a-l]*', '/d'])).stdout).toBe('nobody\norphan\nrun.sh\nsub\n');
    expect((await runOver(fs, ['ls', '--hide=*', '/d'])).stdout).toBe('');
    expect((await runOver(fs, ['ls', '-A', '--hide=*', '/d'])).stdout.split('\n')).toContain('.dot');
    expect((await runOver(fs, ['ls', '-a', '-I*', '/d'])).stdout).toBe('.\n..\n.dot\n');
  });

  it('-L shows what links lead to, resolved inside the filesystem\'s own root (never the host\'s /etc/passwd)', async () => {
    const fs = await tree();
    const r = await runOver(fs, ['ls', '-lL', '/d/escape']);
    const own = (await fs.stat('/etc/passwd')).size;
    expect(r.stdout).toMatch(new RegExp(`^-rw-r--r-- 1 root root ${own} Sep 13  2020 /d/escape\\n$`));
    // A link to nowhere: reported as GNU does, listed with its type and `?`, status 1.
    const d = await runOver(fs, ['ls', '-lL', '/d']);
    expect(d.stderr).toBe("ls: cannot access '/d/orphan': No such file or directory\n");
    expect(d.stdout).toContain('l????????? ? ?    ?       ?            ? orphan\n');
    expect(d.status).toBe(1);
  });

  it('-L -R does not enter a directory again through a link to its ancestor', async () => {
    const r = await runOver(await tree(), ['ls', '-LR', '-I', 'orphan', '/d']);
    expect(r.stderr).toBe("ls: /d/loop: not listing already-listed directory\n");
    expect(r.status).toBe(2);
    expect(r.stdout).toContain('/d/sub:\nx\n');
  });

  it('numeric ids are right-aligned, names left-aligned (GNU format_user_or_group)', async () => {
    const r = await runOver(await tree(), ['ls', '-l', '/d/a.txt', '/d/nobody']);
    expect(r.stdout).toBe('-rw-r--r-- 1 root root 6 Sep 13  2020 /d/a.txt\n-rw-r--r-- 1 4242   77 1 Sep 13  2020 /d/nobody\n');
  });

  it('the size column of file operands is as wide as a directory operand\'s size', async () => {
    const r = await runOver(await tree(), ['ls', '-l', '/d/a.txt', '/d/sub']);
    expect(r.stdout.split('\n')[0]).toBe('-rw-r--r-- 1 root root    6 Sep 13  2020 /d/a.txt');
  });

  it('--time-style and TIME_STYLE (the option wins; --full-time is full-iso; posix- is the locale style in C)', async () => {
    const fs = await tree();
    const line = async (args: string[], env: Record<string, string> = {}): Promise<string> =>
      (await runOver(fs, ['ls', '-l', ...args, '/d/a.txt'], '/', env)).stdout;
    expect(await line(['--time-style=long-iso'])).toBe('-rw-r--r-- 1 root root 6 2020-09-13 12:26 /d/a.txt\n');
    expect(await line(['--time-style=iso'])).toBe('-rw-r--r-- 1 root root 6 2020-09-13  /d/a.txt\n');
    expect(await line(['--time-style=+%s|%N'])).toBe('-rw-r--r-- 1 root root 6 1600000000|000000000 /d/a.txt\n');
    expect(await line([], {TIME_STYLE: 'full-iso'})).toBe('-rw-r--r-- 1 root root 6 2020-09-13 12:26:40.000000000 +0000 /d/a.txt\n');
    expect(await line(['--time-style=locale'], {TIME_STYLE: 'full-iso'})).toBe('-rw-r--r-- 1 root root 6 Sep 13  2020 /d/a.txt\n');
    expect(await line([], {TIME_STYLE: 'posix-iso', LC_ALL: 'C'})).toBe('-rw-r--r-- 1 root root 6 Sep 13  2020 /d/a.txt\n');
    const bad = await runOver(fs, ['ls', '-l', '--time-style=nope', '/d']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^ls: invalid argument ‘nope’ for ‘time style’\nValid arguments are:\n {2}- \[posix-\]full-iso\n/);
  });

  it('a time no calendar holds (a container may set any value) is its seconds, as GNU prints what localtime cannot convert', async () => {
    const fs = await tree();
    await fs.utimes('/d/a.txt', {sec: 0, nsec: 0}, {sec: 2 ** 62, nsec: 0}, true);
    await fs.utimes('/d/run.sh', {sec: 0, nsec: 0}, {sec: -(2 ** 53), nsec: 0}, true);
    const r = await runOver(fs, ['ls', '-l', '/d/a.txt', '/d/run.sh']);
    expect(r.stdout).toBe('-rw-r--r-- 1 root root  6 4611686018427387904 /d/a.txt\n-rwxr-xr-x 1 root root 10 -9007199254740992 /d/run.sh\n');
  });

  it('--sort=width orders by the shown width, then by name; --indicator-style=none undoes -F', async () => {
    const fs = MemoryFs.of({'ccc': '', 'a': '', 'bb': '', 'zz': {text: '', mode: 0o755}}, true);
    expect((await runOver(fs, ['ls', '--sort=width', '/'])).stdout).toBe('a\nbb\nzz\nccc\n');
    expect((await runOver(fs, ['ls', '-F', '--indicator-style=none', '/'])).stdout).toBe('a\nbb\nccc\nzz\n');
  });

  it('--si sizes in powers of 1000 (k), -h in powers of 1024 (K); the total too', async () => {
    const fs = MemoryFs.of({'big': 'x'.repeat(5000)}, true);
    expect((await runOver(fs, ['ls', '-l', '--si', '/big'])).stdout).toMatch(/ 5\.0k /);
    expect((await runOver(fs, ['ls', '-lh', '/big'])).stdout).toMatch(/ 4\.9K /);
  });

  it('-w sets the line length (0: one line), COLUMNS otherwise; a bad width is GNU\'s error', async () => {
    const fs = MemoryFs.of({'aaaaaaaaaa': '', 'bbbbbbbbbb': '', 'cccccccccc': ''}, true);
    expect((await runOver(fs, ['ls', '-C', '-w', '30', '/'])).stdout).toBe('aaaaaaaaaa  cccccccccc\nbbbbbbbbbb\n');
    expect((await runOver(fs, ['ls', '-Cw0', '/'])).stdout).toBe('aaaaaaaaaa  bbbbbbbbbb  cccccccccc\n');
    expect((await runOver(fs, ['ls', '-C', '/'], '/', {COLUMNS: '30'})).stdout).toBe('aaaaaaaaaa  cccccccccc\nbbbbbbbbbb\n');
    expect(await runOver(fs, ['ls', '-w', 'x', '/'])).toEqual({stdout: '', stderr: 'ls: invalid line width: ‘x’\n', status: 2});
    const warned = await runOver(fs, ['ls', '-C', '/'], '/', {COLUMNS: 'wide'});
    expect(warned.stderr).toBe('ls: ignoring invalid width in environment variable COLUMNS: ‘wide’\n');
  });

  it('--color=always with GNU\'s defaults: a reset first, each name in its colour, no tabs', async () => {
    const r = await runOver(await tree(), ['ls', '--color=always', '/d'], '/', {TERM: 'xterm'});
    expect(r.stdout).toBe('a.txt\nb.tar.gz\n\x1b[0m\x1b[01;36mescape\x1b[0m\n\x1b[01;36mlink\x1b[0m\n\x1b[01;36mloop\x1b[0m\n' +
      'nobody\n\x1b[01;36morphan\x1b[0m\n\x1b[01;32mrun.sh\x1b[0m\n\x1b[01;34msub\x1b[0m\n');
    // An unknown terminal and no LS_COLORS: GNU colours nothing.
    expect((await runOver(await tree(), ['ls', '--color=always', '/d'], '/', {TERM: 'dumb'})).stdout).not.toContain('\x1b');
    // --color=auto (and the default) to a pipe: none.
    expect((await runOver(await tree(), ['ls', '--color=auto', '/d'], '/', {TERM: 'xterm'})).stdout).not.toContain('\x1b');
  });

  it('LS_COLORS: extensions (last defined first, any case), ln=target, orphans, other-writable dirs, lc/rc/ec', async () => {
    const env = {LS_COLORS: '*.gz=01;31:*.tar.gz=01;35:ln=target:or=40;31;01:ow=34;42:lc=<:rc=>:ec=|', TERM: 'dumb'};
    const r = await runOver(await tree(), ['ls', '--color=always', '/d', '/ow'], '/', env);
    // The first colour is preceded by `ec` (GNU's reset), each coloured name followed by it.
    expect(r.stdout).toContain('\n|<01;35>b.tar.gz|\n');
    expect(r.stdout).toContain('\n<40;31;01>orphan|\n');
    // A link coloured as its target (a.txt has no colour: the link has none either).
    expect(r.stdout).toContain('\nlink\n');
    expect(r.stdout).toContain('/ow:\n');
    // lc/rc not GNU's: a restore at the very end.
    expect(r.stdout.endsWith('<>')).toBe(true);
    const bad = await runOver(await tree(), ['ls', '--color=always', '/d'], '/', {LS_COLORS: 'zz=1'});
    expect(bad.stderr).toBe('ls: unrecognized prefix: ‘zz’\nls: unparsable value for LS_COLORS environment variable\n');
    expect(bad.stdout).not.toContain('\x1b');
  });

  it('with `no` set, each line starts in it and each name resets first (GNU\'s order of escapes)', async () => {
    const r = await runOver(await tree(), ['ls', '-l', '--color=always', '/d/a.txt'], '/', {LS_COLORS: 'no=01:fi=02'});
    expect(r.stdout).toBe('\x1b[0m\x1b[01m-rw-r--r-- 1 root root 6 Sep 13  2020 \x1b[m\x1b[02m/d/a.txt\x1b[0m\n');
  });

  it('colour goes around the quoted name only: a name\'s escape sequence stays escaped inside the colour', async () => {
    const fs = await tree();
    const r = await runOver(fs, ['ls', '--color=always', '-b', '/hostile'], '/', {TERM: 'xterm'});
    expect(r.stdout).toBe('\\033]0;pwned\\a\n');
    const q = await runOver(fs, ['ls', '--color=always', '-q', '/hostile'], '/', {TERM: 'xterm'});
    expect(q.stdout).toBe('?]0;pwned?\n');
  });

  it('--color with a bad WHEN: GNU\'s message and status 1', async () => {
    const r = await runOver(await tree(), ['ls', '--color=a', '/d']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("ls: ambiguous argument ‘a’ for ‘--color’\nValid arguments are:\n  - ‘always’, ‘yes’, ‘force’\n" +
      "  - ‘never’, ‘no’, ‘none’\n  - ‘auto’, ‘tty’, ‘if-tty’\nTry 'help ls' for more information.\n");
  });

  it('ls --help and cat --help print their help; help explains ls, cat and cd option by option', async () => {
    const fs = await tree();
    const lsHelp = await runOver(fs, ['ls', '--help']);
    expect(lsHelp.status).toBe(0);
    for (const o of ['-L, --dereference', '-I, --ignore=PATTERN', '--color[=WHEN]', '--time-style=STYLE', '-w, --width=COLS', '--si']) {
      expect(lsHelp.stdout).toContain(o);
    }
    expect((await runOver(fs, ['help', 'ls'])).stdout).toBe(lsHelp.stdout);
    expect((await runOver(fs, ['cat', '--help'])).stdout).toContain('-n, --number');
    const cd = await runOver(fs, ['help', 'cd']);
    expect(cd.status).toBe(0);
    expect(cd.stdout).toContain('-P');
    expect(cd.stdout).toContain('-L');
    expect(cd.stdout).toContain('~USER');
  });
});

describe('the pieces of ls --color, -I, --time-style and the width (pure)', () => {
  it('parses dircolors escapes: \\e, ^[, octal, hex, \\_ as space', () => {
    const c = parseLsColors({LS_COLORS: 'di=\\e[1m^[x\\101\\x41\\_:*.X=1'}).colors!;
    expect(c.seq.di).toBe('\x1b[1m\x1bxAA ');
    expect(colorOf(c, {name: 'a.x', mode: 0o100644}, false)).toBe('1');
    expect(colorOf(c, {name: 'a.x', mode: 0o100755}, false)).toBe('01;32');
  });

  it('a missing target is `mi` where set, else the target goes uncoloured', () => {
    const mi = parseLsColors({LS_COLORS: 'mi=05'}).colors!;
    expect(colorOf(mi, {name: 'nowhere', mode: 0o120777}, true)).toBe('05');
    const none = parseLsColors({TERM: 'xterm-256color'}).colors!;
    expect(colorOf(none, {name: 'nowhere', mode: 0o120777}, true)).toBeUndefined();
  });

  it('writes `cl` where a coloured name may wrap (GNU counts its bytes from its start column)', () => {
    const c = parseLsColors({TERM: 'xterm'}).colors!;
    const p = new Painter(c, 10);
    expect(p.name('abcdefghijkl', '01;34', 0, 12)).toBe('\x1b[0m\x1b[01;34mabcdefghijkl\x1b[0m\x1b[K');
    expect(p.name('abc', '01;34', 0, 3)).toBe('\x1b[01;34mabc\x1b[0m');
  });

  it('fnmatch with FNM_PERIOD: `*` and `?` and brackets never match a leading dot; escapes; classes', () => {
    expect(fnmatcher('*')('.x')).toBe(false);
    expect(fnmatcher('.*')('.x')).toBe(true);
    expect(fnmatcher('?x')('.x')).toBe(false);
    expect(fnmatcher('[.]x')('.x')).toBe(false);
    expect(fnmatcher('\\*')('*')).toBe(true);
    expect(fnmatcher('\\*')('a')).toBe(false);
    expect(fnmatcher('[[:digit:]]*')('1a')).toBe(true);
    expect(fnmatcher('[!a]*')('ab')).toBe(false);
    expect(fnmatcher('[')('[')).toBe(true);
    expect(fnmatcher('*a*a*a*a*a*b')('a'.repeat(5000))).toBe(false);
  });

  it('-v compares names byte by byte as gnulib does (UTF-8 order, not UTF-16 code units)', () => {
    expect(filevercmp('中文', 'ｆｕｌｌ')).toBeLessThan(0);
    expect(filevercmp('ｆｕｌｌ', '\u{1F468} family')).toBeLessThan(0);
    expect(filevercmp('v1.9', 'v1.10')).toBeLessThan(0);
  });

  it('strftime as gnulib in the C locale (UTC): padding flags, widths, %N digits', () => {
    const old = process.env['TZ'];
    process.env['TZ'] = 'UTC';
    try {
      const t = {sec: 1_600_000_000, nsec: 123_456_789};
      expect(strftime('%-d|%_m|%3N|%^b|%#p|%10Y|%e|%j|%V|%G|%q|%%', t)).toBe('13| 9|123|SEP|pm|0000002020|13|257|37|2020|3|%');
    } finally {
      if (old === undefined) delete process.env['TZ'];
      else process.env['TZ'] = old;
    }
  });

  it('widths as glibc wcwidth: wide 2, combining 0, a ZWJ family is its characters, invalid byte 1', () => {
    expect(textWidth('中文')).toBe(4);
    expect(textWidth('e\u0301')).toBe(1);
    expect(textWidth('👨\u200d👩\u200d👧')).toBe(6);
    expect(textWidth('\udcff')).toBe(1);
    expect(textWidth('a\x1bb')).toBe(2);
  });

  it('takes glued and separate values, in any position; `--` ends options', () => {
    const a = lsArgs(['-lw40', '-I', '*.o', 'dir', '--hide=x', '--color', '--', '-w']);
    expect(a.extras).toMatchObject({width: 40, ignore: ['*.o'], hide: ['x'], color: 'always'});
    expect(a.rest).toEqual(['-l', 'dir', '--', '-w']);
    expect(lsArgs(['--color=n']).extras.color).toBe('never');
    expect(lsArgs(['-w', '0x10']).extras.width).toBe(16);
    expect(lsArgs(['-w']).error?.text).toBe("option requires an argument -- 'w'");
  });

  it('--sort, --format, --time, --indicator-style become their options; bad words get argmatch\'s message', () => {
    expect(lsArgs(['--sort=size', '--format=long', '--time', 'status', '--indicator-style=cl']).rest).toEqual(['-S', '-l', '-c', '-F']);
    // `v` is ambiguous between two formats (verbose, vertical); `s` is size alone.
    expect(lsArgs(['--sort=s']).rest).toEqual(['-S']);
    expect(lsArgs(['--format=v']).error?.text).toBe("ambiguous argument ‘v’ for ‘--format’\nValid arguments are:\n" +
      '  - ‘verbose’, ‘long’\n  - ‘commas’\n  - ‘horizontal’, ‘across’\n  - ‘vertical’\n  - ‘single-column’');
    expect(lsArgs(['--sort=width']).rest[0]).toContain('\0');
  });
});
