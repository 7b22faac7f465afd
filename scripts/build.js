// Bundles dbox into dist/ with esbuild (one ESM entry plus lazily loaded chunks): importing
// from a bundle starts several times faster than resolving node_modules file by file.
import {build} from 'esbuild';

await build({
  entryPoints: {cli: 'src/cli.ts'},
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: {'process.env.NODE_ENV': '"production"'},
  // Native addons and optional native deps of ssh2 stay outside the bundle.
  external: ['*.node', 'ssh2', 'cpu-features', 'fuse-native'],
  alias: {'react-devtools-core': './scripts/empty.js'},
  // CommonJS dependencies (dockerode) call require(): give the ESM bundle one.
  banner: {js: "import {createRequire as __dboxCreateRequire} from 'node:module'; const require = __dboxCreateRequire(import.meta.url);"},
});
