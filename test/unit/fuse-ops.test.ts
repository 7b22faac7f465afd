// The fuse-native server's errno mapping. (How it presents links: test/unit/link.test.ts.)
import {describe, expect, it} from 'vitest';
import {toErrno} from '../../src/fuse/ops.js';

describe('errno for FUSE', () => {
  it('maps codes to negative errno', () => {
    expect(toErrno(Object.assign(new Error('x'), {code: 'ENOENT'}))).toBe(-2);
    expect(toErrno(Object.assign(new Error('x'), {code: 'EXDEV'}))).toBe(-18);
    expect(toErrno(Object.assign(new Error('x'), {code: 'EOVERFLOW'}))).toBe(-75); // any errno of the system, not a table's few
    expect(toErrno(Object.assign(new Error('x'), {code: 'toString'}))).toBe(-5);
  });
});
