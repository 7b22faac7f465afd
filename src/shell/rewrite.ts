// Rewriting virtual paths for the real shell (pure): the shell sees containers through the FUSE
// mount, so `/containers/web/etc` becomes `<mount>/web/etc`. Only words that start with
// /containers are paths; `foo/containers/x` or `--root=/containersx` are left alone.
import {CONTAINERS, locate} from '../vfs/path.js';

/** The mount path of a virtual path, or undefined when it is not a container path. */
export function toMountPath(virtualPath: string, mountDir: string): string | undefined {
  const loc = locate(virtualPath);
  if (loc.kind === 'containers' && loc.endpoint === undefined) return mountDir;
  if (loc.kind === 'container' && loc.endpoint === undefined) return `${mountDir}/${loc.name}${loc.path === '/' ? '' : loc.path}`;
  return undefined;
}

// /containers at the start of a shell word: after the line start, blanks, quotes, `=` (--opt=/x,
// VAR=/x), redirections and command separators; followed by `/` or the end of the word.
const containerWord = new RegExp(`(^|[\\s'"=<>|;&(:])${CONTAINERS}(?=[/\\s'"|;&)<>:]|$)`, 'g');

export function rewriteLine(line: string, mountDir: string): string {
  return line.replace(containerWord, (_m, before: string) => `${before}${mountDir}`);
}

export const mentionsContainers = (line: string): boolean => new RegExp(containerWord.source).test(line);
