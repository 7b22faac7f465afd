// ls: list directories and files, on the host, in /containers, and inside containers.
//
// Trust: every name, link target, owner and group name (the container's own /etc/passwd and
// /etc/group), container name, image and id (engine JSON) is hostile. All of them are shown through
// src/format/quote.ts with the quoting GNU ls 9.1 would use (src/format/ls-quoting.ts): on a
// terminal shell-escape (`$'\033'`), with -N/--quoting-style=literal|shell|shell-always control
// characters as `?`; to a pipe raw, as GNU. Sizes are hostile too: a listing of any length is laid
// out without recursion or argument spreading, and `ls -R` of any depth stops with GNU's
// `File name too long` once a directory's path reaches PATH_MAX bytes.
import {colorContainer, colorName} from '../src/format/color.js';
import {columns, commas, type Cell} from '../src/format/columns.js';
import {lsQuoting, lsQuotingArgs, type LsQuoting} from '../src/format/ls-quoting.js';
import {fullTime, humanSize, lsTime, modeString} from '../src/format/mode.js';
import {sortListing, type SortKey, type SortOptions} from '../src/format/ls-sort.js';
import {escapeControls, quotef, quoteName, type NameQuoting} from '../src/format/quote.js';
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
import {isDir, isSymlink, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK, type ContainerFs, type Stat,
  type Timespec} from '../src/vfs/types.js';
import {refusalText, type Refusal} from '../src/vfs/untrusted.js';

const spec = {
  short: {l: 'long', a: 'all', A: 'almostAll', d: 'directory', '1': 'one', h: 'human', R: 'recursive',
    N: 'literal', b: 'escape', Q: 'quoteName', q: 'hideControl', t: 'sortTime', r: 'reverse', S: 'sortSize',
    U: 'unsorted', X: 'sortExtension', v: 'sortVersion', F: 'classify', p: 'slash', i: 'inode', n: 'numeric',
    s: 'size', C: 'columns', x: 'across', m: 'commas', g: 'noOwner', o: 'noGroup', G: 'noGroupColumn', c: 'ctime', u: 'atime', k: 'kibibytes'},
  long: {all: 'all', 'almost-all': 'almostAll', directory: 'directory', 'human-readable': 'human', recursive: 'recursive',
    literal: 'literal', escape: 'escape', 'quote-name': 'quoteName', 'hide-control-chars': 'hideControl',
    'show-control-chars': 'showControl', reverse: 'reverse', classify: 'classify', 'file-type': 'fileType',
    inode: 'inode', 'numeric-uid-gid': 'numeric', size: 'size', 'no-group': 'noGroupColumn',
    'group-directories-first': 'dirsFirst', 'full-time': 'fullTime', kibibytes: 'kibibytes'},
  usageStatus: 2,
};

/** The listing's order from the flags (one sort flag at most: canonical()). -c/-u sort by their
 *  time without -l, as GNU 9.1 does. */
function sortOptions(flags: Flags): SortOptions {
  const long = flags.has('long');
  const key: SortKey = flags.has('unsorted') ? 'none' : flags.has('sortSize') ? 'size' : flags.has('sortTime') ? 'time'
    : flags.has('sortExtension') ? 'extension' : flags.has('sortVersion') ? 'version'
      : (flags.has('ctime') || flags.has('atime')) && !long ? 'time' : 'name';
  return {key, reverse: flags.has('reverse'), dirsFirst: flags.has('dirsFirst')};
}

type Format = 'long' | 'one' | 'commas' | 'across' | 'columns';

/** Layout options (-n, -g, -o and --full-time are long listings) and sort options. */
const LAYOUTS: Readonly<Record<string, Format>> = {long: 'long', numeric: 'long', noOwner: 'long', noGroup: 'long', fullTime: 'long',
  one: 'one', commas: 'commas', across: 'across', columns: 'columns'};
const SORTS = ['sortTime', 'sortSize', 'unsorted', 'sortExtension', 'sortVersion'];

