// Builds test/e2e/editor-driver.tsx (the line editor in a loop, lines run by bash) into one file
// node can run in a tmux pane, with esbuild as scripts/build.js builds dbox.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The checkout (the bench runs from dist/, the tests from test/e2e/). */
const root = ['../..', '..'].map((up) => path.resolve(import.meta.dirname, up)).find((r) => fs.existsSync(path.join(r, 'test/e2e/editor-driver.tsx')))!;

/** esbuild, loaded at run time (bench/run.ts is itself a bundle: esbuild must not be bundled into it). */
const esbuild = 'esbuild';

/** The path of the built driver (in a temporary directory the caller removes with it). */
export async function buildDriver(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-editor-'))): Promise<string> {
  const out = path.join(dir, 'editor-driver.mjs');
  const {buildSync} = (await import(esbuild)) as typeof import('esbuild');
  buildSync({
    entryPoints: [path.join(root, 'test/e2e/editor-driver.tsx')],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    jsx: 'automatic',
    define: {'process.env.NODE_ENV': '"production"'},
    external: ['*.node', 'cpu-features', 'fuse-native'],
    alias: {'react-devtools-core': path.join(root, 'scripts/empty.js')},
    banner: {js: "import {createRequire as __c} from 'node:module'; const require = __c(import.meta.url);"},
  });
  return out;
}
