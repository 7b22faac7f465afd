// The one owner of quoting (pure): how a name from a container, an engine or the host is shown on
// a terminal or in a message. A port of gnulib's quotearg_buffer_restyled (lib/quotearg.c, as built
// into coreutils 9.1) working on the name's bytes in a UTF-8 locale, plus ls's `-q` pass (ls.c
// quote_name_buf) and coreutils' message quoting (quotef, quoteaf, quote).
//
// Trust: none. Every name is hostile; the escaping styles (shell-escape, shell-escape-always, c,
// escape, locale) never let a control character, a C1 control, an invalid byte or any other
// character glibc does not call printable through: they are written as `\ooo` or `\n`-style
// escapes. The other styles (literal, shell, shell-always) are raw by design, as GNU's; ls only
// shows them on a terminal after `qmark` (ls -q), which turns every such character into `?`.
// Differences from GNU, on purpose: the locale is always UTF-8 (what dbox's names are); the
// printable test uses Node's Unicode tables (see utf8.ts); QA_SPLIT_TRIGRAPHS is not offered.
import {bytesName, decodeChar, isPrintable, nameBytes} from './utf8.js';

export type QuotingStyle =
  | 'literal'
  | 'shell'
  | 'shell-always'
  | 'shell-escape'
  | 'shell-escape-always'
  | 'c'
  | 'c-maybe'
  | 'escape'
  | 'locale'
  | 'clocale';

/** In gnulib's order (ls --quoting-style lists them so). */
export const quotingStyles: readonly QuotingStyle[] = [
  'literal', 'shell', 'shell-always', 'shell-escape', 'shell-escape-always', 'c', 'c-maybe', 'escape', 'locale', 'clocale',
];

/** Extra characters to quote (gnulib's quote_these_too), e.g. ':' for quotef, ' ' for ls -b. */
export type QuoteThese = string;

// gnulib's internal style after its first switch: the shell family all run as shell_always.
type Internal = QuotingStyle;

const LEFT_LOCALE = Uint8Array.of(0xe2, 0x80, 0x98); // ‘ U+2018 (gettext_quote in a UTF-8 locale)
const RIGHT_LOCALE = Uint8Array.of(0xe2, 0x80, 0x99); // ’ U+2019
const DQ = Uint8Array.of(0x22);
const SQ = Uint8Array.of(0x27);

const ch = (s: string): number => s.charCodeAt(0);
const BACKSLASH = ch('\\');
const QUOTE = ch("'");

/** Characters that need nothing in any style: gnulib's list of "no problem" bytes. */
const plain = new Uint8Array(256);
for (const c of '%+,-./0123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZ]_abcdefghijklmnopqrstuvwxyz') plain[ch(c)] = 1;
/** Shell-special characters (quotearg's second list), handled the same way. */
const shellSpecial = new Uint8Array(256);
for (const c of '!"$&()*;<=>[^`|') shellSpecial[ch(c)] = 1;

const letterEscape: Record<number, string> = {7: 'a', 8: 'b', 12: 'f', 10: 'n', 13: 'r', 9: 't', 11: 'v'};

class ForceOuter {}
const FORCE = new ForceOuter();

