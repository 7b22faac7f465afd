// ls: list directories and files, on the host, in /containers, and inside containers.
//
// Trust: every name, link target, owner and group name (the container's own /etc/passwd and
// /etc/group), container name, image and id (engine JSON) is hostile. All of them are shown through
// src/format/quote.ts with the quoting GNU ls 9.1 would use (src/format/ls-quoting.ts): on a
// terminal shell-escape (`$'\033'`), with -N/--quoting-style=literal|shell|shell-always control
// characters as `?`; to a pipe raw, as GNU. Sizes are hostile too: a listing of any length is laid
// out without recursion or argument spreading, and `ls -R` of any depth stops with GNU's
// `File name too long` once a directory's path reaches PATH_MAX bytes.
// Colour (--color, LS_COLORS: src/format/ls-colors.ts) goes around the text already quoted for
// the output, never around a raw name: on a terminal that text has no control character left.
// Links are followed (-L, -H, a directory operand) only by the filesystem's own stat, which
// resolves inside the container's root: a container's link never leads to the host. With -L and
// -R, a directory already being listed (a link to an ancestor) is reported and not entered again.
import {colorContainer} from '../src/format/color.js';
import {columns, commas, type Cell} from '../src/format/columns.js';
import {fnmatcher} from '../src/format/fnmatch.js';
import {colorOf, needsLinkTargets, Painter, parseLsColors, type LsColors} from '../src/format/ls-colors.js';
import {lsQuoting, lsQuotingArgs, type LsQuoting} from '../src/format/ls-quoting.js';
import {expectedTimeWidth, humanSize, modeString, TIME_STYLES, timeText, type TimeStyle} from '../src/format/mode.js';
import {sortListing, type SortKey, type SortOptions} from '../src/format/ls-sort.js';
import {escapeControls, quote, quotef, quoteName, type NameQuoting} from '../src/format/quote.js';
import {nameBytes, writableBytes} from '../src/format/utf8.js';
import {textWidth} from '../src/format/width.js';
import type {ContainerInfo} from '../src/docker/engine.js';
import type {Builtin, ShellContext} from '../src/shell/context.js';
import {parseOptions, type ParsedArgs} from '../src/shell/options.js';
import {resolveOperand} from '../src/shell/operand.js';
import {report} from '../src/shell/report.js';
import {accountsOf} from '../src/vfs/accounts.js';
import {FsError} from '../src/errors.js';
import {absolute, join} from '../src/vfs/path.js';
import type {Target} from '../src/vfs/namespace.js';
import {isDir, isSymlink, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, type ContainerFs, type FileType,
  type Stat, type Timespec} from '../src/vfs/types.js';
import {refusalText, type Refusal} from '../src/vfs/untrusted.js';
import {helpText} from './help.js';
import {decodeCount, lsArgs, type LsExtras} from './ls-options.js';

const spec = {
  short: {l: 'long', a: 'all', A: 'almostAll', d: 'directory', '1': 'one', h: 'human', R: 'recursive',
    N: 'literal', b: 'escape', Q: 'quoteName', q: 'hideControl', t: 'sortTime', r: 'reverse', S: 'sortSize',
    U: 'unsorted', X: 'sortExtension', v: 'sortVersion', F: 'classify', p: 'slash', i: 'inode', n: 'numeric',
    s: 'size', C: 'columns', x: 'across', m: 'commas', g: 'noOwner', o: 'noGroup', G: 'noGroupColumn', c: 'ctime', u: 'atime', k: 'kibibytes',
    L: 'dereference', H: 'derefArgs'},
  long: {all: 'all', 'almost-all': 'almostAll', directory: 'directory', 'human-readable': 'human', recursive: 'recursive',
    literal: 'literal', escape: 'escape', 'quote-name': 'quoteName', 'hide-control-chars': 'hideControl',
    'show-control-chars': 'showControl', reverse: 'reverse', classify: 'classify', 'file-type': 'fileType',
    inode: 'inode', 'numeric-uid-gid': 'numeric', size: 'size', 'no-group': 'noGroupColumn',
    'group-directories-first': 'dirsFirst', 'full-time': 'fullTime', kibibytes: 'kibibytes', dereference: 'dereference',
    'dereference-command-line': 'derefArgs', 'dereference-command-line-symlink-to-dir': 'derefDirArgs', si: 'si',
    // What --sort=width and --indicator-style=none become (builtins/ls-options.ts).
    '\0sort-width': 'sortWidth', '\0indicator-none': 'noIndicator'},
  usageStatus: 2,
};

/** The listing's order from the flags (one sort flag at most: canonical()). -c/-u sort by their
 *  time without -l, as GNU 9.1 does. */
function sortOptions(flags: Flags): SortOptions {
  const long = flags.has('long');
  const key: SortKey = flags.has('unsorted') ? 'none' : flags.has('sortSize') ? 'size' : flags.has('sortTime') ? 'time'
    : flags.has('sortExtension') ? 'extension' : flags.has('sortVersion') ? 'version' : flags.has('sortWidth') ? 'width'
      : (flags.has('ctime') || flags.has('atime')) && !long ? 'time' : 'name';
  return {key, reverse: flags.has('reverse'), dirsFirst: flags.has('dirsFirst')};
}

type Format = 'long' | 'one' | 'commas' | 'across' | 'columns';

/** Layout options (-n, -g, -o and --full-time are long listings) and sort options. */
const LAYOUTS: Readonly<Record<string, Format>> = {long: 'long', numeric: 'long', noOwner: 'long', noGroup: 'long', fullTime: 'long',
  one: 'one', commas: 'commas', across: 'across', columns: 'columns'};
