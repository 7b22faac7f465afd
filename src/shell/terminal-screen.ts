// The prompt's part of the terminal (the edge where the line editor writes): draws frames of
// src/shell/line-layout.ts below whatever is on the screen, moves the cursor to its cell, redraws
// only from the first row that changed, and keeps its part clean when the terminal is resized.
// While the prompt is up it alone writes to the terminal (commands run only after it is done).
//
// How it stays in step with the terminal: rows of one line are written in one run and left to the
// terminal to wrap, so the terminal knows them for one line (and re-wraps them on a resize, as
// tmux, VTE, kitty, iTerm2 and Windows Terminal do); rows of different lines are joined by
// `\r\n`. Cursor moves are relative (up, down, column), so nothing depends on where on the screen
// the prompt began. On a resize the cursor's row within the frame is worked out as the terminal
// re-wrapped it (its line's cells before it, divided by the new width), the frame is erased from
// its first row down and drawn again: no row of it is left behind, whichever way the width
// changed. A terminal that does not re-wrap (xterm) keeps its rows where they were; the frame is
// then erased from the row the re-wrapping model says, which for a narrower terminal may also clear
// rows above the prompt (never more than the frame's own height).
//
// Rows above the screen: a narrower terminal keeps the cursor's row and pushes the top of the
// re-wrapped line into the scrollback, where nothing can erase it, and a wider one brings it back
// above the redrawn frame (tmux: a ghost of the line's start). bash's readline gets away with it by
// erasing as many rows up as its old layout had; here, on a terminal, the screen asks where the
// cursor is (ESC[6n; the answer is input, routed back by the Shell through cursorReport, waited for
// at most half a second) and so knows how many of the frame's rows went above the screen's top; a
// later resize that finds rows above the frame's top erases those rows (as many as went up, at the
// new width) and draws the frame from there. Trust: the answer comes from the terminal, in the
// input, so a person could type one: it is parsed strictly, taken only while a question is open (or
// once for each question given up on), and it can make the screen erase no more rows above the
// frame than the frame's own height. Without an answer (a test's emulator, a terminal that does
// not reply) the re-wrapping model alone decides, as before.
//
// Also here, for the controller: the marker for output that did not end with a newline (zsh's
// PROMPT_SP) and bracketed paste on and off.
import type {Frame, Row} from './line-layout.js';

/** What the screen writes to: a terminal (process.stdout) or a test's emulator. */
export interface TerminalOutput {
  write(data: string): unknown;
  readonly columns?: number;
  readonly rows?: number;
  /** A terminal (it answers a cursor position query) rather than a test's emulator or a pipe. */
  readonly isTTY?: boolean;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export const BRACKETED_PASTE_ON = '\x1b[?2004h';
export const BRACKETED_PASTE_OFF = '\x1b[?2004l';

/**
 * zsh's PROMPT_SP: after output that did not end with a newline, the next prompt starts on a line
 * of its own and the output keeps its last line, followed by a reverse-video `%`. Written at
 * column 0 the marker and the spaces fill exactly one row, the cursor waits at its end, and `\r`
 * and `\e[K` take it all back; written after text, the spaces run onto the next row and `\r` leaves
 * the cursor at its start.
 */
export function promptEolMark(columns: number, color = true): string {
  const cols = Math.max(1, columns);
  return `${color ? '\x1b[7m%\x1b[27m' : '%'}${' '.repeat(cols - 1)}\r\x1b[K`;
}

const up = (n: number): string => (n > 0 ? `\x1b[${n}A` : '');
const down = (n: number): string => (n > 0 ? `\x1b[${n}B` : '');
const column = (x: number): string => (x > 0 ? `\r\x1b[${x}C` : '\r');

/** Rows of the frame that begin a line (the others continue the one above). */
const lineStart = (rows: readonly Row[], i: number): number => {
  let j = i;
  while (j > 0 && rows[j]!.soft) j--;
  return j;
};

const sameRow = (a: Row | undefined, b: Row | undefined): boolean => a !== undefined && b !== undefined && a.text === b.text && a.soft === b.soft;

export class TerminalScreen {
  /** The frame on the screen, and the width it was drawn at; undefined when none is. */
  private drawn: Frame | undefined;
  private drawnColumns = 0;
  /** The cursor's cell relative to the frame's first row. */
  private at = {x: 0, y: 0};
  /**
   * Cells of the frame's first line that a narrowing pushed above the screen's top (into the
   * scrollback, where no program can erase them): a widening may bring them back on the screen,
   * right above the frame, where the next resize erases them.
   */
  private ghost = 0;
  /** Resizes are handled one after the other (each waits for its cursor report). */
  private resizing: Promise<void> = Promise.resolve();
  /** The cursor position query waiting for its answer. */
  private asking: ((row: number | undefined) => void) | undefined;
  /** Queries given up on (deadline passed, or the frame changed first) whose answers may still come. */
  private late = 0;

