// Rewriting virtual paths for the real shell (pure): the shell sees containers through the FUSE
// mount, so `/containers/web/etc` becomes `<mount>/web/etc`. Only words that start with
// /containers are paths; `foo/containers/x` or `--root=/containersx` are left alone.
import {CONTAINERS, HOSTS, locate} from '../vfs/path.js';

/** The mount path of a virtual path, or undefined when it is not a container path. */
export function toMountPath(virtualPath: string, mountDir: string): string | undefined {
  const loc = locate(virtualPath);
  const hosts = `${mountDir}/.hosts`;
  const inner = (path: string): string => (path === '/' ? '' : path);
  switch (loc.kind) {
    case 'host': return undefined;
    case 'hosts': return hosts;
    case 'containers': return loc.endpoint === undefined ? mountDir : `${hosts}/${loc.endpoint}`;
    case 'container':
      return loc.endpoint === undefined ? `${mountDir}/${loc.name}${inner(loc.path)}` : `${hosts}/${loc.endpoint}/${loc.name}${inner(loc.path)}`;
  }
}

// /containers at the start of a shell word: after the line start, blanks, quotes, `=` (--opt=/x,
// VAR=/x), redirections and command separators; followed by `/` or the end of the word.
const containerWord = new RegExp(`(^|[\\s'"=<>|;&(:])(${CONTAINERS}|${HOSTS})(?=[/\\s'"|;&)<>:]|$)`, 'g');

export function rewriteLine(line: string, mountDir: string): string {
  return line.replace(containerWord, (_m, before: string, root: string) => `${before}${mountDir}${root === HOSTS ? '/.hosts' : ''}`);
}

export const mentionsContainers = (line: string): boolean => new RegExp(containerWord.source).test(line);
