// Host canaries: files and directories on the host that no container, engine or local user may
// read or change through dbox. Each holds a random token; any dbox output that contains a token
// is a leak. Before and after every case the whole set is recorded without following links
// (content hash, mode, owner, mtime to the nanosecond, size, link target, directory listing) and
// compared: the moby testBreakout idea, applied to every path dbox has.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface Entry {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: string;
  readonly size: number;
  readonly sha256?: string;
  readonly link?: string;
  readonly listing?: string[];
}
export type Snapshot = Record<string, Entry>;

function typeOf(st: fs.BigIntStats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'link';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'chr';
  if (st.isBlockDevice()) return 'blk';
  return 'other';
}

/** Every entry at and below `root`, by lstat (links are recorded, never followed). */
export function snapshot(root: string): Snapshot {
  const out: Snapshot = {};
  const walk = (p: string): void => {
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(p, {bigint: true});
    } catch {
      out[p] = {type: 'missing', mode: 0, uid: 0, gid: 0, mtimeNs: '0', size: 0};
      return;
    }
    const type = typeOf(st);
    const e: {-readonly [K in keyof Entry]: Entry[K]} = {type, mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid),
      mtimeNs: st.mtimeNs.toString(), size: type === 'dir' ? 0 : Number(st.size)};
    if (type === 'file') e.sha256 = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    if (type === 'link') e.link = fs.readlinkSync(p);
    if (type === 'dir') {
      // Buffers: a name with invalid UTF-8 planted by an attack must show, not collapse.
      e.listing = (fs.readdirSync(p, {encoding: 'buffer'}) as Buffer[]).map((b) => b.toString('hex')).sort();
    }
    out[p] = e;
    if (type === 'dir') for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(root);
  return out;
}

export interface Canaries {
  /** The canary roots (a fresh mkdtemp under /tmp, one under /root). */
  readonly roots: string[];
  /** A file with a token, under /tmp. */
  readonly file: string;
  /** A directory of the canary, under /tmp (holds inner.txt and sub/). */
  readonly dir: string;
  /** A file under /root (an /etc-like place only root reads). */
  readonly rootFile: string;
  /** Every token the canaries hold: none may ever appear in dbox's output. */
  readonly tokens: string[];
  /** The contents of `file`, `dir/inner.txt` and `rootFile`. */
  readonly content: {file: string; inner: string; rootFile: string};
  /** The canaries as created. */
  readonly original: Snapshot;
  record(): Snapshot;
  /** Lays them out again as created (after a case that broke them, so the next case starts clean). */
  restore(): void;
  /** Whether any token is in `text` (stdout or stderr of a dbox run, a copied tree...). */
  leaks(text: string | Buffer): boolean;
  cleanup(): void;
}

const token = (label: string): string => `DBOX-HOST-CANARY-${label}-${crypto.randomBytes(6).toString('hex')}`;

/** Creates the canaries; `base` is a private directory of the test file (under /tmp). */
export function makeCanaries(base: string): Canaries {
  const tmpRoot = fs.mkdtempSync(path.join(base, 'canary-'));
  const rootRoot = fs.mkdtempSync('/root/dbox-adv-canary-');
  const file = path.join(tmpRoot, 'secret.txt');
  const dir = path.join(tmpRoot, 'hostdir');
  const rootFile = path.join(rootRoot, 'shadow');
  const content = {file: `${token('file')}\n`, inner: `${token('inner')}\n`, rootFile: `${token('root')}\n`};
  /** Lays the canaries out, always identically (also to restore them after a breach). */
  const populate = (): void => {
    for (const r of [tmpRoot, rootRoot]) {
      for (const n of fs.readdirSync(r)) fs.rmSync(path.join(r, n), {recursive: true, force: true});
    }
    fs.writeFileSync(file, content.file, {mode: 0o640});
    fs.mkdirSync(path.join(dir, 'sub'), {recursive: true});
    fs.writeFileSync(path.join(dir, 'inner.txt'), content.inner, {mode: 0o600});
    fs.writeFileSync(rootFile, content.rootFile, {mode: 0o600});
    fs.chmodSync(file, 0o640);
    fs.chmodSync(tmpRoot, 0o755);
    fs.chmodSync(rootRoot, 0o700);
    // Old, exact times: a write or a touch through any path changes them.
    for (const p of [file, path.join(dir, 'inner.txt'), rootFile, path.join(dir, 'sub'), dir, tmpRoot, rootRoot]) {
      fs.utimesSync(p, 1_000_000_000.123, 1_000_000_000.123);
    }
  };
  populate();
  const tokens = Object.values(content).map((c) => c.trim());
  const record = (): Snapshot => Object.assign({}, snapshot(tmpRoot), snapshot(rootRoot));
  const original = record();
  return {
    roots: [tmpRoot, rootRoot], file, dir, rootFile, tokens, content, original,
    record,
    restore: populate,
    leaks: (text) => tokens.some((t) => (typeof text === 'string' ? text.includes(t) : text.includes(t))),
    cleanup() {
      for (const r of [tmpRoot, rootRoot]) fs.rmSync(r, {recursive: true, force: true});
    },
  };
}

/** The canary path relative to `/`, for `..` chains: `../../…/tmp/…/secret.txt`. */
export const climb = (levels: number, absolute: string): string => '../'.repeat(levels) + absolute.replace(/^\/+/, '');
