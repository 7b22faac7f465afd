// TerminalScreen on a terminal that answers the cursor position query (xterm.js, re-wrapping on a
// resize): after narrower and wider resizes the screen shows the line once, the cursor at its end,
// and what was printed above the prompt stays. xterm.js scrolls the whole screen when a narrowing
// makes the line taller (tmux instead keeps the cursor's row and pushes the line's top into the
// scrollback): the ghost that leaves is tested against tmux in test/e2e/prompt.test.ts; here, the
// question's plumbing and its limits. The answer is input a person could type: it is taken only
// when asked (or once per question given up on) and erases no more than the frame's own rows.
import {describe, expect, it} from 'vitest';
import {cropFrame, layoutLine} from '../../src/shell/line-layout.js';
import {TerminalScreen} from '../../src/shell/terminal-screen.js';
import {Xterm} from './xterm.js';

const PROMPT = 'dbox:/x$ ';
const LINE = `echo ${'r'.repeat(140)}`;

/** A terminal whose answers to ESC[6n reach the screen (as the Shell routes input); `answer` can hold them back. */
function setup(cols = 80, rows = 24, answer = true) {
  const xt = new Xterm(cols, rows) as Xterm & {isTTY: boolean};
  xt.isTTY = true;
  const screen = new TerminalScreen(xt, true, 200);
  const replies: string[] = [];
  xt.term.onData((d) => {
    replies.push(d);
    if (answer) screen.cursorReport(d);
  });
  const draw = (): void => screen.draw(cropFrame(layoutLine(PROMPT, LINE, LINE.length, xt.columns), xt.rows - 1)); // as the Shell does
  // Redraws once the screen has handled the resize (it calls back, as it does the Shell).
  let resized: (() => void) | undefined;
  screen.onResize(() => {
    draw();
    resized?.();
  });
  /** Resizes; the promise it gives settles once the screen has redrawn. */
  const start = async (width: number): Promise<{redrawn: Promise<void>}> => {
    const redrawn = new Promise<void>((r) => (resized = r));
    await xt.resize(width);
    return {redrawn};
  };
  const resize = async (width: number): Promise<void> => {
    await (await start(width)).redrawn;
    await xt.settled();
  };
  /** The visible rows, without trailing blanks. */
  const visible = (): string[] => {
    const b = xt.term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < xt.rows; i++) out.push(b.getLine(b.baseY + i)?.translateToString(true) ?? '');
    while (out.length > 0 && out.at(-1) === '') out.pop();
    return out;
  };
  return {xt, screen, draw, start, resize, visible, replies};
}

describe('TerminalScreen on a resize, asking the terminal where the cursor is', () => {
  it('narrower then wider, with output above: the line once, the output kept, the cursor at the end', async () => {
    const t = setup();
    t.xt.write('before 1\r\nbefore 2\r\n');
    t.draw();
    await t.xt.settled();
    for (const width of [50, 120, 30, 100, 80]) {
      await t.resize(width);
      const at = PROMPT.length + LINE.length;
      const want = Math.ceil(at / width);
      const rows = t.visible();
      const first = rows.findIndex((r) => r.startsWith(PROMPT));
      expect(rows.filter((r) => r.startsWith(PROMPT)), `at ${width}:\n${rows.join('\n')}`).toHaveLength(1);
      expect(rows.slice(first).join('')).toBe(PROMPT + LINE);
      expect(rows.length - first).toBe(want);
      // What was printed above the prompt is on the screen, or (a narrowing) in the scrollback: never erased.
      expect(t.xt.text()).toMatch(/^before 1\nbefore 2\n/m);
      const b = t.xt.term.buffer.active;
      expect({x: b.cursorX, y: b.cursorY}).toEqual({x: at % width, y: first + Math.floor(at / width)});
    }
    expect(t.replies.length).toBeGreaterThan(0); // it did ask
  });

  it('a screen too short for the narrowed line: its top goes into the scrollback, and a widening brings none of it back twice', async () => {
    const t = setup(80, 8);
    t.draw();
    await t.xt.settled();
    for (const width of [30, 100, 25, 80]) {
      await t.resize(width);
      const at = PROMPT.length + LINE.length;
      const rows = t.visible();
      const b = t.xt.term.buffer.active;
      if (Math.ceil(at / width) > 7) {
        // Taller than the screen: its last rows, the cursor on the last of them.
        expect(rows.join('') + '', `at ${width}:\n${rows.join('\n')}`).toBe((PROMPT + LINE).slice(-rows.join('').length));
        expect({x: b.cursorX, y: b.cursorY}).toEqual({x: at % width, y: rows.length - 1});
        continue;
      }
      expect(rows.filter((r) => r.startsWith(PROMPT)), `at ${width}:\n${rows.join('\n')}`).toHaveLength(1);
      expect(rows.join('')).toBe(PROMPT + LINE);
      expect({x: b.cursorX, y: b.cursorY}).toEqual({x: at % width, y: Math.floor(at / width)});
    }
  });

  it('a cursor report nobody asked for is input (a key), not taken', () => {
    const t = setup();
    t.draw();
    expect(t.screen.cursorReport('\x1b[1;5R')).toBe(false);
    expect(t.screen.cursorReport('\x1b[5;99999999R')).toBe(false);
  });

  it('an answer typed by hand (row 1 while the frame is far below) erases no row of the output above the frame', async () => {
    const t = setup(80, 24, false);
    for (let i = 0; i < 10; i++) t.xt.write(`output ${i}\r\n`);
    t.draw();
    await t.xt.settled();
    // Narrower; the "answer" says the cursor is on the screen's first row.
    const narrower = await t.start(50);
    expect(t.screen.cursorReport('\x1b[1;1R')).toBe(true);
    await narrower.redrawn;
    await t.xt.settled();
    // Then wider again, answered by the terminal: the frame's rows go, the output stays.
    const wider = await t.start(80);
    const b = t.xt.term.buffer.active;
    expect(t.screen.cursorReport(`\x1b[${b.cursorY + 1};${b.cursorX + 1}R`)).toBe(true);
    await wider.redrawn;
    await t.xt.settled();
    for (let i = 0; i < 10; i++) expect(t.xt.text()).toContain(`output ${i}`);
  });

  it('no answer: the deadline passes, the model alone decides, and the late answer is taken once, not as a key', async () => {
    const t = setup(80, 24, false);
    t.draw();
    await t.xt.settled();
    await t.resize(100); // after the 200 ms deadline
    expect(t.visible().filter((r) => r.startsWith(PROMPT))).toHaveLength(1);
    expect(t.screen.cursorReport('\x1b[3;1R')).toBe(true);
    expect(t.screen.cursorReport('\x1b[3;1R')).toBe(false);
  });
});
