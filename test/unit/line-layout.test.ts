// Where the prompt and the line fall on the screen (pure), and the re-wrapping model of a resize.
import {describe, expect, it} from 'vitest';
import {displayGrapheme, layoutLine} from '../../src/shell/line-layout.js';
import {rewrappedRow} from '../../src/shell/terminal-screen.js';

const rows = (prompt: string, text: string, cols: number) => layoutLine(prompt, text, text.length, cols).rows.map((r) => r.text);

describe('layoutLine', () => {
  it('wraps at the width, the cursor after the last character', () => {
    expect(layoutLine('$ ', 'abc', 3, 80)).toMatchObject({rows: [{text: '$ abc', width: 5, soft: false}], cursor: {x: 5, y: 0}});
    expect(rows('$ ', 'x'.repeat(20), 10)).toEqual(['$ xxxxxxxx', 'xxxxxxxxxx', 'xx']);
    expect(layoutLine('$ ', 'x'.repeat(20), 20, 10).cursor).toEqual({x: 2, y: 2});
  });
  it('a full last row puts the cursor at the start of a row of its own', () => {
    const f = layoutLine('$ ', 'x'.repeat(8), 8, 10);
    expect(f.rows.map((r) => [r.text, r.soft])).toEqual([['$ xxxxxxxx', false], ['', true]]);
    expect(f.cursor).toEqual({x: 0, y: 1});
    // …but not when the cursor is elsewhere.
    expect(layoutLine('$ ', 'x'.repeat(8), 3, 10).rows).toHaveLength(1);
  });
  it('a wide character never splits: it goes to the next row, leaving the last column empty', () => {
    const f = layoutLine('$ ', 'abcdefg日本', 7, 10);
    expect(f.rows.map((r) => [r.text, r.width])).toEqual([['$ abcdefg', 9], ['日本', 4]]);
    expect(f.cursor).toEqual({x: 0, y: 1}); // on the wide character, where the terminal draws it
  });
  it('combining marks and colour codes take no column', () => {
    expect(layoutLine('\x1b[1;32mdbox\x1b[0m$ ', 'e\u0301e\u0301', 4, 80).cursor).toEqual({x: 8, y: 0}); // 'dbox$ ' and two é
    expect(layoutLine('\x1b[1;32mdbox\x1b[0m$ ', 'e\u0301', 2, 80).rows[0]!.text).toBe('\x1b[1;32mdbox\x1b[0m$ e\u0301');
  });
  it('a newline in the line (a paste) starts a row that is not a continuation', () => {
    const f = layoutLine('$ ', 'echo a\necho b', 13, 80);
    expect(f.rows.map((r) => [r.text, r.soft])).toEqual([['$ echo a', false], ['echo b', false]]);
    expect(f.cursor).toEqual({x: 6, y: 1});
    expect(layoutLine('notice\n$ ', 'a', 1, 80).cursor).toEqual({x: 3, y: 1});
  });
  it('shows control characters as readline does and other unprintable characters as octal escapes', () => {
    expect(displayGrapheme('\x03')).toBe('^C');
    expect(displayGrapheme('\x1b')).toBe('^[');
    expect(displayGrapheme('\x7f')).toBe('^?');
    expect(displayGrapheme('\u0085')).toBe('\\302\\205');
    expect(displayGrapheme('\u202e')).toBe('\\342\\200\\256'); // right-to-left override
    expect(displayGrapheme('\udcff')).toBe('\\377'); // an invalid byte
    expect(displayGrapheme('é')).toBe('é');
    expect(displayGrapheme('👍🏽')).toBe('👍🏽');
    expect(rows('$ ', 'a\tb', 80)).toEqual(['$ a     b']); // a Tab to the next stop of 8
    // ^C at the last column wraps like the two characters it is.
    expect(rows('$ ', 'abcdefg\x03', 10)).toEqual(['$ abcdefg^', 'C']);
    // Only the prompt's own SGR sequences are written as sequences.
    expect(rows('\x1b]0;x\x07$ ', '', 80)).toEqual(['^[]0;x^G$ ']);
  });
});

describe('rewrappedRow (where the cursor is after the terminal re-wraps the frame)', () => {
  it('counts the cells before the cursor on its line, over the new width; lines above count their new rows', () => {
    const f = layoutLine('$ ', 'x'.repeat(45), 45, 30); // 47 cells: rows of 30 and 17
    expect(rewrappedRow(f, 30, 20, f.cursor)).toBe(2); // 47 / 20
    expect(rewrappedRow(f, 30, 60, f.cursor)).toBe(0);
    const g = layoutLine('a'.repeat(25) + '\n$ ', 'y', 1, 30);
    expect(rewrappedRow(g, 30, 10, g.cursor)).toBe(3); // the first line: 3 rows of 10
    // The whole frame's rows: the cursor past everything.
    expect(rewrappedRow(f, 30, 20, {x: 0, y: f.rows.length})).toBe(3);
  });
  it('a row that ended before a wide character still filled its width', () => {
    const f = layoutLine('$ ', 'abcdefg日本', 9, 10); // row 0: 9 cells + the empty last column
    expect(rewrappedRow(f, 10, 5, f.cursor)).toBe(2); // 10 + 4 cells before the end: row 2 of 5
  });
});

describe('cropFrame', () => {
  it('keeps a frame taller than the screen to the rows around the cursor', async () => {
    const {cropFrame} = await import('../../src/shell/line-layout.js');
    const text = Array.from({length: 30}, (_, i) => `line ${i}`).join('\n');
    const end = cropFrame(layoutLine('$ ', text, text.length, 80), 10);
    expect(end.rows.map((r) => r.text)).toEqual(Array.from({length: 10}, (_, i) => `line ${20 + i}`));
    expect(end.cursor).toEqual({x: 7, y: 9});
    const start = cropFrame(layoutLine('$ ', text, 0, 80), 10);
    expect(start.rows[0]!.text).toBe('$ line 0');
    expect(start.cursor).toEqual({x: 2, y: 0});
    const wrapped = cropFrame(layoutLine('$ ', 'x'.repeat(200), 100, 20), 3);
    expect(wrapped.rows[0]!.soft).toBe(false); // the first row shown is written as a row of its own
    expect(wrapped.cursor.y).toBe(2);
  });
});
