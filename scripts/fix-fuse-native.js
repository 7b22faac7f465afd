// fuse-native 2.2.6 (unmaintained since 2020) hands utimens the access time twice, so no
// modification time can be set through a mount (touch, cp -p, tar and rsync keep wrong times),
// it turns UTIME_NOW / UTIME_OMIT (touch; touch -a / -m) into meaningless numbers, and without
// libfuse's flag_utime_omit_ok a change of only one of the times never arrives.
// It also turns every path into a JS string with napi_create_string_utf8 and every name back with
// napi_get_value_string_utf8, so a name that is not UTF-8 (a container may hold any bytes) became
// U+FFFD: shown wrong and unreachable.
// Run by `npm install`: patch its C source and rebuild it from source (node-gyp-build then loads
// build/Release before the prebuilt binary). After the patch, UTIME_NOW arrives as the current
// time and UTIME_OMIT as 2^64-1, which src/fuse/ops.ts reads as "leave as it is"; and every path,
// name (readdir, xattr), link target and rename/link destination crosses as latin1, one char per
// byte, both ways (lossless). src/fuse/byte-names.ts is the one place that converts them.
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
  // The caller of each request (fuse_get_context: uid, gid), for `dbox mount -o allow_other`, where
  // what another user creates becomes that user's (src/fuse/ops.ts). libfuse knows it only on its
  // own thread: each request keeps it, and the dispatch on the JS thread makes it the current
  // caller while the request's handler runs (handlers read it synchronously, first thing:
  // fuse_native_caller, src/fuse/caller.ts).
  ['  int32_t res;\n\n  // Extended attributes\n', '  int32_t res;\n  uid_t caller_uid;\n  gid_t caller_gid;\n\n  // Extended attributes\n'],
  ['  l->op_fn = fuse_native_dispatch_##name;\\\n',
    '  l->op_fn = fuse_native_dispatch_##name;\\\n' +
    '  { struct fuse_context *dbox_ctx = fuse_get_context(); l->caller_uid = dbox_ctx ? dbox_ctx->uid : (uid_t) -1; l->caller_gid = dbox_ctx ? dbox_ctx->gid : (gid_t) -1; }\\\n'],
  ['  fn(handle, l, ft);\n',
    '  dbox_caller_uid = l->caller_uid;\n  dbox_caller_gid = l->caller_gid;\n  fn(handle, l, ft);\n  dbox_caller_uid = (uid_t) -1;\n  dbox_caller_gid = (gid_t) -1;\n'],
  ['  NAPI_EXPORT_FUNCTION(fuse_native_mount)\n', '  NAPI_EXPORT_FUNCTION(fuse_native_mount)\n  NAPI_EXPORT_FUNCTION(fuse_native_caller)\n'],
  ['static void fuse_native_async_init (uv_async_t* handle) {\n',
    '// The caller of the request whose handler runs now: [uid, gid], or [] outside a handler.\n' +
    'NAPI_METHOD(fuse_native_caller) {\n' +
    '  napi_value out;\n' +
    '  napi_create_array(env, &out);\n' +
    '  if (dbox_caller_uid == (uid_t) -1 || dbox_caller_gid == (gid_t) -1) return out;\n' +
    '  napi_value v;\n' +
    '  napi_create_uint32(env, dbox_caller_uid, &v);\n' +
    '  napi_set_element(env, out, 0, v);\n' +
    '  napi_create_uint32(env, dbox_caller_gid, &v);\n' +
    '  napi_set_element(env, out, 1, v);\n' +
    '  return out;\n' +
    '}\n\n' +
    'static void fuse_native_async_init (uv_async_t* handle) {\n'],
  ['  FUSE_UINT64_TO_INTS_ARGV(l->atime, 5)\n', '  FUSE_UINT64_TO_INTS_ARGV(l->mtime, 5)\n'],
  // Without this flag libfuse 2.9 calls utimens only when both times change: `touch -a` was lost.
  ['  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n',
    '  if (implemented[op_utimens]) ops.utimens = fuse_native_utimens;\n  ops.flag_utime_omit_ok = 1;\n'],
  ['static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n',
    'static uint64_t timespec_to_uint64 (const struct timespec* ts) {\n' +
    '  if (ts->tv_nsec == UTIME_OMIT) return UINT64_MAX;\n' +
    '  if (ts->tv_nsec == UTIME_NOW) { struct timespec now; clock_gettime(CLOCK_REALTIME, &now); return (now.tv_sec * 1000) + (now.tv_nsec / 1000000); }\n'],
];
// Names as bytes: [pattern, replacement, how many times the pristine source has it]. The counts
// are exact, so a source that hands a name across some other way fails here, loudly.
const latin1 = [
  // Paths, xattr names, rename/link/symlink destinations and symlink targets into JS.
  ['napi_create_string_utf8(env, l->path, NAPI_AUTO_LENGTH', 'napi_create_string_latin1(env, l->path, NAPI_AUTO_LENGTH', 34],
  ['napi_create_string_utf8(env, l->name, NAPI_AUTO_LENGTH', 'napi_create_string_latin1(env, l->name, NAPI_AUTO_LENGTH', 5],
  ['napi_create_string_utf8(env, l->dest, NAPI_AUTO_LENGTH', 'napi_create_string_latin1(env, l->dest, NAPI_AUTO_LENGTH', 3],
  // readdir's names back from JS. An entry that is not a string, or too long to be a name, is left
  // out (the original threw, returning without waking the FUSE thread: that request hung).
  ['      NAPI_UTF8(name, 1024, raw_name)\n', '      DBOX_LATIN1_NAME(name, 1024, raw_name)\n', 2],
  // readlink's target back from JS, straight into the kernel's buffer (libfuse truncates a target
  // longer than the buffer, as readlink(2) does); not a string: EIO (the original hung, as above).
  ['  NAPI_ARGV_UTF8(linkname, l->len, 2)\n  strncpy(l->linkname, linkname, l->len);\n',
    '  if (l->len == 0) { res = -EIO; }\n' +
    '  else if (napi_get_value_string_latin1(env, argv[2], l->linkname, l->len, NULL) != napi_ok) { l->linkname[0] = 0; if (res == 0) res = -EIO; }\n', 1],
];
for (const [from, to, count] of latin1) {
  const found = source.split(from).length - 1;
  if (found !== count) throw new Error(`dbox: fuse-native.c is not the version this patch expects (${found} times, not ${count}: ${from.trim()})`);
  source = source.replaceAll(from, to);
}
if (/napi_create_string_utf8\(env, l->|NAPI_UTF8\(name|NAPI_ARGV_UTF8\(linkname/.test(source)) {
  throw new Error('dbox: fuse-native.c still passes a name as UTF-8 after the patch');
}
for (const [from, to] of fixes) {
  if (!source.includes(from)) throw new Error(`dbox: fuse-native.c is not the version this patch expects (missing: ${from.trim()})`);
  source = source.replace(from, to);
}
const latin1Name = [
  '#define DBOX_LATIN1_NAME(name, size, val) \\',
  '  char name[size]; \\',
  '  size_t name##_len; \\',
  '  if (napi_get_value_string_latin1(env, val, name, size, &name##_len) != napi_ok || name##_len >= size - 1) continue;',
].join('\n');
source = `/* patched by dbox: scripts/fix-fuse-native.js */\n#include <errno.h>\n#include <sys/stat.h>\n#include <sys/types.h>\n#include <time.h>\n${latin1Name}\n` +
  `static uid_t dbox_caller_uid = (uid_t) -1;\nstatic gid_t dbox_caller_gid = (gid_t) -1;\n${source}`;
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
