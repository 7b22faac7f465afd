// How ls quotes names, from its options, its output and $QUOTING_STYLE (pure), as GNU ls 9.1
// decides it in main(): -N/-b/-Q/--quoting-style (last wins), else $QUOTING_STYLE, else
// shell-escape on a terminal and literal elsewhere; -q/--hide-control-chars and
// --show-control-chars (last wins), else hidden on a terminal. -b also quotes spaces in file names;
// directory headers (ls -R, several operands) quote ':' instead.
//
// One difference, on purpose: on a terminal the raw styles (literal, shell, shell-always) always
// hide control characters, even with --show-control-chars: dbox never writes a container's bytes
// raw to a terminal. To a pipe or a file, names are written as GNU writes them (raw by default).
import {quote, quotingStyles, type NameQuoting, type QuotingStyle} from './quote.js';

export interface LsQuotingChoice {
  /** The style of -N/-b/-Q/--quoting-style, the last one given. */
  readonly style?: QuotingStyle;
  /** -q/--hide-control-chars (true) or --show-control-chars (false), the last one given. */
  readonly hideControl?: boolean;
}

export interface LsQuoting {
  readonly names: NameQuoting;
  readonly dirs: NameQuoting;
  /** Whether names that need no quotes get a leading space when others in the list have them. */
  readonly alignQuotes: boolean;
  /** A warning for stderr (an invalid $QUOTING_STYLE), without the `ls: ` prefix. */
  readonly warning?: string;
}

/** gnulib's argmatch over the style names: an exact name or an unambiguous prefix. */
export function matchStyle(arg: string): QuotingStyle | 'ambiguous' | undefined {
  const exact = quotingStyles.find((s) => s === arg);
  if (exact) return exact;
  const prefixed = quotingStyles.filter((s) => s.startsWith(arg));
  if (prefixed.length > 1) return 'ambiguous';
  return prefixed[0];
}

/** GNU's message for a bad --quoting-style argument (argmatch_die), without `ls: `. */
export function badStyleMessage(arg: string, problem: 'ambiguous' | undefined): string {
  return `${problem === 'ambiguous' ? 'ambiguous' : 'invalid'} argument ${quote(arg)} for ${quote('--quoting-style')}\n` +
    'Valid arguments are:\n' + quotingStyles.map((s) => `  - ${quote(s)}\n`).join('');
}

/** What -F (`classify`) or --file-type (`file-type`) appends after names: GNU then also quotes
 *  those characters in names (ls.c: `&"*=>@|"[indicator_style - file_type]`). */
export type Indicators = 'classify' | 'file-type' | undefined;

export function lsQuoting(choice: LsQuotingChoice, isTTY: boolean, envStyle: string | undefined, layout: 'long' | 'columns' | 'one',
  indicators?: Indicators): LsQuoting {
  let warning: string | undefined;
  let style = choice.style;
  if (style === undefined && envStyle !== undefined) {
    const m = matchStyle(envStyle);
    if (m === undefined || m === 'ambiguous') warning = `ignoring invalid value of environment variable QUOTING_STYLE: ${quote(envStyle)}`;
    else style = m;
  }
  style ??= isTTY ? 'shell-escape' : 'literal';
  const hideControl = (choice.hideControl ?? isTTY) || isTTY;
  const spaces = (style === 'escape' ? ' ' : '') + (indicators === 'file-type' ? '*=>@|' : indicators === 'classify' ? '=>@|' : '');
  const alignQuotes = (layout === 'long' || layout === 'columns') && (style === 'shell' || style === 'shell-escape' || style === 'c-maybe');
  return {
    names: {style, hideControl, ...(spaces ? {quoteThese: spaces} : {})},
    // GNU clones the directory options from the defaults, not from the file ones: no ' ' for -b.
    dirs: {style, hideControl, quoteThese: ':'},
    alignQuotes,
    ...(warning ? {warning} : {}),
  };
}

/**
 * The order-dependent quoting options (-N -b -Q --quoting-style -q --show-control-chars: the last
 * wins, as GNU's getopt loop), and the arguments without `--quoting-style[=]WORD`, which
 * parseOptions does not take.
 */
export function lsQuotingArgs(args: readonly string[]): {choice: LsQuotingChoice; rest: string[]; error?: string} {
  let style: QuotingStyle | undefined;
  let hideControl: boolean | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === '--quoting-style' || arg.startsWith('--quoting-style=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
      if (value === undefined) return {choice: {}, rest, error: "option '--quoting-style' requires an argument"};
      const m = matchStyle(value);
      if (m === undefined || m === 'ambiguous') return {choice: {}, rest, error: badStyleMessage(value, m).trimEnd()};
      style = m;
      continue;
    }
    rest.push(arg);
    if (arg === '--literal') style = 'literal';
    else if (arg === '--escape') style = 'escape';
    else if (arg === '--quote-name') style = 'c';
    else if (arg === '--hide-control-chars') hideControl = true;
    else if (arg === '--show-control-chars') hideControl = false;
    else if (arg.startsWith('-') && !arg.startsWith('--')) {
      for (const letter of arg.slice(1)) {
        if (letter === 'N') style = 'literal';
        else if (letter === 'b') style = 'escape';
        else if (letter === 'Q') style = 'c';
        else if (letter === 'q') hideControl = true;
      }
    }
  }
  return {choice: {...(style ? {style} : {}), ...(hideControl !== undefined ? {hideControl} : {})}, rest};
}