/** The flags as the rest of this file reads them: of the layout options and of the sort options
 *  the last given wins, as in GNU ls (`ls -l -C` lists in columns, `ls -S -t` sorts by time; but
 *  `ls -l -1` stays long). */
function canonical(parsed: ParsedArgs): Flags {
  let layout: Format | undefined;
  let sort: string | undefined;
  for (const f of parsed.order) {
    // -1 has no effect after -l (ls.c).
    if (!(f === 'one' && layout === 'long')) layout = LAYOUTS[f] ?? layout;
    if (SORTS.includes(f)) sort = f;
  }
  const flags = new Set([...parsed.flags].filter((f) => !['long', 'one', 'commas', 'across', 'columns', ...SORTS].includes(f)));
  if (layout) flags.add(layout);
  if (sort) flags.add(sort);
  return flags;
}

/** The layout (one layout flag at most: canonical()), columns by default on a terminal. */
const formatOf = (flags: Flags, isTTY: boolean): Format => (flags.has('long') ? 'long' : flags.has('one') ? 'one'
  : flags.has('commas') ? 'commas' : flags.has('across') ? 'across' : flags.has('columns') || isTTY ? 'columns' : 'one');

/** The line length: the terminal's; else COLUMNS when it is a positive number; else 80 (GNU ls). */
function lineLength(ctx: ShellContext): number {
  if (ctx.stdout.isTTY) return ctx.stdout.columns;
  const env = Number(ctx.env['COLUMNS']);
  return Number.isInteger(env) && env > 0 ? env : 80;
}

/** The time shown and sorted by: mtime, or -c ctime, -u atime. */
const shownTime = (st: Stat, flags: Flags): Timespec => (flags.has('ctime') ? st.ctime : flags.has('atime') ? st.atime : st.mtime);

/** -F/-p/--file-type: the character after a name of this mode (ls.c get_type_indicator). */
function indicator(mode: number | undefined, flags: Flags): string {
  if (mode === undefined) return '';
  const classify = flags.has('classify');
  const any = classify || flags.has('fileType');
  const type = mode & S_IFMT;
  if (type === S_IFDIR) return any || flags.has('slash') ? '/' : '';
  if (!any) return '';
  if (type === S_IFREG) return classify && (mode & 0o111) !== 0 ? '*' : '';
  if (type === S_IFLNK) return '@';
  if (type === S_IFIFO) return '|';
  if (type === S_IFSOCK) return '=';
  return '';
}

/** -s: the allocated size, in 1024-byte blocks (or -h units). */
const blocksText = (st: Stat | undefined, flags: Flags): string => {
  if (!st) return '?';
  return flags.has('human') ? humanSize(st.blocks * 512) : String(Math.ceil(st.blocks / 2));
};

/** A path of this many bytes or more cannot be opened (Linux PATH_MAX, what GNU ls meets). */
const PATH_MAX = 4096;

type Flags = ReadonlySet<string>;

interface Item {
  readonly name: string;
  readonly stat?: Stat;
  readonly linkTarget?: string;
  /** The mode of what the link points to (-l -F: the target's indicator). */
  readonly linkMode?: number;
  readonly container?: ContainerInfo;
  readonly fs?: ContainerFs;
  /** An entry of /hosts: the context's engine address, and whether it answered (ls -l). */
  readonly endpoint?: {readonly address: string; readonly reachable?: boolean};
}


/** Items in the order the flags ask for. */
const ordered = (items: readonly Item[], flags: Flags): Item[] => sortListing(items, (i) => ({
  name: i.name,
  ...(i.stat ? {time: shownTime(i.stat, flags), size: i.stat.size} : {}),
  dir: (i.stat !== undefined && isDir(i.stat)) || i.container !== undefined || i.endpoint !== undefined ||
    (i.linkMode !== undefined && (i.linkMode & S_IFMT) === S_IFDIR),
}), sortOptions(flags));

