// cp's options as GNU coreutils 9.1 reads them (pure): which attributes a copy keeps
// (-p, -a, -d, --preserve[=LIST], --no-preserve=LIST, added up in order), how symlinks in the
// sources are followed (-L, -P, -H, -a, -d: the last wins; by default -r copies links as links and
// a plain cp follows them), -i against -n (the last wins), --sparse=WHEN and -l/-s.
import type {Readable} from 'node:stream';
import {UsageError} from '../src/errors.js';
import type {Attribute} from '../src/vfs/copy-policy.js';
import type {ParsedArgs} from '../src/shell/options.js';

export const cpSpec = {
  short: {r: 'recursive', R: 'recursive', p: 'p', a: 'archive', f: 'force', v: 'verbose', n: 'noClobber', i: 'interactive',
    u: 'update', t: 'targetDir', T: 'noTargetDir', L: 'dereference', P: 'noDereference', H: 'commandLine', d: 'd',
    l: 'link', s: 'symbolicLink', x: 'oneFileSystem'},
  long: {recursive: 'recursive', archive: 'archive', preserve: 'preserve', 'no-preserve': 'noPreserve', devices: 'devices',
    force: 'force', verbose: 'verbose', 'no-clobber': 'noClobber', interactive: 'interactive', update: 'update',
    'target-directory': 'targetDir', 'no-target-directory': 'noTargetDir', dereference: 'dereference',
    'no-dereference': 'noDereference', link: 'link', 'symbolic-link': 'symbolicLink', 'one-file-system': 'oneFileSystem',
    parents: 'parents', sparse: 'sparse', 'remove-destination': 'removeDestination', help: 'help'},
  valued: ['targetDir', 'noPreserve', 'sparse'],
  optional: ['preserve'],
  usageStatus: 1,
};

const ATTRIBUTES = ['mode', 'timestamps', 'ownership', 'links', 'context', 'xattr', 'all'] as const;
const SPARSE = ['never', 'auto', 'always'] as const;

/** GNU's argmatch failure: the value, the option, and the valid arguments. */
function invalid(value: string, option: string, valid: readonly string[]): UsageError {
  return new UsageError(`cp: invalid argument '${value}' for '--${option}'\nValid arguments are:\n` +
    `${valid.map((v) => `  - '${v}'`).join('\n')}\nTry 'help cp' for more information.`, 1);
}

function attributes(list: string, option: string): Attribute[] {
  return list.split(',').flatMap((name): Attribute[] => {
    if (!(ATTRIBUTES as readonly string[]).includes(name)) throw invalid(name, option, ATTRIBUTES);
    if (name === 'all') return ['mode', 'ownership', 'timestamps', 'links'];
    return name === 'context' || name === 'xattr' ? [] : [name as Attribute];
  });
}

export interface CpMode {
  readonly recursive: boolean;
  readonly preserve: readonly Attribute[];
  /** Which symlinks among the sources are followed: all (-L), none (-P), the operands only (-H). */
  readonly dereference: 'all' | 'none' | 'operands';
  readonly interactive: boolean;
  readonly noClobber: boolean;
  readonly sparse: 'auto' | 'always' | 'never';
  readonly linkInstead?: 'hard' | 'symbolic';
  /** --preserve=context named: GNU refuses it on a kernel without SELinux, as dbox does everywhere. */
  readonly context: boolean;
}

export function cpMode(parsed: ParsedArgs): CpMode {
  const {flags, given} = parsed;
  const recursive = flags.has('recursive') || flags.has('archive');
  const keep = new Set<Attribute>();
  let deref: CpMode['dereference'] | undefined;
  let ask: 'interactive' | 'noClobber' | undefined;
  let context = false;
  for (const {flag, value} of given) {
    if (flag === 'p' || (flag === 'preserve' && value === undefined)) for (const a of ['mode', 'ownership', 'timestamps'] as const) keep.add(a);
    else if (flag === 'preserve') {
      for (const a of attributes(value!, 'preserve')) keep.add(a);
      if (value!.split(',').includes('context')) context = true;
    }
    else if (flag === 'noPreserve') for (const a of attributes(value!, 'no-preserve')) keep.delete(a);
    else if (flag === 'archive') {
      for (const a of ['mode', 'ownership', 'timestamps', 'links'] as const) keep.add(a);
      deref = 'none';
    } else if (flag === 'd') {
      keep.add('links');
      deref = 'none';
    } else if (flag === 'dereference') deref = 'all';
    else if (flag === 'noDereference') deref = 'none';
    else if (flag === 'commandLine') deref = 'operands';
    else if (flag === 'interactive' || flag === 'noClobber') ask = flag;
  }
  const sparse = parsed.values.get('sparse') ?? 'auto';
  if (!(SPARSE as readonly string[]).includes(sparse)) throw invalid(sparse, 'sparse', SPARSE);
  const linkInstead = flags.has('symbolicLink') ? 'symbolic' as const : flags.has('link') ? 'hard' as const : undefined;
  // GNU's default: links in a tree are copied as links, but -l follows them (a hard link to a
  // symlink is rarely what is meant).
  return {recursive, preserve: [...keep], dereference: deref ?? (recursive && linkInstead !== 'hard' ? 'none' : 'all'), interactive: ask === 'interactive',
    noClobber: ask === 'noClobber', context, sparse: sparse as CpMode['sparse'], ...(linkInstead ? {linkInstead} : {})};
}

/** Reads one line from `input` (the answer to a prompt), leaving what follows it unread;
 *  undefined at the end of the input. */
export async function readLine(input: Readable): Promise<string | undefined> {
  const parts: Buffer[] = [];
  for (;;) {
    const chunk = input.read() as Buffer | string | null;
    if (chunk === null) {
      if (input.readableEnded || input.destroyed) return parts.length > 0 ? Buffer.concat(parts).toString('utf8') : undefined;
      const more = await new Promise<boolean>((resolve) => {
        const done = (): void => {
          input.off('readable', go);
          input.off('end', end);
          input.off('error', end);
        };
        const go = (): void => { done(); resolve(true); };
        const end = (): void => { done(); resolve(false); };
        input.once('readable', go);
        input.once('end', end);
        input.once('error', end);
      });
      if (!more) return parts.length > 0 ? Buffer.concat(parts).toString('utf8') : undefined;
      continue;
    }
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const nl = b.indexOf(0x0a);
    if (nl < 0) {
      parts.push(b);
      continue;
    }
    if (nl + 1 < b.length) input.unshift(b.subarray(nl + 1));
    parts.push(b.subarray(0, nl));
    return Buffer.concat(parts).toString('utf8');
  }
}

/** GNU's yes (rpmatch in the C locale): an answer starting with y or Y. */
export const isYes = (answer: string | undefined): boolean => answer !== undefined && /^[yY]/.test(answer);