  /** `ask`: query the cursor's row after a resize (ESC[6n), as only a terminal answers. */
  constructor(private readonly out: TerminalOutput, private readonly ask = out.isTTY === true, private readonly answerMs = 500) {}

  get columns(): number {
    return this.out.columns || 80;
  }

  get rows(): number {
    return this.out.rows || 24;
  }

  /** Calls back after a resize, once this screen has erased its frame (the caller draws it again). */
  onResize(listener: () => void): () => void {
    const handler = (): void => {
      this.resizing = this.resizing.then(() => this.resized()).then(listener, listener);
    };
    this.out.on?.('resize', handler);
    return () => {
      this.out.off?.('resize', handler);
    };
  }

  /** Draws the frame in place of the one on the screen. */
  draw(frame: Frame): void {
    this.settle();
    const old = this.drawn;
    let out = '\x1b[?25l';
    let from = 0;
    if (old) {
      while (from < frame.rows.length && sameRow(old.rows[from], frame.rows[from])) from++;
      if (from === frame.rows.length && old.rows.length === frame.rows.length) {
        this.drawn = frame;
        if (frame.cursor.x === this.at.x && frame.cursor.y === this.at.y) return;
        this.out.write(out + this.moveTo(frame.cursor) + '\x1b[?25h');
        this.drawn = frame;
        return;
      }
      // Rows of one line are written in one run (so the terminal knows them for one line).
      from = lineStart(frame.rows, Math.min(from, frame.rows.length - 1));
      out += this.moveTo({x: 0, y: from});
    }
    out += this.rowsFrom(frame.rows, from);
    const extra = old ? old.rows.length - frame.rows.length : 0;
    if (extra > 0) {
      // Rows the old frame had below: blanked one by one (they are on the screen, so moving down never scrolls).
      out += '\x1b[B\r\x1b[2K'.repeat(extra) + up(extra);
      this.at = {x: 0, y: this.at.y};
    }
    this.drawn = frame;
    this.drawnColumns = this.columns;
    out += this.moveTo(frame.cursor);
    this.out.write(out + '\x1b[?25h');
  }

  /**
   * Writes rows[from…] starting at the start of row `from`, each erased to its end; leaves `at` at
   * the end of the last. (Not `\e[J`: tmux copies the whole screen into the scrollback when that is
   * written at its top left corner.)
   */
  private rowsFrom(rows: readonly Row[], from: number): string {
    const cols = this.columns;
    let out = '';
    for (let i = from; i < rows.length; i++) {
      const row = rows[i]!;
      if (i > from) {
        if (!row.soft) out += '\r\n';
        else if (row.text === '') out += ' \r'; // past a full row: the terminal wraps on the next character
      }
      out += row.text;
      // A full row leaves the terminal waiting to wrap on its last column: erasing there would take that character.
      if (row.width < cols) out += '\x1b[K';
      this.at = {x: Math.min(row.width, cols - 1), y: i};
    }
    return out;
  }

  /** Relative moves from the cursor to a cell of the frame. */
  private moveTo(cell: {x: number; y: number}): string {
    const dy = cell.y - this.at.y;
    const s = (dy < 0 ? up(-dy) : down(dy)) + column(cell.x);
    this.at = {x: cell.x, y: cell.y};
    return s;
  }

  /** Leaves the frame on the screen (it becomes scrollback) with the cursor at the start of the line below it. */
  commit(): void {
    this.settle();
    if (!this.drawn) return;
    const last = this.drawn.rows.length - 1;
    this.out.write(this.moveTo({x: 0, y: last}) + '\r\n');
    this.drawn = undefined;
    this.ghost = 0;
    this.at = {x: 0, y: 0};
  }

  /** Erases the frame; the cursor is left where its first row began. */
  erase(): void {
    this.settle();
    if (!this.drawn) return;
    this.out.write(this.moveTo({x: 0, y: 0}) + blankRows(this.drawn.rows.length));
    this.drawn = undefined;
    this.ghost = 0;
    this.at = {x: 0, y: 0};
  }

