// The line editor (pure): readline's emacs bindings as a reducer over the line, the cursor, the
// kill ring, the undo list, history browsing and Ctrl-R search. It returns an intent for what
// the shell must do (run the line, complete, clear the screen…); it does no I/O.
//
// What follows bash 5.2's readline, checked key for key in test/e2e/readline-diff.test.ts:
// words are runs of letters and digits (readline's rl_alphabetic: `_` and `/` end a word);
// single inserted characters join the previous insert in one undo step up to 20 characters
// (rl_insert_text), other commands are one undo step each, and undo puts the cursor where
// readline's rl_do_undo leaves it; Alt-. and Alt-_ insert the last word of the previous history
// line, again for older lines, and Alt-N Alt-. the Nth word (history_tokenize's words: quotes
// kept, `|`, `;`, `&`, `<`, `>`, `(`, `)` words of their own); kills go to a kill ring of ten,
// kills in a row making one entry (forward kills append, backward ones prepend), Alt-Y after a
// yank taking the entry before; Ctrl-R leaves the cursor where the match begins. The line may hold
// newlines (a paste): Enter runs it all, as bash 5.2 runs a pasted block.
import type {Key} from './keys.js';

export interface Search {
  readonly query: string;
  /** Index in history of the current match, or undefined when nothing matches. */
  readonly match: number | undefined;
}

export interface UndoEntry {
  /** The line before the change, and where undoing the change leaves the cursor (as readline's rl_do_undo). */
  readonly text: string;
  readonly cursor: number;
  /** For a run of typed characters: where it began and ends now (so the next one may join it). */
  readonly insert?: {readonly start: number; readonly end: number};
}

/** What the previous key did, where the next one depends on it (Alt-. again, a second kill, Alt-Y). */
type Last =
  | {
    readonly kind: 'yank-last-arg';
    /** How many lines back from the newest the inserted word came from (0: the previous line). */
    readonly skip: number;
    /** The explicit argument of the first Alt-. (undefined: the last word). */
    readonly nth: number | undefined;
  }
  | {readonly kind: 'kill'}
  | {readonly kind: 'yank'; readonly start: number; readonly end: number; readonly index: number};

export interface EditorState {
  readonly text: string;
  /** A UTF-16 index at a grapheme boundary. */
  readonly cursor: number;
  /** The kill buffer: what Ctrl-Y inserts (the kill ring's current entry). */
  readonly kill: string;
  /** readline's kill ring, oldest first (at most 10), and the entry Ctrl-Y inserts. */
  readonly ring?: readonly string[];
  readonly killIndex?: number;
  /** Oldest first. */
  readonly history: readonly string[];
  /** history.length while editing a new line. */
  readonly browse: number;
  /** The new line, kept while browsing history. */
  readonly draft: string;
  readonly search?: Search;
  /** Newest last. */
  readonly undo?: readonly UndoEntry[];
  /** A numeric argument being typed (Alt-digits). */
  readonly arg?: number;
  /** Ctrl-V was pressed: the next key is inserted as typed. */
  readonly quoted?: boolean;
  /** Ctrl-X was pressed: the next key completes a two-key binding. */
  readonly prefix?: 'C-x';
  readonly last?: Last;
}

export type Intent = 'submit' | 'complete' | 'clear-screen' | 'interrupt' | 'eof';

export interface EditResult {
  readonly state: EditorState;
  readonly intent?: Intent;
}

export const emptyEditor = (history: readonly string[] = []): EditorState =>
  ({text: '', cursor: 0, kill: '', history, browse: history.length, draft: ''});

const segmenter = new Intl.Segmenter(undefined, {granularity: 'grapheme'});

/** Grapheme boundaries of text (0 and text.length included). */
function boundaries(text: string): number[] {
  const out = [0];
  for (const s of segmenter.segment(text)) out.push(s.index + s.segment.length);
  return out;
}
const prevBoundary = (text: string, i: number): number => {
  let best = 0;
  for (const b of boundaries(text)) {
    if (b >= i) break;
    best = b;
  }
  return best;
};
const nextBoundary = (text: string, i: number): number => boundaries(text).find((b) => b > i) ?? text.length;

