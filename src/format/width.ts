// The width of text on a terminal, in columns (pure): the one measure for ls's columns and long
// format, the completion list and the cursor (string-width's rules: wide East Asian characters and
// emoji take two columns, combining marks and zero-width characters none). It measures text as it
// will be written, after quoting, and without colour: escape sequences count as their characters
// (ESC itself has no width), so a name's own bytes can never shrink its measured width.
import stringWidth from 'string-width';

export function textWidth(text: string): number {
  // Printable ASCII is one column a character: most names, measured without segmenting.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return stringWidth(text, {countAnsiEscapeCodes: true});
}

/**
 * The width of text that carries colour (the prompt and the line, as Ink lays them out): escape
 * sequences take no column, as Ink measures them.
 */
export function visibleWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return stringWidth(text);
}
