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
import {columns, type Cell} from '../src/format/columns.js';
import {lsQuoting, lsQuotingArgs, type LsQuoting} from '../src/format/ls-quoting.js';
import {humanSize, lsTime, modeString} from '../src/format/mode.js';
import {escapeControls, quotef, quoteName, type NameQuoting} from '../src/format/quote.js';
import {nameBytes, writableBytes} from '../src/format/utf8.js';
import {textWidth} from '../src/format/width.js';
import type {ContainerInfo} from '../src/docker/engine.js';
import type {Builtin, ShellContext} from '../src/shell/context.js';
import {parseOptions} from '../src/shell/options.js';
import {report} from '../src/shell/report.js';
import {accountsOf} from '../src/vfs/accounts.js';
import {FsError} from '../src/vfs/errors.js';
import {absolute, join} from '../src/vfs/path.js';
import type {Target} from '../src/vfs/namespace.js';
import {isDir, isSymlink, S_IFBLK, S_IFCHR, S_IFMT, type ContainerFs, type Stat} from '../src/vfs/types.js';
import {refusalText, type Refusal} from '../src/vfs/untrusted.js';

const spec = {
  short: {l: 'long', a: 'all', A: 'almostAll', d: 'directory', '1': 'one', h: 'human', R: 'recursive',
    N: 'literal', b: 'escape', Q: 'quoteName', q: 'hideControl'},
  long: {all: 'all', 'almost-all': 'almostAll', directory: 'directory', 'human-readable': 'human', recursive: 'recursive',
    literal: 'literal', escape: 'escape', 'quote-name': 'quoteName', 'hide-control-chars': 'hideControl',
    'show-control-chars': 'showControl'},
};

/** A path of this many bytes or more cannot be opened (Linux PATH_MAX, what GNU ls meets). */
const PATH_MAX = 4096;

type Flags = ReadonlySet<string>;

interface Item {
  readonly name: string;
  readonly stat?: Stat;
  readonly linkTarget?: string;
  readonly container?: ContainerInfo;
  readonly fs?: ContainerFs;
  /** An entry of /hosts: the context's engine address, and whether it answered (ls -l). */
  readonly endpoint?: {readonly address: string; readonly reachable?: boolean};
}

/**
 * Sorted by the names' bytes: GNU ls's order in C.UTF-8 (code points, an invalid byte by its
 * value). Without surrogates, UTF-16 order is that order already; only names with one (an astral
 * character or an invalid byte) are compared as bytes.
 */
function sortedByName<T>(list: T[], name: (x: T) => string): T[] {
  const keyed = list.map((x) => {
    const n = name(x);
    return {x, n, bytes: /[\ud800-\udfff]/.test(n) ? Buffer.from(nameBytes(n)) : undefined};
  });
  const bytes = (k: {n: string; bytes: Buffer | undefined}): Buffer => k.bytes ?? Buffer.from(nameBytes(k.n));
  keyed.sort((a, b) => (a.bytes || b.bytes ? Buffer.compare(bytes(a), bytes(b)) : a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  return keyed.map((k) => k.x);
}
const byName = (items: Item[]): Item[] => sortedByName(items, (i) => i.name);

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
      if (!c) return ['?', '?', '?', '?', nameText(i)];
      return [outsideText(c.state, view), outsideText(c.image, view), outsideText(String(c.id ?? '').slice(0, 12), view),
        createdText(c.created), nameText(i)];
    });
    return table(rows, [false, false, false, false, false]);
  }
  const now = Date.now();
  const rows: string[][] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const st = item.stat;
    if (!st) {
      rows.push(['?????????', '?', '?', '?', '?', '?', nameText(i)]);
      continue;
    }
    const accounts = item.fs ? await accountsOf(item.fs) : undefined;
    const owner = accounts ? outsideText(accounts.user(st.uid), view) : String(st.uid);
    const group = accounts ? outsideText(accounts.group(st.gid), view) : String(st.gid);
    // The target is quoted as a name, never padded (ls.c print_name_with_quoting).
    const target = item.linkTarget !== undefined ? ` -> ${quoteName(item.linkTarget, view.q.names).text}` : '';
    const type = st.mode & S_IFMT;
    const size = type === S_IFCHR || type === S_IFBLK ? deviceNumbers(st.rdev)
      : flags.has('human') ? humanSize(st.size) : String(st.size);
    rows.push([modeString(st.mode), String(st.nlink), owner, group, size, lsTime(st.mtime.sec, now), nameText(i) + target]);
  }
  return table(rows, [false, true, false, false, true, false, false]);
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
  const cells: Cell[] = names.map((s, i) => ({text: colored(items[i]!, s, view), width: s.width}));
  if (flags.has('one') || !ctx.stdout.isTTY) return cells.map((c) => c.text);
  return columns(cells, ctx.stdout.columns);
}

