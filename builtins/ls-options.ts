// ls's options that carry a value or repeat (pure), taken out of the arguments before the common
// parser (src/shell/options.ts) sees the rest: -I/--ignore and --hide (each adds a pattern),
// -w/--width, -T/--tabsize, --time-style (and --full-time, which sets it), --color[=WHEN], and
// --help; --sort, --format, --time and --indicator-style become the options they stand for. Short ones may be glued (`-lw40`, `-I'*.o'`) or take the next argument; `--` ends
// options. Values are checked as GNU ls 9.1 checks them, with its messages and statuses.
import {quote} from '../src/format/quote.js';

export type ColorWhen = 'always' | 'never' | 'auto';

export interface LsExtras {
  readonly ignore: readonly string[];
  readonly hide: readonly string[];
  readonly color?: ColorWhen;
  readonly timeStyle?: string;
  /** -w: columns (0: no limit). */
  readonly width?: number;
  readonly tabSize?: number;
  readonly help: boolean;
}

export interface LsArgs {
  readonly extras: LsExtras;
  readonly rest: readonly string[];
  /** A message for stderr (without `ls: `), and the status to end with. */
  readonly error?: {readonly text: string; readonly status: number; readonly usage: boolean};
}

const WHEN: readonly (readonly [string, ColorWhen])[] = [['always', 'always'], ['yes', 'always'], ['force', 'always'],
  ['never', 'never'], ['no', 'never'], ['none', 'never'], ['auto', 'auto'], ['tty', 'auto'], ['if-tty', 'auto']];

/** gnulib argmatch over WHEN: exact, or a prefix whose matches all mean the same. */
function matchWhen(arg: string): ColorWhen | 'ambiguous' | undefined {
  const exact = WHEN.find(([w]) => w === arg);
  if (exact) return exact[1];
  const values = new Set(WHEN.filter(([w]) => w.startsWith(arg)).map(([, v]) => v));
  return values.size > 1 ? 'ambiguous' : [...values][0];
}

const whenError = (arg: string, problem: 'ambiguous' | undefined): string =>
  `${problem ?? 'invalid'} argument ${quote(arg)} for ${quote('--color')}\nValid arguments are:\n` +
  `  - ${quote('always')}, ${quote('yes')}, ${quote('force')}\n  - ${quote('never')}, ${quote('no')}, ${quote('none')}\n` +
  `  - ${quote('auto')}, ${quote('tty')}, ${quote('if-tty')}`;

/** gnulib xstrtoumax(text, base 0) with no suffix: the value, 0 for one too large, undefined if not a number. */
export function decodeCount(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[1]!;
  const value = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits.startsWith('0') ? BigInt(`0o${digits.slice(1)}`)
    : BigInt(digits);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(value);
}

/** Options GNU spells with a WORD, as the options dbox's parser takes: a short option, or an
 *  internal long one (a NUL in its name: no argument can forge it, argv has no NUL). */
const WORDS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  sort: [['none', '-U'], ['time', '-t'], ['size', '-S'], ['extension', '-X'], ['version', '-v'], ['width', '--\0sort-width']],
  format: [['verbose', '-l'], ['long', '-l'], ['commas', '-m'], ['horizontal', '-x'], ['across', '-x'], ['vertical', '-C'],
    ['single-column', '-1']],
  time: [['atime', '-u'], ['access', '-u'], ['use', '-u'], ['ctime', '-c'], ['status', '-c'], ['birth', 'birth'], ['creation', 'birth']],
  'indicator-style': [['none', '--\0indicator-none'], ['slash', '-p'], ['file-type', '--file-type'], ['classify', '-F']],
};

