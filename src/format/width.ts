// The width of text on a terminal, in columns (pure): the one measure for ls's columns and long
// format, the completion list and the cursor. It is GNU's measure (gnulib mbsnwidth with glibc
// 2.36's wcwidth in a UTF-8 locale, wcwidth-table.ts): each character on its own, wide East Asian
// characters and emoji two columns, combining marks and format characters none, another character
// glibc does not call printable one column unless it is a control (none); an invalid byte one
// column. Terminals measure characters one by one in the same way (they do not join grapheme
// clusters), so what ls lines up as GNU does lines up on the screen. It measures text as it will be
// written, after quoting, and without colour: escape sequences count as their characters (ESC
// itself has no width), so a name's own bytes can never shrink its measured width.
import stringWidth from 'string-width';
import {DOUBLE_WIDTH, UNPRINTABLE, ZERO_WIDTH} from './wcwidth-table.js';

/** Whether `cp` lies in one of the sorted inclusive [first, last] pairs of `ranges`. */
function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]!) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** glibc's wcwidth of one code point: 0, 1, 2, or -1 for one it does not call printable. */
export function wcwidth(cp: number): number {
  if (cp >= 0x20 && cp < 0x7f) return 1;
  if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return cp === 0 ? 0 : -1;
  if (inRanges(ZERO_WIDTH, cp)) return 0;
  if (inRanges(DOUBLE_WIDTH, cp)) return 2;
  return inRanges(UNPRINTABLE, cp) ? -1 : 1;
}

/** glibc's iswcntrl in a UTF-8 locale: C0, DEL and C1 controls, the line and paragraph separators. */
const isControl = (cp: number): boolean => cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp === 0x2028 || cp === 0x2029;

export function textWidth(text: string): number {
  // Printable ASCII is one column a character: most names, measured without decoding.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    // A lone surrogate stands for an invalid byte (utf8.ts): one column, as mbsnwidth counts it.
    if (cp >= 0xd800 && cp <= 0xdfff) {
      width += 1;
      continue;
    }
    const w = wcwidth(cp);
    width += w >= 0 ? w : isControl(cp) ? 0 : 1;
  }
  return width;
}

/**
 * The width of text that carries colour (the prompt and the line, as Ink lays them out): escape
 * sequences take no column, as Ink measures them.
 */
export function visibleWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return stringWidth(text);
}
