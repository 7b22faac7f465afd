// Bundles dbox into dist/ with esbuild (one ESM entry plus lazily loaded chunks): importing
// from a bundle starts several times faster than resolving node_modules file by file.
import fs from 'node:fs';
import path from 'node:path';
import {build} from 'esbuild';

const shim = (name) => path.resolve(import.meta.dirname, 'shims', name);

/** Keeps what dbox never runs out of the bundle (see the shims' own comments). */
const trim = {
  name: 'dbox-trim',
  setup(b) {
    b.onResolve({filter: /^\.\/(session|buildkit)$/}, (args) =>
      args.importer.includes(`${path.sep}dockerode${path.sep}`) ? {path: shim('no-buildkit.cjs')} : undefined);
    b.onResolve({filter: /^ssh2$/}, () => ({path: shim('lazy-ssh2.cjs')}));
    b.onResolve({filter: /^is-in-ci$/}, () => ({path: shim('is-in-ci.js')}));
  },
};

fs.rmSync('dist', {recursive: true, force: true});

await build({
  entryPoints: {cli: 'src/cli.ts', bench: 'bench/run.ts'},
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [trim],
  define: {'process.env.NODE_ENV': '"production"'},
  // Native addons stay outside the bundle.
  external: ['*.node', 'cpu-features', 'fuse-native'],
  alias: {'react-devtools-core': './scripts/empty.js'},
  // CommonJS dependencies (dockerode) call require(): give the ESM bundle one.
  banner: {js: "import {createRequire as __dboxCreateRequire} from 'node:module'; const require = __dboxCreateRequire(import.meta.url);"},
});
