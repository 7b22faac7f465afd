// ls -C layout (pure), as GNU ls 9.1's calculate_columns and print_many_per_line: names down
// columns, two spaces apart, the most columns whose line stays shorter than the width (GNU keeps
// the last terminal column free); -x across (print_horizontal), -m with commas
// (print_with_separator). Each cell carries its text (which may be coloured) and its width in
// terminal columns (textWidth of the uncoloured text). GNU indents with tabs where it can: so does
// this with `tabs` (dbox asks for it when the output is not a terminal, where bytes are compared);
// without, spaces (what `ls -T0` prints; the screen is the same).
// Cost: O(cells x possible columns) time, no recursion and no argument spreading, so a directory of
// 200,000 entries lays out in linear time.

export interface Cell {
  /** The text, or a function of the column it starts at (GNU's `start_col`, for colour's `cl`),
   *  called once, in output order. */
  readonly text: string | ((startCol: number) => string);
  readonly width: number;
}

const textAt = (cell: Cell, col: number): string => (typeof cell.text === 'string' ? cell.text : cell.text(col));

const MIN_COLUMN_WIDTH = 3;
const GAP = 2;

/** The number of columns GNU would use for these widths in a line of `lineLength` columns. */
export function columnCount(widths: readonly number[], lineLength: number, across = false): {cols: number; colWidths: number[]} {
  const n = widths.length;
  let maxIdx = Math.floor(lineLength / MIN_COLUMN_WIDTH) + (lineLength % MIN_COLUMN_WIDTH !== 0 ? 1 : 0);
  if (maxIdx === 0) maxIdx = 1;
  const maxCols = maxIdx < n ? maxIdx : n;
  const valid: boolean[] = [];
  const lineLen: number[] = [];
  const colArr: number[][] = [];
  for (let i = 0; i < maxCols; i++) {
    valid.push(true);
    lineLen.push((i + 1) * MIN_COLUMN_WIDTH);
    colArr.push(new Array<number>(i + 1).fill(MIN_COLUMN_WIDTH));
  }
  for (let f = 0; f < n; f++) {
    const nameLength = widths[f]!;
    for (let i = 0; i < maxCols; i++) {
      if (!valid[i]) continue;
      const idx = across ? f % (i + 1) : Math.floor(f / Math.floor((n + i) / (i + 1)));
      const real = nameLength + (idx === i ? 0 : GAP);
      const arr = colArr[i]!;
      if (arr[idx]! < real) {
        lineLen[i]! += real - arr[idx]!;
        arr[idx] = real;
        valid[i] = lineLen[i]! < lineLength;
      }
    }
  }
  let cols = maxCols;
  for (; cols > 1; cols--) if (valid[cols - 1]) break;
  return {cols: Math.max(cols, 1), colWidths: colArr[Math.max(cols, 1) - 1] ?? []};
}

export interface ColumnOptions {
  /** -x: names across rows (GNU print_horizontal) */
  readonly across?: boolean;
  /** indent with tabs where GNU would (ls's default --tabsize) */
  readonly tabs?: boolean;
  /** the tab size (ls -T, TABSIZE): 8 by default; 0 means no tabs */
  readonly tabSize?: number;
}

/** GNU ls's indent(): from column `from` to `to`, with tabs of `tabSize` where a tab stop lies between. */
function indent(from: number, to: number, tabs: boolean, tabSize = 8): string {
  if (!tabs || tabSize === 0) return ' '.repeat(Math.max(0, to - from));
  let out = '';
  for (let pos = from; pos < to;) {
    if (Math.floor(to / tabSize) > Math.floor((pos + 1) / tabSize)) {
      out += '\t';
      pos += tabSize - (pos % tabSize);
    } else {
      out += ' ';
      pos++;
    }
  }
  return out;
}

/** ls -m: names with `, ` between, a new line where the next would reach `lineLength` (0: no limit);
 *  `sep` ' ' is GNU's -C and -x without a line length. */
export function commas(cells: readonly Cell[], lineLength: number, sep = ','): string[] {
  const lines: string[] = [];
  let line = '';
  let pos = 0;
  cells.forEach((cell, k) => {
    if (k > 0) {
      if (lineLength === 0 || pos + cell.width + 2 < lineLength) {
        line += `${sep} `;
        pos += 2;
      } else {
        lines.push(line + sep);
        line = '';
        pos = 0;
      }
    }
    line += textAt(cell, pos);
    pos += cell.width;
  });
  if (cells.length > 0) lines.push(line);
  return lines;
}

/** The lines of an ls -C (or -x) listing of `cells` in `lineLength` columns. */
export function columns(cells: readonly Cell[], lineLength: number, options: ColumnOptions = {}): string[] {
  const n = cells.length;
  if (n === 0) return [];
  const tabs = options.tabs === true;
  const tabSize = options.tabSize ?? 8;
  const {cols, colWidths} = columnCount(cells.map((c) => c.width), lineLength, options.across);
  if (options.across) {
    const lines: string[] = [];
    let line = textAt(cells[0]!, 0);
    let pos = 0;
    let nameLength = cells[0]!.width;
    let maxLength = colWidths[0]!;
    for (let f = 1; f < n; f++) {
      const col = f % cols;
      if (col === 0) {
        lines.push(line);
        line = '';
        pos = 0;
      } else {
        line += indent(pos + nameLength, pos + maxLength, tabs, tabSize);
        pos += maxLength;
      }
      line += textAt(cells[f]!, pos);
      nameLength = cells[f]!.width;
      maxLength = colWidths[col]!;
    }
    lines.push(line);
    return lines;
  }
  const rows = Math.floor(n / cols) + (n % cols !== 0 ? 1 : 0);
  const lines: string[] = [];
  for (let row = 0; row < rows; row++) {
    let line = '';
    let col = 0;
    let f = row;
    let pos = 0;
    for (;;) {
      const cell = cells[f]!;
      const max = colWidths[col++]!;
      line += textAt(cell, pos);
      f += rows;
      if (f >= n) break;
      line += indent(pos + cell.width, pos + max, tabs, tabSize);
      pos += max;
    }
    lines.push(line);
  }
  return lines;
}