const SORTS = ['sortTime', 'sortSize', 'unsorted', 'sortExtension', 'sortVersion', 'sortWidth'];

/** The flags as the rest of this file reads them: of the layout options and of the sort options
 *  the last given wins, as in GNU ls (`ls -l -C` lists in columns, `ls -S -t` sorts by time; but
 *  `ls -l -1` stays long); of -L, -H and --dereference-command-line-symlink-to-dir, and of -F,
 *  --file-type and -p too. */
function canonical(parsed: ParsedArgs): Flags {
  let layout: Format | undefined;
  let sort: string | undefined;
  let deref: string | undefined;
  let mark: string | undefined;
  for (const f of parsed.order) {
    if (f === 'classify' || f === 'fileType' || f === 'slash' || f === 'noIndicator') mark = f;
    // -1 has no effect after -l (ls.c).
    if (!(f === 'one' && layout === 'long')) layout = LAYOUTS[f] ?? layout;
    if (SORTS.includes(f)) sort = f;
    if (f === 'dereference' || f === 'derefArgs' || f === 'derefDirArgs') deref = f;
  }
  const flags = new Set([...parsed.flags].filter((f) => !['long', 'one', 'commas', 'across', 'columns', 'dereference', 'derefArgs',
    'derefDirArgs', 'classify', 'fileType', 'slash', 'noIndicator', ...SORTS].includes(f)));
  if (mark && mark !== 'noIndicator') flags.add(mark);
  if (layout) flags.add(layout);
  if (sort) flags.add(sort);
  if (deref) flags.add(deref);
  return flags;
}

/** The layout (one layout flag at most: canonical()), columns by default on a terminal. */
const formatOf = (flags: Flags, isTTY: boolean): Format => (flags.has('long') ? 'long' : flags.has('one') ? 'one'
  : flags.has('commas') ? 'commas' : flags.has('across') ? 'across' : flags.has('columns') || isTTY ? 'columns' : 'one');

/** The line length (ls.c decode_switches): -w; else the terminal's; else COLUMNS when it is a
 *  number (a warning when it is not); else 80. Only looked up where the layout or colour needs it. */
function lineLength(ctx: ShellContext, extras: LsExtras, needed: boolean, warn: (text: string) => void): number {
  if (extras.width !== undefined) return extras.width;
  if (!needed) return 80;
  if (ctx.stdout.isTTY && ctx.stdout.columns > 0) return ctx.stdout.columns;
  const env = ctx.env['COLUMNS'];
  if (env !== undefined && env !== '') {
    const n = decodeCount(env);
    if (n !== undefined) return n;
    warn(`ignoring invalid width in environment variable COLUMNS: ${quote(env)}`);
  }
  return 80;
}

/** The tab size (-T, else TABSIZE, else 8; a warning for an invalid TABSIZE). */
function tabSize(ctx: ShellContext, extras: LsExtras, warn: (text: string) => void): number {
  if (extras.tabSize !== undefined) return extras.tabSize;
  const env = ctx.env['TABSIZE'];
  if (env === undefined) return 8;
  const n = decodeCount(env);
  if (n !== undefined) return n;
  warn(`ignoring invalid tab size in environment variable TABSIZE: ${quote(env)}`);
  return 8;
}

/** The shown time's style (ls.c decode_switches, for -l only): --time-style, else TIME_STYLE, else
 *  locale; `posix-` prefixes mean `locale` in the C locale; `+FORMAT` or `+OLD\nRECENT`. */
function timeStyleOf(option: string | undefined, env: ShellContext['env']): TimeStyle | {error: string} {
  let style = option ?? env['TIME_STYLE'] ?? 'locale';
  const locale = env['LC_ALL'] || env['LC_TIME'] || env['LANG'] || 'C';
  while (style.startsWith('posix-')) {
    if (locale === 'C' || locale === 'POSIX') return TIME_STYLES.locale;
    style = style.slice('posix-'.length);
  }
  if (style.startsWith('+')) {
    const body = style.slice(1);
    const nl = body.indexOf('\n');
    if (nl < 0) return {old: body, recent: body};
    if (body.indexOf('\n', nl + 1) >= 0) return {error: `invalid time style format ${quote(body)}`};
    return {old: body.slice(0, nl), recent: body.slice(nl + 1)};
  }
  const names = Object.keys(TIME_STYLES) as (keyof typeof TIME_STYLES)[];
  const exact = names.find((n) => n === style);
  const prefixed = names.filter((n) => n.startsWith(style));
  const found = exact ?? (prefixed.length === 1 ? prefixed[0] : undefined);
  if (found) return TIME_STYLES[found];
  return {error: `${prefixed.length > 1 ? 'ambiguous' : 'invalid'} argument ${quote(style)} for ${quote('time style')}\n` +
    `Valid arguments are:\n${names.map((n) => `  - [posix-]${n}\n`).join('')}  - +FORMAT (e.g., +%H:%M) for a 'date'-style format`};
}

/** The time shown and sorted by: mtime, or -c ctime, -u atime. */
const shownTime = (st: Stat, flags: Flags): Timespec => (flags.has('ctime') ? st.ctime : flags.has('atime') ? st.atime : st.mtime);

/** -F/-p/--file-type: the character after a name of this mode (ls.c get_type_indicator); without
 *  a mode, of the type the directory gave. */
