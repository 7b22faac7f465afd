// Where the prompt and the line fall on the screen (pure): the rows the terminal will show and the
// cell of the cursor, for a terminal `columns` wide that wraps long lines itself.
//
// The rules are the terminal's (xterm, tmux, VTE): a character that does not fit on the row goes
// to the next one, so a wide character that would start in the last column leaves that column
// empty; combining marks and zero-width characters join the character before them; after a row
// filled to the last column the cursor is at the start of the next row. Widths come from
// src/format/width.ts, the measure ls and the completion list use.
//
// Trust: the line holds whatever was typed or pasted (a pasted escape sequence, a ^C inserted
// with Ctrl-V, a name completed from a container). None of it reaches the terminal raw: control
// characters show as readline shows them (`^[`, `^C`, `^?`), a Tab as spaces to the next tab
// stop, and other characters that are not printable (C1 controls, bidirectional overrides,
// invalid bytes) as octal escapes (src/format/quote.ts's escapeControls). Only the prompt's own
// colour sequences (SGR, `\e[…m`) are written as sequences.
import {escapeControls} from '../format/quote.js';
import {isPrintable} from '../format/utf8.js';
import {visibleWidth} from '../format/width.js';

export interface Row {
  /** What to write: display text, with the prompt's colour sequences. */
  readonly text: string;
  /** Its width in columns. */
  readonly width: number;
  /** It continues the row above (the terminal wrapped there); false after a newline and for the first row. */
  readonly soft: boolean;
}

export interface Frame {
  readonly rows: readonly Row[];
  /** The cursor's cell, relative to the first row. */
  readonly cursor: {readonly x: number; readonly y: number};
}

const segmenter = new Intl.Segmenter(undefined, {granularity: 'grapheme'});
const TAB = 8;

/** Characters that reorder the text around them on the screen (they would make the line lie about itself). */
const bidi = (c: number): boolean => c === 0x061c || c === 0x200e || c === 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);

/** How one grapheme of the line shows: itself when printable, else readline's ^X or an octal escape. */
export function displayGrapheme(g: string): string {
  const cp = g.codePointAt(0)!;
  if (g.length === 1 && (cp < 0x20 || cp === 0x7f)) return `^${String.fromCharCode(cp ^ 0x40)}`;
  if (/^[\x20-\x7e]$/.test(g)) return g;
  // Every code point must be printable (a combining mark after a letter is; a lone surrogate, a C1
  // control or a bidirectional override is not). When one is not, the whole grapheme shows in ASCII.
  const unprintable = (c: number): boolean => (c >= 0xd800 && c <= 0xdfff) || !isPrintable(c) || bidi(c);
  if (![...g].some((ch) => unprintable(ch.codePointAt(0)!))) return g;
  return [...g].map((ch) => {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c < 0x7f) return ch;
    if (c < 0x20 || c === 0x7f) return `^${String.fromCharCode(c ^ 0x40)}`;
    // An invalid byte (a lone surrogate, src/format/utf8.ts) as escapeControls writes it; any other as its UTF-8 bytes.
    if (c >= 0xd800 && c <= 0xdfff) return escapeControls(ch);
    return [...Buffer.from(ch, 'utf8')].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
  }).join('');
  return g;
}

class Layout {
  readonly rows: {text: string; width: number; soft: boolean}[] = [{text: '', width: 0, soft: false}];
  constructor(private readonly columns: number) {}

  private get row(): {text: string; width: number; soft: boolean} {
    return this.rows.at(-1)!;
  }

  get x(): number {
    return this.row.width;
  }

  get y(): number {
    return this.rows.length - 1;
  }

  newline(soft: boolean): void {
    this.rows.push({text: '', width: 0, soft});
  }

  /** Zero-width text (a colour sequence) on the current row. */
  sequence(seq: string): void {
    this.row.text += seq;
  }

  /** One grapheme as it shows (already made printable): wraps first when it does not fit. Returns where it starts. */
  put(shown: string, width: number): {x: number; y: number} {
    if (width > 0 && this.row.width + width > this.columns && this.row.width > 0) this.newline(true);
    const at = {x: this.row.width, y: this.y};
    this.row.text += shown;
    this.row.width += width;
    return at;
  }

