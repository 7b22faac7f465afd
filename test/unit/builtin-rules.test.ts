// The pure parts of GNU's ways the builtins take: cat's filter, ls's orders (against GNU ls -v/-X/-t on real
// names where GNU is here, and by vectors), options that take a value, and the operand rules
// (a trailing slash, the empty name).
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {CatFilter} from '../../src/format/cat-filter.js';
import {filevercmp, sortListing} from '../../src/format/ls-sort.js';
import {directoryStem} from '../../src/shell/operand.js';
import {parseOptions} from '../../src/shell/options.js';
import {UsageError} from '../../src/errors.js';

const haveGnu = /GNU coreutils\) 9\./.test(spawnSync('/bin/ls', ['--version'], {encoding: 'utf8'}).stdout ?? '');

const NAMES = ['a', 'a1', 'a10', 'a2', 'a02', 'a1.tar.gz', 'a1.tar', 'a1~', 'a~', 'b.1', 'b.10', 'b.9', 'B', '.hidden',
  '.h2', 'x-1.2.3', 'x-1.10.0', 'x-1.2.10', 'file.c', 'file.txt', 'file', 'z.', 'v1.0rc1', 'v1.0', 'v1.0.1', '0', '00', '007',
  'éa', 'a b', 'a_b', 'a-b', 'A.TXT', 'ver-2.1~beta', 'ver-2.1'];

describe('ls orders', () => {
  const sorted = (key: 'version' | 'extension' | 'name', reverse = false): string[] =>
    sortListing(NAMES, (name) => ({name}), {key, reverse, dirsFirst: false});

  it.runIf(haveGnu).each(['-v', '-X', '', '-vr', '-Xr'])('ls -1a %s as GNU 9.1', (flag) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-order-'));
    try {
      for (const n of NAMES) fs.writeFileSync(path.join(dir, n), '');
      const gnu = execFileSync('/bin/ls', ['-1A', ...(flag ? [flag] : [])], {cwd: dir, env: {LC_ALL: 'C'}, encoding: 'utf8'});
      const key = flag.startsWith('-v') ? 'version' : flag.startsWith('-X') ? 'extension' : 'name';
      expect(sorted(key, flag.endsWith('r')).join('\n') + '\n').toBe(gnu);
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('version order by vectors', () => {
    expect(filevercmp('a2', 'a10')).toBeLessThan(0);
    expect(filevercmp('a1~', 'a1')).toBeLessThan(0);
    expect(filevercmp('.', 'a')).toBeLessThan(0);
    expect(filevercmp('.hidden', 'a')).toBeLessThan(0);
    expect(filevercmp('x-1.2.10', 'x-1.10.0')).toBeLessThan(0);
  });

  it('-t newest first, ties by name, -r reverses all; --group-directories-first whatever the order', () => {
    const items = [{name: 'b', time: {sec: 5, nsec: 0}}, {name: 'a', time: {sec: 5, nsec: 0}}, {name: 'c', time: {sec: 9, nsec: 0}},
      {name: 'd', time: {sec: 1, nsec: 0}, dir: true}];
    const names = (o: {reverse: boolean; dirsFirst: boolean}): string[] => sortListing(items, (x) => x, {key: 'time', ...o}).map((x) => x.name);
    expect(names({reverse: false, dirsFirst: false})).toEqual(['c', 'a', 'b', 'd']);
    expect(names({reverse: true, dirsFirst: false})).toEqual(['d', 'b', 'a', 'c']);
    expect(names({reverse: true, dirsFirst: true})).toEqual(['d', 'b', 'a', 'c']);
    expect(names({reverse: false, dirsFirst: true})).toEqual(['d', 'c', 'a', 'b']);
  });

  it('-S largest first, ties by name; -U keeps the order given', () => {
    const items = [{name: 'b', size: 1}, {name: 'a', size: 1}, {name: 'c', size: 9}];
    expect(sortListing(items, (x) => x, {key: 'size', reverse: false, dirsFirst: false}).map((x) => x.name)).toEqual(['c', 'a', 'b']);
    expect(sortListing(items, (x) => x, {key: 'none', reverse: true, dirsFirst: false}).map((x) => x.name)).toEqual(['b', 'a', 'c']);
  });
});

describe('options with values and usage statuses', () => {
  const spec = {short: {t: 'target', v: 'verbose'}, long: {'target-directory': 'target', verbose: 'verbose'}, valued: ['target'], usageStatus: 1};
  it.each([
    [['-t', 'd', 'a'], 'd', ['a']], [['-td', 'a'], 'd', ['a']], [['-vt', 'd', 'a'], 'd', ['a']],
    [['--target-directory=d', 'a'], 'd', ['a']], [['--target-directory', 'd', 'a'], 'd', ['a']], [['--', '-t', 'd'], undefined, ['-t', 'd']],
  ])('%j', (args, target, operands) => {
    const r = parseOptions('cp', args as string[], spec);
    expect([r.values.get('target'), r.operands]).toEqual([target, operands]);
  });
  it('a missing value and an unknown option are usage errors with the tool\'s status', () => {
    expect(() => parseOptions('cp', ['-t'], spec)).toThrow("cp: option requires an argument -- 't'\nTry 'help cp' for more information.");
    expect(() => parseOptions('cp', ['--target-directory'], spec)).toThrow(/option '--target-directory' requires an argument/);
    expect(() => parseOptions('cp', ['--verbose=x'], spec)).toThrow(/option '--verbose' doesn't allow an argument/);
    const caught = (args: string[], status?: number): unknown => {
      try {
        parseOptions('cp', args, {short: spec.short, ...(status !== undefined ? {usageStatus: status} : {})});
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect((caught(['-z']) as UsageError).status).toBe(2);
    expect((caught(['-z'], 1) as UsageError).status).toBe(1);
  });
});

describe('operands that ask for a directory', () => {
  it.each([
    ['a', undefined], ['a/', 'a'], ['a//', 'a'], ['a/.', 'a'], ['a/..', 'a'], ['a/./', 'a'], ['dir/sub/', 'dir/sub'], ['/', undefined],
    ['.', undefined], ['./', '.'], ['/x/', '/x'], ['', undefined],
  ])('%j: %j', (operand, stem) => expect(directoryStem(operand)).toBe(stem));
});

describe('cat filter', () => {
  it('gives the same bytes however the input is cut (its state carries across chunks and files)', () => {
    const input = Buffer.from('a\tb\n\n\n\nc\x01\x7f\x80\xff\n\nlast\n\n\nx', 'latin1');
    for (const options of [{number: true}, {numberNonblank: true, squeeze: true}, {showNonprinting: true, showEnds: true, showTabs: true}]) {
      const whole = new CatFilter(options).filter(input);
      const f = new CatFilter(options);
      const pieces = Buffer.concat([...input].map((b) => f.filter(Uint8Array.of(b))));
      expect(pieces.equals(whole)).toBe(true);
    }
    expect(new CatFilter({number: true, squeeze: true}).filter(Buffer.from('\n\n\nx\n')).toString()).toBe('     1\t\n     2\tx\n');
    expect(new CatFilter({showNonprinting: true}).filter(Buffer.from([0x80, 0xff, 0x7f, 0x09, 0x01])).toString()).toBe('M-^@M-^?^?\t^A');
  });
});
