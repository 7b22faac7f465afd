// The import graph of dbox's own code, read with the TypeScript parser (static imports, re-exports
// and import() calls), and the two rules it must keep (test/unit/floors.test.ts):
//   - floors: a file imports only from its own floor or lower ones (FLOORS, lowest first);
//   - no cycle between files.
// Both rules are about code that runs: an import that names types only (`import type`, or every
// specifier `type`) loads nothing, and is left out.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The floors, lowest first: each entry a floor's name and the paths (a folder ends with '/') on it. */
export const FLOORS: readonly (readonly [string, readonly string[]])[] = [
  // The ground: errors, formatting, the native part's binding, the filesystem interface's types.
  ['ground', ['src/errors.ts', 'src/format/', 'src/native.ts', 'src/self.ts', 'src/types/', 'src/vfs/types.ts']],
  ['docker', ['src/docker/']],
  ['agent', ['src/agent/']],
  ['vfs', ['src/vfs/']],
  ['fuse', ['src/fuse/']],
  ['shell', ['src/shell/']],
  ['attach', ['src/attach/']],
  ['builtins', ['builtins/']],
  ['components', ['components/']],
  ['ui', ['src/ui/']],
  ['cli', ['src/cli.ts']],
  ['harness', ['harness/']],
  ['bench', ['bench/']],
];

/** The floor of a file (index into `floors`), by its longest matching path; undefined: none. */
export function floorOf(file: string, floors = FLOORS): number | undefined {
  let best: {floor: number; length: number} | undefined;
  floors.forEach(([, paths], floor) => {
    for (const p of paths) {
      const hit = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (hit && (!best || p.length > best.length)) best = {floor, length: p.length};
    }
  });
  return best?.floor;
}

/** Relative module specifiers that `text` loads at run time. */
export function runtimeImports(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, file.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const specs: string[] = [];
  const typeOnly = (clause: ts.ImportClause | undefined): boolean => {
    if (!clause) return false; // `import './x.js'`: runs it
    if (clause.isTypeOnly) return true;
    const named = clause.namedBindings;
    return !clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !typeOnly(node.importClause)) specs.push(node.moduleSpecifier.text);
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) specs.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) specs.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs.filter((s) => s.startsWith('.'));
}

/** Files (relative to `root`) under `dirs` and their runtime imports of other such files. */
export function importGraph(root: string, dirs: readonly string[]): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(root, dir), {withFileTypes: true})) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(rel);
    }
  };
  for (const d of dirs) {
    if (fs.statSync(path.join(root, d)).isDirectory()) walk(d);
    else files.push(d);
  }
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps = runtimeImports(file, fs.readFileSync(path.join(root, file), 'utf8')).map((spec) => {
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '');
      return [`${base}.ts`, `${base}.tsx`, `${base}/index.ts`].find((c) => fs.existsSync(path.join(root, c))) ?? `${base} (missing)`;
    });
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Imports that go up a floor, or from or to a file on no floor: `from -> to`. */
export function floorViolations(graph: ReadonlyMap<string, readonly string[]>, floors = FLOORS): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const f = floorOf(from, floors);
    for (const to of deps) {
      const t = floorOf(to, floors);
      if (f === undefined || t === undefined || t > f) {
        const name = (n: number | undefined): string => (n === undefined ? 'no floor' : floors[n]![0]);
        out.push(`${from} (${name(f)}) -> ${to} (${name(t)})`);
      }
    }
  }
  return out;
}

/** Every cycle of the graph, as the files of each strongly connected component (Tarjan). */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return out;
}