  /** A string of the line: every grapheme made printable. `at` is called with each grapheme's offset and start cell. */
  text(text: string, at?: (offset: number, cell: {x: number; y: number}) => void): void {
    for (const {segment, index} of segmenter.segment(text)) {
      let cell: {x: number; y: number};
      if (segment === '\n' || segment === '\r\n') {
        cell = {x: this.x, y: this.y};
        this.newline(false);
      } else if (segment === '\t') {
        const pos = this.row.width >= this.columns ? 0 : this.row.width;
        const n = Math.max(1, Math.min(TAB - (pos % TAB), this.columns - pos));
        cell = this.put(' '.repeat(n), n);
      } else {
        const shown = displayGrapheme(segment);
        if (shown !== segment) {
          // `^C`, `\302\205`: ASCII the terminal wraps character by character.
          cell = this.put(shown[0]!, 1);
          for (const c of shown.slice(1)) this.put(c, 1);
        } else cell = this.put(shown, visibleWidth(shown));
      }
      at?.(index, cell);
    }
  }

  /** The cell after everything: the start of the next row when this one is full. */
  end(): {x: number; y: number} {
    if (this.row.width >= this.columns) {
      this.newline(true);
    }
    return {x: this.x, y: this.y};
  }
}

/** The prompt's own SGR sequences pass; anything else in it is shown as the line's text is. */
const promptPieces = /(\x1b\[[0-9;]*m)/;

/** The rows of prompt + line, and the cursor at `cursor` (a UTF-16 index of the line). */
export function layoutLine(prompt: string, text: string, cursor: number, columns: number): Frame {
  const l = new Layout(Math.max(2, columns));
  for (const piece of prompt.split(promptPieces)) {
    if (piece === '') continue;
    if (promptPieces.test(piece) && piece.startsWith('\x1b[')) l.sequence(piece);
    else l.text(piece);
  }
  let at: {x: number; y: number} | undefined;
  l.text(text, (offset, cell) => {
    if (offset === cursor) at = cell;
  });
  const end = l.end();
  // The row after a full last row exists only when the cursor is there.
  if (at !== undefined && end.x === 0 && end.y > 0 && l.rows.at(-1)!.soft && l.rows.at(-1)!.text === '') l.rows.pop();
  return {rows: l.rows, cursor: at ?? end};
}

/** Rows of other text below the line (the completion list): each line its own row, cut at the width. */
export function plainRows(lines: readonly string[]): Row[] {
  return lines.map((text) => ({text, width: visibleWidth(text), soft: false}));
}

/** Where the cursor would be for a prompt and the text before it (the old measure; kept for callers). */
export function cursorPosition(beforeCursor: string, columns: number): {x: number; y: number} {
  return layoutLine(beforeCursor, '', 0, columns).cursor;
}

/** What the prompt line shows for an editor state: the prompt and the line, or the Ctrl-R search. */
export function editorFrame(prompt: string, s: {readonly text: string; readonly cursor: number; readonly history: readonly string[]; readonly search?: {readonly query: string; readonly match: number | undefined}},
  columns: number, suffix = ''): Frame {
  if (s.search) {
    const {query, match} = s.search;
    const found = match !== undefined ? s.history[match]! : '';
    const at = match !== undefined ? Math.max(0, found.indexOf(query)) : found.length;
    return layoutLine(`(${match === undefined && query ? 'failed ' : ''}reverse-i-search)\`${query}': `, found, at, columns);
  }
  if (suffix === '') return layoutLine(prompt, s.text, s.cursor, columns);
  const f = layoutLine(prompt, s.text + suffix, s.text.length + suffix.length, columns);
  return f;
}

/** The frame's text as rows (what a test sees of it). */
export const frameText = (f: Frame): string => f.rows.map((r) => r.text).join('\n');

/**
 * The rows of a frame that fit a screen `height` rows tall, around the cursor. Moving the cursor to
 * a row that has scrolled off the screen is impossible, so a line taller than the screen (a large
 * paste) shows the part with the cursor, and the cursor never leaves the screen.
 */
export function cropFrame(frame: Frame, height: number): Frame {
  const h = Math.max(1, height);
  if (frame.rows.length <= h) return frame;
  const top = Math.min(Math.max(0, frame.cursor.y - h + 1), frame.rows.length - h);
  const rows = frame.rows.slice(top, top + h).map((r, i) => (i === 0 && r.soft ? {...r, soft: false} : r));
  return {rows, cursor: {x: frame.cursor.x, y: frame.cursor.y - top}};
}
