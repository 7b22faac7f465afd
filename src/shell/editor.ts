// The line editor (pure): readline's bindings as a reducer over the line, the cursor, the kill
// buffer, history browsing and Ctrl-R search. It returns an intent for what the shell must do
// (run the line, complete, clear the screen…); it does no I/O.
import type {Key} from './keys.js';

export interface Search {
  readonly query: string;
  /** Index in history of the current match, or undefined when nothing matches. */
  readonly match: number | undefined;
}

export interface EditorState {
  readonly text: string;
  /** A UTF-16 index at a grapheme boundary. */
  readonly cursor: number;
  readonly kill: string;
  /** Oldest first. */
  readonly history: readonly string[];
  /** history.length while editing a new line. */
  readonly browse: number;
  /** The new line, kept while browsing history. */
  readonly draft: string;
  readonly search?: Search;
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
const prevBoundary = (text: string, i: number): number => [...boundaries(text)].reverse().find((b) => b < i) ?? 0;
const nextBoundary = (text: string, i: number): number => boundaries(text).find((b) => b > i) ?? text.length;

const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
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

const set = (s: EditorState, text: string, cursor: number): EditorState => ({...s, text, cursor});

/** Finds the newest history entry at or before `from` containing query. */
function findBack(history: readonly string[], query: string, from: number): number | undefined {
  for (let i = Math.min(from, history.length - 1); i >= 0; i--) if (history[i]!.includes(query)) return i;
  return undefined;
}

function searchKey(s: EditorState, search: Search, key: Key): EditResult {
  const update = (query: string, from: number): EditResult =>
    ({state: {...s, search: {query, match: query === '' ? undefined : findBack(s.history, query, from)}}});
  const accept = (): EditorState => {
    const text = search.match !== undefined ? s.history[search.match]! : s.text;
    const {search: _drop, ...rest} = s;
    return {...rest, text, cursor: text.length};
  };
  switch (key.kind) {
    case 'text': return update(search.query + key.text, search.match ?? s.history.length - 1);
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

export function edit(s: EditorState, key: Key): EditResult {
  if (s.search) return searchKey(s, s.search, key);
  const {text, cursor} = s;
  const insert = (t: string): EditResult => ({state: set(s, text.slice(0, cursor) + t + text.slice(cursor), cursor + t.length)});
  const killTo = (from: number, to: number): EditResult =>
    from === to ? {state: s} : {state: {...s, text: text.slice(0, from) + text.slice(to), cursor: from, kill: text.slice(from, to)}};
  const browseTo = (i: number): EditResult => {
    if (i < 0 || i > s.history.length || i === s.browse) return {state: s};
    const draft = s.browse === s.history.length ? text : s.draft;
    const line = i === s.history.length ? draft : s.history[i]!;
    return {state: {...s, browse: i, draft, text: line, cursor: line.length}};
  };
  switch (key.kind) {
    case 'text': return insert(key.text.replace(/[\r\n]+/g, ' '));
    case 'enter': return {state: s, intent: 'submit'};
    case 'tab': return {state: s, intent: 'complete'};
    case 'left': return {state: set(s, text, prevBoundary(text, cursor))};
    case 'right': return {state: set(s, text, nextBoundary(text, cursor))};
    case 'home': return {state: set(s, text, 0)};
    case 'end': return {state: set(s, text, text.length)};
    case 'up': return browseTo(s.browse - 1);
    case 'down': return browseTo(s.browse + 1);
    case 'backspace': {
      const to = prevBoundary(text, cursor);
      return {state: set(s, text.slice(0, to) + text.slice(cursor), to)};
    }
    case 'delete': return {state: set(s, text.slice(0, cursor) + text.slice(nextBoundary(text, cursor)), cursor)};
    case 'alt-backspace': return killTo(wordLeft(text, cursor), cursor);
    case 'escape': return {state: s};
    case 'alt':
      if (key.key === 'b') return {state: set(s, text, wordLeft(text, cursor))};
      if (key.key === 'f') return {state: set(s, text, wordRight(text, cursor))};
      if (key.key === 'd') return killTo(cursor, wordRight(text, cursor));
      return {state: s};
    case 'ctrl':
      switch (key.key) {
        case 'a': return {state: set(s, text, 0)};
        case 'e': return {state: set(s, text, text.length)};
        case 'b': return edit(s, {kind: 'left'});
        case 'f': return edit(s, {kind: 'right'});
        case 'p': return edit(s, {kind: 'up'});
        case 'n': return edit(s, {kind: 'down'});
        case 'h': return edit(s, {kind: 'backspace'});
        case 'd': return text === '' ? {state: s, intent: 'eof'} : edit(s, {kind: 'delete'});
        case 'u': return killTo(0, cursor);
        case 'k': return killTo(cursor, text.length);
        case 'w': return killTo(spaceWordLeft(text, cursor), cursor);
        case 'y': return insert(s.kill);
        case 'l': return {state: s, intent: 'clear-screen'};
        case 'c': return {state: {...s, text: '', cursor: 0, browse: s.history.length, draft: ''}, intent: 'interrupt'};
        case 'r': return {state: {...s, search: {query: '', match: undefined}}};
        case 'm':
        case 'j': return {state: s, intent: 'submit'};
        case 'i': return {state: s, intent: 'complete'};
        default: return {state: s};
      }
  }
}

/** After a line is run: a fresh line, with history updated (no duplicate in a row). */
export function afterSubmit(s: EditorState, max = 1000): EditorState {
  const line = s.text;
  const history = line.trim() === '' || s.history.at(-1) === line ? s.history : [...s.history, line].slice(-max);
  return emptyEditor(history);
}
