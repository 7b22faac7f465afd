// Names between fuse-native (latin1: one char per byte) and the mount's ops (dbox's names):
// src/fuse/byte-names.ts, and the link rule (native/link-napi.c) on names that are not UTF-8.
import {describe, expect, it} from 'vitest';
import type {FuseOps} from 'fuse-native';
import {byteNames, fromFuse, toFuse} from '../../src/fuse/byte-names.js';
import {bytesName} from '../../src/format/utf8.js';
import {native} from '../../src/native.js';

const latin1 = (...bytes: number[]): string => Buffer.from(bytes).toString('latin1');
const name = (...bytes: number[]): string => bytesName(Uint8Array.from(bytes));

describe('names as bytes through fuse-native', () => {
  const cases: [string, number[]][] = [
    ['ascii', [...Buffer.from('/c/etc/passwd')]],
    ['0xff', [0x2f, 0x69, 0x6e, 0x76, 0xff]],
    ['c3 28', [0x2f, 0x69, 0xc3, 0x28]],
    ['é', [0x2f, 0xc3, 0xa9]],
    ['a 4-byte character and an escape', [0xf0, 0x9f, 0x98, 0x80, 0x80]],
    ['every byte but / and NUL', Array.from({length: 254}, (_, i) => i + 1).filter((b) => b !== 0x2f)],
  ];
  for (const [what, bytes] of cases) {
    it(`${what}: in as dbox's name, out as the same bytes`, () => {
      const inside = fromFuse(latin1(...bytes));
      expect(inside).toBe(name(...bytes));
      expect([...Buffer.from(toFuse(inside), 'latin1')]).toEqual(bytes);
    });
  }

  it('a valid é reaches the ops as é, not as its two latin1 chars', () => {
    expect(fromFuse(latin1(0xc3, 0xa9))).toBe('é');
    expect(toFuse('é')).toBe('\u00c3\u00a9');
  });

  it('wraps every name argument and every name result, and nothing else', () => {
    const seen: unknown[][] = [];
    const ops: FuseOps = {
      rename: (a, b, cb) => (seen.push([a, b]), cb(0)),
      symlink: (t, p, cb) => (seen.push([t, p]), cb(0)),
      read: (p, fd, _buf, len, pos, cb) => (seen.push([p, fd, len, pos]), cb(0)),
      readdir: (p, cb) => (seen.push([p]), cb(0, ['.', name(0xff), 'é'], [])),
      readlink: (p, cb) => (seen.push([p]), cb(0, `../${name(0xc3, 0x28)}`)),
    };
    const wrapped = byteNames(ops);
    const results: unknown[][] = [];
    const keep = (...r: unknown[]): void => void results.push(r);
    wrapped.rename!(latin1(0x2f, 0xff), latin1(0x2f, 0xc3, 0x28), keep);
    wrapped.symlink!(latin1(0x2e, 0x2e, 0x2f, 0xfe), '/c/l', keep);
    wrapped.read!(latin1(0x2f, 0xff), 7, Buffer.alloc(1), 1, 0, keep);
    wrapped.readdir!(latin1(0x2f, 0xff), keep);
    wrapped.readlink!('/c/l', keep);
    expect(seen).toEqual([[name(0x2f, 0xff), name(0x2f, 0xc3, 0x28)], [name(0x2e, 0x2e, 0x2f, 0xfe), '/c/l'],
      [name(0x2f, 0xff), 7, 1, 0], [name(0x2f, 0xff)], ['/c/l']]);
    expect(results.slice(3)).toEqual([[0, ['.', latin1(0xff), '\u00c3\u00a9'], []], [0, `../${latin1(0xc3, 0x28)}`]]);
  });

  it('an error from readdir or readlink passes through with no names', () => {
    const wrapped = byteNames({readdir: (_p, cb) => cb(-2), readlink: (_p, cb) => cb(-2)});
    const results: unknown[][] = [];
    wrapped.readdir!('/x', (...r) => void results.push(r));
    wrapped.readlink!('/x', (...r) => void results.push(r));
    expect(results).toEqual([[-2, undefined, undefined], [-2, undefined]]);
  });

  it('refuses to serve an op whose names it does not convert', () => {
    expect(() => byteNames({setxattr: () => undefined} as unknown as FuseOps)).toThrow(/setxattr: its names are not converted/);
  });

  it('the link rule keeps a target\'s invalid bytes (presentLink)', () => {
    const target = name(0x2f, 0x64, 0x2f, 0xff, 0x2f, 0xc3, 0x28);
    expect(native().presentLink(target, 2)).toBe(`../${name(0x64, 0x2f, 0xff, 0x2f, 0xc3, 0x28)}`);
    expect(native().presentLink(name(0x2e, 0x2e, 0x2f, 0x80), 1)).toBe(name(0x80));
  });
});
