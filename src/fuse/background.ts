// The FUSE mount the shell keeps in the background for external commands: a child process
// (`dbox mount DIR --foreground`, launch.ts) under a private per-user runtime directory, started on
// first use, in its own session (Ctrl-C at the prompt never reaches it), its messages in the
// mount's log file. It stops when dbox exits, and when dbox dies (its stdin, a pipe from dbox,
// reaches EOF). When it dies on its own, the next use starts it again. A mount left by a crash of
// both is found and removed at the next start (runtime.ts).
import type {ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {launchMount} from './launch.js';
import {isMounted, unmountAndRemove} from './mounts.js';
import {StartFailed} from './ready.js';
import {cleanStale, engineMountOf, FuseUnavailable, mountPointOf, runtimeDir} from './runtime.js';

export {FuseUnavailable, runtimeDir} from './runtime.js';

export class BackgroundMount {
  private child: ChildProcess | undefined;
  private starting: Promise<string> | undefined;
  private log = 'the mount log';
  readonly dir: string;

  /** `onStop` hears, in one line, that the mount stopped on its own (it starts again on next use). */
  constructor(private readonly runtime: string = runtimeDir(), private readonly onStop: (line: string) => void = () => undefined) {
    this.dir = mountPointOf(runtime, process.pid);
  }

  /** The mount point, mounting on first use (and again after the mount stopped). */
  ensure(): Promise<string> {
    if (this.child && !this.healthy(this.child)) this.forget(this.child);
    this.starting ??= this.start().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /**
   * Whether the mount still serves, checked before each use (its exit event may not have been
   * seen yet): the mount process runs (not a zombie), the mount point is mounted, and its root
   * answers (a server that died leaves an aborted connection: ENOTCONN, at once).
   */
  private healthy(child: ChildProcess): boolean {
    try {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      if (/^State:\s+Z/m.test(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))) return false;
      if (!isMounted(this.dir)) return false;
      fs.statSync(this.dir);
      return true;
    } catch {
      return false;
    }
  }

  /** Lets go of a mount process that stopped on its own; the next use starts another. */
  private forget(child: ChildProcess): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.starting = undefined;
    this.onStop(`dbox: the mount stopped (see ${this.log}); it starts again when needed`);
  }

  private async start(): Promise<string> {
    if (!fs.existsSync('/dev/fuse')) throw new FuseUnavailable('/dev/fuse does not exist (no FUSE in this kernel or container)');
    cleanStale(this.runtime);
    // A mount of ours whose servers were killed (this process lives on, so the sweep skipped it).
    unmountAndRemove(this.dir, {dead: true, keep: true});
    fs.mkdirSync(this.dir, {recursive: true, mode: 0o700});
    const {child, log} = await launchMount(this.dir, {parentPipe: true, runtime: this.runtime}).catch((error: unknown) => {
      unmountAndRemove(this.dir);
      throw error instanceof StartFailed ? new FuseUnavailable(error.message) : error;
    });
    this.child = child;
    this.log = log;
    child.once('exit', () => this.forget(child));
    // dbox may exit without waiting for it; its stdin stays open until then (EOF ends the mount).
    child.unref();
    (child.stdin as unknown as {unref?: () => void} | null)?.unref?.();
    child.stdin?.on('error', () => undefined);
    return this.dir;
  }

  /** Unmounts and ends the child (synchronous, for exit handlers). */
  stop(): void {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this.starting = undefined;
    // The child cleans up after SIGTERM, but dbox may be gone before it is done: its mounts too.
    const mounts = [this.dir, ...(child.pid ? [engineMountOf(this.runtime, child.pid)] : [])];
    for (const mnt of mounts) unmountAndRemove(mnt);
    child.kill('SIGTERM');
    for (const mnt of mounts) unmountAndRemove(mnt, {parents: [path.dirname(mnt)]});
  }
}
