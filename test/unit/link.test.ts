// The mount's one rule for symlinks (native/link.c, used by dbox-fuse and, through the addon, by
// the fuse-native server): the shared vectors, and the invariant over many generated targets.
import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {native} from '../../src/native.js';

interface Vector {
  readonly target: string;
  readonly depth: number;
  readonly presented?: string;
  readonly error?: string;
  readonly why?: string;
}

const vectors = JSON.parse(readFileSync(new URL('./link-vectors.json', import.meta.url), 'utf8')) as Vector[];

const present = (target: string, depth: number): string => native().presentLink(target, depth);
const errorOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as {code?: string}).code;
  }
};

/**
 * How the kernel walks a presented target from the link's directory in the mount, lexically:
 * the lowest level it reaches (0 = the container's directory; below 0 = outside it), and the
 * names it ends on, as seen from the container's root. The link's directory is named d1/d2/...
 * so the result can be compared with the model below.
 */
function walk(presented: string, depth: number): {lowest: number; at: string[]} {
  const at = dirs(depth);
  let level = at.length;
  let lowest = level;
  for (const c of presented.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      level--;
      at.pop();
    } else {
      level++;
      at.push(c);
    }
    lowest = Math.min(lowest, level);
  }
  return {lowest, at};
}

const dirs = (depth: number): string[] => Array.from({length: Math.max(depth - 1, 0)}, (_, i) => `d${i + 1}`);

/** The container's own meaning of a target, resolved in its root (".." at the root stays). */
function model(target: string, depth: number): string[] {
  const at = target.startsWith('/') ? [] : dirs(depth);
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') at.pop();
    else at.push(c);
  }
  return at;
}

describe('presented symlinks: the shared vectors', () => {
  it.each(vectors.map((v) => [JSON.stringify(v.target).slice(0, 60), v.depth, v] as const))('%s at depth %i', (_t, _d, v) => {
    if (v.error) expect(errorOf(() => present(v.target, v.depth))).toBe(v.error);
    else expect(present(v.target, v.depth)).toBe(v.presented);
  });

  it('every presented vector stays inside the container when the kernel walks it', () => {
    for (const v of vectors) {
      if (v.presented === undefined) continue;
      expect(walk(v.presented, v.depth).lowest, JSON.stringify(v)).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('presented symlinks: generated hostile targets', () => {
  // A small deterministic generator (no dependence on Math.random between runs).
  let seed = 12345;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = ['..', '..', '..', '.', '', 'a', 'b', 'etc', 'shadow', '...', '..a'];

  it('20,000 targets: never above the container, same place as the container means, no .. after a name', () => {
    for (let i = 0; i < 20_000; i++) {
      const parts = Array.from({length: 1 + next(12)}, () => pieces[next(pieces.length)]!);
      const target = (next(3) === 0 ? '/' : '') + parts.join('/') + (next(4) === 0 ? '/' : '');
      if (target === '') continue;
      const depth = next(9);
      const out = present(target, depth);
      const {lowest, at} = walk(out, depth);
      expect(lowest, `${target} at ${depth} -> ${out}`).toBeGreaterThanOrEqual(0);
      expect(at, `${target} at ${depth} -> ${out}`).toEqual(model(target, depth));
      expect(out, target).toMatch(/^(\.\.\/)*(\.\.|\.|[^/]+(\/[^/]+)*\/?)?$/);
      const firstName = out.split('/').findIndex((c) => c !== '..');
      if (firstName >= 0) expect(out.split('/').slice(firstName), out).not.toContain('..');
      expect(present(out, depth), 'presenting twice changes nothing').toBe(out);
    }
  });
});
