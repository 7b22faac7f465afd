import {describe, expect, it} from 'vitest';
import {sliceBytes} from '../../src/vfs/engine-fs.js';

/** `text` as a stream cut into chunks of `size` bytes, noting how far it was read. */
function chunks(text: string, size: number, seen: {pulled: number}): AsyncGenerator<Buffer> {
  return (async function* () {
    for (let i = 0; i < text.length; i += size) {
      seen.pulled = i + size;
      yield Buffer.from(text.slice(i, i + size));
    }
  })();
}

async function cut(text: string, size: number, offset: number, length?: number): Promise<[string, number]> {
  const seen = {pulled: 0};
  const out: Buffer[] = [];
  for await (const b of sliceBytes(chunks(text, size, seen), {offset, length})) out.push(b);
  return [Buffer.concat(out).toString(), seen.pulled];
}

describe('sliceBytes', () => {
  const text = 'abcdefghijklmnopqrstuvwxyz';
  it('cuts ranges across chunk borders', async () => {
    for (const size of [1, 3, 7, 26, 100]) {
      for (const [offset, length] of [[0, 5], [2, 9], [25, 1], [24, 10], [0, undefined], [13, undefined], [30, 4]] as const) {
        expect((await cut(text, size, offset, length))[0]).toBe(text.slice(offset, length === undefined ? undefined : offset + length));
      }
    }
  });
  it('stops pulling once the range is complete', async () => {
    expect(await cut(text, 4, 2, 3)).toEqual(['cde', 8]);
  });
  it('gives nothing for an empty range', async () => {
    expect(await cut(text, 4, 2, 0)).toEqual(['', 0]);
  });
});
