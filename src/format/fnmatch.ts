// glibc's fnmatch(PATTERN, NAME, FNM_PERIOD) in a UTF-8 locale (pure), as ls -I/--ignore and
// --hide match names: `*`, `?`, bracket expressions (`[a-z]`, `[!x]`, `[^x]`, `[[:alpha:]]`),
// `\` quoting the next character, and a leading `.` of the name matched only by a `.` written in
// the pattern. A `[` without its `]` is an ordinary character. Names and patterns are matched
// character by character (an invalid byte of a name, carried as a lone surrogate, is one
// character that only itself matches).
//
// Cost: the classic two-pointer match with one backtrack point per `*`: O(pattern x name) at
// worst, no recursion, so a hostile name of any length cannot blow the stack.

type Token =
  | {readonly kind: 'char'; readonly c: string}
  | {readonly kind: 'any'}
  | {readonly kind: 'star'}
  | {readonly kind: 'set'; readonly negate: boolean; readonly test: (c: string) => boolean};

const CLASSES: Readonly<Record<string, RegExp>> = {
  alpha: /^\p{L}$/u, digit: /^[0-9]$/, alnum: /^[\p{L}\p{Nd}]$/u, upper: /^\p{Lu}$/u, lower: /^\p{Ll}$/u,
  space: /^\s$/u, blank: /^[ \t]$/, punct: /^[\p{P}\p{S}]$/u, print: /^[^\p{C}]$/u, graph: /^[^\p{C}\s]$/u,
  cntrl: /^\p{Cc}$/u, xdigit: /^[0-9A-Fa-f]$/,
};

/** A bracket expression starting at chars[at] (the `[`): the token and the index after `]`, or undefined. */
function bracket(chars: readonly string[], at: number): {token: Token; next: number} | undefined {
  let i = at + 1;
  let negate = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negate = true;
    i++;
  }
  const tests: ((c: string) => boolean)[] = [];
  let first = true;
  while (i < chars.length) {
    let c = chars[i]!;
    if (c === ']' && !first) {
      const ts = tests;
      return {token: {kind: 'set', negate, test: (x) => ts.some((t) => t(x))}, next: i + 1};
    }
    first = false;
    if (c === '[' && chars[i + 1] === ':') {
      const close = chars.indexOf(':', i + 2);
      if (close > 0 && chars[close + 1] === ']') {
        const re = CLASSES[chars.slice(i + 2, close).join('')];
        if (!re) return undefined;
        tests.push((x) => re.test(x));
        i = close + 2;
        continue;
      }
    }
    if (c === '\\' && i + 1 < chars.length) c = chars[++i]!;
    i++;
    if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
      let hi = chars[i + 1]!;
      i += 2;
      if (hi === '\\' && i < chars.length) hi = chars[i++]!;
      const lo = c.codePointAt(0)!;
      const top = hi.codePointAt(0)!;
      tests.push((x) => {
        const v = x.codePointAt(0)!;
        return v >= lo && v <= top;
      });
      continue;
    }
    const only = c;
    tests.push((x) => x === only);
  }
  return undefined;
}

function tokens(pattern: string): Token[] {
  const chars = [...pattern];
  const out: Token[] = [];
  for (let i = 0; i < chars.length;) {
    const c = chars[i]!;
    if (c === '*') {
      if (out[out.length - 1]?.kind !== 'star') out.push({kind: 'star'});
      i++;
    } else if (c === '?') {
      out.push({kind: 'any'});
      i++;
    } else if (c === '[') {
      const b = bracket(chars, i);
      if (b) {
        out.push(b.token);
        i = b.next;
      } else {
        out.push({kind: 'char', c});
        i++;
      }
    } else if (c === '\\' && i + 1 < chars.length) {
      out.push({kind: 'char', c: chars[i + 1]!});
      i += 2;
    } else {
      out.push({kind: 'char', c});
      i++;
    }
  }
  return out;
}

/** One token against one character of the name; `lead`: it is a leading `.` (FNM_PERIOD). */
function matchOne(t: Token, c: string, lead: boolean): boolean {
  switch (t.kind) {
    case 'char': return t.c === c;
    case 'any': return !lead;
    case 'set': return !lead && t.test(c) !== t.negate;
    default: return false;
  }
}

/** A compiled pattern: whether a name matches it. */
export function fnmatcher(pattern: string): (name: string) => boolean {
  const ts = tokens(pattern);
  return (name) => {
    const s = [...name];
    let p = 0;
    let i = 0;
    let starP = -1;
    let starI = 0;
    while (i < s.length) {
      const lead = i === 0 && s[0] === '.';
      const t = ts[p];
      if (t?.kind === 'star' && !lead) {
        starP = p++;
        starI = i;
      } else if (t && t.kind !== 'star' && matchOne(t, s[i]!, lead)) {
        p++;
        i++;
      } else if (starP >= 0) {
        p = starP + 1;
        i = ++starI;
      } else {
        return false;
      }
    }
    while (ts[p]?.kind === 'star') p++;
    return p === ts.length;
  };
}
