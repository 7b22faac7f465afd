// Tab completion (pure over an injected source): the word under the cursor is a command (the
// first word of a command: at the start, after `|`, `;`, `&&`, `||`, `&`, `(`, `$(`, a backquote,
// a keyword such as `then` or `do`, or assignments), a path (host or container, relative to a
// virtual or host cwd; also right after a redirection, `> fi`), a variable (`$HO`, `${HO`), or a
// user's home (`~ro`). In /containers a container's id prefix completes to its name, as the mount
// shows it. One match completes at once; several complete to their longest common prefix and are
// returned for listing.
//
// Trust: candidate names come from containers and are hostile. What is inserted into the line is
// shell-quoted for the line and never carries a raw control character: a character that is not
// printable is written in bash's ANSI-C quoting (`$'\033'`, `$'\u0085'`), which dbox's parser and
// bash both read back as that character; a name's invalid byte has no such form that both read
// back as the byte, so completion stops before it. (How the list of candidates is shown is
// components/CompletionList.tsx's job.)
import {isPrintable} from '../format/utf8.js';
import {typedPath, type PathEnv} from '../vfs/path.js';

export interface Candidate {
  readonly name: string;
  readonly dir: boolean;
  /** For containers: running, exited… (lists running first, coloured like ls). */
  readonly state?: string;
  readonly mode?: number;
  /** For containers: the full id (a prefix of it completes to the name). */
  readonly id?: string;
}

export interface CompletionSource {
  commands(): Promise<readonly string[]>;
  /** The entries of an absolute virtual directory. */
  list(dir: string): Promise<readonly Candidate[]>;
  /** Variable names for `$NAME` (dir: its value is a directory, so a `/` follows it). */
  variables?(): Promise<readonly Candidate[]>;
  /** User names for `~NAME`. */
  users?(): Promise<readonly string[]>;
}

export interface Completion {
  readonly start: number;
  readonly end: number;
  readonly insert: string;
  readonly candidates: readonly Candidate[];
}

const separators = new Set([' ', '\t', '\n', '|', ';', '&', '<', '>', '(', ')', '`']);
/** Words after which the next word is a command (bash's reserved words that take one). */
const commandKeywords = /(^|[\s;&|(`])(if|then|else|elif|do|while|until|time|!|\{)$/;

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

/** The value of an ANSI-C escape (`\033`, `\n`, `\u0085`…) as bash reads it. */
const ansiCEscape = /^\\([0-7]{1,3}|x[\dA-Fa-f]{1,2}|u[\dA-Fa-f]{1,4}|U[\dA-Fa-f]{1,8}|[abeEfnrtv\\'"?])/;
const ansiCLetters: Record<string, string> = {a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v'};

function ansiCValue(escape: string): string {
  const e = escape.slice(1);
  if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
  if (/^[xuU]/.test(e)) {
    const cp = parseInt(e.slice(1), 16);
    return cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : '';
  }
  return ansiCLetters[e] ?? e;
}

export function wordAt(line: string, cursor: number): Word {
  let start = 0;
  let quote: '' | "'" | '"' = '';
  let value = '';
  for (let i = 0; i < cursor; i++) {
    const c = line[i]!;
    if (!quote && c === '$' && line[i + 1] === "'") {
      // bash's $'…' (what quoteAs writes for characters that are not printable)
      i += 2;
      quote = "'";
      for (; i < cursor; i++) {
        if (line[i] === "'") {
          quote = '';
          break;
        }
        const m = line[i] === '\\' ? ansiCEscape.exec(line.slice(i, cursor)) : null;
        if (m) {
          value += ansiCValue(m[0]);
          i += m[0].length - 1;
        } else value += line[i];
      }
      continue;
    }
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
  // The words before this one in its command: assignments (`X=1 cmd`) do not make a command word.
  let before = line.slice(0, start).trimEnd();
  for (;;) {
    const m = /(^|[\s;&|(`])[A-Za-z_][A-Za-z0-9_]*=\S*$/.exec(before);
    if (!m) break;
    before = before.slice(0, m.index + m[1]!.length).trimEnd();
  }
  const commandPosition = before === '' || /(\|\||&&|[|;&(`])$/.test(before) || commandKeywords.test(before);
  const command = before.split(/\|\||&&|[|;&(`]/).at(-1)?.trim().split(/\s+/)[0] ?? '';
  return {start, raw: line.slice(start, cursor), value, quote, commandPosition, command};
}

/**
 * Runs of characters the line can carry as they are, and of characters it cannot: those that are
 * not printable, and the non-ASCII blanks that dbox's parser (shell-quote, JavaScript's \s) would
 * take for word breaks (U+00A0, U+FEFF…). Invalid bytes are excluded before (see typeable).
 */
function runs(value: string): {printable: boolean; text: string}[] {
  const out: {printable: boolean; text: string}[] = [];
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const printable = isPrintable(cp) && !(cp >= 0x80 && /\s/.test(ch));
    const last = out.at(-1);
    if (last && last.printable === printable) last.text += ch;
    else out.push({printable, text: ch});
  }
  return out;
}

/** bash's ANSI-C quoting of characters that are not printable: `$'\033\u0085'`. */
function ansiC(text: string): string {
  let body = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    body += cp < 0x80 ? `\\${cp.toString(8).padStart(3, '0')}`
      : cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `$'${body}'`;
}