/** How this run shows names: the quoting, and the layout it was chosen for. */
interface View {
  readonly q: LsQuoting;
  readonly ctx: ShellContext;
  readonly flags: Flags;
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
  const pad = view.q.alignQuotes && quoted.some((x) => x.quoted);
  return quoted.map((x) => {
    const p = pad && !x.quoted;
    return {text: x.text, pad: p, width: textWidth(x.text) + (p ? 1 : 0)};
  });
}

/** The shown name, coloured like GNU's (the alignment space outside the colour). */
function colored(item: Item, shown: Shown, view: View): string {
  const lead = shown.pad ? ' ' : '';
  if (!view.ctx.color) return lead + shown.text;
  if (item.container) return lead + colorContainer(shown.text, String(item.container.state));
  return lead + (item.stat ? colorName(shown.text, item.stat.mode) : shown.text);
}

/** `major, minor` of a device (Linux dev_t encoding). */
function deviceNumbers(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);
  return `${major}, ${minor}`;
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

async function longLines(items: readonly Item[], view: View): Promise<string[]> {
  const {flags} = view;
  const names = shownNames(items, view.q.names, view);
  const nameText = (i: number): string => colored(items[i]!, names[i]!, view);
  if (items.some((i) => i.endpoint)) {
    const rows = items.map((it, i) => [it.endpoint?.reachable ? 'reachable' : 'unreachable',
      outsideText(it.endpoint?.address, view), nameText(i)]);
    return table(rows, [false, false, false]);
  }
  if (items.some((i) => i.container)) {
    const rows = items.map((it, i) => {
      const c = it.container;
      if (!c) return it.stat && isDir(it.stat) ? ['directory', '-', '-', '-', nameText(i)] : ['?', '?', '?', '?', nameText(i)];
      return [outsideText(c.state, view), outsideText(c.image, view), outsideText(String(c.id ?? '').slice(0, 12), view),
        createdText(c.created), nameText(i)];
    });
    return table(rows, [false, false, false, false, false]);
  }
  const now = view.ctx.now();
  const rows: string[][] = [];
  const owner = !flags.has('noOwner');
  const group = !flags.has('noGroup') && !flags.has('noGroupColumn');
  // Columns before the mode (-i, -s), then mode, links, owner, group, size, time, name.
  const align = [...(flags.has('inode') ? [true] : []), ...(flags.has('size') ? [true] : []), false, true,
    ...(owner ? [false] : []), ...(group ? [false] : []), true, false, false];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const st = item.stat;
    const lead = [...(flags.has('inode') ? [st ? String(st.ino) : '?'] : []), ...(flags.has('size') ? [blocksText(st, flags)] : [])];
    if (!st) {
      rows.push([...lead, '?????????', '?', ...(owner ? ['?'] : []), ...(group ? ['?'] : []), '?', '?', nameText(i)]);
      continue;
    }
    const accounts = item.fs && !flags.has('numeric') ? await accountsOf(item.fs) : undefined;
    const ownerText = accounts ? outsideText(accounts.user(st.uid), view) : String(st.uid);
    const groupText = accounts ? outsideText(accounts.group(st.gid), view) : String(st.gid);
    // The target is quoted as a name, never padded (ls.c print_name_with_quoting); with -F the
    // target's indicator follows it (the name's own follows the name when there is no target).
    const target = item.linkTarget !== undefined
      ? ` -> ${quoteName(item.linkTarget, view.q.names).text}${indicator(item.linkMode, flags)}` : indicator(st.mode, flags);
    const type = st.mode & S_IFMT;
    const size = type === S_IFCHR || type === S_IFBLK ? deviceNumbers(st.rdev)
      : flags.has('human') ? humanSize(st.size) : String(st.size);
    const time = shownTime(st, flags);
    rows.push([...lead, modeString(st.mode), String(st.nlink), ...(owner ? [ownerText] : []), ...(group ? [groupText] : []), size,
      flags.has('fullTime') ? fullTime(time) : lsTime(time.sec, now), nameText(i) + target]);
  }
  return table(rows, align);
}

