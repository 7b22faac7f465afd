// The FUSE mount the shell keeps in the background for external commands: a child process
// (`dbox mount DIR --foreground`) under a private per-user runtime directory, started on first
// use, stopped when dbox exits. The child also stops when dbox dies (its stdin, a pipe from
// dbox, reaches EOF). A mount left by a crash of both is found and removed at the next start.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {DboxError} from '../vfs/errors.js';
import {dboxLauncher} from '../self.js';
import {detach, isMounted} from './mounts.js';

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

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('dbox');
  } catch {
    return false;
  }
};

/** The FUSE connection number of a mount (its device minor), from mountinfo: stat on a dead mount hangs. */
function connectionOf(dir: string): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] === dir.replace(/ /g, '\\040')) return f[2]?.split(':')[1];
  }
  return undefined;
}

/** The mount point of dbox process `pid`: named `containers`, so paths in the output of
 *  external commands read `…/<pid>/containers/web/etc/passwd`. */
export const mountPointOf = (runtime: string, pid: number): string => path.join(runtime, String(pid), 'containers');

/** The mounts a dbox process `pid` may leave under the runtime directory: the shell's mount point,
 *  and the engine mount behind a mount's fast path (server.ts). */
const mountsOf = (runtime: string, pid: number): string[] => [mountPointOf(runtime, pid), engineMountOf(runtime, pid)];

/** Where the mount process `pid` mounts what Node serves (stopped and remote containers). */
export const engineMountOf = (runtime: string, pid: number): string => path.join(runtime, String(pid), 'engine');

/** Removes the mounts of dbox processes that are gone, aborting their dead FUSE connections first. */
export function cleanStale(dir: string): string[] {
  const cleaned: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!/^\d+$/.test(name) || alive(Number(name))) continue;
    for (const mnt of mountsOf(dir, Number(name))) {
      if (isMounted(mnt)) {
        abortConnection(mnt);
        detach(mnt);
        cleaned.push(mnt);
      }
      try { fs.rmdirSync(mnt); } catch { /* still busy, or gone */ }
    }
    try { fs.rmdirSync(path.join(dir, name)); } catch { /* still busy, or gone */ }
  }
  return cleaned;
}

/** Fails every request of a mount whose server is dead, so that nothing waits on it. */
function abortConnection(mnt: string): void {
  const conn = connectionOf(mnt);
  if (conn === undefined) return;
  try {
    if (!fs.existsSync('/sys/fs/fuse/connections/' + conn)) {
      spawnSync('mount', ['-t', 'fusectl', 'none', '/sys/fs/fuse/connections'], {stdio: 'ignore'});
    }
    fs.writeFileSync(`/sys/fs/fuse/connections/${conn}/abort`, '1');
  } catch { /* not ours to abort, or already gone */ }
}

export class BackgroundMount {
  private child: ChildProcess | undefined;
  private starting: Promise<string> | undefined;
  readonly dir: string;

  constructor(private readonly runtime: string = runtimeDir()) {
    this.dir = mountPointOf(runtime, process.pid);
  }

  /** The mount point, mounting on first use. */
  ensure(): Promise<string> {
    this.starting ??= this.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private async start(): Promise<string> {
    if (!fs.existsSync('/dev/fuse')) throw new FuseUnavailable('/dev/fuse does not exist (no FUSE in this kernel or container)');
    cleanStale(this.runtime);
    fs.mkdirSync(this.dir, {recursive: true, mode: 0o700});
    const child = spawn(process.execPath, [dboxLauncher, 'mount', this.dir, '--foreground', '--parent-pipe', '--ready-fd', '3'], {
      stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = await new Promise<boolean>((resolve) => {
      child.stdio[3]!.on('data', () => resolve(true));
      child.on('exit', () => resolve(false));
    });
    if (!ready) throw new FuseUnavailable(stderr.trim().split('\n').pop() || 'the mount process exited');
    // Keep the child's stderr flowing (its own errors go to ours), and let dbox exit without waiting for it.
    child.stderr!.removeAllListeners('data');
    child.stderr!.pipe(process.stderr);
    child.unref();
    (child.stdin as unknown as {unref?: () => void})?.unref?.();
    for (const s of [child.stderr, child.stdio[3]]) (s as unknown as {unref?: () => void})?.unref?.();
    return this.dir;
  }

  /** Unmounts and ends the child (synchronous, for exit handlers). */
  stop(): void {
    if (!this.child) return;
    // The child's own mounts too: it cleans up after SIGTERM, but dbox may be gone before it is done.
    const mounts = [this.dir, ...(this.child.pid ? [engineMountOf(this.runtime, this.child.pid)] : [])];
    for (const mnt of mounts) detach(mnt);
    this.child.kill('SIGTERM');
    for (const d of mounts.flatMap((m) => [m, path.dirname(m)])) {
      try { fs.rmdirSync(d); } catch { /* busy or gone */ }
    }
    this.child = undefined;
  }
}
