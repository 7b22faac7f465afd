// What a copy may make, by where it comes from and where it goes (pure). The source decides
// the trust: the host's own files are the user's, a container's are not.
// - Modes of new entries follow GNU cp 9.1 (copy_mode in native/inroot.c, one rule for both
//   kinds of copy): without -p, files get mode & 0777 less the umask (no set-id bits: GNU as
//   root drops them too), directories mode & 01777 less the umask; with -p (--preserve=mode) the
//   exact mode, devices included.
// - From a container to the host, even with -p/-a, no setuid or setgid bit is kept: a container
//   must not mint a set-id binary (or set-id directory) on the host. Between containers, and
//   from the host into a container, -p keeps them (as GNU cp does).
// - From a container to the host, device nodes are not made (each is reported and the copy ends
//   with status 1) unless --devices asks for them. FIFOs and sockets are made: an inert node.
// - From a container, a copy never writes through a symlink at the destination: it replaces the
//   link (as --remove-destination does), and merges a directory only into a real directory. A
//   copy from the host writes through it, as GNU cp does.
import {COPY_DEVICES, COPY_DROP_SETID, COPY_LINKS, COPY_OWNER, COPY_PRESERVE, COPY_SPARSE_ALWAYS, COPY_SPARSE_NEVER,
  COPY_TIMES} from '../native.js';

export interface CopyPolicy {
  /** Flags for the native tree copy and copyMode (COPY_*). */
  readonly flags: number;
  /** A copy onto a symlink writes to the link's target; otherwise it replaces the link. */
  readonly followDestLinks: boolean;
}

/** What --preserve=LIST names (context and xattr are taken and mean nothing here). */
export type Attribute = 'mode' | 'ownership' | 'timestamps' | 'links';

/** -p: mode, ownership and timestamps; -a: those and links. */
export const PRESERVE_P: readonly Attribute[] = ['mode', 'ownership', 'timestamps'];

export interface PolicyOptions {
  /** What a copy keeps of its source: true is -p's three. */
  readonly preserve: boolean | readonly Attribute[];
  /** --devices */
  readonly devices?: boolean;
  /** --sparse=WHEN (auto when absent: holes stay holes). */
  readonly sparse?: 'auto' | 'always' | 'never';
}

/** The attributes `preserve` names. */
export const preserved = (preserve: PolicyOptions['preserve']): ReadonlySet<Attribute> =>
  new Set(preserve === true ? PRESERVE_P : preserve === false ? [] : preserve);

/** The policy of a copy from a filesystem to another (`isHost` as on ContainerFs). */
export function copyPolicy(src: {readonly isHost?: boolean}, dst: {readonly isHost?: boolean}, options: PolicyOptions): CopyPolicy {
  const containerToHost = src.isHost !== true && dst.isHost === true;
  const keep = preserved(options.preserve);
  let flags = (keep.has('mode') ? COPY_PRESERVE : 0) | (keep.has('ownership') ? COPY_OWNER : 0) |
    (keep.has('timestamps') ? COPY_TIMES : 0) | (keep.has('links') ? COPY_LINKS : 0);
  if (options.sparse === 'never') flags |= COPY_SPARSE_NEVER;
  if (options.sparse === 'always') flags |= COPY_SPARSE_ALWAYS;
  if (containerToHost) flags |= COPY_DROP_SETID;
  if (!containerToHost || options.devices === true) flags |= COPY_DEVICES;
  return {flags, followDestLinks: src.isHost === true};
}
