// ls --color as GNU coreutils 9.1 does it (pure): LS_COLORS in the dircolors format (ls.c
// parse_ls_color and get_funky_string: two-letter types `di=01;34`, `*.ext=...` patterns, `\`
// and `^` escapes, `ln=target`), GNU's built-in defaults when it is unset (used only when
// COLORTERM is set or TERM matches one of dircolors' TERM patterns), the choice of a file's
// colour (get_color_indicator: set-id, other-writable, sticky, executable, orphan and missing
// links, extensions case-insensitively, later patterns first), and the exact escapes GNU writes
// around a name (print_name_with_quoting: a reset before the first colour, `lc`+seq+`rc` before,
// `ec` or `lc rs rc` after, `cl` when the name may wrap; the final restore).
//
// Trust: LS_COLORS, TERM and COLORTERM are the host user's own environment (the sequences in them
// are theirs to send to their terminal). Names are not: this file never sees raw names; the caller
// passes the text it already quoted for its output (src/format/quote.ts), and only that text goes
// between the escapes. A name's bytes only choose a colour (its extension), never add one.
import {quote} from './quote.js';
import {bytesName, nameBytes} from './utf8.js';
import {S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, type FileType} from '../vfs/types.js';

/** dircolors' indicator names, in ls.c's order. */
export const INDICATORS = ['lc', 'rc', 'ec', 'rs', 'no', 'fi', 'di', 'ln', 'pi', 'so', 'bd', 'cd', 'mi', 'or', 'ex', 'do',
  'su', 'sg', 'st', 'ow', 'tw', 'ca', 'mh', 'cl'] as const;
export type Indicator = typeof INDICATORS[number];

/** GNU ls 9.1's built-in colours (ls.c color_indicator), used when LS_COLORS is unset or empty. */
const DEFAULTS: Readonly<Partial<Record<Indicator, string>>> = {
  lc: '\x1b[', rc: 'm', rs: '0', di: '01;34', ln: '01;36', pi: '33', so: '01;35', bd: '01;33', cd: '01;33', ex: '01;32',
  do: '01;35', su: '37;41', sg: '30;43', st: '37;44', ow: '34;42', tw: '30;42', cl: '\x1b[K',
};

/** dircolors.hin's TERM lines (coreutils 9.1): without LS_COLORS, GNU colours only these terminals. */
const TERMS = ['Eterm', 'ansi', '*color*', 'con[0-9]*x[0-9]*', 'cons25', 'console', 'cygwin', '*direct*', 'dtterm', 'gnome',
  'hurd', 'jfbterm', 'konsole', 'kterm', 'linux', 'linux-c', 'mlterm', 'putty', 'rxvt*', 'screen*', 'st', 'terminator',
  'tmux*', 'vt100', 'xterm*'];

export interface LsColors {
  /** Each indicator's sequence (undefined: none), after LS_COLORS. */
  readonly seq: Readonly<Partial<Record<Indicator, string>>>;
  /** `*.ext` patterns, the last defined first (GNU's list), as bytes. */
  readonly exts: readonly {readonly ext: Uint8Array; readonly seq: string}[];
  /** `ln=target`: a link takes the colour of what it points to. */
  readonly linkAsTarget: boolean;
}

/** GNU's built-in colours, as an LsColors (what ls uses without LS_COLORS). */
export const DEFAULT_COLORS: LsColors = {seq: DEFAULTS, exts: [], linkAsTarget: false};

export interface ParsedColors {
  /** undefined: no colour after all (an unparsable LS_COLORS, or an unknown terminal without it). */
  readonly colors?: LsColors;
  /** Messages for stderr, without `ls: `. */
  readonly warnings: readonly string[];
}

/** gnulib fnmatch without flags, enough for dircolors' TERM patterns (`*`, `?`, `[0-9]`). */
function termMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(text);
}

/**
 * get_funky_string on bytes from `at`: the decoded bytes and where it stopped (at `:` or the end,
 * or `=` when `equalsEnd`), or undefined for a bad escape (a `\` at the end, `^` before a
 * character outside `@`..`~` and `?`).
 */