/** gnulib argmatch over one of WORDS: the option it stands for, or GNU's message. */
function matchWord(option: string, arg: string): {token: string} | {error: string} {
  const table = WORDS[option]!;
  const exact = table.find(([w]) => w === arg);
  const values = new Set(table.filter(([w]) => w.startsWith(arg)).map(([, v]) => v));
  if (exact) return {token: exact[1]};
  if (values.size === 1) return {token: [...values][0]!};
  const groups: string[][] = [];
  for (const [w, v] of table) {
    const last = groups[groups.length - 1];
    if (last && table.find(([x]) => x === last[0])![1] === v) last.push(w);
    else groups.push([w]);
  }
  return {error: `${values.size > 1 ? 'ambiguous' : 'invalid'} argument ${quote(arg)} for ${quote(`--${option}`)}
` +
    `Valid arguments are:
${groups.map((g) => `  - ${g.map(quote).join(', ')}`).join('\n')}`};
}

const SHORT_VALUED = new Set(['I', 'w', 'T']);
const LONG_VALUED = new Set(['ignore', 'hide', 'width', 'tabsize', 'time-style']);

export function lsArgs(args: readonly string[]): LsArgs {
  const ignore: string[] = [];
  const hide: string[] = [];
  let color: ColorWhen | undefined;
  let timeStyle: string | undefined;
  let width: number | undefined;
  let tabSize: number | undefined;
  let help = false;
  const rest: string[] = [];
  const fail = (text: string, status: number, usage = false): LsArgs =>
    ({extras: {ignore, hide, help}, rest, error: {text, status, usage}});

  /** One valued option; a message when its value is bad. */
  const take = (name: string, value: string): LsArgs | undefined => {
    if (name === 'I' || name === 'ignore') ignore.push(value);
    else if (name === 'hide') hide.push(value);
    else if (name === 'time-style') timeStyle = value;
    else if (name === 'w' || name === 'width') {
      const n = decodeCount(value);
      if (n === undefined) return fail(`invalid line width: ${quote(value)}`, 2);
      width = n;
    } else if (name === 'T' || name === 'tabsize') {
      const n = decodeCount(value);
      if (n === undefined) return fail(`invalid tab size: ${quote(value)}`, 2);
      tabSize = n;
    }
    return undefined;
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (name === 'help' && eq < 0) {
        help = true;
        continue;
      }
      if (name === 'color') {
        if (eq < 0) color = 'always';
        else {
          const w = matchWhen(arg.slice(eq + 1));
          if (w === undefined || w === 'ambiguous') return fail(whenError(arg.slice(eq + 1), w), 1, true);
          color = w;
        }
        continue;
      }
      if (name in WORDS) {
        const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
        if (value === undefined) return fail(`option '--${name}' requires an argument`, 2, true);
        const m = matchWord(name, value);
        if ('error' in m) return fail(m.error, 1, true);
        if (m.token === 'birth') return fail('--time=birth: dbox has no birth times (not in its filesystems\' stat)', 2);
        rest.push(m.token);
        continue;
      }
      if (name === 'full-time' && eq < 0) {
        timeStyle = 'full-iso';
        rest.push(arg);
        continue;
      }
      if (LONG_VALUED.has(name)) {
        const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
        if (value === undefined) return fail(`option '--${name}' requires an argument`, 2, true);
        const bad = take(name, value);
        if (bad) return bad;
        continue;
      }
      rest.push(arg);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      let kept = '-';
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        if (!SHORT_VALUED.has(letter)) {
          kept += letter;
          continue;
        }
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i];
        if (value === undefined) {
          if (kept !== '-') rest.push(kept);
          return fail(`option requires an argument -- '${letter}'`, 2, true);
        }
        const bad = take(letter, value);
        if (bad) return bad;
        break;
      }
      if (kept !== '-') rest.push(kept);
      continue;
    }
    rest.push(arg);
  }
  return {extras: {ignore, hide, help, ...(color ? {color} : {}), ...(timeStyle !== undefined ? {timeStyle} : {}),
    ...(width !== undefined ? {width} : {}), ...(tabSize !== undefined ? {tabSize} : {})}, rest};
}
