// The rule for names from a container (one path component) and where writes may go.
import {describe, expect, it} from 'vitest';
import {normalize} from '../../src/vfs/path.js';
import {archivePath, entryPath, isEntryName, isWithin, notRegular, Refusals, refusalText, type Refusal} from '../../src/vfs/untrusted.js';

/** Names a listing, a tar or a program in a container may offer, and whether each is one entry. */
const NAMES: [string, boolean][] = [
  ['ok.txt', true], ['.hidden', true], ['...', true], ['..x', true], ['x..', true], [' ', true], ['a\nb', true],
  ['\u2215etc', true], // a division slash is a character like any other
  ['\udcff\udcfe', true], // bytes that are not UTF-8, carried losslessly
  ['', false], ['.', false], ['..', false], ['/', false], ['a/b', false], ['../x', false], ['../../../../etc/passwd', false],
  ['/etc/passwd', false], ['x/..', false], ['x/../..', false], ['./x', false], ['x/', false], ['a\0b', false], ['\0', false],
];

describe('isEntryName', () => {
  it.each(NAMES)('%j -> %s', (name, ok) => expect(isEntryName(name)).toBe(ok));
});

describe('entryPath: a write for an entry name stays below its directory', () => {
  for (const dir of ['/', '/host/dest', '/containers/x/data']) {
    it.each(NAMES)(`in ${dir}: %j`, (name, ok) => {
      const p = entryPath(dir, name);
      if (!ok) return expect(p).toBeUndefined();
      expect(p).toBeDefined();
      // Strictly below dir, even after a lexical normalisation, and exactly one level down.
      expect(normalize(p!)).toBe(p);
      expect(isWithin(dir, p!) && p !== dir).toBe(true);
      expect(p!.slice(dir === '/' ? 1 : dir.length + 1)).toBe(name);
    });
  }
});

describe('isWithin', () => {
  it.each([
    ['/a', '/a', true], ['/a', '/a/b', true], ['/a', '/ab', false], ['/a', '/', false], ['/', '/x', true], ['/a/b', '/a', false],
  ])('%s holds %s: %s', (dir, p, ok) => expect(isWithin(dir, p)).toBe(ok));
});

describe('archivePath: tar entries of an archive of a directory (moby pkg/archive breakouts)', () => {
  it.each([
    ['data', 'data/', []], ['data', 'data', []], ['data', 'data/a', ['a']], ['data', 'data/a/b/', ['a', 'b']],
    ['data', '../data/a', undefined], ['data', 'data/../../etc/passwd', undefined], ['data', '/etc/passwd', undefined],
    ['data', '/data/a', undefined], ['data', 'data//a', undefined], ['data', 'data/./a', undefined], ['data', './data/a', undefined],
    ['data', 'other/a', undefined], ['data', 'datax/a', undefined], ['data', 'data/a/..', undefined], ['data', '..', undefined],
    ['data', 'data/a\0b', undefined], ['data', '', undefined],
    // An archive of the root names its entries from "/".
    ['', '/', []], ['', '/bin/', ['bin']], ['', '/bin/sh', ['bin', 'sh']], ['', 'bin/sh', ['bin', 'sh']],
    ['', '//etc', undefined], ['', '/../etc', undefined], ['', '/bin/../../etc', undefined],
  ] as [string, string, string[] | undefined][])('%j: %j -> %j', (top, name, parts) => expect(archivePath(top, name)).toEqual(parts));
});

describe('messages', () => {
  it('a device node is named, and not opened', () => {
    expect(notRegular('/containers/c/dev/kmsg', 0o020644).message)
      .toBe('/containers/c/dev/kmsg: Operation not permitted (a character device in a container: only regular files are opened)');
    expect(notRegular('/x', 0o010644).hint).toBe('(a fifo in a container: only regular files are opened)');
    expect(notRegular('/x', 0o060644).hint).toContain('a block device');
  });

  it('a refused listing names what the container offered, quoted, never raw', () => {
    const text = refusalText({path: '/data', name: '../\x1b]0;pwned\x07/x'});
    expect(text).toBe("the container's own listing was refused: it named '../'$'\\033'']0;pwned'$'\\a''/x', which is not one file name; " +
      "the engine's archive was listed instead");
    expect(text).not.toMatch(/[\x00-\x1f\x7f]/);
  });
});

describe('Refusals', () => {
  it('tells each listener while it listens, and no longer', () => {
    const refusals = new Refusals();
    const heard: Refusal[] = [];
    refusals.report({path: '/before', name: '..'});
    const stop = refusals.listen((r) => heard.push(r));
    refusals.report({path: '/data', name: 'a/b'});
    stop();
    refusals.report({path: '/after', name: '.'});
    expect(heard).toEqual([{path: '/data', name: 'a/b'}]);
  });
});