/**
 * The start of `value` the line can carry: all of it but from its first invalid byte (a lone
 * surrogate U+DC80..U+DCFF, see src/format/utf8.ts), and never half a surrogate pair.
 */
export function typeable(value: string): string {
  const bad = value.search(/[\udc80-\udcff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  return bad < 0 ? value : value.slice(0, bad);
}

/** Shell-quotes a completed value the way the word began; never a raw control character. */
export function quoteAs(value: string, quote: Word['quote']): string {
  let out = quote;
  for (const run of runs(value)) {
    if (!run.printable) out += quote ? `${quote}${ansiC(run.text)}${quote}` : ansiC(run.text);
    else if (quote === "'") out += run.text.replace(/'/g, `'\\''`);
    else if (quote === '"') out += run.text.replace(/(["\\$`])/g, '\\$1');
    // Unquoted: a backslash before each special character (not ~: typed to mean home), but glob
    // characters in single quotes (dbox's parser takes `\*` for a glob).
    else out += run.text.replace(/([\s'"\\|;&<>()$`[\]#!{}])/g, '\\$1').replace(/[*?]+/g, "'$&'");
  }
  return out;
}

function commonPrefix(names: readonly string[]): string {
  if (names.length === 0) return '';
  let p = names[0]!;
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  // Not half a surrogate pair.
  return /[\ud800-\udbff]$/.test(p) ? p.slice(0, -1) : p;
}

/** `$NA`, `${NA` at the end of what was typed (not in single quotes, the `$` not escaped). */
const variableAt = /(?<!\\)\$(\{?)([A-Za-z_][A-Za-z0-9_]*)?$/;

export async function complete(line: string, cursor: number, env: PathEnv, source: CompletionSource): Promise<Completion | undefined> {
  const word = wordAt(line, cursor);
  const variable = word.quote !== "'" && source.variables ? variableAt.exec(word.raw) : null;
  if (variable) return completeVariable(word, variable, cursor, source);
  const user = /^~([A-Za-z0-9._-]*)$/.exec(word.raw);
  if (user && source.users) {
    const names = (await source.users().catch(() => [])).filter((u) => u.startsWith(user[1]!));
    return finish(word, cursor, '~', names.map((name) => ({name, dir: true})));
  }
  let prefix = '';
  let base = word.value;
  let candidates: Candidate[];
  if (word.commandPosition && !word.value.includes('/')) {
    candidates = (await source.commands()).filter((c) => c.startsWith(base)).map((name) => ({name, dir: false}));
  } else {
    const slash = word.value.lastIndexOf('/');
    prefix = slash >= 0 ? word.value.slice(0, slash + 1) : '';
    base = word.value.slice(slash + 1);
    const dir = prefix === '' ? env.cwd : typedPath(prefix, env);
    const entries = await source.list(dir).catch(() => []);
    candidates = entries.filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')));
    if (candidates.length === 0 && base !== '') {
      // No name starts so: a container's id prefix (`/containers/7cc`) stands for its name.
      const byId = entries.filter((e) => e.id?.startsWith(base));
      if (byId.length > 1) return {start: word.start, end: cursor, insert: word.raw, candidates: byId};
      candidates = byId;
    }
    if (word.command === 'cd') candidates = candidates.filter((e) => e.dir); // as bash's complete -d
    // Running containers first, then the rest; each group by name.
    candidates.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return finish(word, cursor, prefix, candidates);
}

/** One match completes (a directory with `/`, else a space); several to their common prefix. */
function finish(word: Word, cursor: number, prefix: string, candidates: readonly Candidate[]): Completion | undefined {
  if (candidates.length === 0) return undefined;
  const unique = candidates.length === 1 ? candidates[0]! : undefined;
  const stem = unique ? unique.name : commonPrefix(candidates.map((c) => c.name));
  const whole = prefix + stem;
  const usable = typeable(whole);
  // Cut before an invalid byte to less than was typed: leave the word as it is.
  if (usable !== whole && usable.length < word.value.length) return {start: word.start, end: cursor, insert: word.raw, candidates};
  // `~` is typed to mean a home: it stays unquoted.
  // A name that begins the word with `~` is a name: escaped, or bash would read a home directory.
  let insert = whole.startsWith('~') && prefix === '~' ? '~' + quoteAs(usable.slice(1), word.quote)
    : prefix === '' && !word.quote && usable.startsWith('~') ? `\\${quoteAs(usable, word.quote)}` : quoteAs(usable, word.quote);
  if (usable !== whole) return {start: word.start, end: cursor, insert, candidates};
  if (unique) {
    if (unique.dir) insert += prefix === '~' ? `${word.quote}/` : '/';
    else insert += `${word.quote}${' '}`;
  }
  return {start: word.start, end: cursor, insert, candidates};
}

async function completeVariable(word: Word, m: RegExpExecArray, cursor: number, source: CompletionSource): Promise<Completion | undefined> {
  const brace = m[1]!;
  const typed = m[2] ?? '';
  const start = word.start + m.index;
  const candidates = (await source.variables!().catch(() => [])).filter((v) => v.name.startsWith(typed) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v.name));
  if (candidates.length === 0) return undefined;
  const unique = candidates.length === 1 ? candidates[0]! : undefined;
  const name = unique ? unique.name : commonPrefix(candidates.map((c) => c.name));
  let insert = `$${brace}${name}`;
  if (unique) insert += (brace ? '}' : '') + word.quote + (unique.dir ? '/' : ' ');
  return {start, end: cursor, insert, candidates};
}
