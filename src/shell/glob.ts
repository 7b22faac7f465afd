// Glob expansion against the namespace, so `ls /containers/*/etc/hostname` works like bash on
// host paths. Matches keep the form the user typed (relative stays relative); a pattern with no
// match stays as it is (bash's default). Dotfiles match only a pattern that starts with a dot.
import type {Namespace} from '../vfs/namespace.js';
import {normalize, type PathEnv} from '../vfs/path.js';

const magic = /[*?[]/;

export async function expandGlob(pattern: string, ns: Namespace, env: PathEnv): Promise<string[]> {
  const {default: picomatch} = await import('picomatch');
  let shown = '';
  let rest = pattern;
  let abs = env.cwd;
  if (pattern === '~' || pattern.startsWith('~/')) {
    shown = '~';
    abs = env.home;
    rest = pattern.slice(1);
  }
  if (rest.startsWith('/')) {
    abs = '/';
    shown += '/';
  }
  const parts = rest.split('/').filter((p) => p !== '');
  let found: {abs: string; shown: string}[] = [{abs, shown}];
  let sawGlob = false;
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const sep = last ? '' : '/';
    if (!magic.test(part)) {
      found = found.map((f) => ({abs: normalize(`${f.abs}/${part}`), shown: `${f.shown}${part}${sep}`}));
      continue;
    }
    sawGlob = true;
    const isMatch = picomatch(part, {dot: part.startsWith('.')});
    const next: {abs: string; shown: string}[] = [];
    for (const f of found) {
      const entries = await ns.readdir(f.abs).catch(() => []);
      for (const e of entries) {
        if (!isMatch(e.name)) continue;
        if (!last && e.type !== 'dir' && e.type !== 'symlink') continue;
        next.push({abs: normalize(`${f.abs}/${e.name}`), shown: `${f.shown}${e.name}${sep}`});
      }
    }
    found = next.sort((a, b) => (a.shown < b.shown ? -1 : a.shown > b.shown ? 1 : 0));
    if (found.length === 0) break;
  }
  if (!sawGlob) return [pattern];
  // Literal parts after the last glob must exist.
  const existing: string[] = [];
  for (const f of found) {
    if (await ns.lstat(f.abs).then(() => true, () => false)) existing.push(f.shown);
  }
  return existing.length > 0 ? existing : [pattern];
}
