// The mount's fast path: dbox-fuse (native/fuse-server.c) serves the mount point and passes each
// container's requests straight to a directory tree by file descriptors. This module tells it the
// trees and keeps them current with the engine's events:
//   - a running container of the local engine: /proc/<pid>/root, when this process can open it;
//   - any other (stopped, or the engine is elsewhere), and .hosts: that name in dbox's own
//     fuse-native mount (`engineDir`), where Node serves it through the engine driver.
import {spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import {createInterface} from 'node:readline';
import type {ContainerInfo} from '../docker/engine.js';
import type {Namespace} from '../vfs/namespace.js';
import {HOSTS_DIR} from './ops.js';

/** name -> "PATH<TAB>FLAGS" as dbox-fuse takes it (t: absolute links made relative; w: watched with
 *  inotify, so the kernel may cache longer; h: hidden from the listing). */
export type Roots = Map<string, string>;

/**
 * The tree behind each name of the mount's root. `rootOf` gives a running container's root as a
 * descriptor this process holds (the namespace's one decision: fd proven by native/identity.c), or
 * undefined; dbox-fuse opens it again through /proc/<this pid>/fd/<fd>, so it never re-resolves a
 * /proc/<pid> path whose process may have changed meanwhile.
 */
export async function rootsOf(ns: Namespace, engineDir: string, rootOf: (c: ContainerInfo) => Promise<number | undefined>): Promise<Roots> {
  const roots: Roots = new Map();
  for (const c of await ns.containers()) {
    const fd = await rootOf(c).catch(() => undefined);
    // fuse-native presents links relative already; a local root is transformed by dbox-fuse.
    roots.set(c.name, fd !== undefined ? `/proc/${process.pid}/fd/${fd}\ttw` : `${engineDir}/${c.name}\t`);
  }
  roots.set(HOSTS_DIR.slice(1), `${engineDir}${HOSTS_DIR}\th`);
  return roots;
}

/** The control lines that turn `from` into `to`. */
export function changes(from: Roots, to: Roots): string[] {
  const lines: string[] = [];
  for (const name of from.keys()) if (!to.has(name)) lines.push(`-${name}`);
  for (const [name, tree] of to) if (from.get(name) !== tree) lines.push(`+${name}\t${tree}`);
  return lines;
}

export class FrontServer {
  private current: Roots = new Map();
  /** Roots of running containers held open between syncs (an event about a container drops its). */
  private readonly rootFds = new Map<string, Promise<number | undefined>>();
  /** Descriptors dropped by an event, closed once dbox-fuse has acknowledged the next sync. */
  private dropped: Promise<number | undefined>[] = [];
  private acks: (() => void)[] = [];
  private syncing: Promise<void> = Promise.resolve();

  private constructor(private readonly child: ChildProcess, private readonly ns: Namespace, private readonly engineDir: string) {
    createInterface({input: child.stdout!}).on('line', (line) => {
      if (line === 'ok') this.acks.shift()?.();
    });
    ns.onChange((id) => {
      const held = this.rootFds.get(id);
      if (held) this.dropped.push(held);
      this.rootFds.delete(id);
      if (!id) { // the engine reconnected: nothing held is known to be current
        this.dropped.push(...this.rootFds.values());
        this.rootFds.clear();
      }
      void this.sync();
    });
  }

  private rootOf(c: ContainerInfo): Promise<number | undefined> {
    let fd = this.rootFds.get(c.id);
    if (!fd) {
      fd = this.ns.localRoot(c);
      this.rootFds.set(c.id, fd);
    }
    return fd;
  }

  /** Starts dbox-fuse on `dir` and gives it the current trees; rejects when it cannot mount. */
  static async start(helper: string, dir: string, ns: Namespace, engineDir: string): Promise<FrontServer> {
    const child = spawn(helper, [dir], {stdio: ['pipe', 'pipe', 'pipe']});
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = await new Promise<boolean>((resolve) => {
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString().startsWith('ready')));
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
    });
    if (!ready) {
      child.kill('SIGTERM');
      throw new Error(stderr.trim() || 'dbox-fuse did not start');
    }
    child.stderr!.removeAllListeners('data');
    child.stderr!.pipe(process.stderr);
    const front = new FrontServer(child, ns, engineDir);
    await front.sync();
    return front;
  }

  /** Brings the trees up to date (calls are queued: one sync at a time, each sees the latest list);
   *  the engine's container events call it. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      const next = await rootsOf(this.ns, this.engineDir, (c) => this.rootOf(c));
      const lines = changes(this.current, next);
      this.current = next;
      const closing = this.dropped.splice(0);
      await Promise.all(lines.map((line) => new Promise<void>((resolve) => {
        this.acks.push(resolve);
        this.child.stdin!.write(`${line}\n`);
      })));
      // dbox-fuse holds its own descriptors of the new roots now; the old ones go.
      for (const fd of await Promise.all(closing)) if (fd !== undefined) fs.closeSync(fd);
    }).catch(() => undefined);
    return this.syncing;
  }

  onExit(listener: () => void): void {
    this.child.once('exit', listener);
  }

  /** Ends dbox-fuse, which unmounts its mount point. */
  stop(): void {
    this.child.kill('SIGTERM');
  }
}
