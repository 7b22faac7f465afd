import {describe, expect, it} from 'vitest';
import {toErrno, transformLink} from '../../src/fuse/ops.js';

describe('symlinks through the mount', () => {
  it.each([
    ['/etc/passwd', '/data/x', '../etc/passwd'], // read at /<c>/data/x: one level up is the container root
    ['/etc/passwd', '/x', 'etc/passwd'], // a link in the container root
    ['/', '/a/b/l', '../../'],
    ['/', '/l', '.'],
    ['//etc//hosts', '/data/x', '../etc//hosts'],
    ['../rel/target', '/data/x', '../rel/target'], // relative targets stay as they are
  ])('target %s at %s -> %s', (target, at, out) => expect(transformLink(target, at)).toBe(out));
});

describe('errno for FUSE', () => {
  it('maps codes to negative errno', () => {
    expect(toErrno(Object.assign(new Error('x'), {code: 'ENOENT'}))).toBe(-2);
    expect(toErrno(Object.assign(new Error('x'), {code: 'EXDEV'}))).toBe(-18);
  });
});
