// fuse-native 2.2.6 (unmaintained since 2020) hands utimens the access time twice, so no
// modification time can be set through a mount (touch, cp -p, tar and rsync keep wrong times),
// it turns UTIME_NOW / UTIME_OMIT (touch; touch -a / -m) into meaningless numbers, and without
// libfuse's flag_utime_omit_ok a change of only one of the times never arrives.
// Run by `npm install`: patch its C source and rebuild it from source (node-gyp-build then loads
// build/Release before the prebuilt binary). After the patch, UTIME_NOW arrives as the current
// time and UTIME_OMIT as 2^64-1, which src/fuse/ops.ts reads as "leave as it is".
import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {nodeDir} from './node-headers.js';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('fuse-native/package.json'));
const file = path.join(dir, 'fuse-native.c');
// Always patch the pristine source (kept beside it), so this script can run again, and a newer
// version of the patch replaces an older one.
const pristine = `${file}.orig`;
if (!fs.existsSync(pristine)) fs.copyFileSync(file, pristine);
let source = fs.readFileSync(pristine, 'utf8');
const fixes = [
  ['  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)\n', '  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n'],
  // Without this flag libfuse 2.9 calls utimens only when both times change: `touch -a` was lost.
  ['  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n',
    '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n  ops.flag_utime_omit_ok = 1;\n'],
  ['static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n',
    'static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n' +
    '  if (ts->tv_nsec == UTIME_OMIT) return UINT64_MAX;\n' +
    '  if (ts->tv_nsec == UTIME_NOW) { struct timespec now; clock_gettime(CLOCK_REALTIME, &now); return (now.tv_sec * 1000) + (now.tv_nsec / 1000000); }\n'],
];
for (const [from, to] of fixes) {
  if (!source.includes(from)) throw new Error(`dbox: fuse-native.c is not the version this patch expects (missing: ${from.trim()})`);
  source = source.replace(from, to);
}
source = `/* patched by dbox: scripts/fix-fuse-native.js */\n#include <sys/stat.h>\n#include <time.h>\n${source}`;
const changed = fs.readFileSync(file, 'utf8') !== source;
if (changed) fs.writeFileSync(file, source);

const built = path.join(dir, 'build', 'Release', 'fuse.node');
const stamp = path.join(dir, 'build', 'dbox-patched');
if (changed || !fs.existsSync(built) || !fs.existsSync(stamp)) {
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  // Build against the installed Node headers: nothing may be downloaded.
  const nodedir = nodeDir();
  const args = [nodeGyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  execFileSync(process.execPath, args, {cwd: dir, stdio: ['ignore', 'ignore', 'inherit']});
  fs.writeFileSync(stamp, 'built from the patched source\n');
}
