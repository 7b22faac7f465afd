// ls -C layout (pure): names down columns, as few rows as fit the width, two spaces apart.
// Widths are measured on the visible text (colour codes excluded).

export interface Cell {
  readonly text: string;
  readonly width: number;
}

export function columns(cells: readonly Cell[], width: number): string[] {
  if (cells.length === 0) return [];
  const gap = 2;
  for (let rows = 1; rows <= cells.length; rows++) {
    const cols = Math.ceil(cells.length / rows);
    const widths: number[] = [];
    for (let c = 0; c < cols; c++) {
      let w = 0;
      for (let r = 0; r < rows; r++) w = Math.max(w, cells[c * rows + r]?.width ?? 0);
      widths.push(w);
    }
    const total = widths.reduce((a, b) => a + b, 0) + gap * (cols - 1);
    if (total <= width || rows === cells.length) {
      const lines: string[] = [];
      for (let r = 0; r < rows; r++) {
        let line = '';
        for (let c = 0; c < cols; c++) {
          const cell = cells[c * rows + r];
          if (!cell) continue;
          const isLast = c === cols - 1 || !cells[(c + 1) * rows + r];
          line += isLast ? cell.text : cell.text + ' '.repeat(widths[c]! - cell.width + gap);
        }
        lines.push(line);
      }
      return lines;
    }
  }
  return cells.map((c) => c.text);
}