/**
 * Aligns columns by textWidth; rightAlign per column; the last column (the only coloured one) is
 * never padded, so every measured cell is plain quoted text.
 */
function table(rows: readonly string[][], rightAlign: readonly boolean[]): string[] {
  const columnsCount = rightAlign.length;
  const cellWidth = textWidth;
  const widths = new Array<number>(columnsCount).fill(0);
  for (const r of rows) {
    for (let c = 0; c < columnsCount - 1; c++) {
      const w = cellWidth(r[c] ?? '');
      if (w > widths[c]!) widths[c] = w;
    }
  }
  const lines = new Array<string>(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    let line = '';
    for (let c = 0; c < r.length; c++) {
      const cell = r[c]!;
      if (c > 0) line += ' ';
      if (c === r.length - 1) {
        line += cell;
        continue;
      }
      const pad = ' '.repeat(Math.max(0, widths[c]! - cellWidth(cell)));
      line += rightAlign[c] ? pad + cell : cell + pad;
    }
    lines[k] = line;
  }
  return lines;
}

async function render(items: readonly Item[], view: View): Promise<string[]> {
  const {flags, ctx} = view;
  if (flags.has('long')) return longLines(items, view);
  const names = shownNames(items, view.q.names, view);
  // -i and -s: right-aligned numbers before each name, as wide as the widest in the listing.
  const format = formatOf(flags, ctx.stdout.isTTY);
  const lead = items.map((i) => `${flags.has('inode') ? (i.stat ? String(i.stat.ino) : '?') : ''}\0${flags.has('size') ? blocksText(i.stat, flags) : ''}`);
  const widths = [0, 0];
  // -m does not align them (ls.c print_file_name_and_frills: width 0 with commas).
  if (format !== 'commas') for (const l of lead) l.split('\0').forEach((x, k) => (widths[k] = Math.max(widths[k]!, x.length)));
  const prefix = (k: number): string => lead[k]!.split('\0').map((x, j) =>
    (x === '' ? '' : `${x.padStart(widths[j]!)} `)).join('');
  const cells: Cell[] = names.map((s, i) => {
    const pre = prefix(i);
    const mark = indicator(items[i]!.stat?.mode, flags);
    return {text: pre + colored(items[i]!, s, view) + mark, width: pre.length + s.width + mark.length};
  });
  if (format === 'one') return cells.map((c) => c.text);
  if (format === 'commas') return commas(cells, lineLength(ctx));
  // Tabs as GNU's where bytes are compared (a pipe); spaces on a terminal, where they look the same.
  return columns(cells, lineLength(ctx), {across: format === 'across', tabs: !ctx.stdout.isTTY});
}