function indicator(mode: number | undefined, flags: Flags, type?: FileType): string {
  const classify = flags.has('classify');
  const any = classify || flags.has('fileType');
  if (mode === undefined) {
    if (type === 'dir') return any || flags.has('slash') ? '/' : '';
    if (!any) return '';
    return type === 'symlink' ? '@' : type === 'fifo' ? '|' : type === 'socket' ? '=' : '';
  }
  const t = mode & S_IFMT;
  if (t === S_IFDIR) return any || flags.has('slash') ? '/' : '';
  if (!any) return '';
  if (t === S_IFREG) return classify && (mode & 0o111) !== 0 ? '*' : '';
  if (t === S_IFLNK) return '@';
  if (t === S_IFIFO) return '|';
  if (t === S_IFSOCK) return '=';
  return '';
}

/** -h (powers of 1024) or --si (of 1000), the last given; else undefined. */
const humanOf = (flags: Flags, order: readonly string[]): 'binary' | 'si' | undefined => {
  const last = [...order].reverse().find((f) => f === 'human' || f === 'si');
  return last === 'human' ? 'binary' : last === 'si' ? 'si' : undefined;
};

/** -s: the allocated size, in 1024-byte blocks (or -h/--si units). */
const blocksText = (st: Stat | undefined, view: View): string => {
  if (!st) return '?';
  return view.human ? humanSize(st.blocks * 512, view.human === 'si') : String(Math.ceil(st.blocks / 2));
};

/** A path of this many bytes or more cannot be opened (Linux PATH_MAX, what GNU ls meets). */
const PATH_MAX = 4096;

type Flags = ReadonlySet<string>;

interface Item {
  readonly name: string;
  readonly stat?: Stat;
  /** The type the directory listing gave, for an entry without a stat. */
  readonly type?: FileType;
  readonly linkTarget?: string;
  /** The mode of what the link points to, when ls looked and it exists (GNU's linkok). */
  readonly linkMode?: number;
  readonly container?: ContainerInfo;
  readonly fs?: ContainerFs;
  /** An entry of /hosts: the context's engine address, and whether it answered (ls -l). */
  readonly endpoint?: {readonly address: string; readonly reachable?: boolean};
}

/** Items in the order the flags ask for (--sort=width measures names as `names` quotes them). */
const ordered = (items: readonly Item[], flags: Flags, names?: NameQuoting): Item[] => sortListing(items, (i) => ({
  name: i.name,
  ...(names && flags.has('sortWidth') ? {width: textWidth(quoteName(i.name, names).text)} : {}),
  ...(i.stat ? {time: shownTime(i.stat, flags), size: i.stat.size} : {}),
  dir: (i.stat !== undefined && isDir(i.stat)) || i.container !== undefined || i.endpoint !== undefined ||
    (i.linkMode !== undefined && (i.linkMode & S_IFMT) === S_IFDIR),
}), sortOptions(flags));

/** How this run shows names: the quoting, the layout, colour, the time style. */
interface View {
  readonly q: LsQuoting;
  readonly ctx: ShellContext;
  readonly flags: Flags;
  /** The line length (0: none). */
  readonly lineLength: number;
  readonly tabs: boolean;
  readonly tabSize: number;
  /** Colour asked for and possible (GNU's print_with_color). */
  readonly color: boolean;
  /** Colour asked for: containers are shown running green, stopped red (dbox's own). */
  readonly containerColor: boolean;
  readonly colors?: LsColors;
  readonly painter?: Painter;
  readonly style: TimeStyle;
  readonly human?: 'binary' | 'si';
}

/** A name as shown: its quoted text, and a leading space where others in its list carry quotes. */
interface Shown {
  readonly text: string;
  readonly pad: boolean;
  /** Columns on the terminal, the pad included. */
  readonly width: number;
}

function shownNames(items: readonly Item[], quoting: NameQuoting, view: View): Shown[] {
  const quoted = items.map((i) => quoteName(i.name, quoting));
  // GNU pads only in long listings and in columns with a line length (ls.c align_variable_outer_quotes).
  const format = formatOf(view.flags, view.ctx.stdout.isTTY);
  const aligns = view.q.alignQuotes && (format === 'long' || view.lineLength > 0);
  const pad = aligns && quoted.some((x) => x.quoted);
  return quoted.map((x) => {
    const p = pad && !x.quoted;
    return {text: x.text, pad: p, width: textWidth(x.text) + (p ? 1 : 0)};
  });
}

/** The colour subject of an item (src/format/ls-colors.ts). */
const subjectOf = (item: Item) => ({name: item.name, ...(item.stat ? {mode: item.stat.mode, nlink: item.stat.nlink} : {}),
  ...(item.type ? {type: item.type} : {}), ...(item.linkMode !== undefined ? {linkMode: item.linkMode} : {})});

/** The shown name, coloured like GNU's (the alignment space outside the colour); `startCol` is
 *  GNU's count of where it starts (for the clear-to-end-of-line it adds where a name may wrap). */
function colored(item: Item, shown: Shown, view: View, startCol: number): string {
  const lead = shown.pad ? ' ' : '';
  if (item.container) return lead + (view.containerColor ? colorContainer(shown.text, String(item.container.state)) : shown.text);
  if (!view.painter || !view.colors) return lead + shown.text;
  const bytes = nameBytes(shown.text).length + lead.length;
  return lead + view.painter.name(shown.text, colorOf(view.colors, subjectOf(item), false), startCol, bytes);
}

/** `major, minor` of a device (Linux dev_t encoding). */
function deviceNumbers(rdev: number): [string, string] {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);
  return [String(major), String(minor)];
}

/**
 * Words from outside that are not file names: owner and group names from the container's
 * /etc/passwd and /etc/group (GNU prints those raw), an engine's state, image and id, a context's
 * address. Raw when every character is printable, else quoted as a name.
 */
