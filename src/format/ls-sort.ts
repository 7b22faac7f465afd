// How GNU ls 9.1 orders a listing (pure): by name (bytes, as in the C locale), or by a key (-t
// time, newest first; -S size, largest first; -X extension; -v version; --sort=width, narrowest
// first) with ties broken by name;
// -r reverses the whole comparison, --group-directories-first puts directories first whatever
// the order, -U keeps the order it was given (ls.c sort_files and its cmp_* functions).
import {nameBytes} from './utf8.js';

export type SortKey = 'name' | 'time' | 'size' | 'extension' | 'version' | 'width' | 'none';

export interface SortOptions {
  readonly key: SortKey;
  readonly reverse: boolean;
  readonly dirsFirst: boolean;
}

export interface Sortable {
  readonly name: string;
  /** the time -t sorts by (seconds and nanoseconds) */
  readonly time?: {readonly sec: number; readonly nsec: number};
  readonly size?: number;
  /** the shown name's width in columns (--sort=width) */
  readonly width?: number;
  /** a directory (or a link to one), for --group-directories-first */
  readonly dir?: boolean;
}

/** Byte order of names (surrogates stand for raw bytes). */
export function compareNames(a: string, b: string): number {
  if (!/[\ud800-\udfff]/.test(a) && !/[\ud800-\udfff]/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(nameBytes(a)), Buffer.from(nameBytes(b)));
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => /[A-Za-z]/.test(c);
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

/** gnulib's verrevcmp: digit runs compared as numbers, the rest by `order`. */
function verrevcmp(s1: string, s2: string): number {
  let i = 0;
  let j = 0;
  while (i < s1.length || j < s2.length) {
    let firstDiff = 0;
    while ((i < s1.length && !isDigit(s1[i])) || (j < s2.length && !isDigit(s2[j]))) {
      const c1 = order(s1[i]);
      const c2 = order(s2[j]);
      if (c1 !== c2) return c1 - c2;
      i++;
      j++;
    }
    while (s1[i] === '0') i++;
    while (s2[j] === '0') j++;
    while (isDigit(s1[i]) && isDigit(s2[j])) {
      if (!firstDiff) firstDiff = s1.charCodeAt(i) - s2.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(s1[i])) return 1;
    if (isDigit(s2[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

/** The length of a name without its suffix (gnulib file_prefixlen: `(\.[A-Za-z~][A-Za-z0-9~]*)*$`). */
function prefixLength(s: string): number {
  let prefix = s.length;
  for (let i = 0; ; ) {
    if (i >= s.length) return prefix;
    if (s[i] === '.' && i + 1 < s.length && (isAlpha(s[i + 1]!) || s[i + 1] === '~')) {
      prefix = i;
      i += 2;
      while (i < s.length && (isAlpha(s[i]!) || isDigit(s[i]) || s[i] === '~')) i++;
      continue;
    }
    prefix = s.length;
    i++;
    // skip to the next dot
    while (i < s.length && s[i] !== '.') i++;
  }
}

/** One char per byte of a name: gnulib compares versions byte by byte (c_isalpha, unsigned char). */
const byteString = (name: string): string =>
  (/^[\x00-\x7f]*$/.test(name) ? name : Buffer.from(nameBytes(name)).toString('latin1'));

/** gnulib filevercmp (as in coreutils 9.1), on the names' bytes. */
export function filevercmp(nameA: string, nameB: string): number {
  if (nameA === nameB) return 0;
  const a = byteString(nameA);
  const b = byteString(nameB);
  const special = (s: string): number => (s === '' ? 1 : s === '.' ? 2 : s === '..' ? 3 : 0);
  const sa = special(a);
  const sb = special(b);
  if (sa || sb) return sa && sb ? sa - sb : sa ? -1 : 1;
  const ha = a.startsWith('.');
  const hb = b.startsWith('.');
  if (ha !== hb) return ha ? -1 : 1;
  const a1 = ha ? a.slice(1) : a;
  const b1 = hb ? b.slice(1) : b;
  const pa = prefixLength(a1);
  const pb = prefixLength(b1);
  const diff = pa === pb && a1.slice(0, pa) === b1.slice(0, pb) ? 0 : verrevcmp(a1.slice(0, pa), b1.slice(0, pb));
  return diff || verrevcmp(a1, b1);
}

const extension = (name: string): string => {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot);
};

function keyCompare(key: SortKey, a: Sortable, b: Sortable): number {
  switch (key) {
    case 'time': {
      const ta = a.time ?? {sec: 0, nsec: 0};
      const tb = b.time ?? {sec: 0, nsec: 0};
      const d = tb.sec - ta.sec || tb.nsec - ta.nsec;
      return d || compareNames(a.name, b.name);
    }
    case 'size': {
      const d = (b.size ?? 0) - (a.size ?? 0);
      return d > 0 ? 1 : d < 0 ? -1 : compareNames(a.name, b.name);
    }
    case 'extension':
      return compareNames(extension(a.name), extension(b.name)) || compareNames(a.name, b.name);
    case 'version':
      return filevercmp(a.name, b.name) || compareNames(a.name, b.name);
    case 'width':
      return (a.width ?? 0) - (b.width ?? 0) || compareNames(a.name, b.name);
    default:
      return compareNames(a.name, b.name);
  }
}

/** `list` in GNU ls's order (a new array; stable where GNU's keys tie completely). */
export function sortListing<T>(list: readonly T[], of: (x: T) => Sortable, options: SortOptions): T[] {
  const keyed = list.map((x) => ({x, s: of(x)}));
  if (options.key !== 'none') {
    keyed.sort((p, q) => {
      const c = keyCompare(options.key, p.s, q.s);
      return options.reverse ? -c : c;
    });
  }
  if (options.dirsFirst) {
    const dirs = keyed.filter((k) => k.s.dir);
    const rest = keyed.filter((k) => !k.s.dir);
    return [...dirs, ...rest].map((k) => k.x);
  }
  return keyed.map((k) => k.x);
}
