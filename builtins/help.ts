// help: list the builtins, or show one's usage.
import {quoteaf} from '../src/format/quote.js';
import type {Builtin} from '../src/shell/context.js';

/** `help` needs the list of all builtins, which includes itself: the registry passes it in. */
export function makeHelp(all: () => readonly Builtin[]): Builtin {
  return {
    name: 'help',
    usage: 'help [BUILTIN]',
    summary: 'show the builtins, or how to use one',
    async run(args, ctx) {
      const out = ctx.stdout.stream;
      if (args[0] !== undefined) {
        const b = all().find((x) => x.name === args[0]);
        if (!b) {
          ctx.stderr.stream.write(`help: no help topics match ${quoteaf(args[0])}\n`);
          return {status: 1};
        }
        out.write(`usage: ${b.usage}\n  ${b.summary}\n`);
        if (b.options && b.options.length > 0) out.write(`\noptions:\n${b.options.map((o) => `  ${o}\n`).join('')}`);
        return {status: 0};
      }
      const width = Math.max(...all().map((b) => b.usage.length));
      out.write('dbox builtins, commands of the session\'s bash (everything else is bash: cd, pwd, jobs, exit…; `builtin help` is bash\'s own):\n');
      for (const b of all()) out.write(`  ${b.usage.padEnd(width)}  ${b.summary}\n`);
      out.write('\nPaths: /containers lists containers; /containers/NAME/... is inside one, for every program.\n');
      return {status: 0};
    },
  };
}