function restyled(arg: Uint8Array, style: Internal, elide: boolean, too: Uint8Array | undefined): number[] {
  const argsize = arg.length;
  let out: number[] = [];
  const store = (c: number): void => {
    out.push(c);
  };
  let quotingStyle: Internal = style;
  let quoteString: Uint8Array | undefined;
  let backslashEscapes = false;
  let elideOuterQuotes = elide;
  let pendingShellEscapeEnd = false;
  let encounteredSingleQuote = false;
  let allCAndShellQuoteCompat = true;
  // gnulib's "buffersize = 0" scan for a shorter form when a ' is met (the output is then redone).
  let scanning = false;
  let scanned = false;

  const forceOuter = (): number[] => {
    if (quotingStyle === 'shell-always' && backslashEscapes) quotingStyle = 'shell-escape-always';
    return restyled(arg, quotingStyle, false, undefined);
  };

  try {
    for (;;) {
      // process_input:
      // gnulib's switch, its fall-throughs written out.
      if (quotingStyle === 'c-maybe') {
        quotingStyle = 'c';
        elideOuterQuotes = true;
      }
      if (quotingStyle === 'c') {
        if (!elideOuterQuotes) store(0x22);
        backslashEscapes = true;
        quoteString = DQ;
      } else if (quotingStyle === 'escape') {
        backslashEscapes = true;
        elideOuterQuotes = false;
      } else if (quotingStyle === 'locale' || quotingStyle === 'clocale') {
        if (!elideOuterQuotes) for (const b of LEFT_LOCALE) store(b);
        backslashEscapes = true;
        quoteString = RIGHT_LOCALE;
      } else if (quotingStyle === 'literal') {
        elideOuterQuotes = false;
      } else {
        // shell-escape, shell, shell-escape-always, shell-always
        if (quotingStyle === 'shell-escape') backslashEscapes = true;
        if (quotingStyle === 'shell-escape' || quotingStyle === 'shell') elideOuterQuotes = true;
        if (quotingStyle !== 'shell-always' && !elideOuterQuotes) backslashEscapes = true;
        quotingStyle = 'shell-always';
        if (!elideOuterQuotes) store(QUOTE);
        quoteString = SQ;
      }
      const shellAlways = (): boolean => quotingStyle === 'shell-always';

      for (let i = 0; i < argsize; i++) {
        let c = arg[i]!;
        let isRightQuote = false;
        let escaping = false;
        let cAndShellQuoteCompat = false;

        const startEsc = (): void => {
          if (elideOuterQuotes) throw FORCE;
          escaping = true;
          if (shellAlways() && !pendingShellEscapeEnd) {
            store(QUOTE);
            store(ch('$'));
            store(QUOTE);
            pendingShellEscapeEnd = true;
          }
          store(BACKSLASH);
        };
        const endEsc = (): void => {
          if (pendingShellEscapeEnd && !escaping) {
            store(QUOTE);
            store(QUOTE);
            pendingShellEscapeEnd = false;
          }
        };

        if (backslashEscapes && !shellAlways() && quoteString && i + quoteString.length <= argsize &&
          quoteString.every((b, k) => arg[i + k] === b)) {
          if (elideOuterQuotes) throw FORCE;
          isRightQuote = true;
        }

        // 'esc' paths: 0 = fall to the quote_these_too test, 1 = store_escape, 2 = store_c
        let next: 0 | 1 | 2 = 0;
        if (c === 0) {
          if (backslashEscapes) {
            startEsc();
            if (!shellAlways() && i + 1 < argsize && arg[i + 1]! >= 0x30 && arg[i + 1]! <= 0x39) {
              store(0x30);
              store(0x30);
            }
            c = 0x30;
          }
        } else if (c === ch('?')) {
          if (shellAlways() && elideOuterQuotes) throw FORCE;
        } else if (letterEscape[c] !== undefined || c === BACKSLASH) {
          const esc = c === BACKSLASH ? BACKSLASH : ch(letterEscape[c]!);
          let escape = true;
          if (c === BACKSLASH) {
            if (shellAlways()) {
              if (elideOuterQuotes) throw FORCE;
              next = 2;
              escape = false;
            } else if (backslashEscapes && elideOuterQuotes && quoteString) {
              next = 2;
              escape = false;
            }
          }
          if (escape) {
            // \n \r \t (and \\) also force shell quotes; \a \b \f \v only escape.
            if ((c === 10 || c === 13 || c === 9 || c === BACKSLASH) && shellAlways() && elideOuterQuotes) throw FORCE;
            if (backslashEscapes) {
              c = esc;
              next = 1;
            }
          }
        } else if (plain[c]) {
          cAndShellQuoteCompat = true;
        } else if (c === ch("'")) {
          encounteredSingleQuote = true;
          cAndShellQuoteCompat = true;
          if (shellAlways()) {
            if (elideOuterQuotes) throw FORCE;
            if (!scanning && !scanned) {
              scanning = true;
              scanned = true;
            }
            store(QUOTE);
            store(BACKSLASH);
            store(QUOTE);
            pendingShellEscapeEnd = false;
          }
        } else if (c === ch('{') || c === ch('}') || c === ch('#') || c === ch('~') || c === ch(' ') || shellSpecial[c]) {
          // '{' '}' are special when alone, '#' '~' when first; ' ' and those are "compatible" with c quoting.
          let special = true;
          if ((c === ch('{') || c === ch('}')) && argsize !== 1) special = false;
          else if ((c === ch('{') || c === ch('}') || c === ch('#') || c === ch('~')) && i !== 0) special = false;
          if (special) {
            if (!shellSpecial[c]) cAndShellQuoteCompat = true;
            if (shellAlways() && elideOuterQuotes) throw FORCE;
          }
        } else {
          // A multibyte character, an invalid or incomplete sequence, or an unprintable byte.
          let m = 0;
          let printable = true;
          const d = decodeChar(arg, i, argsize);
          if (d.kind === 'invalid') {
            printable = false;
          } else if (d.kind === 'incomplete') {
            printable = false;
            while (i + m < argsize && arg[i + m]) m++;
          } else {
            // gnulib's guard against shells that see '\\' etc. in a multibyte tail: never true in UTF-8.
            if (elideOuterQuotes && shellAlways()) {
              for (let j = 1; j < d.length; j++) {
                if ('[\\^`|'.includes(String.fromCharCode(arg[i + m + j]!))) throw FORCE;
              }
            }
            if (!isPrintable(d.cp)) printable = false;
            m += d.length;
          }
          cAndShellQuoteCompat = printable;
          if (m > 1 || (backslashEscapes && !printable)) {
            const ilim = i + m;
            for (;;) {
              if (backslashEscapes && !printable) {
                startEsc();
                store(0x30 + (c >> 6));
                store(0x30 + ((c >> 3) & 7));
                c = 0x30 + (c & 7);
              } else if (isRightQuote) {
                store(BACKSLASH);
                isRightQuote = false;
              }
              if (ilim <= i + 1) break;
              endEsc();
              store(c);
              c = arg[++i]!;
            }
            next = 2;
          }
        }

        if (next === 0) {
          const quoteToo = ((backslashEscapes && !shellAlways()) || elideOuterQuotes) && too !== undefined && too[c] === 1;
          next = !quoteToo && !isRightQuote ? 2 : 1;
        }
        if (next === 1) startEsc();
        // store_c:
        endEsc();
        store(c);
        if (!cAndShellQuoteCompat) allCAndShellQuoteCompat = false;
      }

      if (out.length === 0 && shellAlways() && elideOuterQuotes) throw FORCE;

      if (shellAlways() && !elideOuterQuotes && encounteredSingleQuote) {
        if (allCAndShellQuoteCompat) return restyled(arg, 'c', false, too);
        if (scanning) {
          // Redo the output for real (gnulib keeps its other state, pending_shell_escape_end included).
          scanning = false;
          out = [];
          continue;
        }
      }
      if (quoteString && !elideOuterQuotes) for (const b of quoteString) store(b);
      return out;
    }
  } catch (e) {
    if (e === FORCE) return forceOuter();
    throw e;
  }
}