const outsideText = (value: unknown, view: View): string => {
  const text = String(value ?? '');
  return escapeControls(text) === text ? text : quoteName(text, view.q.names).text;
};

function createdText(created: unknown): string {
  const ms = typeof created === 'number' ? created * 1000 : NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return '?';
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** A cell of the long format: right-aligned (numbers, ids without a name) or left. */
interface LongCell {
  readonly text: string;
  readonly right: boolean;
}
const L = (text: string): LongCell => ({text, right: false});
const R = (text: string): LongCell => ({text, right: true});

/** The column widths GNU accumulates over a listing (ls.c gobble_file): for the file operands,
 *  over every operand, directories included. */
interface Widths {
  inode: number;
  blocks: number;
  nlink: number;
  owner: number;
  group: number;
  size: number;
  major: number;
  minor: number;
}

async function widthsOf(items: readonly Item[], view: View): Promise<Widths> {
  const w: Widths = {inode: 0, blocks: 0, nlink: 0, owner: 0, group: 0, size: 0, major: 0, minor: 0};
  for (const item of items) {
    const st = item.stat;
    if (view.flags.has('inode')) w.inode = Math.max(w.inode, st ? String(st.ino).length : 1);
    if (!st) continue;
    w.blocks = Math.max(w.blocks, textWidth(blocksText(st, view)));
    if (!view.flags.has('long')) continue;
    w.nlink = Math.max(w.nlink, String(st.nlink).length);
    const ids = await idTexts(item, st, view);
    w.owner = Math.max(w.owner, textWidth(ids.owner.text));
    w.group = Math.max(w.group, textWidth(ids.group.text));
    const type = st.mode & S_IFMT;
    if (type === S_IFCHR || type === S_IFBLK) {
      const [major, minor] = deviceNumbers(st.rdev);
      w.major = Math.max(w.major, major.length);
      w.minor = Math.max(w.minor, minor.length);
      w.size = Math.max(w.size, w.major + 2 + w.minor);
    } else {
      w.size = Math.max(w.size, sizeText(st, view).length);
    }
  }
  return w;
}

const sizeText = (st: Stat, view: View): string => (view.human ? humanSize(st.size, view.human === 'si') : String(st.size));

/** Owner and group as shown: a name (left-aligned) from the filesystem's own files, or the number
 *  (right-aligned, as GNU's format_user_or_group) with -n or where there is no name. */
async function idTexts(item: Item, st: Stat, view: View): Promise<{owner: LongCell; group: LongCell}> {
  const accounts = item.fs && !view.flags.has('numeric') ? await accountsOf(item.fs) : undefined;
  const one = (name: string | undefined, id: number): LongCell =>
    (name === undefined || name === String(id) ? R(String(id)) : L(outsideText(name, view)));
  return {owner: one(accounts?.user(st.uid), st.uid), group: one(accounts?.group(st.gid), st.gid)};
}

async function longLines(items: readonly Item[], view: View, alsoWidths: readonly Item[] = []): Promise<string[]> {
  const {flags} = view;
  const names = shownNames(items, view.q.names, view);
  if (items.some((i) => i.endpoint)) {
    const rows = items.map((it, i) => [it.endpoint?.reachable ? 'reachable' : 'unreachable',
      outsideText(it.endpoint?.address, view), colored(it, names[i]!, view, 0)]);
    return table(rows.map((r) => r.map(L)));
  }
  if (items.some((i) => i.container)) {
    const rows = items.map((it, i) => {
      const c = it.container;
      const name = colored(it, names[i]!, view, 0);
      if (!c) return it.stat && isDir(it.stat) ? ['directory', '-', '-', '-', name] : ['?', '?', '?', '?', name];
      return [outsideText(c.state, view), outsideText(c.image, view), outsideText(String(c.id ?? '').slice(0, 12), view),
        createdText(c.created), name];
    });
    return table(rows.map((r) => r.map(L)));
  }
  const now = view.ctx.now();
  const owner = !flags.has('noOwner');
  const group = !flags.has('noGroup') && !flags.has('noGroupColumn');
  const w = await widthsOf([...items, ...alsoWidths], view);
  const lines: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const st = item.stat;
    // Inode, blocks, mode and links: GNU's first buffer.
    let head = '';
    if (flags.has('inode')) head += `${(st ? String(st.ino) : '?').padStart(w.inode)} `;
    if (flags.has('size')) head += `${blocksText(st, view).padStart(w.blocks)} `;
    const typeLetter = {dir: 'd', symlink: 'l', fifo: 'p', socket: 's', char: 'c', block: 'b', file: '-', unknown: '?'}[item.type ?? 'unknown'];
    head += `${st ? modeString(st.mode) : `${typeLetter}?????????`} ${(st ? String(st.nlink) : '?').padStart(w.nlink)} `;
    let ids = '';
    if (st) {
      const t = await idTexts(item, st, view);
      const cell = (c: LongCell, width: number): string => (c.right ? c.text.padStart(width) : c.text + ' '.repeat(Math.max(0, width - textWidth(c.text))));
      if (owner) ids += `${cell(t.owner, w.owner)} `;
      if (group) ids += `${cell(t.group, w.group)} `;
    } else {
      // GNU prints `?` as a name (left-aligned) for what it could not stat.
      if (owner) ids += `${'?'.padEnd(w.owner)} `;
      if (group) ids += `${'?'.padEnd(w.group)} `;
    }
    // Size (or device numbers) and time: GNU's second buffer, whose length is where it says the name starts.
    let tail = '';
    const type = st ? st.mode & S_IFMT : 0;
    if (st && (type === S_IFCHR || type === S_IFBLK)) {
      const [major, minor] = deviceNumbers(st.rdev);
      const blanks = w.size - (w.major + 2 + w.minor);
      tail += `${major.padStart(w.major + Math.max(0, blanks))}, ${minor.padStart(w.minor)} `;
    } else {
      tail += `${(st ? sizeText(st, view) : '?').padStart(w.size)} `;
    }
    tail += st ? `${timeText(shownTime(st, flags), now, view.style)} ` : `${'?'.padStart(expectedTimeWidth(view.style))} `;
    const startCol = nameBytes(owner || group ? tail : head + tail).length;
    const shown = names[i]!;
    // GNU writes `no` before the line, then the name's colour: escapes in that order.
    const normal = view.painter ? view.painter.normal() : '';
    const name = colored(item, shown, view, startCol);
    let after = '';
    if (item.linkTarget !== undefined) {
      // The target is quoted as a name, never padded (ls.c print_name_with_quoting); with -F the
      // target's indicator follows it (the name's own follows the name when there is no target).
      const target = quoteName(item.linkTarget, view.q.names).text;
      const nameBytesShown = nameBytes(shown.text).length + (shown.pad ? 1 : 0);
      const painted = view.color && view.painter && view.colors
        ? view.painter.name(target, colorOf(view.colors, {name: item.linkTarget, ...(st ? {mode: st.mode, nlink: st.nlink} : {}),
          ...(item.linkMode !== undefined ? {linkMode: item.linkMode} : {})}, true), startCol + nameBytesShown + 4, nameBytes(target).length)
        : target;
      // GNU appends the target's indicator wherever it knows the target's mode (-p too).
      after = ` -> ${painted}${item.linkMode !== undefined ? indicator(item.linkMode, flags) : ''}`;
    } else {
      after = indicator(st?.mode, flags, item.type);
    }
    lines.push(normal + head + ids + tail + name + after);
  }
  return lines;
}

