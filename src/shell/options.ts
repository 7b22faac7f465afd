// Option parsing for builtins (pure): GNU-style short flags that combine (`-la`), long flags,
// options that take a value (`-t DIR`, `-tDIR`, `--target-directory=DIR`), and `--` to end
// options. Unknown flags are a UsageError with coreutils' wording and the tool's usage status.
import {UsageError} from '../errors.js';

export interface OptionSpec {
  /** short letter -> flag name */
  readonly short: Readonly<Record<string, string>>;
  /** long name (without --) -> flag name */
  readonly long?: Readonly<Record<string, string>>;
  /** flag names that take a value (the last one given wins) */
  readonly valued?: readonly string[];
  /** long flag names whose value is optional: given only as `--name=VALUE` (cp's `--preserve[=LIST]`) */
  readonly optional?: readonly string[];
  /** the exit status of a usage error (GNU: ls 2, cp and cat 1); 2 when absent */
  readonly usageStatus?: number;
}

export interface ParsedArgs {
  readonly flags: ReadonlySet<string>;
  readonly operands: readonly string[];
  /** values of the valued flags given */
  readonly values: ReadonlyMap<string, string>;
  /** every flag as given, in order (for options where the last one wins) */
  readonly order: readonly string[];
  /** every flag as given, in order, with its value (for options that add up, as cp's --preserve=LIST) */
  readonly given: readonly {readonly flag: string; readonly value?: string}[];
}

export function parseOptions(command: string, args: readonly string[], spec: OptionSpec): ParsedArgs {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const operands: string[] = [];
  const order: string[] = [];
  const given: {flag: string; value?: string}[] = [];
  const valued = new Set(spec.valued ?? []);
  const usage = (line: string): UsageError =>
    new UsageError(`${command}: ${line}\nTry 'help ${command}' for more information.`, spec.usageStatus ?? 2);
  let ended = false;
  for (let k = 0; k < args.length; k++) {
    const arg = args[k]!;
    if (ended || arg === '-' || !arg.startsWith('-')) {
      operands.push(arg);
    } else if (arg === '--') {
      ended = true;
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const flag = spec.long?.[name];
      if (!flag) throw usage(`unrecognized option '${arg}'`);
      if (spec.optional?.includes(flag)) {
        if (eq >= 0) values.set(flag, arg.slice(eq + 1));
        else values.delete(flag);
      } else if (valued.has(flag)) {
        const value = eq >= 0 ? arg.slice(eq + 1) : args[++k];
        if (value === undefined) throw usage(`option '--${name}' requires an argument`);
        values.set(flag, value);
      } else if (eq >= 0) {
        throw usage(`option '--${name}' doesn't allow an argument`);
      }
      flags.add(flag);
      order.push(flag);
      const value = values.get(flag);
      given.push(valued.has(flag) || spec.optional?.includes(flag) ? {flag, ...(value !== undefined ? {value} : {})} : {flag});
    } else {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const flag = spec.short[letter];
        if (!flag) throw usage(`invalid option -- '${letter}'`);
        flags.add(flag);
        order.push(flag);
        if (valued.has(flag)) {
          const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++k];
          if (value === undefined) throw usage(`option requires an argument -- '${letter}'`);
          values.set(flag, value);
          given.push({flag, value});
          break;
        }
        given.push({flag});
      }
    }
  }
  return {flags, operands, values, order, given};
}
