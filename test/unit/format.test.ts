import {describe, expect, it} from 'vitest';
import {columns} from '../../src/format/columns.js';
import {colorContainer, colorName} from '../../src/format/color.js';
import {humanSize, lsTime, modeString} from '../../src/format/mode.js';
import {formatProgress} from '../../src/format/progress.js';

describe('modeString', () => {
  it.each([
    [0o100644, '-rw-r--r--'], [0o040755, 'drwxr-xr-x'], [0o120777, 'lrwxrwxrwx'], [0o041777, 'drwxrwxrwt'],
    [0o104755, '-rwsr-xr-x'], [0o102644, '-rw-r-Sr--'], [0o020620, 'crw--w----'], [0o010644, 'prw-r--r--'],
    [0o140755, 'srwxr-xr-x'], [0o041776, 'drwxrwxrwT'],
  ])('%o -> %s', (mode, out) => expect(modeString(mode)).toBe(out));
});

describe('humanSize (as GNU ls -h)', () => {
  it.each([[0, '0'], [1023, '1023'], [1024, '1.0K'], [1025, '1.1K'], [10 * 1024, '10K'], [4096, '4.0K'],
    [1536 * 1024, '1.5M'], [256 * 1024 * 1024, '256M'], [1024 ** 3, '1.0G']])('%d -> %s', (n, out) => expect(humanSize(n)).toBe(out));
});

describe('lsTime', () => {
  it('shows the time for recent files and the year for old ones', () => {
    const now = new Date(2026, 10, 23, 12, 0).getTime();
    expect(lsTime(new Date(2026, 10, 23, 0, 52).getTime() / 1000, now)).toBe('Nov 23 00:52');
    expect(lsTime(new Date(2025, 0, 5, 10, 0).getTime() / 1000, now)).toBe('Jan  5  2025');
  });
});

describe('columns', () => {
  const cells = (...names: string[]) => names.map((text) => ({text, width: text.length}));
  // As GNU ls -C -w W: a line must stay shorter than the width.
  it('fills down columns within the width', () => {
    expect(columns(cells('a', 'bb', 'ccc', 'd', 'e'), 13)).toEqual(['a   ccc  e', 'bb  d']);
    expect(columns(cells('a', 'bb', 'ccc', 'd', 'e'), 12)).toEqual(['a    d', 'bb   e', 'ccc']);
  });
  it('one per line when nothing fits', () => {
    expect(columns(cells('aaaa', 'bbbb'), 5)).toEqual(['aaaa', 'bbbb']);
    expect(columns(cells('aaaa', 'bbbb'), 10)).toEqual(['aaaa', 'bbbb']);
    expect(columns(cells('aaaa', 'bbbb'), 11)).toEqual(['aaaa  bbbb']);
  });
  it('one line when all fit', () => expect(columns(cells('a', 'b'), 80)).toEqual(['a  b']));
});

describe('colours', () => {
  it('dirs bold blue, links cyan, executables green, plain files plain', () => {
    expect(colorName('d', 0o040755)).toBe('\x1b[01;34md\x1b[0m');
    expect(colorName('l', 0o120777)).toBe('\x1b[01;36ml\x1b[0m');
    expect(colorName('x', 0o100755)).toBe('\x1b[01;32mx\x1b[0m');
    expect(colorName('f', 0o100644)).toBe('f');
  });
  it('running containers green, stopped red', () => {
    expect(colorContainer('web', 'running')).toBe('\x1b[32mweb\x1b[0m');
    expect(colorContainer('old', 'exited')).toBe('\x1b[31mold\x1b[0m');
  });
});

describe('formatProgress', () => {
  it('shows percent, amounts, rate and ETA for a known total', () => {
    const line = formatProgress({bytes: 50 * 1024 * 1024, files: 0, total: 200 * 1024 * 1024, elapsedMs: 1000}, 100);
    expect(line).toMatch(/^\[#{10}-{30}\]  25%  50 MiB \/ 200 MiB  50 MiB\/s  ETA 0:03$/);
  });
  it('shows bytes and files for trees', () =>
    expect(formatProgress({bytes: 2048, files: 3, elapsedMs: 1000}, 80)).toBe('2.0 KiB, 3 files  2.0 KiB/s'));
  it('names bytes below 1 KiB as bytes', () =>
    expect(formatProgress({bytes: 1023, files: 1, elapsedMs: 1000}, 80)).toBe('1023 B, 1 file  1023 B/s'));
});