/** Aligns left-aligned or right-aligned cells by textWidth; the last column (the only coloured
 *  one) is never padded, so every measured cell is plain quoted text. */
function table(rows: readonly LongCell[][]): string[] {
  const count = rows.reduce((n, r) => Math.max(n, r.length), 0);
  const widths = new Array<number>(count).fill(0);
  for (const r of rows) for (let c = 0; c < r.length - 1; c++) widths[c] = Math.max(widths[c]!, textWidth(r[c]!.text));
  return rows.map((r) => r.map((cell, c) => {
    if (c === r.length - 1) return cell.text;
    const pad = ' '.repeat(Math.max(0, widths[c]! - textWidth(cell.text)));
    return cell.right ? pad + cell.text : cell.text + pad;
  }).join(' '));
}

async function render(items: readonly Item[], view: View, alsoWidths: readonly Item[] = []): Promise<string[]> {
  const {flags, ctx} = view;
  if (flags.has('long')) return longLines(items, view, alsoWidths);
  const names = shownNames(items, view.q.names, view);
  // -i and -s: right-aligned numbers before each name, as wide as the widest in the listing.
  const format = formatOf(flags, ctx.stdout.isTTY);
  const w = await widthsOf([...items, ...alsoWidths], view);
  const commasFormat = format === 'commas';
  const prefix = (item: Item): string => {
    let p = '';
    // -m does not align them (ls.c print_file_name_and_frills: width 0 with commas).
    if (flags.has('inode')) p += `${(item.stat ? String(item.stat.ino) : '?').padStart(commasFormat ? 0 : w.inode)} `;
    if (flags.has('size')) p += `${blocksText(item.stat, view).padStart(commasFormat ? 0 : w.blocks)} `;
    return p;
  };
  const cells: Cell[] = names.map((s, i) => {
    const item = items[i]!;
    const pre = prefix(item);
    const mark = indicator(item.stat?.mode, flags, item.type);
    return {text: (col: number) => (view.painter ? view.painter.normal() : '') + pre + colored(item, s, view, col) + mark,
      width: textWidth(pre) + s.width + mark.length};
  });
  if (format === 'one') return cells.map((c) => (typeof c.text === 'string' ? c.text : c.text(0)));
  if (format === 'commas') return commas(cells, view.lineLength);
  // Without a line length, GNU separates names by two spaces on one line.
  if (view.lineLength === 0) return commas(cells, 0, ' ');
  // Tabs as GNU's where bytes are compared (a pipe, no colour); spaces on a terminal, where they look the same.
  return columns(cells, view.lineLength, {across: format === 'across', tabs: view.tabs, tabSize: view.tabSize});
}

async function withLinkTarget(item: Item, path: string, fs: ContainerFs, flags: Flags, view: View, operand = false): Promise<Item> {
  if (!item.stat || !isSymlink(item.stat)) return item;
  const long = flags.has('long');
  // --group-directories-first counts a link to a directory as one; -l -F shows the target's type;
  // colours may need it (ls.c check_symlink_mode). -l -p shows it only where GNU 9.1 has it
  // anyway (for --group-directories-first, not of an operand).
  const wantsMode = (flags.has('dirsFirst') && !operand) || (long && (flags.has('classify') || flags.has('fileType'))) ||
    (view.color && view.colors !== undefined && needsLinkTargets(view.colors, long));
  const linkMode = wantsMode ? (await fs.stat(path).catch(() => undefined))?.mode : undefined;
  const withMode = linkMode !== undefined ? {...item, linkMode} : item;
  if (!long) return withMode;
  return {...withMode, linkTarget: await fs.readlink(path).catch(() => '?')};
}

