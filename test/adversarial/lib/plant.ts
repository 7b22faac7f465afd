// A planted host process: what an engine's lying (or foreign-namespace) State.Pid names on this
// host. It runs `sleep` in a private mount namespace, chrooted into a root of its own that holds a
// token, so that anything dbox serves from /proc/<pid>/root of it is recognisable. It can be put at
// an exact pid number (as root: write N-1 to /proc/sys/kernel/ns_last_pid, then fork; retried).
import crypto from 'node:crypto';
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {snapshot, type Snapshot} from './canary.js';

export interface Plant {
  readonly pid: number;
  /** The planted root on the host ('/' when the pid was already a process, e.g. a kernel thread). */
  readonly root: string;
  /** The pid number was taken by another process before the plant (a kernel thread?): it is the target. */
  readonly occupied: boolean;
  readonly token: string;
  record(): Snapshot;
  /** The root as planted (or as last rebased). */
  readonly original: Snapshot;
  /** Takes the current state as the new original (after a case that changed it has been reported). */
  rebase(): void;
  kill(): void;
}

function makeRoot(base: string): {root: string; token: string} {
  const root = fs.mkdtempSync(path.join(base, 'planted-root-'));
  const token = `DBOX-PLANTED-ROOT-${crypto.randomBytes(6).toString('hex')}`;
  fs.mkdirSync(path.join(root, 'etc'));
  fs.mkdirSync(path.join(root, 'tmp'));
  fs.copyFileSync('/bin/busybox', path.join(root, 'busybox'));
  fs.chmodSync(path.join(root, 'busybox'), 0o755);
  fs.writeFileSync(path.join(root, 'etc/hostname'), `${token}\n`);
  fs.writeFileSync(path.join(root, 'PLANTED-MARKER'), `${token}\n`);
  for (const p of [path.join(root, 'etc/hostname'), path.join(root, 'PLANTED-MARKER'), path.join(root, 'etc'), path.join(root, 'tmp'), root]) {
    fs.utimesSync(p, 1_000_000_000, 1_000_000_000);
  }
  return {root, token};
}

const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`);

/** Plants the process; at `pid` exactly when given (throws if that number cannot be had). */
export function plant(base: string, pid?: number): Plant {
  const {root, token} = makeRoot(base);
  const cmd = `unshare --mount --propagation private -- chroot '${root}' /busybox sleep 100000 </dev/null >/dev/null 2>&1`;
  const make = (got: number, occupied: boolean): Plant => {
    let original = snapshot(root);
    return {
      pid: got, root: occupied ? '/' : root, occupied, token,
      get original() { return original; },
      rebase() { original = snapshot(root); },
      record: () => snapshot(root),
      kill() {
        if (!occupied) {
          try {
            process.kill(got, 'SIGKILL');
          } catch { /* gone */ }
        }
        fs.rmSync(root, {recursive: true, force: true});
      },
    };
  };
  if (pid === undefined) {
    const r = spawnSync('sh', ['-c', `${cmd} & echo $!`], {encoding: 'utf8'});
    return make(Number(r.stdout.trim()), false);
  }
  if (alive(pid)) return make(pid, true);
  for (let attempt = 0; attempt < 400; attempt++) {
    const r: {stdout: string} = spawnSync('sh', ['-c', `echo ${pid - 1} > /proc/sys/kernel/ns_last_pid; ${cmd} & echo $!`], {encoding: 'utf8'});
    const got: number = Number(r.stdout.trim());
    if (got === pid) return make(got, false);
    try {
      process.kill(got, 'SIGKILL');
    } catch { /* gone */ }
    if (alive(pid)) return make(pid, true); // someone else took it meanwhile: that process is the target now
  }
  throw new Error(`could not plant a process at pid ${pid}`);
}
