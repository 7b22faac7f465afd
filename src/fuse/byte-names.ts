// Names between fuse-native and the mount's ops, as bytes: the one place that converts them.
//
// A Linux name is bytes; fuse-native (patched by scripts/fix-fuse-native.js) hands every path,
// rename/link destination and symlink target to JS as a latin1 string, one char per byte, and
// takes readdir's names and readlink's target back the same way, so nothing is lost either way.
// dbox's own form of a name (src/format/utf8.ts) is a string whose invalid bytes are U+DC00+byte;
// the drivers take and give that. `byteNames` wraps the ops so that no op ever sees a latin1
// string and none hands one back: every name crossing is converted here, and an op whose names
// this file does not know refuses to mount rather than be served unconverted.
//
// Trust: the latin1 strings come from the kernel through libfuse (a name the reader typed); the
// names going back come from a container (hostile) through the drivers. Neither is interpreted
// here: bytes become a name and a name becomes bytes, one to one (a name's bytes never hold '/'
// or NUL: the drivers refuse a listing that does, src/vfs/untrusted.ts).
import type {FuseOps} from 'fuse-native';
import {bytesName, nameBytes} from '../format/utf8.js';

const ascii = /^[\0-\x7f]*$/;

/** A path or name as the patched fuse-native gives it (one char per byte) → dbox's name. */
export const fromFuse = (latin1: string): string => (ascii.test(latin1) ? latin1 : bytesName(Buffer.from(latin1, 'latin1')));

/** dbox's name → a string fuse-native's patched C reads back byte for byte. */
export function toFuse(name: string): string {
  if (ascii.test(name)) return name;
  const b = nameBytes(name);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** How many leading arguments of each op are paths or names (the rest are numbers, buffers, the
 *  callback). Every op of FuseOps is listed, so a new one cannot be added without saying. */
const namesIn: Readonly<Record<keyof FuseOps, number>> = {
  init: 0, getattr: 1, fgetattr: 1, access: 1, statfs: 1, readdir: 1, readlink: 1, open: 1, create: 1, read: 1, write: 1,
  flush: 1, fsync: 1, release: 1, truncate: 1, ftruncate: 1, utimens: 1, chmod: 1, chown: 1, unlink: 1,
  rename: 2, link: 2, symlink: 2, mkdir: 1, rmdir: 1,
};

type Fn = (...args: unknown[]) => void;
type Cb = (err: number, ...rest: unknown[]) => void;

/** What an op hands back, as fuse-native's C reads it: readdir's names, readlink's target. */
const results: Partial<Record<keyof FuseOps, (cb: Cb) => Cb>> = {
  readdir: (cb) => (err, names, stats) => cb(err, (names as string[] | undefined)?.map(toFuse), stats),
  readlink: (cb) => (err, target) => cb(err, target === undefined ? undefined : toFuse(target as string)),
};

/** `ops` as fuse-native's patched C must be given them: names in and out as latin1. */
export function byteNames(ops: FuseOps): FuseOps {
  const out: Record<string, Fn> = {};
  for (const [op, fn] of Object.entries(ops) as [keyof FuseOps, Fn][]) {
    if (!Object.hasOwn(namesIn, op)) throw new Error(`fuse op ${op}: its names are not converted (src/fuse/byte-names.ts)`);
    const n = namesIn[op];
    const result = results[op];
    out[op] = (...args: unknown[]): void => {
      for (let i = 0; i < n; i++) args[i] = fromFuse(args[i] as string);
      if (result) args[args.length - 1] = result(args[args.length - 1] as Cb);
      fn(...args);
    };
  }
  return out as FuseOps;
}