function funky(src: Uint8Array, at: number, equalsEnd: boolean): {bytes: Uint8Array; end: number} | undefined {
  const out: number[] = [];
  let p = at;
  const c = (): number => (p < src.length ? src[p]! : 0);
  for (;;) {
    const b = c();
    if (b === 0x3a || b === 0) return {bytes: Uint8Array.from(out), end: p};
    if (b === 0x3d && equalsEnd) return {bytes: Uint8Array.from(out), end: p};
    if (b === 0x5c) {
      p++;
      const e = c();
      if (e >= 0x30 && e <= 0x37) {
        let num = 0;
        while (c() >= 0x30 && c() <= 0x37) num = ((num << 3) + (src[p++]! - 0x30)) & 0xff;
        out.push(num);
        continue;
      }
      if (e === 0x78 || e === 0x58) {
        p++;
        let num = 0;
        for (;;) {
          const h = c();
          const v = h >= 0x30 && h <= 0x39 ? h - 0x30 : h >= 0x61 && h <= 0x66 ? h - 0x57 : h >= 0x41 && h <= 0x46 ? h - 0x37 : -1;
          if (v < 0) break;
          num = ((num << 4) + v) & 0xff;
          p++;
        }
        out.push(num);
        continue;
      }
      if (e === 0) return undefined;
      const named: Record<number, number> = {0x61: 7, 0x62: 8, 0x65: 27, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x76: 11, 0x3f: 127,
        0x5f: 32};
      out.push(named[e] ?? e);
      p++;
      continue;
    }
    if (b === 0x5e) {
      p++;
      const e = c();
      if (e >= 0x40 && e <= 0x7e) out.push(e & 0o37);
      else if (e === 0x3f) out.push(127);
      else return undefined;
      p++;
      continue;
    }
    out.push(b);
    p++;
  }
}

/** The colours for this environment (ls.c parse_ls_color), or none. */
export function parseLsColors(env: Readonly<Record<string, string | undefined>>): ParsedColors {
  const value = env['LS_COLORS'];
  if (value === undefined || value === '') {
    const colorterm = env['COLORTERM'];
    const term = env['TERM'];
    const known = term !== undefined && term !== '' && TERMS.some((t) => termMatch(t, term));
    if (!(colorterm !== undefined && colorterm !== '') && !known) return {warnings: []};
    return {colors: DEFAULT_COLORS, warnings: []};
  }
  const src = nameBytes(value);
  const seq: Partial<Record<Indicator, string>> = {...DEFAULTS};
  const exts: {ext: Uint8Array; seq: string}[] = [];
  const warnings: string[] = [];
  let p = 0;
  let failed = false;
  while (!failed) {
    const b = p < src.length ? src[p]! : 0;
    if (b === 0) break;
    if (b === 0x3a) {
      p++;
      continue;
    }
    if (b === 0x2a) {
      const ext = funky(src, p + 1, true);
      if (!ext || src[ext.end] !== 0x3d) {
        failed = true;
        break;
      }
      const s = funky(src, ext.end + 1, false);
      if (!s) {
        failed = true;
        break;
      }
      exts.unshift({ext: ext.bytes, seq: bytesName(s.bytes)});
      p = s.end;
      continue;
    }
    // A two-letter label, then `=`.
    if (p + 1 >= src.length) {
      failed = true;
      break;
    }
    const label = bytesName(src.subarray(p, p + 2));
    p += 2;
    if (src[p++] !== 0x3d) {
      failed = true;
      break;
    }
    const known = (INDICATORS as readonly string[]).includes(label) ? (label as Indicator) : undefined;
    const s = known ? funky(src, p, false) : undefined;
    if (!known || !s) {
      // GNU says so for a known label whose value is bad too (its check follows the lookup).
      warnings.push(`unrecognized prefix: ${quote(label)}`);
      failed = true;
      break;
    }
    seq[known] = bytesName(s.bytes);
    p = s.end;
  }
  if (failed) {
    warnings.push('unparsable value for LS_COLORS environment variable');
    return {warnings};
  }
  return {colors: {seq, exts, linkAsTarget: seq.ln === 'target'}, warnings};
}

/** ls.c is_colored: set, and not `0` or `00`. */
export const isColored = (c: LsColors, i: Indicator): boolean => {
  const s = c.seq[i];
  return s !== undefined && s !== '' && s !== '0' && s !== '00';
};

/** Whether ls must stat links' targets to colour them (ls.c main: check_symlink_mode), long or not. */
export const needsLinkTargets = (c: LsColors, long: boolean): boolean =>
  isColored(c, 'or') || (isColored(c, 'ex') && c.linkAsTarget) || (isColored(c, 'mi') && long);

/** What get_color_indicator looks at for one name (or a link's target). */
export interface ColorSubject {
  /** The name's bytes as the filesystem has them (its extension chooses a colour). */
  readonly name: string;
  /** lstat mode (stat mode with -L), undefined when it could not be had (GNU's !stat_ok). */
  readonly mode?: number;
  /** The type the directory listing gave, for an entry without a mode. */
  readonly type?: FileType;
  readonly nlink?: number;
  /** For a link: the mode of what it points to, when ls looked and it exists (GNU's linkok). */
  readonly linkMode?: number;
}

const TYPE_INDICATOR: Readonly<Record<FileType, Indicator>> = {
  unknown: 'or', fifo: 'pi', char: 'cd', dir: 'di', block: 'bd', file: 'fi', symlink: 'ln', socket: 'so',
};

/** The sequence for a name (`target` false), or for a link's target (true: `name` is then the
 *  target as the link holds it, `linkMode` what it leads to), or undefined: GNU's get_color_indicator. */