async function withLinkTarget(item: Item, path: string, fs: ContainerFs, flags: Flags): Promise<Item> {
  if (!flags.has('long') || !item.stat || !isSymlink(item.stat)) return item;
  return {...item, linkTarget: await fs.readlink(path).catch(() => '?')};
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
    const list = await ctx.ns.containers(ctx.ns.engineFor(target.endpoint, '/hosts'));
    return byName(list.map((c) => ({name: String(c.name), container: c})));
  }
  if (target.kind === 'hosts') {
    const endpoints = ctx.ns.allEndpoints();
    const answers = flags.has('long') ? await Promise.all(endpoints.map((e) => ctx.ns.engineFor(e.name, '/hosts').ping())) : [];
    return byName(endpoints.map((e, i) => ({name: e.name, endpoint: {address: e.address, ...(answers[i] !== undefined ? {reachable: answers[i]} : {})}})));
  }
  const {fs, path} = target;
  const showHidden = flags.has('all') || flags.has('almostAll');
  const stopRefusals = fs.refusals?.listen((r) => refused.push(r));
  const listed = await fs.readdir(path).finally(() => stopRefusals?.());
  const entries = listed.filter((e) => showHidden || !e.name.startsWith('.'));
  const needStat = flags.has('long') || ctx.color || flags.has('recursive');
  // Most entries come with their stat: only the others (and links under -l) wait on the driver.
  const items: Item[] = new Array<Item>(entries.length);
  const pending: Promise<void>[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    if (e.stat && !(flags.has('long') && isSymlink(e.stat))) {
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
    items.push({name: '.', ...(dot ? {stat: dot} : {}), fs}, {name: '..', ...(dotdot ? {stat: dotdot} : {}), fs});
  }
  return byName(items);
}

function total(items: readonly Item[]): number {
  return Math.ceil(items.reduce((sum, i) => sum + (i.stat ? i.stat.blocks : 0), 0) / 2);
}

interface Dir {
  readonly shown: string;
  readonly abs: string;
  /** Resolved on the command line; subdirectories of -R are resolved when their turn comes. */
  readonly target?: Target;
  /** Named on the command line (a failure is serious: status 2) or found by -R (status 1). */
  readonly operand: boolean;
}

export const ls: Builtin = {
  name: 'ls',
  usage: 'ls [-laAd1hRNbQq] [--quoting-style=WORD] [FILE]...',
  summary: 'list directory contents (host paths, /containers, container paths)',
  async run(args, ctx) {
    const options = lsQuotingArgs(args);
    if (options.error) {
      ctx.stderr.stream.write(`ls: ${options.error}\nTry 'help ls' for more information.\n`);
      return {status: 1};
    }
    const {flags, operands} = parseOptions('ls', options.rest, spec);
    const layout = flags.has('long') ? 'long' : flags.has('one') || !ctx.stdout.isTTY ? 'one' : 'columns';
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
      const abs = absolute(operand, ctx);
      try {
        checkLength([operand, abs]);
        const target = await ctx.ns.resolve(abs);
        if (target.kind !== 'fs') {
          if (flags.has('directory')) files.push({name: operand});
          else dirs.push({shown: operand, abs, target, operand: true});
          continue;
        }
        const lst = await target.fs.lstat(target.path);
        let st = lst;
        if (isSymlink(lst) && !flags.has('long') && !flags.has('directory')) st = await target.fs.stat(target.path).catch(() => lst);
        if (isDir(st) && !flags.has('directory')) dirs.push({shown: operand, abs, target, operand: true});
        else {
          const item = await withLinkTarget({name: operand, stat: flags.has('long') ? lst : st, fs: target.fs}, target.path,
            target.fs, flags);
          // a container named on the command line with -d shows as a container
          files.push(target.path === '/' && target.container ? {...item, container: target.container} : item);
        }
      } catch (error) {
        fail(error, operand, (w) => `cannot access ${w}`, true);
      }
    }
    if (files.length > 0) await write(await render(byName(files), view));
    const showHeaders = targets.length > 1 || flags.has('recursive');
    // A stack (next directory last): -R goes depth first, each directory's subdirectories in order.
    const stack: Dir[] = sortedByName(dirs, (d) => d.shown).reverse();
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
        if (flags.has('long') && target.kind === 'fs') out.push(`total ${total(items)}`);
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
                operand: false});
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
