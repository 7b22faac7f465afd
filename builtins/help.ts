// help: list the builtins, or explain one (its usage and each option); `help cd` explains bash's
// cd as dbox meets it (builtins/cd.ts). `ls --help` and `cat --help` print the same text.
import {quoteaf} from '../src/format/quote.js';
import type {Builtin} from '../src/shell/context.js';
import {cdTopic} from './cd.js';

/** What `help NAME` explains: a builtin, or a command of bash's that dbox documents (cd). */
export type HelpTopic = Pick<Builtin, 'name' | 'usage' | 'summary' | 'options'>;

/** Commands that are bash's own but explained here. */
const TOPICS: readonly HelpTopic[] = [cdTopic];

/** The text of `help NAME` (and `NAME --help`). */
export function helpText(b: HelpTopic): string {
  const options = b.options && b.options.length > 0 ? `\noptions:\n${b.options.map((o) => `  ${o}\n`).join('')}` : '';
  return `usage: ${b.usage}\n  ${b.summary}\n${options}`;
}

/** `help` needs the list of all builtins, which includes itself: the registry passes it in. */
export function makeHelp(all: () => readonly Builtin[]): Builtin {
  return {
    name: 'help',
    usage: 'help [BUILTIN]',
    summary: 'show the builtins, or how to use one (and cd)',
    async run(args, ctx) {
      const out = ctx.stdout.stream;
      if (args[0] !== undefined) {
        const b = [...all(), ...TOPICS].find((x) => x.name === args[0]);
        if (!b) {
          ctx.stderr.stream.write(`help: no help topics match ${quoteaf(args[0])}\n`);
          return {status: 1};
        }
        out.write(helpText(b));
        return {status: 0};
      }
      const width = Math.max(...all().map((b) => b.usage.length));
      out.write('dbox builtins, commands of the session\'s bash (everything else is bash: cd, pwd, jobs, exit…; `builtin help` is bash\'s own):\n');
      for (const b of all()) out.write(`  ${b.usage.padEnd(width)}  ${b.summary}\n`);
      out.write('\n`help cd` explains cd (bash\'s) with dbox\'s paths.\n');
      out.write('\nPaths: /containers lists containers; /containers/NAME/... is inside one, for every program.\n');
      return {status: 0};
    },
  };
}