  /** Lines printed above the next frame (which is drawn below them): the frame must be committed or erased first. */
  print(lines: readonly string[]): void {
    if (lines.length > 0) this.out.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  /** Ctrl-L: an empty screen; the next frame is drawn at its top. */
  clearScreen(): void {
    this.settle();
    this.out.write('\x1b[H\x1b[2J');
    this.drawn = undefined;
    this.ghost = 0;
    this.at = {x: 0, y: 0};
  }

  /**
   * Input that answers the cursor position query (`ESC [ row ; col R`): taken, and true, while one
   * is asked (the same bytes are a modified F3 key at any other time).
   */
  cursorReport(seq: string): boolean {
    const m = /^\x1b\[(\d{1,5});(\d{1,5})R$/.exec(seq);
    if (!m) return false;
    if (this.asking) this.asking(Number(m[1]) - 1);
    else if (this.late > 0) this.late--;
    else return false;
    return true;
  }

  /** The cursor's row on the screen (0 is the top), or undefined when not asked or not answered in time. */
  private cursorRow(): Promise<number | undefined> {
    if (!this.ask) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.late++;
        answer(undefined);
      }, this.answerMs);
      const answer = (row: number | undefined): void => {
        clearTimeout(timer);
        this.asking = undefined;
        resolve(row);
      };
      this.asking = answer;
      this.out.write('\x1b[6n');
    });
  }

  /**
   * The frame is to change while a resize waits for the terminal's answer (a key was typed, the
   * line entered): the frame is erased now as the re-wrapping model alone says, and the answer, when
   * it comes, is dropped.
   */
  private settle(): void {
    if (!this.asking || !this.drawn) return;
    const answer = this.asking;
    this.late++;
    this.eraseRewrapped(this.drawn, undefined);
    answer(undefined);
  }

  /**
   * After a resize: erase the frame as the terminal has re-wrapped it. The cursor's row in the
   * frame is the re-wrapping model's; its row on the screen is the terminal's answer. When the
   * frame's top would be above the screen, its rows there are in the scrollback (the ghost) and the
   * frame is drawn again from the screen's top; when a later resize shows rows above the frame's
   * top and a ghost was left, those rows are the ghost come back and are erased too (the frame is
   * drawn from where they begin). Without an answer, the model alone says where the frame begins.
   */
  private async resized(): Promise<void> {
    const old = this.drawn;
    if (!old) return;
    const real = await this.cursorRow();
    // The frame was erased meanwhile (settle): nothing left to do.
    if (this.drawn === old) this.eraseRewrapped(old, real);
  }

  /** Erases a frame drawn at another width; `real` is the cursor's row on the screen when known. */
  private eraseRewrapped(old: Frame, real: number | undefined): void {
    const cols = this.columns;
    let y = rewrappedRow(old, this.drawnColumns, cols, this.at);
    const rows = rewrappedRow(old, this.drawnColumns, cols, {x: 0, y: old.rows.length});
    let extra = 0;
    if (real !== undefined) {
      if (real < y) {
        // The top y - real rows of the frame went into the scrollback: full rows of its first line.
        // (Never more than the frame's own rows: an answer typed by hand erases no more than the frame did.)
        this.ghost = Math.min(this.ghost + (y - real) * cols, rows * cols);
        y = real;
      } else if (this.ghost > 0) {
        const back = Math.min(real - y, Math.ceil(this.ghost / cols));
        extra = back;
        y += back;
        this.ghost = back >= Math.ceil(this.ghost / cols) ? 0 : this.ghost - back * cols;
      }
    }
    this.out.write(up(y) + blankRows(Math.max(rows, old.rows.length) + extra));
    this.drawn = undefined;
    this.at = {x: 0, y: 0};
  }
}

/**
 * Blanks n rows from the cursor's down, and comes back to the first at column 0 (saved and restored:
 * moving down stops at the screen's last row, so counting the way back could overshoot).
 */
const blankRows = (n: number): string => (n <= 0 ? '\r' : '\r\x1b7\x1b[2K' + '\x1b[B\x1b[2K'.repeat(n - 1) + '\x1b8');

/**
 * The row, counted from the frame's first row, the cursor at `at` is on after a terminal that was
 * `was` columns wide re-wraps the frame's lines to `now` columns.
 */
export function rewrappedRow(frame: Frame, was: number, now: number, at: {x: number; y: number}): number {
  let row = 0;
  let i = 0;
  const rows = frame.rows;
  while (i < rows.length) {
    // One line: a row and the rows that continue it.
    let j = i + 1;
    while (j < rows.length && rows[j]!.soft) j++;
    const cells = (k: number): number => (k < j - 1 ? Math.max(rows[k]!.width, was) : rows[k]!.width);
    if (at.y >= i && at.y < j) {
      let before = at.x;
      for (let k = i; k < at.y; k++) before += cells(k);
      return row + Math.floor(before / Math.max(1, now));
    }
    let width = 0;
    for (let k = i; k < j; k++) width += cells(k);
    row += Math.max(1, Math.ceil(width / Math.max(1, now)));
    i = j;
  }
  return row;
}