/** readline's rl_alphabetic: letters and digits. */
const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}\p{M}]/u.test(c);
/** Alt-B: back to the start of the current or previous word. */
function wordLeft(text: string, i: number): number {
  let j = i;
  while (j > 0 && !isWord(text[j - 1])) j--;
  while (j > 0 && isWord(text[j - 1])) j--;
  return j;
}
/** Alt-F: forward to the end of the current or next word. */
function wordRight(text: string, i: number): number {
  let j = i;
  while (j < text.length && !isWord(text[j])) j++;
  while (j < text.length && isWord(text[j])) j++;
  return j;
}
/** Ctrl-W: back over whitespace, then over non-whitespace (unix-word-rubout). */
function spaceWordLeft(text: string, i: number): number {
  let j = i;
  while (j > 0 && /\s/.test(text[j - 1]!)) j--;
  while (j > 0 && !/\s/.test(text[j - 1]!)) j--;
  return j;
}

/**
 * The words of a history line as readline's history_tokenize splits them: blanks separate,
 * quotes and backslashes keep their text together (and stay in the word), and the shell's
 * operators are words of their own.
 */
export function historyWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const start = i;
    const op = /^(\|\||&&|;;|>>|<<<|<<|>&|<&|&>|>\||[|;&<>()])/.exec(line.slice(i));
    if (op) {
      // A redirection may carry its file descriptor (`2>`): history_tokenize keeps it in the word.
      i += op[0].length;
      words.push(line.slice(start, i));
      continue;
    }
    while (i < line.length && !/\s/.test(line[i]!) && !/[|;&<>()]/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < line.length) i += 2;
      else if (c === "'" || c === '"' || c === '`') {
        const close = line.indexOf(c, i + 1);
        i = close < 0 ? line.length : close + 1;
      } else i++;
    }
    if (/^\d+$/.test(line.slice(start, i)) && /^[<>]/.test(line.slice(i))) {
      const op2 = /^(>>|>&|<&|>\||[<>])/.exec(line.slice(i))!;
      i += op2[0].length;
    }
    words.push(line.slice(start, i));
  }
  return words;
}

/**
 * The new state with the change recorded for undo: `at` is where undoing it leaves the cursor
 * (readline: after text put back, at the start of text taken away); a single typed character
 * joins the run before it.
 */
function recorded(before: EditorState, after: EditorState, at: number, typed?: {start: number; end: number}): EditorState {
  if (after.text === before.text) return after;
  const undo = before.undo ?? [];
  const top = undo.at(-1);
  if (typed && top?.insert && top.insert.end === typed.start && typed.end - top.insert.start <= 20 && typed.end - typed.start === 1) {
    return {...after, undo: [...undo.slice(0, -1), {...top, insert: {start: top.insert.start, end: typed.end}}]};
  }
  const entry: UndoEntry = {text: before.text, cursor: at, ...(typed ? {insert: typed} : {})};
  return {...after, undo: [...undo, entry].slice(-1000)};
}

/** Ctrl-_: the line before the last change. */
function undone(s: EditorState): EditorState {
  const undo = s.undo ?? [];
  const top = undo.at(-1);
  if (!top) return s;
  return {...s, text: top.text, cursor: Math.min(top.cursor, top.text.length), undo: undo.slice(0, -1)};
}

const caseWord = (text: string, from: number, to: number, how: 'up' | 'down' | 'capital'): string => {
  let out = '';
  let inWord = false;
  for (const ch of text.slice(from, to)) {
    const op = how === 'capital' ? (inWord ? 'down' : 'up') : how;
    if (how === 'capital') inWord = isWord(ch);
    out += op === 'up' ? ch.toUpperCase() : ch.toLowerCase();
  }
  return out;
};

/** Finds the newest history entry at or before `from` containing query. */
function findBack(history: readonly string[], query: string, from: number): number | undefined {
  for (let i = Math.min(from, history.length - 1); i >= 0; i--) if (history[i]!.includes(query)) return i;
  return undefined;
}

function searchKey(s: EditorState, search: Search, key: Key): EditResult {
  const update = (query: string, from: number): EditResult =>
    ({state: {...s, search: {query, match: query === '' ? undefined : findBack(s.history, query, from)}}});
  // The search ends with the cursor where the match begins (readline), or where it was when nothing matched.
  const accept = (): EditorState => {
    const {search: _drop, ...rest} = s;
    if (search.match === undefined) return rest;
    const text = s.history[search.match]!;
    const cursor = Math.max(0, text.indexOf(search.query));
    return text === s.text ? {...rest, cursor} : recorded(s, {...rest, text, cursor}, s.text.length);
  };
  switch (key.kind) {
    case 'text': return update(search.query + key.text, search.match ?? s.history.length - 1);
    case 'paste': return update(search.query + key.text.replace(/[\r\n]+/g, ' '), search.match ?? s.history.length - 1);
    case 'backspace': return update(search.query.slice(0, -1), s.history.length - 1);
    case 'ctrl':
      if (key.key === 'r') return update(search.query, (search.match ?? s.history.length) - 1);
      if (key.key === 'g' || key.key === 'c') {
        const {search: _drop, ...rest} = s;
        return {state: rest};
      }
      return edit(accept(), key);
    case 'escape': return {state: accept()};
    case 'enter': return {state: accept(), intent: 'submit'};
    default: return edit(accept(), key);
  }
}

