// Bytes and characters of names (pure), as GNU sees them in a UTF-8 locale.
//
// A name is a JavaScript string in which an invalid byte B of the original name is the lone
// surrogate U+DC00+B (U+DC80..U+DCFF, Python's surrogateescape), so that no byte is lost.
// `nameBytes` gives the bytes back; `bytesName` is its inverse. Any other lone surrogate (from engine
// JSON, say) has no byte meaning: it becomes its generalized UTF-8 form (3 bytes that no UTF-8
// decoder accepts), so it is shown as three escaped bytes and never raw.
//
// `decodeChar` is glibc's mbrtowc for UTF-8 (glibc 2.36, C.UTF-8), reproduced byte for byte because
// quoting decisions hang on it: 5- and 6-byte forms and values above U+10FFFF are characters (and
// not printable), overlong forms and UTF-16 surrogates are invalid, and a valid prefix cut short by
// the end of the name is "incomplete". `isPrintable` is glibc's iswprint (and wcwidth >= 0) for a
// UTF-8 locale: everything but controls (Cc), line and paragraph separators, surrogates and
// unassigned code points; private use is printable. It uses this Node's Unicode tables, so a
// character assigned after glibc's Unicode version (14) is printable here and escaped by the
// host's GNU ls: both are safe, and the list of such code points is in test/unit/quote.test.ts.

/** The bytes of a name (surrogate escapes become their original bytes). */
export function nameBytes(name: string): Uint8Array {
  // Fast path: ASCII.
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const out = new Uint8Array(name.length);
    for (let i = 0; i < name.length; i++) out[i] = name.charCodeAt(i);
    return out;
  }
  const out: number[] = [];
  for (let i = 0; i < name.length; i++) {
    let cp = name.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < name.length) {
      const low = name.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    } else if (cp >= 0xdc80 && cp <= 0xdcff) {
      out.push(cp - 0xdc00);
      continue;
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** A string for bytes: valid UTF-8 (at most U+10FFFF, no surrogates) as characters, any other byte as U+DC00+byte. */
export function bytesName(bytes: Uint8Array): string {
  let out = '';
  let run = 0; // start of a pending run of plain ASCII
  let i = 0;
  const flush = (end: number): void => {
    if (end > run) out += String.fromCharCode(...bytes.subarray(run, end));
  };
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      // Keep ASCII runs short enough for String.fromCharCode's argument list.
      if (i - run >= 4096) {
        flush(i);
        run = i;
      }
      continue;
    }
    flush(i);
    const d = decodeChar(bytes, i);
    if (d.kind === 'char' && d.cp <= 0x10ffff && d.length <= 4) {
      out += String.fromCodePoint(d.cp);
      i += d.length;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i++;
    }
    run = i;
  }
  flush(i);
  return out;
}

/** Whether a name is text that UTF-8 carries as it is (no lone surrogate: no byte escaped): JSON
 *  and the engine's exec API carry it; a name that is not, only as bytes. */
export const isUtf8Text = (name: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name);

/** The UTF-8 bytes to write for a string (surrogate escapes as their bytes). */
export function writableBytes(text: string): Buffer {
  const b = nameBytes(text);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export type Decoded =
  | {readonly kind: 'char'; readonly cp: number; readonly length: number}
  | {readonly kind: 'invalid'}
  | {readonly kind: 'incomplete'};

const leadLength = (b: number): number =>
  b < 0x80 ? 1 : b < 0xc2 ? 0 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf8 ? 4 : b < 0xfc ? 5 : b < 0xfe ? 6 : 0;
const minimum = [0, 0, 0x80, 0x800, 0x10000, 0x200000, 0x4000000];

/** glibc's mbrtowc on bytes[at..end) in a UTF-8 locale. */
export function decodeChar(bytes: Uint8Array, at: number, end = bytes.length): Decoded {
  const b = bytes[at]!;
  const n = leadLength(b);
  if (n === 0) return {kind: 'invalid'};
  if (n === 1) return {kind: 'char', cp: b, length: 1};
  let cp = b & (0x7f >> n);
  for (let k = 1; k < n; k++) {
    if (at + k >= end) return {kind: 'incomplete'};
    const c = bytes[at + k]!;
    if ((c & 0xc0) !== 0x80) return {kind: 'invalid'};
    cp = cp * 64 + (c & 0x3f);
  }
  if (cp < minimum[n]! || (cp >= 0xd800 && cp <= 0xdfff)) return {kind: 'invalid'};
  return {kind: 'char', cp, length: n};
}

const notPrintable = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\p{Cn}]/u;

/** glibc's iswprint in a UTF-8 locale (see the header). */
export function isPrintable(cp: number): boolean {
  if (cp >= 0x20 && cp < 0x7f) return true;
  if (cp < 0xa0 || cp > 0x10ffff) return false;
  return !notPrintable.test(String.fromCodePoint(cp));
}
