// Where dbox's mounts live on the host: the per-user runtime directory, one directory per dbox
// process below it, and the sweep of what a crashed process left there.
//
// What is trusted: a runtime directory only once checked to be a directory of this user, mode
// 0700 (a local user cannot plant names in it). A directory named after a pid belongs to a dead
// dbox when no process of that pid runs dbox: its mounts are aborted (their servers are gone)
// and removed; nothing but those mounts and their empty directories is ever removed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {DboxError} from '../errors.js';
import {unmountAndRemove} from './mounts.js';

export class FuseUnavailable extends DboxError {}

/** $XDG_RUNTIME_DIR/dbox (else /run/user/<uid>/dbox, else <tmp>/dbox-<uid>), mode 0700, ours. */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const uid = process.getuid?.() ?? 0;
  const base = env['XDG_RUNTIME_DIR'] && fs.existsSync(env['XDG_RUNTIME_DIR']) ? env['XDG_RUNTIME_DIR']
    : fs.existsSync(`/run/user/${uid}`) ? `/run/user/${uid}` : undefined;
  const dir = base ? path.join(base, 'dbox') : path.join(os.tmpdir(), `dbox-${uid}`);
  fs.mkdirSync(dir, {recursive: true, mode: 0o700});
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid) throw new FuseUnavailable(`${dir} is not a directory of this user`);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  return dir;
}

/** The mount point of dbox process `pid`: named `containers`, so paths in the output of
 *  external commands read `…/<pid>/containers/web/etc/passwd`. */
export const mountPointOf = (runtime: string, pid: number): string => path.join(runtime, String(pid), 'containers');

/** Where the mount process `pid` mounts what Node serves (stopped and remote containers). */
export const engineMountOf = (runtime: string, pid: number): string => path.join(runtime, String(pid), 'engine');

/** The mounts a dbox process `pid` may leave under the runtime directory. */
const mountsOf = (runtime: string, pid: number): string[] => [mountPointOf(runtime, pid), engineMountOf(runtime, pid)];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dbox');
  } catch {
    return false;
  }
};

/** Removes the mounts of dbox processes that are gone, aborting their dead FUSE connections first. */
export function cleanStale(runtime: string): string[] {
  const cleaned: string[] = [];
  for (const name of fs.readdirSync(runtime)) {
    if (!/^\d+$/.test(name) || alive(Number(name))) continue;
    for (const mnt of mountsOf(runtime, Number(name))) {
      if (unmountAndRemove(mnt, {dead: true})) cleaned.push(mnt);
    }
    try { fs.rmdirSync(path.join(runtime, name)); } catch { /* still busy, or gone */ }
  }
  return cleaned;
}
