// The native name codec: bytes <-> JS strings, invalid UTF-8 as lone surrogates U+DC80..U+DCFF.
import {randomBytes} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {native} from '../../src/native.js';

const decode = (bytes: number[]): string => native().decodeName(Buffer.from(bytes));
const encode = (name: string): Buffer => native().encodeName(name);
const code = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (error) {
    return (error as {code?: string}).code ?? String(error);
  }
};

describe('name codec', () => {
  it.each([
    [[0x61, 0x62], 'ab'],
    [[0xc3, 0xa9], '\u00e9'], // valid UTF-8 decodes as such
    [[0xf0, 0x9f, 0x98, 0x80], '\ud83d\ude00'],
    [[0xff], '\udcff'], [[0x80], '\udc80'], [[0xc3], '\udcc3'], // a lone lead byte
    [[0xc0, 0xaf], '\udcc0\udcaf'], // an overlong '/' never becomes a slash
    [[0xed, 0xa0, 0x80], '\udced\udca0\udc80'], // an encoded surrogate is not UTF-8
    [[0xf4, 0x90, 0x80, 0x80], '\udcf4\udc90\udc80\udc80'], // above U+10FFFF
    [[0x61, 0xff, 0xc3, 0xa9, 0x62], 'a\udcff\u00e9b'],
  ] as [number[], string][])('%j <-> %j', (bytes, name) => {
    expect(decode(bytes)).toBe(name);
    expect([...encode(name)]).toEqual(bytes);
  });

  it('every byte string survives a round trip (random names)', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(1 + (i % 40)).filter((b) => b !== 0 && b !== 0x2f);
      if (bytes.length === 0) continue;
      expect(encode(native().decodeName(Buffer.from(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('strings no name decodes to are refused, never guessed at', () => {
    expect(code(() => encode('\udcc3\udca9'))).toBe('EINVAL'); // would be the bytes of '\u00e9'
    expect(code(() => encode('\ud800'))).toBe('EINVAL'); // a lone high surrogate
    expect(code(() => encode('\udc41'))).toBe('EINVAL'); // an escape of an ASCII byte
    expect(code(() => encode('a\0b'))).toBe('EINVAL'); // a NUL would cut the path short
    expect(code(() => encode('x'.repeat(4096)))).toBe('ENAMETOOLONG');
    expect(code(() => encode('\u00e9'.repeat(2048)))).toBe('ENAMETOOLONG'); // 4096 bytes
  });

  it('paths given to the native calls go through it: too long, or a NUL, is an errno', () => {
    expect(code(() => native().stat(-1, `/${'d/'.repeat(3000)}`, false))).toBe('ENAMETOOLONG');
    expect(code(() => native().stat(-1, '/etc\0/passwd', false))).toBe('EINVAL');
  });
});