/**
 * Fails as the kernel would for a path GNU ls could not pass to opendir (PATH_MAX bytes or more).
 * A driver path is held to one byte less: the native addon cannot take a 4095-byte path (it cannot
 * tell it from a truncated one) and throws a TypeError instead of ENAMETOOLONG.
 */
function checkLength(paths: readonly string[], driverPath?: string): void {
  for (const p of paths) if (nameBytes(p).length >= PATH_MAX) throw new FsError('ENAMETOOLONG', p);
  if (driverPath !== undefined && nameBytes(driverPath).length >= PATH_MAX - 1) throw new FsError('ENAMETOOLONG', driverPath);
}

/** Which names a listing leaves out (ls.c file_ignored): dot names without -a/-A (. and .. without
 *  -a), --hide patterns without -a/-A, -I patterns always. */
function ignoredBy(flags: Flags, extras: LsExtras): (name: string) => boolean {
  const hide = extras.hide.map(fnmatcher);
  const ignore = extras.ignore.map(fnmatcher);
  const all = flags.has('all');
  const almost = flags.has('almostAll') && !all;
  return (name) => (!all && name.startsWith('.') && (!almost || name === '.' || name === '..')) ||
    (!all && !almost && hide.some((m) => m(name))) || ignore.some((m) => m(name));
}

/** The items of a directory target, sorted, with . and .. for -a; a forged listing of it that its
 *  filesystem refused (and listed otherwise) is added to `refused`; an entry -L could not follow
 *  is reported through `lost`. */
async function listDir(target: Target, at: string, view: View, ignored: (name: string) => boolean, refused: Refusal[],
  lost: (error: unknown, path: string) => void): Promise<Item[]> {
  const {flags, ctx} = view;
  if (target.kind === 'containers') {
    const list = await ctx.ns.containers(target.endpoint);
    // -a: . and .. as in any directory (/containers and its parent are directories).
    const dots: Item[] = flags.has('all') ? [{name: '.', stat: await ctx.ns.stat('/containers')}, {name: '..', stat: await ctx.ns.stat('/')}] : [];
    return ordered([...dots, ...list.filter((c) => !ignored(String(c.name))).map((c) => ({name: String(c.name), container: c}))], flags, view.q.names);
  }
  if (target.kind === 'hosts') {
    const endpoints = (await ctx.ns.readdir('/hosts')).flatMap((e) => (e.endpoint && !ignored(e.name) ? [e.endpoint] : []));
    const answers = flags.has('long') ? await Promise.all(endpoints.map((e) => ctx.ns.engineFor(e.name, '/hosts').ping())) : [];
    return ordered(endpoints.map((e, i) => ({name: e.name, endpoint: {address: e.address, ...(answers[i] !== undefined ? {reachable: answers[i]} : {})}})), flags, view.q.names);
  }
  const {fs, path} = target;
  const stopRefusals = fs.refusals?.listen((r) => refused.push(r));
  const listed = await fs.readdir(path).finally(() => stopRefusals?.());
  const entries = listed.filter((e) => !ignored(e.name));
  const deref = flags.has('dereference');
  const needStat = flags.has('long') || view.color || flags.has('recursive') || ['sortTime', 'sortSize', 'classify', 'fileType',
    'slash', 'inode', 'size', 'dirsFirst', 'ctime', 'atime'].some((f) => flags.has(f));
  // Most entries come with their stat: only the others (and links under -l or -L) wait on the driver.
  const items: Item[] = new Array<Item>(entries.length);
  const pending: Promise<void>[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    if (e.stat && !((flags.has('long') || flags.has('dirsFirst') || view.color || deref) && isSymlink(e.stat))) {
      items[k] = {name: e.name, stat: e.stat, fs};
      continue;
    }
    pending.push((async () => {
      const entryPath = join(path, e.name);
      if (deref && needStat && (e.type === 'symlink' || e.type === 'unknown' || (e.stat && isSymlink(e.stat)))) {
        // -L: what the link leads to, inside this filesystem; a link that leads nowhere is
        // reported (a minor problem) and listed with its type only.
        try {
          items[k] = {name: e.name, stat: await fs.stat(entryPath), fs};
        } catch (error) {
          lost(error, at.endsWith('/') || at === '.' ? (at === '.' ? e.name : at + e.name) : `${at}/${e.name}`);
          items[k] = {name: e.name, type: e.type, fs};
        }
        return;
      }
      const stat = e.stat ?? (needStat ? await fs.lstat(entryPath).catch(() => undefined) : undefined);
      items[k] = await withLinkTarget({name: e.name, ...(stat ? {stat} : {type: e.type}), fs}, entryPath, fs, flags, view);
    })());
  }
  await Promise.all(pending);
  if (flags.has('all')) {
    const dot = await fs.stat(path).catch(() => undefined);
    const dotdot = await fs.stat(join(path, '..')).catch(() => undefined);
    // -U keeps the directory's order, where . and .. come first.
    items.unshift({name: '.', ...(dot ? {stat: dot} : {}), fs}, {name: '..', ...(dotdot ? {stat: dotdot} : {}), fs});
  }
  return ordered(items, flags, view.q.names);
}

function totalText(items: readonly Item[], view: View): string {
  const blocks = items.reduce((sum, i) => sum + (i.stat ? i.stat.blocks : 0), 0);
  return view.human ? humanSize(blocks * 512, view.human === 'si') : String(Math.ceil(blocks / 2));
}

/** A directory being listed under -R: its device and inode, and its parent's (for -L loops). */
interface Visit {
  readonly key: string;
  readonly up?: Visit;
}
const visited = (v: Visit | undefined, key: string): boolean => {
  for (let at = v; at; at = at.up) if (at.key === key) return true;
  return false;
};