function quoteSet(chars: QuoteThese | undefined): Uint8Array | undefined {
  if (!chars) return undefined;
  const set = new Uint8Array(256);
  for (const c of chars) set[ch(c) & 0xff] = 1;
  return set;
}

/** A name quoted in `style` (gnulib's quotearg_buffer with that style and quote_these_too). */
export function quotearg(name: string, style: QuotingStyle, quoteThese?: QuoteThese): string {
  return bytesName(Uint8Array.from(restyled(nameBytes(name), style, false, quoteSet(quoteThese))));
}

/** coreutils' quotef: a file name as a message's subject (`cat: 'a b': No such file or directory`). */
export const quotef = (name: string): string => quotearg(name, 'shell-escape', ':');

/** coreutils' quoteaf: a file name inside a message (`cannot stat 'a b'`), always quoted. */
export const quoteaf = (name: string): string => quotearg(name, 'shell-escape-always');

/** gnulib's quote(): ‘text’ in a UTF-8 locale, for words that are not file names (option values). */
export const quote = (text: string): string => quotearg(text, 'locale');

/**
 * ls -q on already quoted text (ls.c quote_name_buf, multibyte branch): every character that is not
 * printable, and every invalid byte, becomes `?`; an incomplete character at the end becomes one `?`.
 */
