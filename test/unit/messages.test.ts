// Messages and the prompt with hostile names: the one formatter (report.ts + errors.ts), hints,
// the prompt's cwd, and accounts from a container's /etc/passwd.
import {describe, expect, it} from 'vitest';
import {fsMessage} from '../../src/shell/report.js';
import {promptText} from '../../src/shell/prompt.js';
import {parseIds} from '../../src/vfs/accounts.js';
import {DboxError, errnoOfMessage, FsError, strerror, topLevel, UsageError} from '../../src/errors.js';
import {hostileNames} from './hostile-names.js';

/** No C0 control (but \n), DEL, C1 control or lone surrogate (an invalid byte) may reach stderr. */
const raw = /[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f\ud800-\udfff]/u;

describe('error messages', () => {
  it('quote the subject as coreutils does', () => {
    expect(fsMessage('cat', new FsError('ENOENT', 'a b'), 'a b')).toBe("cat: 'a b': No such file or directory");
    expect(fsMessage('cat', new FsError('ENOENT', 'plain'), 'plain')).toBe('cat: plain: No such file or directory');
    expect(fsMessage('ls', new FsError('ENOENT', 'x'), 'x', (w) => `cannot access ${w}`)).toBe("ls: cannot access 'x': No such file or directory");
    expect(fsMessage('cp', new FsError('ENOENT', '\x1b]0;x'), '\x1b]0;x', (w) => `cannot stat '${w}'`))
      .toBe("cp: cannot stat ''$'\\033'']0;x': No such file or directory");
    expect(fsMessage('cp', new FsError('EISDIR', 'a'), ['a', 'b c'], (a, b) => `cannot copy ${a} to ${b}`))
      .toBe("cp: cannot copy 'a' to 'b c': Is a directory");
    // cp.ts's form today: both names in one
    expect(fsMessage('cp', new FsError('EISDIR', 'a'), "a' to 'b c", (w) => `cannot copy '${w}'`))
      .toBe("cp: cannot copy 'a' to 'b c': Is a directory");
  });

  it.each(hostileNames)('never carry a raw control: $label', ({name}) => {
    const e = new FsError('ENOENT', name, `(no container '${name}'; did you mean '${name}x'?)`);
    for (const m of [fsMessage('cat', e, name), fsMessage('ls', e, name, (w) => `cannot access ${w}`), e.message,
      fsMessage('cp', new DboxError(`container ${name} went away`), name)]) {
      expect(raw.test(m), JSON.stringify(m)).toBe(false);
    }
  });

  it('escape a hint (free text from an engine or a container name)', () => {
    const e = new FsError('ENOTSUP', 'x', '(cannot run sh in the container: \x1b]52;c;cm0K\x07)');
    expect(fsMessage('ls', e, 'x', (w) => `cannot access ${w}`))
      .toBe("ls: cannot access 'x': Operation not supported (cannot run sh in the container: \\033]52;c;cm0K\\a)");
  });
});

