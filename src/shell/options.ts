// Option parsing for builtins (pure): GNU-style short flags that combine (`-la`), long flags,
// and `--` to end options. Unknown flags are a UsageError with coreutils' wording.
import {UsageError} from '../vfs/errors.js';

export interface OptionSpec {
  /** short letter -> flag name */
  readonly short: Readonly<Record<string, string>>;
  /** long name (without --) -> flag name */
  readonly long?: Readonly<Record<string, string>>;
}

export interface ParsedArgs {
  readonly flags: ReadonlySet<string>;
  readonly operands: readonly string[];
}

export function parseOptions(command: string, args: readonly string[], spec: OptionSpec): ParsedArgs {
  const flags = new Set<string>();
  const operands: string[] = [];
  let ended = false;
  for (const arg of args) {
    if (ended || arg === '-' || !arg.startsWith('-')) {
      operands.push(arg);
    } else if (arg === '--') {
      ended = true;
    } else if (arg.startsWith('--')) {
      const flag = spec.long?.[arg.slice(2)];
      if (!flag) throw new UsageError(`${command}: unrecognized option '${arg}'\nTry 'help ${command}' for more information.`);
      flags.add(flag);
    } else {
      for (const letter of arg.slice(1)) {
        const flag = spec.short[letter];
        if (!flag) throw new UsageError(`${command}: invalid option -- '${letter}'\nTry 'help ${command}' for more information.`);
        flags.add(flag);
      }
    }
  }
  return {flags, operands};
}
