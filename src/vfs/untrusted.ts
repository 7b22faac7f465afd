// What dbox accepts from a container (pure). Names in listings, tar entries and the output of
// programs run in a container are data a container or an engine chose; file types are too.
// - A directory entry's name is ONE path component: non-empty, no '/', no NUL, not '.' or '..'.
//   Drivers drop entries whose names are not (engine-fs), and every write of a tree copy goes
//   through entryPath(), so no name can lead a write out of the copy's destination, whatever a
//   driver lets through.
// - A tar entry of an archive of DIR is DIR's basename followed by such names, nothing else.
// - Only regular files are read from a container (cat may read a FIFO): a device node is never
//   opened on the host (its driver would run there), and notRegular() words the refusal.
// - An answer of a container that is provably forged (a listing naming `../x`) is not believed and
//   is worked around (the engine's archive lists instead), but never silently: it is reported as a
//   Refusal to whoever listens (cp and ls tell their user and end with status 1; the mount logs).
// Trusted: nothing from a container; the path given by the user (the destination's own path).
import {quoteaf} from '../format/quote.js';
import {FsError} from '../errors.js';
import {S_IFMT, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFSOCK} from './types.js';

/** Whether `name` is one path component other than `.` and `..`. */
export function isEntryName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/**
 * The path of the entry `name` of directory `dir` (an absolute, normalised path), or undefined
 * when `name` is not one path component: the result is always strictly below `dir`.
 */
export function entryPath(dir: string, name: string): string | undefined {
  if (!isEntryName(name)) return undefined;
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** Whether the normalised absolute `path` is `dir` itself or below it. */
export function isWithin(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/** The error for a name a copy will not write (an entry of `dir` named `name`). */
export const badName = (dir: string, name: string): FsError =>
  new FsError('EINVAL', `${dir}/${JSON.stringify(name).slice(1, -1)}`, '(a name from the container that is not one path component)');

/**
 * The components below the archived directory of the tar entry `name`, in an archive (a GET) of
 * a directory whose basename is `top`: "top/", "top/a", "top/a/b"... The engine names the
 * entries of an archive of the root "/", "/a", "/a/b": `top` is '' for it. Returns [] for the
 * directory itself, undefined for a name with an empty, `.` or `..` component or outside `top`.
 * One trailing '/' (a directory's) is allowed.
 */
export function archivePath(top: string, name: string): string[] | undefined {
  let rest = name.endsWith('/') ? name.slice(0, -1) : name;
  if (top === '') {
    if (rest.startsWith('/')) rest = rest.slice(1);
    return rest === '' ? [] : rest.split('/').every(isEntryName) ? rest.split('/') : undefined;
  }
  const parts = rest.split('/');
  if (parts[0] !== top || !parts.every(isEntryName)) return undefined;
  return parts.slice(1);
}

const typeNames: Record<number, string> = {
  [S_IFCHR]: 'a character device', [S_IFBLK]: 'a block device', [S_IFIFO]: 'a fifo', [S_IFSOCK]: 'a socket',
  [S_IFDIR]: 'a directory', [S_IFLNK]: 'a symbolic link',
};

/** 'a character device', 'a fifo', ... for a mode that is not a regular file's. */
export const typeName = (mode: number): string => typeNames[mode & S_IFMT] ?? 'not a regular file';

/** The refusal to open what is not a regular file in a container. */
export const notRegular = (path: string, mode: number): FsError =>
  new FsError('EPERM', path, `(${typeName(mode)} in a container: only regular files are opened)`);

/** A container's listing that dbox did not believe (it named something that is not one path
 *  component), listed from the engine's archive instead. */
export interface Refusal {
  /** The directory (a path in the container) whose listing was forged. */
  readonly path: string;
  /** The first name in it that is not one path component. */
  readonly name: string;
}

/** Where a filesystem reports its refusals: each listener hears every one made while it listens. */
export class Refusals {
  private readonly listeners = new Set<(refusal: Refusal) => void>();

  report(refusal: Refusal): void {
    for (const listener of this.listeners) listener(refusal);
  }

  /** Listens until the returned function is called. */
  listen(listener: (refusal: Refusal) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What a message says after the directory's name: `cp: '/containers/c/data': <this>`. */
export const refusalText = (r: Refusal): string =>
  `the container's own listing was refused: it named ${quoteaf(r.name)}, which is not one file name; the engine's archive was listed instead`;
