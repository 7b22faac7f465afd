// `dbox mount DIR -o OPTIONS`: the one place that reads mount options and turns them into what each
// server is given (pure; unit-tested in test/unit/mount-options.test.ts).
//
// Accepted: allow_other (other users may use the mount; default_permissions always comes with it,
// so the kernel checks each file's owner and mode for the caller: without it every user would act
// as root, the server's identity; files they create are given their uid/gid, as bindfs does),
// default_permissions (on its own), ro and rw (the last one given wins, as mount(8) does). Anything
// else is refused before anything is mounted: no option reaches libfuse unless it is in this list,
// so no `-o` can name a libfuse or kernel option dbox did not choose (fd=, user_id=, dev, suid...).
//
// What is trusted: the caller's own command line (the options), and /etc/fuse.conf (root's file)
// to say whether a user other than root may ask for allow_other.

export interface MountOptions {
  /** Other users may use the mount (with default_permissions; created files get the caller's ids). */
  readonly allowOther: boolean;
  /** The kernel checks permissions from each file's owner and mode. */
  readonly defaultPermissions: boolean;
  /** Mounted read-only (MS_RDONLY): every write fails with EROFS. */
  readonly readOnly: boolean;
}

export const NO_OPTIONS: MountOptions = {allowOther: false, defaultPermissions: false, readOnly: false};

/** A usage error of `dbox mount` (status 2), its message without the `dbox: mount: ` prefix. */
export class MountUsageError extends Error {}

const KNOWN = ['allow_other', 'default_permissions', 'ro', 'rw'] as const;

/** The options of one or more `-o` values (each a comma-separated list; empty items are skipped). */
export function parseMountOptions(values: readonly string[]): MountOptions {
  let allowOther = false;
  let defaultPermissions = false;
  let readOnly = false;
  for (const item of values.flatMap((v) => v.split(','))) {
    if (item === '') continue;
    if (!(KNOWN as readonly string[]).includes(item)) throw new MountUsageError(`unknown mount option '${item}'`);
    if (item === 'allow_other') allowOther = true;
    else if (item === 'default_permissions') defaultPermissions = true;
    else readOnly = item === 'ro';
  }
  return {allowOther, defaultPermissions: defaultPermissions || allowOther, readOnly};
}

export interface MountArgs {
  readonly options: MountOptions;
  readonly foreground: boolean;
  readonly parentPipe: boolean;
  readonly readyFd?: number;
  /** The operands (the mount point), in order; options may come before or after them. */
  readonly operands: readonly string[];
  /** --help or -h was given. */
  readonly help: boolean;
}

/**
 * The arguments of `dbox mount` (or `umount`) after the command word: `-o LIST` (repeatable, or
 * `-oLIST`), --help/-h, `--` (what follows is an operand even when it starts with '-'), the
 * internal ones of the mount process (--foreground, --parent-pipe, --ready-fd N), and operands.
 * Throws a MountUsageError on an unknown option: a word starting with '-' is never taken for a
 * directory (`dbox mount --help` once mounted at ./--help).
 */
export function parseMountArgs(args: readonly string[]): MountArgs {
  const lists: string[] = [];
  const operands: string[] = [];
  let foreground = false;
  let parentPipe = false;
  let help = false;
  let readyFd: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a === '-o' || a === '--ready-fd') {
      const value = args[++i];
      if (value === undefined) throw new MountUsageError(a === '-o' ? "option requires an argument -- 'o'" : "option '--ready-fd' requires an argument");
      if (a === '-o') lists.push(value);
      else if (/^\d+$/.test(value)) readyFd = Number(value);
      else throw new MountUsageError(`invalid descriptor '${value}'`);
    } else if (a.startsWith('-o')) lists.push(a.slice(2));
    else if (a === '--foreground') foreground = true;
    else if (a === '--parent-pipe') parentPipe = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a.startsWith('--')) throw new MountUsageError(`unrecognized option '${a}'`);
    else if (a.startsWith('-') && a !== '-') throw new MountUsageError(`invalid option -- '${a.slice(1, 2)}'`);
    else operands.push(a);
  }
  return {options: parseMountOptions(lists), foreground, parentPipe, operands, help, ...(readyFd !== undefined ? {readyFd} : {})};
}

/** The options as one comma-separated list for libfuse's -o (and for `dbox mount -o`), '' when none. */
export function optionList(o: MountOptions): string {
  return [o.allowOther && 'allow_other', o.defaultPermissions && 'default_permissions', o.readOnly && 'ro'].filter(Boolean).join(',');
}

/** Whether /etc/fuse.conf's text lets users other than root mount with allow_other. */
export function userAllowOther(fuseConf: string): boolean {
  return fuseConf.split('\n').some((line) => line.replace(/#.*/, '').trim() === 'user_allow_other');
}

/** Why `uid` may not mount with `options` given /etc/fuse.conf's text (undefined: it may). */
export function refusal(options: MountOptions, uid: number, fuseConf: string | undefined): string | undefined {
  if (!options.allowOther || uid === 0 || (fuseConf !== undefined && userAllowOther(fuseConf))) return undefined;
  return "allow_other needs 'user_allow_other' in /etc/fuse.conf for users other than root (ask the administrator to add it)";
}
