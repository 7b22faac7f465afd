// Tab completion (pure over an injected source): the word under the cursor is a command (first
// word) or a path (host or container, relative to a virtual or host cwd). One match completes at
// once; several complete to their longest common prefix and are returned for listing.
import {absolute, type PathEnv} from '../vfs/path.js';

export interface Candidate {
  readonly name: string;
  readonly dir: boolean;
  /** For containers: running, exited… (lists running first, coloured like ls). */
  readonly state?: string;
  readonly mode?: number;
}

export interface CompletionSource {
  commands(): Promise<readonly string[]>;
  /** The entries of an absolute virtual directory. */
  list(dir: string): Promise<readonly Candidate[]>;
}

export interface Completion {
  readonly start: number;
  readonly end: number;
  readonly insert: string;
  readonly candidates: readonly Candidate[];
}

const separators = new Set([' ', '\t', '|', ';', '&', '<', '>', '(', ')']);

interface Word {
  readonly start: number;
  /** The word as typed, from start to the cursor. */
  readonly raw: string;
  /** Its value with quotes and escapes removed. */
  readonly value: string;
  /** The quote still open at the cursor, if any. */
  readonly quote: '' | "'" | '"';
  readonly commandPosition: boolean;
  /** The first word of the command the word belongs to. */
  readonly command: string;
}

export function wordAt(line: string, cursor: number): Word {
  let start = 0;
  let quote: '' | "'" | '"' = '';
  let value = '';
  for (let i = 0; i < cursor; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (c === '\\' && quote === '"' && i + 1 < cursor) value += line[++i];
      else value += c;
    } else if (c === '\\' && i + 1 < cursor) value += line[++i];
    else if (c === "'" || c === '"') quote = c;
    else if (separators.has(c)) {
      start = i + 1;
      value = '';
    } else value += c;
  }
  const before = line.slice(0, start).trimEnd();
  const commandPosition = before === '' || /(\|\||&&|[|;&(])$/.test(before);
  const command = before.split(/\|\||&&|[|;&(]/).at(-1)?.trim().split(/\s+/)[0] ?? '';
  return {start, raw: line.slice(start, cursor), value, quote, commandPosition, command};
}

/** Shell-quotes a completed value the way the word began. */
export function quoteAs(value: string, quote: Word['quote']): string {
  if (quote === "'") return `'${value.replace(/'/g, `'\\''`)}`;
  if (quote === '"') return `"${value.replace(/(["\\$`])/g, '\\$1')}`;
  return value.replace(/([\s'"\\|;&<>()$`*?[\]#!{}])/g, '\\$1'); // not ~: typed to mean home
}

function commonPrefix(names: readonly string[]): string {
  if (names.length === 0) return '';
  let p = names[0]!;
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p;
}

export async function complete(line: string, cursor: number, env: PathEnv, source: CompletionSource): Promise<Completion | undefined> {
  const word = wordAt(line, cursor);
  let prefix = '';
  let base = word.value;
  let candidates: Candidate[];
  if (word.commandPosition && !word.value.includes('/')) {
    candidates = (await source.commands()).filter((c) => c.startsWith(base)).map((name) => ({name, dir: false}));
  } else {
    const slash = word.value.lastIndexOf('/');
    prefix = slash >= 0 ? word.value.slice(0, slash + 1) : '';
    base = word.value.slice(slash + 1);
    const dir = prefix === '' ? env.cwd : absolute(prefix, env);
    const entries = await source.list(dir).catch(() => []);
    candidates = entries.filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')));
    if (word.command === 'cd') candidates = candidates.filter((e) => e.dir); // as bash's complete -d
    // Running containers first, then the rest; each group by name.
    candidates.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  if (candidates.length === 0) return undefined;
  const unique = candidates.length === 1 ? candidates[0]! : undefined;
  const stem = unique ? unique.name : commonPrefix(candidates.map((c) => c.name));
  let insert = quoteAs(prefix + stem, word.quote);
  if (unique) {
    if (unique.dir) insert += '/';
    else insert += `${word.quote}${' '}`;
  }
  return {start: word.start, end: cursor, insert, candidates};
}
