// Where the terminal cursor goes for a prompt and the text before the cursor (pure): wide
// characters take two columns (src/format/width.ts, the measure ls and the completion list use),
// and the line wraps at the terminal's width.
import {visibleWidth} from '../format/width.js';

export function cursorPosition(beforeCursor: string, columns: number): {x: number; y: number} {
  const lines = beforeCursor.split('\n');
  let y = 0;
  for (const line of lines.slice(0, -1)) y += 1 + Math.floor(Math.max(0, visibleWidth(line) - 1) / columns);
  const w = visibleWidth(lines.at(-1)!);
  return {x: w % columns, y: y + Math.floor(w / columns)};
}