interface Dir {
  readonly shown: string;
  readonly abs: string;
  /** Resolved on the command line; subdirectories of -R are resolved when their turn comes. */
  readonly target?: Target;
  /** Named on the command line (a failure is serious: status 2) or found by -R (status 1). */
  readonly operand: boolean;
  /** Its stat, for the order of the operands (-t, -S) and the loops of -L -R. */
  readonly stat?: Stat;
  /** The directories above it in this -R walk. */
  readonly parents?: Visit;
}

const OPTIONS = [
  '-a, --all          also names starting with . (and . and ..)', '-A, --almost-all   also names starting with ., not . and ..',
  '-d, --directory    directories themselves, not their contents', '-R, --recursive    subdirectories too',
  '-l                 long listing', '-n, -g, -o, -G     long, numeric ids / without owner / without group',
  '--full-time        long, with full dates (--time-style=full-iso)',
  '--time-style=STYLE full-iso, long-iso, iso, locale, +FORMAT (strftime; +OLD<newline>RECENT); or $TIME_STYLE',
  '-h, --human-readable  sizes as 1K 234M 2G (powers of 1024); --si: 1k 234M 2G (powers of 1000)',
  '-i, --inode        inode numbers', '-s, --size         allocated blocks (KiB; -k too)',
  '-F, --classify     append / * @ | =', '-p                 append / to directories; --file-type: / @ | =',
  '-1, -C, -x, -m     one per line, columns, across, with commas',
  '-w, --width=COLS   line length (0: no limit; default: the terminal, else $COLUMNS, else 80); -T, --tabsize=N',
  '-t, -S, -X, -v, -U sort by time, size, extension, version; none (--sort=WORD, and width)',
  '--format=WORD      long, commas, across, vertical, single-column; --indicator-style=none|slash|file-type|classify',
  '-c, -u             ctime, atime (sort by it without -l); --time=ctime|atime', '-r, --reverse      reverse the order', '--group-directories-first  directories first',
  '-L, --dereference  show what links lead to (inside the container: never the host); -H: links named as operands',
  '-I, --ignore=PATTERN  leave out names matching PATTERN (a shell pattern); --hide=PATTERN: unless -a or -A',
  '--color[=WHEN]     always, never, auto (a terminal); colours from $LS_COLORS (dircolors), else GNU\'s own',
  '-N, -b, -Q, -q     literal, escapes, double quotes, ? for controls; --quoting-style=WORD',
  '--help             this help',
];

