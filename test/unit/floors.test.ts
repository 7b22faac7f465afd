// dbox's code keeps its floors and has no import cycle (test/unit/import-graph.ts says how both
// are read). The checker itself is tested on small graphs first, so a rule that could never fail
// does not pass silently.
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {cycles, floorOf, floorViolations, importGraph, runtimeImports} from './import-graph.js';

const root = path.resolve(import.meta.dirname, '../..');
const floors = [['low', ['a/']], ['high', ['b/', 'b/x.ts']]] as const;

describe('the import checker', () => {
  it('reads static, re-exported and dynamic imports, and leaves out those that name types only', () => {
    const text = [
      "import fs from 'node:fs';", "import {a} from './a.js';", "import type {B} from './b.js';", "import {type C} from './c.js';",
      "import {type D, d} from './d.js';", "export {e} from './e.js';", "export type {F} from './f.js';", "import './g.js';",
      "const h = await import('./h.js');",
    ].join('\n');
    expect(runtimeImports('x.ts', text)).toEqual(['./a.js', './d.js', './e.js', './g.js', './h.js']);
  });

  it('finds an import up a floor, and one from or to a file on no floor', () => {
    expect(floorOf('b/x.ts', floors)).toBe(1);
    expect(floorViolations(new Map([['a/1.ts', ['b/2.ts']], ['b/2.ts', ['a/1.ts']]]), floors)).toEqual(['a/1.ts (low) -> b/2.ts (high)']);
    expect(floorViolations(new Map([['c/1.ts', ['a/1.ts']]]), floors)).toEqual(['c/1.ts (no floor) -> a/1.ts (low)']);
  });

  it('finds a cycle, also through several files, and none in a tree', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
    expect(cycles(new Map([['a', ['b', 'c']], ['b', ['c']], ['c', []]]))).toEqual([]);
  });
});

describe("dbox's imports", () => {
  const graph = importGraph(root, ['src', 'builtins', 'components', 'harness', 'bench']);

  it('resolve, each to a file of the checkout', () => {
    expect([...graph.values()].flat().filter((d) => d.endsWith('(missing)'))).toEqual([]);
    expect(graph.size).toBeGreaterThan(90);
  });

  it('never go up a floor (errors and formatting on the ground; src/shell below builtins/; bench/ above harness/, never into test/)', () => {
    expect(floorViolations(graph)).toEqual([]);
  });

  it('form no cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });
});
