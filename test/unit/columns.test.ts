// ls -C layout against GNU ls 9.1 (`ls -C -w WIDTH -T0`: spaces, not tabs; with tabs as GNU's
// default; -x across; -m with commas) for many name sets and widths, and the cost of a
// 200,000-name layout.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {columns, commas} from '../../src/format/columns.js';
import {textWidth} from '../../src/format/width.js';

const haveGnu = /GNU coreutils\) 9\./.test(spawnSync('/bin/ls', ['--version'], {encoding: 'utf8'}).stdout ?? '');

/** Deterministic name sets: lengths from a small linear congruential generator. */
function nameSet(seed: number, count: number): string[] {
  let x = seed;
  const names = new Set<string>();
  while (names.size < count) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const len = 1 + (x % 23);
    const wide = x % 7 === 0;
    names.add(`${String(names.size).padStart(3, '0')}${(wide ? '中' : 'x').repeat(Math.max(0, len - 3))}`);
  }
  return [...names].sort();
}

const sets = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => nameSet(seed, [1, 2, 5, 12, 30, 57, 100, 250][seed - 1]!));
const widths = [1, 2, 3, 10, 20, 45, 57, 79, 80, 81, 120, 200];

describe.runIf(haveGnu)('columns against GNU ls -C', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-columns-'));
    sets.forEach((names, k) => {
      fs.mkdirSync(path.join(root, String(k)));
      for (const n of names) fs.writeFileSync(path.join(root, String(k), n), '');
    });
  });
  afterAll(() => fs.rmSync(root, {recursive: true, force: true}));

  const cases = sets.flatMap((names, k) => widths.map((w) => ({k, w, n: names.length})));
  it.each(cases)('set $k ($n names) in $w columns', ({k, w}) => {
    const gnu = execFileSync('/bin/ls', ['-C', '-w', String(w), '-T0', String(k)], {cwd: root, env: {...process.env, LC_ALL: 'C.UTF-8'}, encoding: 'utf8'});
    const mine = columns(sets[k]!.map((text) => ({text, width: textWidth(text)})), w);
    expect(mine.join('\n') + '\n').toBe(gnu);
  });

  const gnuLs = (args: string[], k: number): string =>
    execFileSync('/bin/ls', [...args, String(k)], {cwd: root, env: {...process.env, LC_ALL: 'C.UTF-8'}, encoding: 'utf8'});
  const cellsOf = (k: number) => sets[k]!.map((text) => ({text, width: textWidth(text)}));
  it.each(cases)('set $k ($n names) in $w columns, with tabs, across, and with commas', ({k, w}) => {
    expect(columns(cellsOf(k), w, {tabs: true}).join('\n') + '\n').toBe(gnuLs(['-C', '-w', String(w)], k));
    expect(columns(cellsOf(k), w, {across: true}).join('\n') + '\n').toBe(gnuLs(['-x', '-w', String(w), '-T0'], k));
    expect(columns(cellsOf(k), w, {across: true, tabs: true}).join('\n') + '\n').toBe(gnuLs(['-x', '-w', String(w)], k));
    expect(commas(cellsOf(k), w).join('\n') + '\n').toBe(gnuLs(['-m', '-w', String(w)], k));
  });
});

describe('columns of a huge listing', () => {
  it('lays out 200,000 names without recursion or spreading, in linear time', () => {
    const cells = Array.from({length: 200_000}, (_, i) => ({text: `f${i}`, width: `f${i}`.length}));
    const lines = columns(cells, 80);
    expect(lines.length).toBeLessThan(200_000 / 5);
    expect(lines.every((l) => l.length < 80)).toBe(true);
    expect(lines.join(' ').split(/ +/).length).toBe(200_000);
    expect(lines[0]!.startsWith('f0 ')).toBe(true);
  });
});