/** The text a key inserts when quoted (Ctrl-V): its bytes as typed. */
function quotedText(key: Key): string {
  if (key.kind === 'text' || key.kind === 'paste') return key.text;
  if (key.seq !== undefined) return key.seq;
  return '';
}

export function edit(s: EditorState, key: Key): EditResult {
  if (s.search) return searchKey(s, s.search, key);
  if (s.quoted) {
    const {quoted: _q, ...rest} = s;
    return insertText(rest, quotedText(key));
  }
  if (s.prefix === 'C-x') {
    const {prefix: _p, ...rest} = s;
    if (key.kind === 'ctrl' && key.key === 'u') return {state: undone(rest)};
    return {state: rest};
  }
  // A numeric argument: Alt-digits, then the key it applies to.
  if (key.kind === 'alt' && /^[0-9]$/.test(key.key)) return {state: {...s, arg: (s.arg ?? 0) * 10 + Number(key.key)}};
  // What the previous key did matters to a few (Alt-. again, kills in a row, Alt-Y); each key says anew.
  const {arg, last: prev, ...base} = s;
  const isYankLast = key.kind === 'alt' && (key.key === '.' || key.key === '_');
  return isYankLast ? yankLastArg(base, arg, prev) : repeated(base, key, arg, prev);
}

/** Keys that take a count repeat with Alt-N (readline's numeric argument). */
function repeated(s: EditorState, key: Key, arg: number | undefined, prev: Last | undefined): EditResult {
  const counted = key.kind === 'text' || key.kind === 'left' || key.kind === 'right' || key.kind === 'backspace' || key.kind === 'delete'
    || (key.kind === 'ctrl' && 'bfhd'.includes(key.key) && s.text !== '') || (key.kind === 'alt' && 'bfd'.includes(key.key));
  if (arg === undefined || !counted) return editOnce(s, key, prev);
  let r: EditResult = {state: s};
  let last = prev;
  for (let i = 0; i < Math.min(arg, 10_000); i++) {
    const {last: _l, ...state} = r.state;
    r = editOnce(state, key, last);
    last = r.state.last;
  }
  return r;
}

function insertText(s: EditorState, t: string): EditResult {
  if (t === '') return {state: s};
  const {text, cursor} = s;
  const after = {...s, text: text.slice(0, cursor) + t + text.slice(cursor), cursor: cursor + t.length};
  // One typed character may join the run before it (rl_insert_text's coalescing).
  const single = [...segmenter.segment(t)].length === 1;
  return {state: recorded(s, after, cursor, single ? {start: cursor, end: cursor + t.length} : undefined)};
}

/** Alt-. / Alt-_: readline's yank-last-arg. */
function yankLastArg(s: EditorState, arg: number | undefined, last: Last | undefined): EditResult {
  const prev = last?.kind === 'yank-last-arg' ? last : undefined;
  let base = s;
  let skip = 0;
  let nth = arg;
  if (prev) {
    // Again: take back what the last one inserted, and look one line further back.
    base = undone(s);
    skip = prev.skip + 1;
    nth = prev.nth;
  }
  const line = s.history[s.history.length - 1 - skip];
  const words = line === undefined ? [] : historyWords(line);
  const word = nth === undefined ? words.at(-1) : words[nth];
  if (word === undefined) return {state: base};
  // One undo step of its own (never joined to typing), so Alt-. again can take it back.
  const text = base.text.slice(0, base.cursor) + word + base.text.slice(base.cursor);
  const fixed = recorded(base, {...base, text, cursor: base.cursor + word.length}, base.cursor);
  return {state: {...fixed, last: {kind: 'yank-last-arg', skip, nth}}};
}

