import {describe, expect, it} from 'vitest';
import {changes} from '../../src/fuse/front.js';
import {tarMode} from '../../src/vfs/extraction.js';

describe("the mount's front server control lines", () => {
  const roots = (entries: [string, string][]): Map<string, string> => new Map(entries);

  it('adds new names, replaces changed trees, removes names that went, and says nothing of the rest', () => {
    const before = roots([['web', '/proc/10/root\ttw'], ['db', '/proc/11/root\ttw'], ['old', '/e/old\t']]);
    const after = roots([['web', '/proc/10/root\ttw'], ['db', '/proc/12/root\ttw'], ['new', '/e/new\t']]);
    expect(changes(before, after)).toEqual(['-old', '+db\t/proc/12/root\ttw', '+new\t/e/new\t']);
  });

  it('a container that stops moves from its /proc root to the engine mount', () => {
    expect(changes(roots([['web', '/proc/10/root\ttw']]), roots([['web', '/e/web\t']]))).toEqual(['+web\t/e/web\t']);
  });

  it('no change, no lines', () => {
    const same = roots([['web', '/proc/10/root\ttw'], ['.hosts', '/e/.hosts\th']]);
    expect(changes(same, new Map(same))).toEqual([]);
  });
});

describe('tarMode', () => {
  it('keeps a mode of 0 from becoming tar-stream default, and keeps other modes', () => {
    expect(tarMode(0) & 0o7777).toBe(0);
    expect(tarMode(0)).not.toBe(0);
    expect(tarMode(0o100644)).toBe(0o644);
    expect(tarMode(0o4755)).toBe(0o4755);
  });
});