export function colorOf(c: LsColors, f: ColorSubject, target: boolean): string | undefined {
  const linkok = f.linkMode !== undefined;
  const mode = target ? (f.linkMode ?? 0) : c.linkAsTarget && linkok ? f.linkMode! : f.mode;
  let type: Indicator;
  if (target && !linkok && isColored(c, 'mi')) type = 'mi';
  else if (mode === undefined) type = TYPE_INDICATOR[f.type ?? 'unknown'];
  else {
    switch (mode & S_IFMT) {
      case S_IFREG:
        type = 'fi';
        if ((mode & 0o4000) !== 0 && isColored(c, 'su')) type = 'su';
        else if ((mode & 0o2000) !== 0 && isColored(c, 'sg')) type = 'sg';
        else if ((mode & 0o111) !== 0 && isColored(c, 'ex')) type = 'ex';
        else if ((f.nlink ?? 1) > 1 && isColored(c, 'mh')) type = 'mh';
        break;
      case S_IFDIR:
        type = 'di';
        if ((mode & 0o1000) && (mode & 0o002) && isColored(c, 'tw')) type = 'tw';
        else if ((mode & 0o002) !== 0 && isColored(c, 'ow')) type = 'ow';
        else if ((mode & 0o1000) !== 0 && isColored(c, 'st')) type = 'st';
        break;
      case S_IFLNK: type = 'ln'; break;
      case S_IFIFO: type = 'pi'; break;
      case S_IFSOCK: type = 'so'; break;
      case S_IFBLK: type = 'bd'; break;
      case S_IFCHR: type = 'cd'; break;
      default: type = 'or';
    }
  }
  if (type === 'fi') {
    // The name's suffix (a target's own name for a target), patterns defined last tried first.
    const bytes = nameBytes(f.name);
    for (const e of c.exts) {
      if (e.ext.length <= bytes.length && caseEqualTail(bytes, e.ext)) return e.seq;
    }
  }
  // A link whose target ls found missing (or did not look for) is an orphan where `or` is set or `ln=target`.
  if (type === 'ln' && !target && !linkok && (c.linkAsTarget || isColored(c, 'or'))) type = 'or';
  return c.seq[type];
}

/** c_strncasecmp of the last bytes of `name` with `ext` (ASCII letters only fold). */
function caseEqualTail(name: Uint8Array, ext: Uint8Array): boolean {
  const off = name.length - ext.length;
  for (let k = 0; k < ext.length; k++) {
    let a = name[off + k]!;
    let b = ext[k]!;
    if (a >= 0x41 && a <= 0x5a) a += 32;
    if (b >= 0x41 && b <= 0x5a) b += 32;
    if (a !== b) return false;
  }
  return true;
}

/**
 * The escapes of one listing (one ls run): GNU writes a reset before its first colour and, when
 * `lc`/`rc` are not the usual ones, a restore at the end. Each call to `name` gives the text to
 * write for one quoted name.
 */
export class Painter {
  private used = false;

  constructor(private readonly c: LsColors, private readonly lineLength: number) {}

  private put(s: string | undefined): string {
    if (this.used) return s ?? '';
    this.used = true;
    return this.nonName() + (s ?? '');
  }

  /** prep_non_filename_text: `ec`, or `lc rs rc`. */
  private nonName(): string {
    const {seq} = this.c;
    return seq.ec !== undefined ? seq.ec : (seq.lc ?? '') + (seq.rs ?? '') + (seq.rc ?? '');
  }

  /** set_normal_color: before the inode and size of a name in a listing other than -l. */
  normal(): string {
    if (!isColored(this.c, 'no')) return '';
    return this.put(this.c.seq.lc) + this.put(this.c.seq.no) + this.put(this.c.seq.rc);
  }

  /**
   * `quoted` (already quoted for the output) in colour `color` (from colorOf), starting at column
   * `startCol` (GNU's count, see ls.ts), `bytes` long as GNU counts it for `cl`.
   */
  name(quoted: string, color: string | undefined, startCol: number, bytes: number): string {
    let out = '';
    if (color !== undefined) {
      if (isColored(this.c, 'no')) out += this.put(this.c.seq.lc) + this.put(this.c.seq.rc);
      out += this.put(this.c.seq.lc) + this.put(color) + this.put(this.c.seq.rc);
    }
    out += quoted;
    if (color !== undefined || isColored(this.c, 'no')) {
      out += this.nonName();
      if (this.lineLength && Math.floor(startCol / this.lineLength) !== Math.floor((startCol + bytes - 1) / this.lineLength)) {
        out += this.put(this.c.seq.cl);
      }
    }
    return out;
  }

  /** What GNU writes once everything is listed: `lc rc` when colour was used and they are not `\e[` and `m`. */
  end(): string {
    if (!this.used) return '';
    if (this.c.seq.lc === '\x1b[' && this.c.seq.rc === 'm') return '';
    return (this.c.seq.lc ?? '') + (this.c.seq.rc ?? '');
  }
}
