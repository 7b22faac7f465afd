// Temporary names: recognisable, owned by a process of this machine, swept only when stale.
import {describe, expect, it} from 'vitest';
import {isStale, temporaryName, temporaryOwner} from '../../src/vfs/temporaries.js';
import {isEntryName} from '../../src/vfs/untrusted.js';

describe('temporaries', () => {
  it('a temporary names its file, its machine and its process', () => {
    const t = temporaryName('report.txt', 4242, 'abc123');
    expect(t).toMatch(/^\.report\.txt\.dbox-[0-9a-f]{4}-4242-abc123$/);
    expect(temporaryOwner(t)).toEqual({host: t.slice(17, 21), pid: 4242});
    expect(isEntryName(t)).toBe(true);
  });

  it('a long name is shortened (whole characters) so the temporary fits in 255 bytes', () => {
    for (const name of ['x'.repeat(255), '\u00e9'.repeat(127), '\ud83d\ude00'.repeat(63), '\udcff'.repeat(200)]) {
      const t = temporaryName(name, 2 ** 22, 'zzzzzz');
      expect(Buffer.byteLength(t)).toBeLessThanOrEqual(255);
      expect(t).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/); // no pair cut in half
      expect(temporaryOwner(t)?.pid).toBe(2 ** 22);
    }
  });

  it('only a temporary of this machine whose process is gone is stale', () => {
    const mine = temporaryName('f', 1234, 'aaaaaa');
    expect(isStale(mine, () => false)).toBe(true);
    expect(isStale(mine, () => true)).toBe(false);
    const elsewhere = mine.replace(/dbox-[0-9a-f]{4}/, (m) => (m === 'dbox-0000' ? 'dbox-ffff' : 'dbox-0000'));
    expect(isStale(elsewhere, () => false)).toBe(false);
    for (const name of ['.f.dbox-1234abcdef', 'f.dbox-0000-1-aaaaaa', '.f.dbox-0000-0-aaaaaa', '.f.dbox-0000-12-aaaaa', 'file']) {
      expect(isStale(name, () => false)).toBe(false);
    }
  });

  it('this process is alive', () => {
    expect(isStale(temporaryName('f'))).toBe(false);
  });
});