async function withLinkTarget(item: Item, path: string, fs: ContainerFs, flags: Flags, operand = false): Promise<Item> {
  if (!item.stat || !isSymlink(item.stat)) return item;
  // --group-directories-first counts a link to a directory as one; -l -F shows the target's type.
  // -l -p shows it only where GNU 9.1 has it anyway (for --group-directories-first, not of an operand).
  const wantsMode = (flags.has('dirsFirst') && !operand) || (flags.has('long') && (flags.has('classify') || flags.has('fileType')));
  const linkMode = wantsMode ? (await fs.stat(path).catch(() => undefined))?.mode : undefined;
  const withMode = linkMode !== undefined ? {...item, linkMode} : item;
  if (!flags.has('long')) return withMode;
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

/** The items of a directory target, sorted, with . and .. for -a; a forged listing of it that its
 *  filesystem refused (and listed otherwise) is added to `refused`. */
async function listDir(target: Target, flags: Flags, ctx: ShellContext, refused: Refusal[]): Promise<Item[]> {
  if (target.kind === 'containers') {
    const list = await ctx.ns.containers(target.endpoint);
    // -a: . and .. as in any directory (/containers and its parent are directories).
    const dots: Item[] = flags.has('all') ? [{name: '.', stat: await ctx.ns.stat('/containers')}, {name: '..', stat: await ctx.ns.stat('/')}] : [];
    return ordered([...dots, ...list.map((c) => ({name: String(c.name), container: c}))], flags);
  }
  if (target.kind === 'hosts') {
    const endpoints = ctx.ns.allEndpoints();
    const answers = flags.has('long') ? await Promise.all(endpoints.map((e) => ctx.ns.engineFor(e.name, '/hosts').ping())) : [];
    return ordered(endpoints.map((e, i) => ({name: e.name, endpoint: {address: e.address, ...(answers[i] !== undefined ? {reachable: answers[i]} : {})}})), flags);
  }
  const {fs, path} = target;
  const showHidden = flags.has('all') || flags.has('almostAll');
  const stopRefusals = fs.refusals?.listen((r) => refused.push(r));
  const listed = await fs.readdir(path).finally(() => stopRefusals?.());
  const entries = listed.filter((e) => showHidden || !e.name.startsWith('.'));
  const needStat = flags.has('long') || ctx.color || flags.has('recursive') || ['sortTime', 'sortSize', 'classify', 'fileType',
    'slash', 'inode', 'size', 'dirsFirst', 'ctime', 'atime'].some((f) => flags.has(f));
  // Most entries come with their stat: only the others (and links under -l) wait on the driver.
  const items: Item[] = new Array<Item>(entries.length);
  const pending: Promise<void>[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    if (e.stat && !((flags.has('long') || flags.has('dirsFirst')) && isSymlink(e.stat))) {
      items[k] = {name: e.name, stat: e.stat, fs};
      continue;
    }
    pending.push((async () => {
      const at = join(path, e.name);
      const stat = e.stat ?? (needStat ? await fs.lstat(at).catch(() => undefined) : undefined);
      items[k] = await withLinkTarget({name: e.name, ...(stat ? {stat} : {}), fs}, at, fs, flags);
    })());
  }
  await Promise.all(pending);
  if (flags.has('all')) {
    const dot = await fs.stat(path).catch(() => undefined);
    const dotdot = await fs.stat(join(path, '..')).catch(() => undefined);
    // -U keeps the directory's order, where . and .. come first.
    items.unshift({name: '.', ...(dot ? {stat: dot} : {}), fs}, {name: '..', ...(dotdot ? {stat: dotdot} : {}), fs});
  }
  return ordered(items, flags);
}

function totalText(items: readonly Item[], flags: Flags): string {
  const blocks = items.reduce((sum, i) => sum + (i.stat ? i.stat.blocks : 0), 0);
  return flags.has('human') ? humanSize(blocks * 512) : String(Math.ceil(blocks / 2));
}

interface Dir {
  readonly shown: string;
  readonly abs: string;
  /** Resolved on the command line; subdirectories of -R are resolved when their turn comes. */
  readonly target?: Target;
  /** Named on the command line (a failure is serious: status 2) or found by -R (status 1). */
  readonly operand: boolean;
  /** Its stat, for the order of the operands (-t, -S). */
  readonly stat?: Stat;
}

export const ls: Builtin = {
  name: 'ls',
  usage: 'ls [-laAd1CxmhRNbQqtrSUXvFpinsgoGcuk] [--group-directories-first] [--full-time] [--quoting-style=WORD] [FILE]...',
  summary: 'list directory contents (host paths, /containers, container paths)',
  options: [
    '-a, --all          also names starting with . (and . and ..)', '-A, --almost-all   also names starting with ., not . and ..',
    '-d, --directory    directories themselves, not their contents', '-R, --recursive    subdirectories too',
    '-l                 long listing', '-n, -g, -o, -G     long, numeric ids / without owner / without group',
    '--full-time        long, with full dates', '-h, --human-readable  sizes as 1K 234M 2G', '-i, --inode        inode numbers',
    '-s, --size         allocated blocks (KiB)', '-F, --classify     append / * @ | =', '-p                 append / to directories',
    '-1, -C, -x, -m     one per line, columns, across, with commas', '-t, -S, -X, -v, -U sort by time, size, extension, version; none',
    '-c, -u             ctime, atime (sort by it without -l)', '-r, --reverse      reverse the order', '--group-directories-first  directories first',
    '-N, -b, -Q, -q     literal, escapes, double quotes, ? for controls; --quoting-style=WORD',
  ],
  async run(args, ctx) {
    const options = lsQuotingArgs(args);
    if (options.error) {
      ctx.stderr.stream.write(`ls: ${options.error}\nTry 'help ls' for more information.\n`);
      return {status: 1};
    }
    const parsed = parseOptions('ls', options.rest, spec);
    const {operands} = parsed;
    const flags = canonical(parsed);
    const format = formatOf(flags, ctx.stdout.isTTY);
    const layout = format === 'long' ? 'long' : format === 'columns' || format === 'across' ? 'columns' : 'one';
    const q = lsQuoting(options.choice, ctx.stdout.isTTY, ctx.env['QUOTING_STYLE'], layout);
    if (q.warning) ctx.stderr.stream.write(`ls: ${q.warning}\n`);
    const view: View = {q, ctx, flags};
    /** Writes lines and waits until the stream has taken them (a pipe may be slower than ls). */
    const write = (lines: readonly string[]): Promise<void> => {
      if (lines.length === 0) return Promise.resolve();
      // Raw bytes of a name (an invalid byte in literal output to a pipe) are written as they were.
      return new Promise((resolve) => ctx.stdout.stream.write(writableBytes(lines.join('\n') + '\n'), () => resolve()));
    };
    let status = 0;
    const fail = (error: unknown, subject: string, template: (w: string) => string, serious: boolean): void => {
      report(ctx, 'ls', error, subject, template);
      status = serious ? 2 : Math.max(status, 1);
    };

    const targets = operands.length > 0 ? operands : ['.'];
    const files: Item[] = [];
    const dirs: Dir[] = [];
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
        const lst = dirStat ?? (await target.fs.lstat(target.path));
        let st = lst;
        // GNU follows a link named on the command line unless -l, -d or -F (a trailing slash always).
        if (isSymlink(lst) && !flags.has('long') && !flags.has('directory') && !flags.has('classify')) {
          st = await target.fs.stat(target.path).catch(() => lst);
        }
        if (isDir(st) && !flags.has('directory')) dirs.push({shown: operand, abs, target, operand: true, stat: st});
        else {
          files.push(await withLinkTarget({name: operand, stat: flags.has('long') ? lst : st, fs: target.fs}, target.path,
            target.fs, flags, true));
        }
      } catch (error) {
        fail(error, operand, (w) => `cannot access ${w}`, true);
      }
    }
    if (files.length > 0) await write(await render(ordered(files, flags), view));
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
        const refused: Refusal[] = [];
        const items = await listDir(target, flags, ctx, refused);
        const out: string[] = [];
        if (!first) out.push('');
        first = false;
        if (showHeaders) out.push(`${quoteName(dir.shown, q.dirs).text}:`);
        if ((flags.has('long') || flags.has('size')) && target.kind === 'fs') out.push(`total ${totalText(items, flags)}`);
        const lines = await render(items, view);
        for (const line of lines) out.push(line);
        await write(out);
        for (const r of refused) {
          ctx.stderr.stream.write(`ls: ${quotef(dir.shown)}: ${refusalText(r)}\n`);
          status = Math.max(status, 1);
        }
        if (flags.has('recursive')) {
          for (let k = items.length - 1; k >= 0; k--) {
            const i = items[k]!;
            if (i.name === '.' || i.name === '..') continue;
            if (i.container || (i.stat && isDir(i.stat))) {
              stack.push({shown: dir.shown.endsWith('/') ? dir.shown + i.name : `${dir.shown}/${i.name}`, abs: join(dir.abs, i.name),
                operand: false, ...(i.stat ? {stat: i.stat} : {})});
            }
          }
        }
      } catch (error) {
        fail(error, dir.shown, (w) => `cannot open directory ${w}`, dir.operand);
      }
    }
    return {status};
  },
};
