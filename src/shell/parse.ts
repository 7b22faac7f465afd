// Turns a command line into dbox's own typed form (pure). shell-quote does the tokenising and
// variable expansion; this module decides what dbox runs itself and what goes to the real shell.
// A line made of simple commands joined by `&&`, `||` and `;` is a Sequence: each command runs in
// turn, as a builtin or as one external command. Anything else (pipes, redirects, `$( )`,
// subshells, background jobs) is handed to the real shell as a whole.
import {parse, quote} from 'shell-quote';

export interface Word {
  readonly text: string;
  /** An unquoted word with glob characters (`*`, `?`, `[...]`), to be expanded. */
  readonly glob: boolean;
}

export type Connector = '&&' | '||' | ';';

export interface Command {
  readonly words: readonly Word[];
  /** How this command is joined to the one before it (undefined for the first). */
  readonly after?: Connector;
}

export type Line =
  | {readonly kind: 'empty'}
  | {readonly kind: 'sequence'; readonly commands: readonly Command[]}
  | {readonly kind: 'shell'; readonly line: string};

const connectors = new Set(['&&', '||', ';']);

/** True when no `[` of the line is quoted or escaped. */
function bracketsUnquoted(line: string): boolean {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && quote !== "'") i++;
    else if (quote) {
      if (c === quote) quote = '';
      else if (c === '[') return false;
    } else if (c === "'" || c === '"') quote = c;
  }
  return !/\\\[/.test(line);
}

const bracketClass = /\[[^\]]+\]/;

/** `vars(name)` gives a variable's value ($?, $HOME…); undefined expands to the empty string. */
export function parseLine(line: string, vars: (name: string) => string | undefined): Line {
  if (line.trim() === '') return {kind: 'empty'};
  // Command substitution and arithmetic are shell syntax shell-quote does not model.
  if (/\$\(|`/.test(line)) return {kind: 'shell', line};
  const tokens = parse(line, (name) => vars(name) ?? '');
  // shell-quote marks only `*` and `?` as globs; bash also expands `[...]`. A bracket word is a glob
  // when no `[` in the line was quoted (the quoting is gone once shell-quote has tokenised).
  const bracketGlobs = line.includes('[') && bracketsUnquoted(line);
  const commands: Command[] = [];
  let words: Word[] = [];
  let after: Connector | undefined;
  for (const token of tokens) {
    if (typeof token === 'string') {
      words.push({text: token, glob: bracketGlobs && bracketClass.test(token)});
    } else if ('comment' in token) {
      break;
    } else if (token.op === 'glob') {
      words.push({text: (token as {pattern: string}).pattern, glob: true});
    } else if (connectors.has(token.op)) {
      if (words.length === 0) return {kind: 'shell', line}; // `; ls`, `&& x`: let the shell report it
      commands.push(after ? {words, after} : {words});
      words = [];
      after = token.op as Connector;
    } else {
      return {kind: 'shell', line};
    }
  }
  if (words.length > 0) commands.push(after ? {words, after} : {words});
  else if (after && after !== ';') return {kind: 'shell', line};
  return commands.length === 0 ? {kind: 'empty'} : {kind: 'sequence', commands};
}

/** Shell text for one command's words: globs stay bare, everything else is quoted. */
export function commandText(words: readonly string[] | readonly Word[]): string {
  return words.map((w) => (typeof w === 'string' ? quote([w]) : w.glob ? w.text : quote([w.text]))).join(' ');
}
