// The path model (pure): a virtual path is either a host path, the /containers directory,
// a path inside one container (/containers/<name>/...), the /hosts tree of other endpoints, or
// /images/<repo:tag>/... and /volumes/<name>/... (the current engine's).
// Normalisation is lexical, as bash's logical `cd`: `/containers/web/..` is `/containers`.
// Inside a container, symlinks are resolved later, in-root, by the driver.

export const CONTAINERS = '/containers';
export const HOSTS = '/hosts';
export const IMAGES = '/images';
export const VOLUMES = '/volumes';

export type Location =
  | {readonly kind: 'host'; readonly path: string}
  | {readonly kind: 'containers'; readonly endpoint?: string}
  | {readonly kind: 'hosts'}
  | {readonly kind: 'container'; readonly endpoint?: string; readonly name: string; readonly path: string}
  /** /images/… and /volumes/…: the components below (an image's name may span several). */
  | {readonly kind: 'images' | 'volumes'; readonly parts: readonly string[]};

/** Lexically normalises an absolute path: collapses `//`, `.`, `..` (never above `/`), drops a trailing `/`. */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export interface PathEnv {
  readonly cwd: string;
  readonly home: string;
}

/** Makes `arg` absolute against the working directory. A builtin's operand comes from bash, which
 *  already expanded what it would (`~`, `~/x`, `~user`): a `~` left in it is a name (`ls '~'`). */
export function absolute(arg: string, env: PathEnv): string {
  return normalize(arg.startsWith('/') ? arg : `${env.cwd}/${arg}`);
}

/** A word still being typed (completion), before bash expands it: `~` and `~/…` are the home. */
export function typedPath(arg: string, env: PathEnv): string {
  return absolute(arg === '~' || arg.startsWith('~/') ? env.home + arg.slice(1) : arg, env);
}

/** Splits a normalised absolute path into parts. */
function parts(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function locate(path: string): Location {
  const p = parts(normalize(path));
  if (p[0] === 'containers') {
    if (p.length === 1) return {kind: 'containers'};
    return {kind: 'container', name: p[1]!, path: '/' + p.slice(2).join('/')};
  }
  if (p[0] === 'hosts') {
    if (p.length === 1) return {kind: 'hosts'};
    if (p.length === 2) return {kind: 'containers', endpoint: p[1]!};
    return {kind: 'container', endpoint: p[1]!, name: p[2]!, path: '/' + p.slice(3).join('/')};
  }
  if (p[0] === 'images' || p[0] === 'volumes') return {kind: p[0], parts: p.slice(1)};
  return {kind: 'host', path: '/' + p.join('/')};
}

export function basename(path: string): string {
  const n = normalize(path);
  return n === '/' ? '/' : n.slice(n.lastIndexOf('/') + 1);
}

export function dirname(path: string): string {
  const n = normalize(path);
  const i = n.lastIndexOf('/');
  return i <= 0 ? '/' : n.slice(0, i);
}

export function join(dir: string, name: string): string {
  return normalize(`${dir}/${name}`);
}

/** Shows `path` with the home directory as `~` (for prompts). */
export function tildify(path: string, home: string): string {
  if (home !== '/' && (path === home || path.startsWith(home + '/'))) return '~' + path.slice(home.length);
  return path;
}

/** The path a symlink at `link` with contents `target` points to, inside the same root. */
export function linkTargetPath(link: string, target: string): string {
  return target.startsWith('/') ? normalize(target) : join(dirname(link), target);
}

/** How many links a lookup follows before ELOOP, as the kernel (MAXSYMLINKS). */
export const MAX_LINK_HOPS = 40;

/** What is at a path, for followInRoot: nothing, a symlink (its target, as readlink gives it), or something else. */
export type LinkLook<T> = undefined | {readonly link: string} | {readonly found: T};

/**
 * The one in-root link follower (the engine driver's lookups, cp's destinations and -L sources):
 * while the last component of the path is a symlink, its target (resolved lexically in the same
 * root: "/" and ".." stop at the root, so no target leads out), at most MAX_LINK_HOPS times.
 * The path it ends at, and what `look` found there (undefined: nothing, as for a dangling link);
 * 'loop' after too many hops. Pure: `look` does the lookups.
 */
export async function followInRoot<T>(path: string, look: (path: string) => Promise<LinkLook<T>>): Promise<{path: string; found?: T} | 'loop'> {
  let current = path;
  for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
    const at = await look(current);
    if (at === undefined) return {path: current};
    if ('found' in at) return {path: current, found: at.found};
    current = linkTargetPath(current, at.link);
  }
  return 'loop';
}
