// A real terminal emulator (xterm.js, headless) for tests of what the prompt writes: wrapping,
// cursor cells, erasing, re-wrapping on a resize. The screen's writes go into it; tests read its
// rows and cursor back, and resize it as a person drags a window.
import {EventEmitter} from 'node:events';
import xterm from '@xterm/headless';

export class Xterm extends EventEmitter {
  readonly term: xterm.Terminal;
  /** Everything written, in order (to check that no raw control byte of the line got through). */
  written = '';

  constructor(cols: number, rows: number, reflow = true) {
    super();
    this.term = new xterm.Terminal({cols, rows, allowProposedApi: true, scrollback: 1000, reflowCursorLine: reflow});
  }

  get columns(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  write(data: string): boolean {
    this.written += data;
    this.term.write(data);
    return true;
  }

  /** Waits until xterm.js has parsed everything written so far. */
  settled(): Promise<void> {
    return new Promise((resolve) => this.term.write('', resolve));
  }

  /** Resizes the terminal (re-wrapping wrapped lines, the cursor's too when `reflow`, as tmux does) and tells the program. */
  async resize(cols: number, rows = this.term.rows): Promise<void> {
    await this.settled();
    this.term.resize(cols, rows);
    this.emit('resize');
  }

  /** The screen's rows (scrollback included), trailing blanks and empty rows at the end dropped. */
  lines(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < b.length; i++) out.push(b.getLine(i)?.translateToString(true) ?? '');
    while (out.length > 0 && out.at(-1) === '') out.pop();
    return out;
  }

  text(): string {
    return this.lines().join('\n');
  }

  /** The cursor: column, and row counted from the top of the scrollback. */
  cursor(): {x: number; y: number} {
    const b = this.term.buffer.active;
    return {x: b.cursorX, y: b.baseY + b.cursorY};
  }
}
