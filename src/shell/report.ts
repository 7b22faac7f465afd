// Coreutils-style messages on stderr for errors a builtin meets. Every file name in them is quoted
// as coreutils quotes it (src/format/quote.ts): the subject of a message as quotef
// (`cat: 'a b': No such file or directory`), a name inside words as quoteaf
// (`ls: cannot access ''$'\033'']0;x': …`); any other text from outside has its controls escaped.
import {escapeControlsLines, quoteaf, quotef} from '../format/quote.js';
import {DboxError, describeFsError, EngineUnreachable, FsError} from '../errors.js';
import type {ShellContext} from './context.js';

/**
 * The words around the quoted names: `(w) => \`cannot stat ${w}\`` gets each name quoted (quoteaf).
 * A template written before quoting moved here, `(w) => \`cannot stat '${w}'\``, still works: the
 * quotes it puts around a name are replaced by the name's own.
 */
export type Template = (...quoted: string[]) => string;

const marker = (k: number): string => `\u0000${k}\u0000`;

function fill(template: Template, names: readonly string[]): string {
  let text = template(...names.map((_, k) => marker(k)));
  names.forEach((name, k) => {
    // Transitional: builtins/cp.ts passes its two names as one, `${src}' to '${dest}`, inside
    // `cannot copy '…'`; until it passes [src, dest], the two are quoted apart here.
    const q = text.startsWith(`cannot copy '${marker(k)}'`) && name.includes("' to '")
      ? name.split("' to '").map(quoteaf).join(' to ') : quoteaf(name);
    text = text.split(`'${marker(k)}'`).join(q).split(marker(k)).join(q);
  });
  return text;
}

/**
 * `cat: /containers/web/nope: No such file or directory` — `what` is the path as the user typed it
 * (or the paths of a template with several).
 */
export function fsMessage(command: string, error: unknown, what: string | readonly string[], template?: Template): string {
  const names = typeof what === 'string' ? [what] : what;
  if (error instanceof FsError) {
    const subject = template ? fill(template, names) : names.map(quotef).join(' ');
    return `${command}: ${describeFsError(subject, error.code, error.hint)}`;
  }
  // No engine is not about one file: the session reports it once, as dbox.
  if (error instanceof EngineUnreachable) throw error;
  if (error instanceof DboxError) return `${command}: ${escapeControlsLines(error.message)}`;
  throw error;
}

export function report(ctx: ShellContext, command: string, error: unknown, what: string | readonly string[], template?: Template): void {
  ctx.stderr.stream.write(fsMessage(command, error, what, template) + '\n');
}