function editOnce(s: EditorState, key: Key, prev?: Last): EditResult {
  const {text, cursor} = s;
  const change = (t: string, c: number, at: number): EditResult => ({state: recorded(s, {...s, text: t, cursor: c}, at)});
  const move = (c: number): EditResult => ({state: {...s, cursor: c}});
  /** A kill: into the kill ring; kills in a row make one entry (forward ones append, backward ones prepend). */
  const killTo = (from: number, to: number, forward: boolean): EditResult => {
    const killed = text.slice(from, to);
    const ring = s.ring ?? (s.kill ? [s.kill] : []);
    const joined = prev?.kind === 'kill' && ring.length > 0;
    const top = joined ? (forward ? ring.at(-1)! + killed : killed + ring.at(-1)!) : killed;
    const next = from === to ? ring : joined ? [...ring.slice(0, -1), top] : [...ring, killed].slice(-10);
    const after: EditorState = {...s, text: text.slice(0, from) + text.slice(to), cursor: from, kill: next.at(-1) ?? '', ring: next,
      killIndex: next.length - 1, last: {kind: 'kill'}};
    return {state: from === to ? after : recorded(s, after, to)};
  };
  const yank = (start: number, end: number, index: number): EditResult => {
    const t = (s.ring ?? [s.kill])[index] ?? '';
    if (t === '') return {state: s};
    const after: EditorState = {...s, text: text.slice(0, start) + t + text.slice(end), cursor: start + t.length, killIndex: index, kill: t,
      last: {kind: 'yank', start, end: start + t.length, index}};
    return {state: recorded(s, after, start)};
  };
  const browseTo = (i: number): EditResult => {
    if (i < 0 || i > s.history.length || i === s.browse) return {state: s};
    const draft = s.browse === s.history.length ? text : s.draft;
    const line = i === s.history.length ? draft : s.history[i]!;
    const {undo: _u, ...rest} = s;
    return {state: {...rest, browse: i, draft, text: line, cursor: line.length}};
  };
  switch (key.kind) {
    case 'text': return insertText(s, key.text.replace(/\r\n?/g, '\n'));
    // A paste is text, whatever it holds: newlines stay (Enter runs the whole block, as bash 5.2).
    case 'paste': return insertText(s, key.text.replace(/\r\n?/g, '\n'));
    case 'enter': return {state: s, intent: 'submit'};
    case 'tab': return {state: s, intent: 'complete'};
    case 'left': return move(prevBoundary(text, cursor));
    case 'right': return move(nextBoundary(text, cursor));
    case 'home': return move(0);
    case 'end': return move(text.length);
    case 'word-left': return move(wordLeft(text, cursor));
    case 'word-right': return move(wordRight(text, cursor));
    case 'up': return browseTo(s.browse - 1);
    case 'down': return browseTo(s.browse + 1);
    case 'backspace': {
      const to = prevBoundary(text, cursor);
      return to === cursor ? {state: s} : change(text.slice(0, to) + text.slice(cursor), to, cursor);
    }
    case 'delete': return cursor === text.length ? {state: s} : change(text.slice(0, cursor) + text.slice(nextBoundary(text, cursor)), cursor, nextBoundary(text, cursor));
    case 'alt-backspace': return killTo(wordLeft(text, cursor), cursor, false);
    case 'escape':
    case 'unknown': return {state: s};
    case 'alt':
      switch (key.key) {
        case 'b': return move(wordLeft(text, cursor));
        case 'f': return move(wordRight(text, cursor));
        case 'd': return killTo(cursor, wordRight(text, cursor), true);
        case 't': return transposeWords(s);
        case 'u':
        case 'l':
        case 'c': {
          const end = wordRight(text, cursor);
          const how = key.key === 'u' ? 'up' : key.key === 'l' ? 'down' : 'capital';
          return change(text.slice(0, cursor) + caseWord(text, cursor, end, how) + text.slice(end), end, end);
        }
        case 'y': {
          // yank-pop: right after a yank, the yanked text becomes the kill ring's entry before it.
          const n = (s.ring ?? []).length;
          if (prev?.kind !== 'yank' || n === 0) return {state: s};
          return yank(prev.start, prev.end, (prev.index - 1 + n) % n);
        }
        case '<': return browseTo(0);
        case '>': return browseTo(s.history.length);
        case 'r': {
          // revert-line: every change undone
          let r = s;
          while ((r.undo ?? []).length > 0) r = undone(r);
          return {state: r};
        }
        default: return {state: s};
      }
    case 'ctrl':
      switch (key.key) {
        case 'a': return move(0);
        case 'e': return move(text.length);
        case 'b': return editOnce(s, {kind: 'left'});
        case 'f': return editOnce(s, {kind: 'right'});
        case 'p': return browseTo(s.browse - 1);
        case 'n': return browseTo(s.browse + 1);
        case 'h': return editOnce(s, {kind: 'backspace'});
        case 'd': return text === '' ? {state: s, intent: 'eof'} : editOnce(s, {kind: 'delete'});
        case 'u': return killTo(0, cursor, false);
        case 'k': return killTo(cursor, text.length, true);
        case 'w': return killTo(spaceWordLeft(text, cursor), cursor, false);
        case 'y': return yank(cursor, cursor, s.killIndex ?? (s.ring ?? [s.kill]).length - 1);
        case 't': return transposeChars(s);
        case 'v': return {state: {...s, quoted: true}};
        case 'x': return {state: {...s, prefix: 'C-x'}};
        case '_': return {state: undone(s)};
        case 'l': return {state: s, intent: 'clear-screen'};
        case 'c': return {state: {...emptyEditor(s.history), kill: s.kill, ...(s.ring ? {ring: s.ring, killIndex: s.ring.length - 1} : {})}, intent: 'interrupt'};
        case 'r': return {state: {...s, search: {query: '', match: undefined}}};
        case 'm':
        case 'j': return {state: s, intent: 'submit'};
        case 'i': return {state: s, intent: 'complete'};
        default: return {state: s};
      }
  }
}

