import {describe, expect, it} from 'vitest';
import {closest, editDistance} from '../../src/docker/suggest.js';
import {decodePathStat, goModeToPosix} from '../../src/docker/archive.js';
import {parseOptions} from '../../src/shell/options.js';
import {FsError, UsageError, toFsError} from '../../src/errors.js';

describe('did you mean', () => {
  it('counts a transposition as one edit', () => expect(editDistance('wbe', 'web')).toBe(1));
  it('suggests a close name', () => expect(closest('wbe', ['db', 'web', 'old'])).toBe('web'));
  it('suggests nothing for a far name', () => expect(closest('postgres', ['db', 'web'])).toBeUndefined());
});

describe('archive stat', () => {
  it('converts Go file modes', () => {
    expect(goModeToPosix(2 ** 31 + 0o755)).toBe(0o040755);
    expect(goModeToPosix(2 ** 27 + 0o777)).toBe(0o120777);
    expect(goModeToPosix(0o644)).toBe(0o100644);
    expect(goModeToPosix(2 ** 31 + 2 ** 20 + 0o777)).toBe(0o041777);
    expect(goModeToPosix(2 ** 26 + 2 ** 21 + 0o666)).toBe(0o020666);
  });
  it('decodes the path-stat header', () => {
    const header = Buffer.from(JSON.stringify({name: 'hosts', size: 3, mode: 420, mtime: 'x', linkTarget: ''})).toString('base64');
    expect(decodePathStat(header)).toEqual({name: 'hosts', size: 3, mode: 420, mtime: 'x', linkTarget: ''});
  });
});

describe('parseOptions', () => {
  const spec = {short: {l: 'long', a: 'all'}, long: {all: 'all'}};
  it('combines short flags and stops at --', () => {
    const r = parseOptions('ls', ['-la', 'x', '--', '-a'], spec);
    expect([...r.flags].sort()).toEqual(['all', 'long']);
    expect(r.operands).toEqual(['x', '-a']);
  });
  it('treats - as an operand', () => expect(parseOptions('cat', ['-'], {short: {}}).operands).toEqual(['-']));
  it('rejects unknown flags as coreutils does', () => {
    expect(() => parseOptions('ls', ['-z'], spec)).toThrow(new UsageError("ls: invalid option -- 'z'\nTry 'help ls' for more information."));
    expect(() => parseOptions('ls', ['--zap'], spec)).toThrow(/unrecognized option '--zap'/);
  });
});

describe('errors', () => {
  it('wraps coded errors', () => {
    const e = toFsError(Object.assign(new Error('x'), {code: 'ENOENT'}), '/a');
    expect(e).toBeInstanceOf(FsError);
    expect(e.message).toBe('/a: No such file or directory');
  });
  it('rethrows what is not a filesystem error', () => expect(() => toFsError(new TypeError('bug'), '/a')).toThrow(TypeError));
  it('takes errno names with digits (E2BIG: a read that failed so was an internal error)', () => {
    const e = toFsError(Object.assign(new Error('x'), {code: 'E2BIG'}), '/a');
    expect(e).toBeInstanceOf(FsError);
    expect(e.message).toBe("/a: Argument list too long");
  });
});
