// Completion backed by the namespace: commands are the builtins and the executables on $PATH,
// paths are listed through the same drivers as `ls` (containers with their state and id),
// variables are the environment's (the controller may give the session's own instead), users are
// the host's /etc/passwd names (a name with a character that is not allowed in a shell word is left
// out: completion must not insert it).
import fs from 'node:fs';
import path from 'node:path';
import type {Namespace} from '../vfs/namespace.js';
import {join} from '../vfs/path.js';
import {isDir} from '../vfs/types.js';
import type {Candidate, CompletionSource} from './complete.js';

/** `builtins`: the names of the session's builtins (commands besides $PATH's). */
export function namespaceSource(ns: Namespace, env: NodeJS.ProcessEnv, builtins: readonly string[]): CompletionSource {
  let commands: Promise<string[]> | undefined;
  return {
    commands() {
      commands ??= (async () => {
        const names = new Set(builtins);
        for (const dir of (env['PATH'] ?? '').split(':').filter(Boolean)) {
          for (const e of await fs.promises.readdir(dir, {withFileTypes: true}).catch(() => [])) {
            if (e.isFile() || e.isSymbolicLink()) {
              if (await fs.promises.access(path.join(dir, e.name), fs.constants.X_OK).then(() => true, () => false)) names.add(e.name);
            }
          }
        }
        return [...names].sort();
      })();
      return commands;
    },
    async list(dir) {
      const entries = await ns.readdir(dir);
      return Promise.all(entries.map(async (e): Promise<Candidate> => {
        // An entry of /containers carries its container's state (the list's colours) and id.
        if (e.container) return {name: e.name, dir: true, state: e.container.state, id: e.container.id};
        let dirLike = e.type === 'dir';
        if (e.type === 'symlink') dirLike = await ns.stat(join(dir, e.name)).then(isDir, () => false);
        return {name: e.name, dir: dirLike, ...(e.stat ? {mode: e.stat.mode} : {})};
      }));
    },
    async variables() {
      return Promise.all(Object.entries(env).map(async ([name, value]): Promise<Candidate> => ({
        name,
        dir: value !== undefined && value.startsWith('/') && (await fs.promises.stat(value).then((st) => st.isDirectory(), () => false)),
      })));
    },
    async users() {
      const passwd = await fs.promises.readFile('/etc/passwd', 'utf8').catch(() => '');
      return passwd.split('\n').map((l) => l.split(':')[0]!).filter((n) => /^[A-Za-z0-9._-]+$/.test(n));
    },
  };
}