describe('the prompt', () => {
  it.each(hostileNames)('shows a hostile cwd without raw controls: $label', ({name}) => {
    for (const cwd of [`/containers/web/${name}`, `/containers/${name}/x`, `/tmp/${name}`]) {
      for (const color of [false, true]) {
        const p = promptText({cwd, home: '/root', status: 1, color, containerState: 'running'});
        expect(raw.test(p.replace(/\x1b\[[0-9;]*m/g, '')), JSON.stringify(p)).toBe(false);
      }
    }
  });
  it('is unchanged for ordinary paths', () => {
    expect(promptText({cwd: '/containers/web/etc', home: '/root', status: 0, color: false})).toBe('dbox:/containers/web/etc$ ');
    expect(promptText({cwd: '/root/x y', home: '/root', status: 0, color: false})).toBe('dbox:~/x y$ ');
    expect(promptText({cwd: '/tmp/\x1b[8m', home: '/root', status: 0, color: false})).toBe('dbox:/tmp/\\033[8m$ ');
  });
});

describe('accounts from a container', () => {
  it('reads one entry a line, the first for an id, bounded names and ids', () => {
    const ids = parseIds([
      'root:x:0:0:root:/root:/bin/sh',
      'evil\x1b]0;t\x07:x:1:1::/:/bin/sh',
      'dup:x:0:0::/:/bin/sh', // the first for uid 0 wins
      `${'n'.repeat(300)}:x:2:2::/:/bin/sh`, // too long: not shown
      'big:x:99999999999999999999:0::/:', // not an id
      'neg:x:-1:0::/:',
      'noid:x',
      ':x:3:3::/:', // no name
      'cr\r:x:4:4::/:',
    ].join('\n'));
    expect([...ids.entries()]).toEqual([[0, 'root'], [1, 'evil\x1b]0;t\x07'], [4, 'cr\r']]);
  });
});

describe('what ends a command (topLevel, the one formatter of the builtins\' runner and the cli)', () => {
  it('words usage errors as the tool, other dbox errors as dbox, anything else as a bug, with statuses', () => {
    expect(topLevel(new UsageError("ls: invalid option -- 'z'\nTry 'help ls' for more information."))).toEqual(
      {text: "ls: invalid option -- 'z'\nTry 'help ls' for more information.\n", status: 2});
    expect(topLevel(new UsageError('cp: missing file operand', 1)).status).toBe(1);
    expect(topLevel(new DboxError('no engine'))).toEqual({text: 'dbox: no engine\n', status: 1});
    const bug = topLevel(new TypeError('x is undefined'));
    expect(bug.status).toBe(70);
    expect(bug.text).toMatch(/^dbox: internal error \(please report\): TypeError: x is undefined\n/);
  });

  it('puts no control character of a message on a terminal', () => {
    for (const {name} of hostileNames) {
      for (const error of [new DboxError(`engine said ${name}`), new UsageError(`ls: ${name}`), new Error(name)]) {
        expect(topLevel(error).text.slice(0, -1)).not.toMatch(raw);
      }
    }
  });
});

describe('strerror', () => {
  it("says glibc's words, also for an errno outside dbox's usual few (never a bare code, never EIO)", () => {
    expect(strerror('ENOENT')).toBe('No such file or directory');
    expect(strerror('EXDEV')).toBe('Invalid cross-device link');
    expect(strerror('EOVERFLOW')).toBe('Value too large for defined data type');
    expect(strerror('EMLINK')).toBe('Too many links');
    expect(strerror('ENOTANERRNO')).toBe('ENOTANERRNO');
  });
});

describe('errnoOfMessage (the inverse of strerror, for the engine and programs in a container)', () => {
  it('reads the words of coreutils, busybox and Go, whatever their case', () => {
    expect(errnoOfMessage("rm: can't remove 'd': Directory not empty")).toBe('ENOTEMPTY');
    expect(errnoOfMessage('lstat /x: no such file or directory')).toBe('ENOENT');
    expect(errnoOfMessage('rename a b: invalid cross-device link')).toBe('EXDEV');
    expect(errnoOfMessage('mkdir /ro/x: read-only file system')).toBe('EROFS');
    expect(errnoOfMessage('open /x: file name too long')).toBe('ENAMETOOLONG');
  });

  it('reads any errno, not a few (the longest words win), and says EIO for words it does not know', () => {
    expect(errnoOfMessage("rm: can't remove 'm': Device or resource busy")).toBe('EBUSY');
    expect(errnoOfMessage('open /dev/x: no such device or address')).toBe('ENXIO');
    expect(errnoOfMessage('write: value too large for defined data type')).toBe('EOVERFLOW');
    expect(errnoOfMessage('something else went wrong')).toBe('EIO');
    expect(errnoOfMessage('')).toBe('EIO');
  });
});
