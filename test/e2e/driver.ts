// Builds test/e2e/editor-driver.tsx (the line editor in a loop, lines run by bash) into one file
// node can run in a tmux pane, with esbuild as scripts/build.js builds dbox.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {buildSync} from 'esbuild';

const root = path.resolve(import.meta.dirname, '../..');

/** The path of the built driver (in a temporary directory the caller removes with it). */
export function buildDriver(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-editor-'))): string {
  const out = path.join(dir, 'editor-driver.mjs');
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
