// ls: list directories and files, on the host, in /containers, and inside containers.
import {colorContainer, colorName} from '../src/format/color.js';
import {columns, type Cell} from '../src/format/columns.js';
import {humanSize, lsTime, modeString} from '../src/format/mode.js';
import type {ContainerInfo} from '../src/docker/engine.js';
import type {Builtin, ShellContext} from '../src/shell/context.js';
import {parseOptions} from '../src/shell/options.js';
import {report} from '../src/shell/report.js';
import {accountsOf} from '../src/vfs/accounts.js';
import {absolute, join} from '../src/vfs/path.js';
import type {Target} from '../src/vfs/namespace.js';
import {isDir, isSymlink, S_IFBLK, S_IFCHR, S_IFMT, type ContainerFs, type Stat} from '../src/vfs/types.js';

const spec = {
  short: {l: 'long', a: 'all', A: 'almostAll', d: 'directory', '1': 'one', h: 'human', R: 'recursive'},
  long: {all: 'all', 'almost-all': 'almostAll', directory: 'directory', 'human-readable': 'human', recursive: 'recursive'},
};

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

const byName = (a: Item, b: Item): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function visibleWidth(text: string): number {
  return [...text.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

function displayName(item: Item, ctx: ShellContext): string {
  if (!ctx.color) return item.name;
  if (item.container) return colorContainer(item.name, item.container.state);
  return item.stat ? colorName(item.name, item.stat.mode) : item.name;
}

/** `major, minor` of a device (Linux dev_t encoding). */
function deviceNumbers(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & ~0xff);
  return `${major}, ${minor}`;
}

async function longLines(items: readonly Item[], flags: Flags, ctx: ShellContext): Promise<string[]> {
  if (items.some((i) => i.endpoint)) {
    const rows = items.map((i) => [i.endpoint?.reachable ? 'reachable' : 'unreachable', i.endpoint?.address ?? '', i.name]);
    return table(rows, [false, false, false]);
  }
  if (items.some((i) => i.container)) {
    const rows = items.map((i) => {
      const c = i.container!;
      const created = new Date(c.created * 1000).toISOString().slice(0, 16).replace('T', ' ');
      return [c.state, c.image, c.id.slice(0, 12), created, displayName(i, ctx)];
    });
    return table(rows, [false, false, false, false, false]);
  }
  const now = Date.now();
  const rows: string[][] = [];
  for (const item of items) {
    const st = item.stat;
    if (!st) {
      rows.push(['?????????', '?', '?', '?', '?', '?', item.name]);
      continue;
    }
    const accounts = item.fs ? await accountsOf(item.fs) : undefined;
    const name = displayName(item, ctx) + (item.linkTarget !== undefined ? ` -> ${item.linkTarget}` : '');
    const type = st.mode & S_IFMT;
    const size = type === S_IFCHR || type === S_IFBLK ? deviceNumbers(st.rdev)
      : flags.has('human') ? humanSize(st.size) : String(st.size);
    rows.push([modeString(st.mode), String(st.nlink), accounts?.user(st.uid) ?? String(st.uid),
      accounts?.group(st.gid) ?? String(st.gid), size, lsTime(st.mtime.sec, now), name]);
  }
  return table(rows, [false, true, false, false, true, false, false]);
}

/** Aligns columns; rightAlign per column; the last column is never padded. */
function table(rows: readonly string[][], rightAlign: readonly boolean[]): string[] {
  const widths = rightAlign.map((_, c) => Math.max(0, ...rows.map((r) => visibleWidth(r[c] ?? ''))));
  return rows.map((r) =>
    r.map((cell, c) => {
      if (c === r.length - 1) return cell;
      const pad = ' '.repeat(widths[c]! - visibleWidth(cell));
      return rightAlign[c] ? pad + cell : cell + pad;
    }).join(' '),
  );
}

async function render(items: readonly Item[], flags: Flags, ctx: ShellContext): Promise<string[]> {
  if (flags.has('long')) return longLines(items, flags, ctx);
  const names = items.map((i) => displayName(i, ctx));
  if (flags.has('one') || !ctx.stdout.isTTY) return names;
  return columns(names.map((text, i): Cell => ({text, width: visibleWidth(items[i]!.name)})), ctx.stdout.columns);
}

async function withLinkTarget(item: Item, path: string, fs: ContainerFs, flags: Flags): Promise<Item> {
  if (!flags.has('long') || !item.stat || !isSymlink(item.stat)) return item;
  return {...item, linkTarget: await fs.readlink(path).catch(() => '?')};
}

/** The items of a directory target, sorted, with . and .. for -a. */
async function listDir(target: Target, flags: Flags, ctx: ShellContext): Promise<Item[]> {
  if (target.kind === 'containers') {
    const list = await ctx.ns.containers(ctx.ns.engineFor(target.endpoint, '/hosts'));
    return list.map((c) => ({name: c.name, container: c})).sort(byName);
  }
  if (target.kind === 'hosts') {
    const endpoints = ctx.ns.allEndpoints();
    const answers = flags.has('long') ? await Promise.all(endpoints.map((e) => ctx.ns.engineFor(e.name, '/hosts').ping())) : [];
    return endpoints.map((e, i) => ({name: e.name, endpoint: {address: e.address, ...(answers[i] !== undefined ? {reachable: answers[i]} : {})}})).sort(byName);
  }
  const {fs, path} = target;
  const showHidden = flags.has('all') || flags.has('almostAll');
  const entries = (await fs.readdir(path)).filter((e) => showHidden || !e.name.startsWith('.'));
  const needStat = flags.has('long') || ctx.color || flags.has('recursive');
  const items: Item[] = await Promise.all(
    entries.map(async (e) => {
      const stat = e.stat ?? (needStat ? await fs.lstat(join(path, e.name)).catch(() => undefined) : undefined);
      return withLinkTarget({name: e.name, ...(stat ? {stat} : {}), fs}, join(path, e.name), fs, flags);
    }),
  );
  if (flags.has('all')) {
    const dot = await fs.stat(path).catch(() => undefined);
    const dotdot = await fs.stat(join(path, '..')).catch(() => undefined);
    items.push({name: '.', ...(dot ? {stat: dot} : {}), fs}, {name: '..', ...(dotdot ? {stat: dotdot} : {}), fs});
  }
  return items.sort(byName);
}

function total(items: readonly Item[]): number {
  return Math.ceil(items.reduce((sum, i) => sum + (i.stat ? i.stat.blocks : 0), 0) / 2);
}

export const ls: Builtin = {
  name: 'ls',
  usage: 'ls [-laAd1hR] [FILE]...',
  summary: 'list directory contents (host paths, /containers, container paths)',
  async run(args, ctx) {
    const {flags, operands} = parseOptions('ls', args, spec);
    const targets = operands.length > 0 ? operands : ['.'];
    let status = 0;
    const files: Item[] = [];
    const dirs: {shown: string; abs: string; target: Target}[] = [];
    for (const operand of targets) {
      const abs = absolute(operand, ctx);
      try {
        const target = await ctx.ns.resolve(abs);
        if (target.kind !== 'fs') {
          if (flags.has('directory')) files.push({name: operand});
          else dirs.push({shown: operand, abs, target});
          continue;
        }
        const lst = await target.fs.lstat(target.path);
        let st = lst;
        if (isSymlink(lst) && !flags.has('long') && !flags.has('directory')) st = await target.fs.stat(target.path).catch(() => lst);
        if (isDir(st) && !flags.has('directory')) dirs.push({shown: operand, abs, target});
        else {
          const item = await withLinkTarget({name: operand, stat: flags.has('long') ? lst : st, fs: target.fs}, target.path,
            target.fs, flags);
          // a container named on the command line with -d shows as a container
          files.push(target.path === '/' && target.container ? {...item, container: target.container} : item);
        }
      } catch (error) {
        report(ctx, 'ls', error, operand, (w) => `cannot access '${w}'`);
        status = 2;
      }
    }
    const out: string[] = [];
    if (files.length > 0) out.push(...(await render(files.sort(byName), flags, ctx)));
    const showHeaders = targets.length > 1 || flags.has('recursive');
    const queue = [...dirs.sort((a, b) => (a.shown < b.shown ? -1 : 1))];
    let first = files.length === 0;
    while (queue.length > 0) {
      const dir = queue.shift()!;
      try {
        const items = await listDir(dir.target, flags, ctx);
        if (!first) out.push('');
        first = false;
        if (showHeaders) out.push(`${dir.shown}:`);
        if (flags.has('long') && dir.target.kind === 'fs') out.push(`total ${total(items)}`);
        out.push(...(await render(items, flags, ctx)));
        if (flags.has('recursive')) {
          const subdirs = [];
          for (const i of items) {
            if (i.name === '.' || i.name === '..') continue;
            if (i.container || (i.stat && isDir(i.stat))) {
              const abs = join(dir.abs, i.name);
              subdirs.push({shown: dir.shown.endsWith('/') ? dir.shown + i.name : `${dir.shown}/${i.name}`, abs,
                target: await ctx.ns.resolve(abs)});
            }
          }
          queue.unshift(...subdirs);
        }
      } catch (error) {
        report(ctx, 'ls', error, dir.shown, (w) => `cannot open directory '${w}'`);
        status = 2;
      }
      if (out.length > 0) {
        ctx.stdout.stream.write(out.join('\n') + '\n');
        out.length = 0;
      }
    }
    if (out.length > 0) ctx.stdout.stream.write(out.join('\n') + '\n');
    return {status};
  },
};