export const ls: Builtin = {
  name: 'ls',
  usage: 'ls [-laAd1CxmhRNbQqtrSUXvFpinsgoGcukLH] [-w COLS] [-I PATTERN] [--color[=WHEN]] [--time-style=STYLE] [FILE]...',
  summary: 'list directory contents (host paths, /containers, container paths)',
  options: OPTIONS,
  async run(args, ctx) {
    const usageError = (text: string, status: number, usage: boolean): {status: number} => {
      ctx.stderr.stream.write(`ls: ${text}\n${usage ? "Try 'help ls' for more information.\n" : ''}`);
      return {status};
    };
    const pre = lsArgs(args);
    if (pre.error) return usageError(pre.error.text, pre.error.status, pre.error.usage);
    const {extras} = pre;
    const options = lsQuotingArgs(pre.rest);
    if (options.error) return usageError(options.error, 1, true);
    const parsed = parseOptions('ls', options.rest, spec);
    if (extras.help) {
      ctx.stdout.stream.write(helpText(ls));
      return {status: 0};
    }
    const {operands} = parsed;
    const flags = canonical(parsed);
    const warn = (text: string): void => void ctx.stderr.stream.write(`ls: ${text}\n`);
    const format = formatOf(flags, ctx.stdout.isTTY);
    // Colour: --color=WHEN, else dbox's own default (on a terminal, NO_COLOR unset).
    const wantColor = extras.color === 'always' || (extras.color === 'auto' && ctx.stdout.isTTY) ||
      (extras.color === undefined && ctx.color);
    const parsedColors = wantColor ? parseLsColors(ctx.env) : undefined;
    for (const w of parsedColors?.warnings ?? []) warn(w);
    const colors = parsedColors?.colors;
    const color = wantColor && colors !== undefined;
    const needsWidth = format === 'columns' || format === 'across' || format === 'commas' || color;
    const width = lineLength(ctx, extras, needsWidth, warn);
    const layout = format === 'long' ? 'long' : format === 'columns' || format === 'across' ? 'columns' : 'one';
    // -F and --file-type also quote what they append (-p appends `/` only and quotes nothing more).
    const q = lsQuoting(options.choice, ctx.stdout.isTTY, ctx.env['QUOTING_STYLE'], layout,
      flags.has('classify') ? 'classify' : flags.has('fileType') ? 'file-type' : undefined);
    if (q.warning) warn(q.warning);
    let style: TimeStyle = TIME_STYLES.locale;
    if (format === 'long') {
      const s = timeStyleOf(extras.timeStyle, ctx.env);
      if ('error' in s) return usageError(s.error, 2, true);
      style = s;
    }
    const cols = format === 'columns' || format === 'across' || format === 'commas' ? tabSize(ctx, extras, warn) : 8;
    const painter = color && colors ? new Painter(colors, width) : undefined;
    const human = humanOf(flags, parsed.order);
    const view: View = {q, ctx, flags, lineLength: width, tabs: !ctx.stdout.isTTY && !color, tabSize: cols, color, containerColor: wantColor,
      ...(colors ? {colors} : {}), ...(painter ? {painter} : {}), style, ...(human ? {human} : {})};
    const ignored = ignoredBy(flags, extras);
    /** Writes lines and waits until the stream has taken them (a pipe may be slower than ls). */
    const write = (lines: readonly string[], end = '\n'): Promise<void> => {
      if (lines.length === 0) return Promise.resolve();
      // Raw bytes of a name (an invalid byte in literal output to a pipe) are written as they were.
      return new Promise((resolve) => ctx.stdout.stream.write(writableBytes(lines.join('\n') + end), () => resolve()));
    };
    let status = 0;
    const fail = (error: unknown, subject: string, template: (w: string) => string, serious: boolean): void => {
      report(ctx, 'ls', error, subject, template);
      status = serious ? 2 : Math.max(status, 1);
    };

    const targets = operands.length > 0 ? operands : ['.'];
    const files: Item[] = [];
    const dirs: Dir[] = [];
    const deref = flags.has('dereference') || flags.has('derefArgs');
    // GNU's default for operands (ls.c main): follow a link to a directory unless -l, -d or -F.
    const derefDirs = flags.has('derefDirArgs') || (!flags.has('long') && !flags.has('directory') && !flags.has('classify'));
    for (const operand of targets) {
      try {
        checkLength([operand, operand === '' ? '' : absolute(operand, ctx)]);
        const {abs, target, dirStat} = await resolveOperand(operand, ctx);
        if (target.kind !== 'fs') {
          // /containers and /hosts are directories: -d shows the entry (a host's), not the list.
          if (flags.has('directory')) files.push({name: operand, stat: await ctx.ns.stat(abs), fs: ctx.ns.host});
          else dirs.push({shown: operand, abs, target, operand: true});
          continue;
        }
        const lst = dirStat ?? (deref ? await target.fs.stat(target.path) : await target.fs.lstat(target.path));
        let st = lst;
        if (isSymlink(lst) && derefDirs) {
          const followed = await target.fs.stat(target.path).catch(() => undefined);
          if (followed && isDir(followed)) st = followed;
        }
        if (isDir(st) && !flags.has('directory')) dirs.push({shown: operand, abs, target, operand: true, stat: st});
        else files.push(await withLinkTarget({name: operand, stat: st, fs: target.fs}, target.path, target.fs, flags, view, true));
      } catch (error) {
        fail(error, operand, (w) => `cannot access ${w}`, true);
      }
    }
    // GNU measures the file operands' columns over every operand, directories too (ls.c gobble_file).
    const dirItems: Item[] = dirs.filter((d) => d.stat).map((d) => ({name: d.shown, stat: d.stat!, ...(d.target?.kind === 'fs' ? {fs: d.target.fs} : {})}));
    if (files.length > 0) await write(await render(ordered(files, flags, q.names), view, dirItems));
    const showHeaders = targets.length > 1 || flags.has('recursive');
    // A stack (next directory last): -R goes depth first, each directory's subdirectories in order.
    const stack: Dir[] = sortListing(dirs, (d) => ({name: d.shown, ...(d.stat ? {time: shownTime(d.stat, flags), size: d.stat.size} : {})}),
      {...sortOptions(flags), dirsFirst: false}).reverse();
    let first = files.length === 0;
    while (stack.length > 0) {
      const dir = stack.pop()!;
      try {
        checkLength([dir.shown, dir.abs]);
        const target = dir.target ?? (await ctx.ns.resolve(dir.abs));
        if (target.kind === 'fs') checkLength([], target.path);
        // -L -R: a directory that is one of its own ancestors (through a link) is not entered again.
        const key = deref && flags.has('recursive') && dir.stat && dir.stat.ino > 0 ? `${dir.stat.dev}:${dir.stat.ino}` : undefined;
        if (key !== undefined && visited(dir.parents, key)) {
          warn(`${quotef(dir.shown)}: not listing already-listed directory`);
          status = 2;
          continue;
        }
        const refused: Refusal[] = [];
        const lostErrors: [unknown, string][] = [];
        const items = await listDir(target, dir.shown, view, ignored, refused, (e, p) => lostErrors.push([e, p]));
        for (const [e, p] of lostErrors) fail(e, p, (w) => `cannot access ${w}`, false);
        const out: string[] = [];
        if (!first) out.push('');
        first = false;
        if (showHeaders) out.push(`${quoteName(dir.shown, q.dirs).text}:`);
        if ((flags.has('long') || flags.has('size')) && target.kind === 'fs') out.push(`total ${totalText(items, view)}`);
        const lines = await render(items, view);
        for (const line of lines) out.push(line);
        await write(out);
        for (const r of refused) {
          ctx.stderr.stream.write(`ls: ${quotef(dir.shown)}: ${refusalText(r)}\n`);
          status = Math.max(status, 1);
        }
        if (flags.has('recursive')) {
          const here: Visit | undefined = key !== undefined ? {key, ...(dir.parents ? {up: dir.parents} : {})} : dir.parents;
          for (let k = items.length - 1; k >= 0; k--) {
            const i = items[k]!;
            if (i.name === '.' || i.name === '..') continue;
            if (i.container || (i.stat && isDir(i.stat))) {
              stack.push({shown: dir.shown.endsWith('/') ? dir.shown + i.name : `${dir.shown}/${i.name}`, abs: join(dir.abs, i.name),
                operand: false, ...(i.stat ? {stat: i.stat} : {}), ...(here ? {parents: here} : {})});
            }
          }
        }
      } catch (error) {
        fail(error, dir.shown, (w) => `cannot open directory ${w}`, dir.operand);
      }
    }
    if (painter) {
      const end = painter.end();
      if (end) await write([end], '');
    }
    return {status};
  },
};
