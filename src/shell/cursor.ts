// Where the terminal cursor goes for a prompt and the text before the cursor (pure): wide
// characters take two columns, and the line wraps at the terminal's width.
import stringWidth from 'string-width';

export function cursorPosition(beforeCursor: string, columns: number): {x: number; y: number} {
  const lines = beforeCursor.split('\n');
  let y = 0;
  for (const line of lines.slice(0, -1)) y += 1 + Math.floor(Math.max(0, stringWidth(line) - 1) / columns);
  const w = stringWidth(lines.at(-1)!);
  return {x: w % columns, y: y + Math.floor(w / columns)};
}