/** Ctrl-T: the character before the cursor with the one at it (the last two at the end), cursor after both. */
function transposeChars(s: EditorState): EditResult {
  const {text} = s;
  let cursor = s.cursor;
  if (cursor === 0 || boundaries(text).length < 3) return {state: s};
  if (cursor === text.length) cursor = prevBoundary(text, cursor);
  const a = prevBoundary(text, cursor);
  const b = nextBoundary(text, cursor);
  const next = text.slice(0, a) + text.slice(cursor, b) + text.slice(a, cursor) + text.slice(b);
  return {state: recorded(s, {...s, text: next, cursor: b}, cursor)};
}

/** Alt-T: the word before the cursor with the word after it (the last two at the end), cursor after both. */
function transposeWords(s: EditorState): EditResult {
  const {text, cursor} = s;
  const w2End = wordRight(text, cursor);
  const w2Beg = wordLeft(text, w2End);
  const w1Beg = wordLeft(text, w2Beg);
  const w1End = wordRight(text, w1Beg);
  if (w1Beg === w2Beg || w2Beg < w1End) return {state: s};
  const next = text.slice(0, w1Beg) + text.slice(w2Beg, w2End) + text.slice(w1End, w2Beg) + text.slice(w1Beg, w1End) + text.slice(w2End);
  return {state: recorded(s, {...s, text: next, cursor: w2End}, w2End)};
}

/** What decides which lines history keeps (bash's HISTCONTROL and HISTSIZE). */
export interface HistoryPolicy {
  /** HISTSIZE: lines kept in memory. */
  readonly size: number;
  /** ignorespace: a line that begins with a blank is not kept. */
  readonly ignoreSpace: boolean;
  /** ignoredups: a line equal to the one before it is not kept. */
  readonly ignoreDups: boolean;
  /** erasedups: earlier copies of a line are removed when it is kept. */
  readonly eraseDups: boolean;
}

/** dbox's policy when none is given: 1,000 lines, no duplicate in a row. */
export const defaultHistoryPolicy: HistoryPolicy = {size: 1000, ignoreSpace: false, ignoreDups: true, eraseDups: false};

/** After a line is run: a fresh line, with history updated as the policy says. */
export function afterSubmit(s: EditorState, policy: HistoryPolicy | number = defaultHistoryPolicy): EditorState {
  const p = typeof policy === 'number' ? {...defaultHistoryPolicy, size: policy} : policy;
  // The kill ring outlives the line, as readline's.
  return {...emptyEditor(remember(s.history, s.text, p)), kill: s.kill, ...(s.ring ? {ring: s.ring, killIndex: s.ring.length - 1} : {})};
}

/** The history with `line` added as the policy says. */
export function remember(history: readonly string[], line: string, p: HistoryPolicy): readonly string[] {
  const entry = line.replace(/\n+$/, '');
  if (entry.trim() === '') return history;
  if (p.ignoreSpace && /^[ \t]/.test(entry)) return history;
  if (p.ignoreDups && history.at(-1) === entry) return history;
  const kept = p.eraseDups ? history.filter((h) => h !== entry) : history;
  return p.size <= 0 ? [] : [...kept, entry].slice(-p.size);
}