export function qmark(text: string): string {
  const b = nameBytes(text);
  const out: number[] = [];
  let p = 0;
  while (p < b.length) {
    const c = b[p]!;
    if (c >= 0x20 && c < 0x7f) {
      out.push(c);
      p++;
      continue;
    }
    const d = decodeChar(b, p);
    if (d.kind === 'invalid') {
      out.push(0x3f);
      p++;
    } else if (d.kind === 'incomplete') {
      out.push(0x3f);
      p = b.length;
    } else if (d.cp === 0 || isPrintable(d.cp)) {
      for (let k = 0; k < d.length; k++) out.push(b[p + k]!);
      p += d.length;
    } else {
      out.push(0x3f);
      p += d.length;
    }
  }
  return bytesName(Uint8Array.from(out));
}

/** How ls shows one name: a quoting style, extra characters, and whether -q applies. */
export interface NameQuoting {
  readonly style: QuotingStyle;
  /** ls -q / --hide-control-chars (applies to the literal, shell and shell-always styles only, as GNU). */
  readonly hideControl: boolean;
  readonly quoteThese?: QuoteThese;
}

/** Names made of these need nothing in the styles that can leave a name bare. */
const bareSafe = /^[A-Za-z0-9%+,./:@_\]-]+$/;

/**
 * ls's quote_name_buf: the shown text, and `quoted` when quoting changed the name (the text's first
 * byte or its length differ: ls then pads unquoted names with a space to line them up).
 */
export function quoteName(name: string, q: NameQuoting): {readonly text: string; readonly quoted: boolean} {
  const further = q.hideControl && (q.style === 'shell' || q.style === 'shell-always' || q.style === 'literal');
  if (bareSafe.test(name) && (q.style === 'literal' || q.style === 'shell' || q.style === 'shell-escape' || q.style === 'c-maybe' ||
    q.style === 'escape')) {
    if (!q.quoteThese || ![...q.quoteThese].some((c) => name.includes(c))) return {text: name, quoted: false};
  }
  let text = q.style === 'literal' ? name : quotearg(name, q.style, q.quoteThese);
  const nb = nameBytes(name);
  const tb = nameBytes(text);
  const quoted = nb[0] !== tb[0] || nb.length !== tb.length;
  if (further) text = qmark(text);
  return {text, quoted};
}

/**
 * Free text from outside (an engine's message, a hint naming a container, a prompt's directory):
 * printable characters as they are, every other character and invalid byte as a C escape (`\033`,
 * `\n`, `\302\205`, `\377`), so that nothing in it can act on the terminal.
 */
export function escapeControls(text: string): string {
  // Fast path: printable ASCII only.
  if (/^[\x20-\x7e]*$/.test(text)) return text;
  const b = nameBytes(text);
  const out: number[] = [];
  let p = 0;
  const octal = (c: number): void => {
    out.push(BACKSLASH, 0x30 + (c >> 6), 0x30 + ((c >> 3) & 7), 0x30 + (c & 7));
  };
  while (p < b.length) {
    const c = b[p]!;
    if (c >= 0x20 && c < 0x7f) {
      out.push(c);
      p++;
      continue;
    }
    if (letterEscape[c] !== undefined) {
      out.push(BACKSLASH, ch(letterEscape[c]!));
      p++;
      continue;
    }
    const d = decodeChar(b, p);
    if (d.kind === 'char' && isPrintable(d.cp)) {
      for (let k = 0; k < d.length; k++) out.push(b[p + k]!);
      p += d.length;
    } else {
      const n = d.kind === 'char' ? d.length : 1;
      for (let k = 0; k < n; k++) octal(b[p + k]!);
      p += n;
    }
  }
  return bytesName(Uint8Array.from(out));
}

/** escapeControls line by line: a message's own line breaks stay, nothing else acts on the terminal. */
export const escapeControlsLines = (text: string): string => text.split('\n').map(escapeControls).join('\n');

/**
 * A path or word printed as a command's output (pwd, cd -): escaped on a terminal, as it is to a
 * pipe or a file (where a script reads it, as GNU's pwd writes it).
 */
export const outputText = (text: string, isTTY: boolean): string => (isTTY ? escapeControls(text) : text);
