// The mount's fast path: dbox-fuse (native/fuse-server.c) serves the mount point and passes each
// container's requests straight to a directory tree by file descriptors. This module tells it the
// trees and keeps them current with the engine's events:
//   - a running container of the local engine, when the one policy of which tree serves a
//     container (vfs/serving.ts, the namespace's too) proves its root: that root, as a descriptor
//     this process holds a lease of until dbox-fuse has its own;
//   - any other (stopped, or the engine is elsewhere), and .hosts: that name in dbox's own
//     fuse-native mount (`engineDir`: /proc/<this pid>/fd/<fd>, a detached mount), where Node
//     serves it through the engine driver.
//
// The control protocol (dbox-fuse's header has the reader's side): each record is NUL-terminated
// fields, "+" NAME PATH FLAGS or "-" NAME, answered by one line, "ok" or "error WHY". A field
// holding NUL, or a name outside Docker's grammar, is refused here before it is written, so no
// container name (engine JSON, hostile) can be read as two records; dbox-fuse checks names again.
// An error answer (a tree that cannot be opened) is written to the log and the name goes.
import type {ChildProcess} from 'node:child_process';
import type {ContainerInfo} from '../docker/engine.js';
import {validContainerName} from '../docker/validate.js';
import type {Namespace} from '../vfs/namespace.js';
import type {Lease, Serving} from '../vfs/serving.js';
import {HOSTS_DIR, IMAGES_DIR, VOLUMES_DIR} from './ops.js';
import {spawnReady} from './ready.js';

/** The tree of a name and how dbox-fuse serves it (w: watched with inotify, so the kernel may cache
 *  longer; h: hidden from the listing). */
export interface Tree {
  readonly path: string;
  readonly flags: '' | 'w' | 'h';
}
export type Roots = Map<string, Tree>;

export type ControlRecord = {readonly op: '+'; readonly name: string; readonly tree: Tree} | {readonly op: '-'; readonly name: string};

/** Whether dbox-fuse takes `name` as a root's name: Docker's grammar, or "." + it when hidden. */
const validRootName = (name: string, hidden: boolean): boolean => validContainerName(hidden ? name.replace(/^\./, '') : name) && (!hidden || name.startsWith('.'));

/** One record as bytes; throws on anything dbox-fuse could read another way. */
export function encode(record: ControlRecord): Buffer {
  const fields = record.op === '+' ? ['+', record.name, record.tree.path, record.tree.flags] : ['-', record.name];
  if (!validRootName(record.name, record.op === '+' && record.tree.flags === 'h')) throw new Error(`not a container name: ${JSON.stringify(record.name)}`);
  if (fields.some((f) => f.includes('\0'))) throw new Error('a NUL byte in a control record');
  return Buffer.from(fields.map((f) => `${f}\0`).join(''));
}

/**
 * The tree behind each name of the mount's root, and the leases of the roots it names. `serve`
 * answers vfs/serving.ts's question for a container: a running container's root as a descriptor
 * this process holds, or none; dbox-fuse opens it again through /proc/<this pid>/fd/<fd>, so it
 * never re-resolves a /proc/<pid> path whose process may have changed meanwhile.
 */
export async function rootsOf(ns: Namespace, engineDir: string, serve: (c: ContainerInfo) => Promise<Serving>): Promise<{roots: Roots; leases: Lease[]}> {
  const roots: Roots = new Map();
  const leases: Lease[] = [];
  for (const c of await ns.containers()) {
    const root = (await serve(c).catch(() => undefined))?.root;
    if (root) leases.push(root);
    roots.set(c.name, root ? {path: `/proc/${process.pid}/fd/${root.fd}`, flags: 'w'} : {path: `${engineDir}/${c.name}`, flags: ''});
  }
  return {roots: withHosts(roots, engineDir), leases};
}

/** `roots` with .hosts, .images and .volumes: the mount presents them whether or not the engine
 *  answers (the session binds them on /hosts, /images and /volumes as soon as the mount is ready). */
export function withHosts(roots: Roots, engineDir: string): Roots {
  const all = new Map(roots);
  for (const dir of [HOSTS_DIR, IMAGES_DIR, VOLUMES_DIR]) all.set(dir.slice(1), {path: `${engineDir}${dir}`, flags: 'h'});
  return all;
}

/** The records that turn `from` into `to`. */
export function changes(from: Roots, to: Roots): ControlRecord[] {
  const records: ControlRecord[] = [];
  for (const name of from.keys()) if (!to.has(name)) records.push({op: '-', name});
  for (const [name, tree] of to) {
    const was = from.get(name);
    if (!was || was.path !== tree.path || was.flags !== tree.flags) records.push({op: '+', name, tree});
  }
  return records;
}

export class FrontServer {
  private current: Roots = new Map();
  /** Leases of the roots `current` names: released once dbox-fuse has answered the next sync (it
   *  holds its own descriptors then), so no number it may still open is reused meanwhile. */
  private held: Lease[] = [];
  private syncing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcess,
    private readonly answers: AsyncIterator<string>,
    private readonly ns: Namespace,
    private readonly engineDir: string,
    private readonly log: (line: string) => void,
  ) {
    // The namespace drops a container's root when its process changes (ns.serving), before this.
    ns.onChange(() => void this.sync());
  }

  /**
   * Starts dbox-fuse on `dir` (its messages go to `stderr`: the log) and gives it the current trees;
   * rejects when it cannot mount. `engineDir` may still be on its way (the engine mount is made
   * while dbox-fuse starts): the trees are given once it is there, and when it fails, dbox-fuse is
   * ended and that failure is this one's. `log` takes this side's messages; `options`: the user's
   * mount options for libfuse's -o (mount-options.ts optionList, '' for none).
   */
  static async start(helper: string, dir: string, ns: Namespace, engineDir: string | Promise<string>, log: (line: string) => void,
    options = ''): Promise<FrontServer> {
    const {child, lines} = await spawnReady(helper, options ? [dir, options] : [dir], {channel: 1, stdin: 'pipe', stderr: 'inherit'});
    child.stdin!.on('error', () => undefined); // dbox-fuse gone: its exit is reported by onExit
    let front: FrontServer;
    try {
      front = new FrontServer(child, lines!, ns, await engineDir, log);
    } catch (error) {
      await stopChild(child);
      throw error;
    }
    await front.sync();
    return front;
  }

  /** Sends one record and waits for its answer: an error is logged, and a name refused is
   *  forgotten (dbox-fuse serves nothing under it: the next sync sends it again). */
  private async send(record: ControlRecord): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = encode(record);
    } catch (error) {
      this.log(`mount: ${(error as Error).message}`);
      return;
    }
    this.child.stdin!.write(bytes);
    const answer = await this.answers.next();
    if (answer.done) throw new Error('dbox-fuse exited');
    if (answer.value === 'ok') return;
    this.log(`mount: ${record.op}${record.name}: ${answer.value}`);
    if (record.op === '+') this.current.delete(record.name);
  }

  /** Brings the trees up to date (calls are queued: one sync at a time, each sees the latest list);
   *  the engine's container events call it. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      // An engine that does not answer changes no container (the next event or reconnection syncs
      // again), and the descriptors dropped meanwhile stay open: dbox-fuse may still be using them.
      const listed = await rootsOf(this.ns, this.engineDir, (c) => this.ns.serving.serving(c, this.ns.engine)).catch((error: unknown) => {
        this.log(`mount: ${(error as Error).message}`);
        return undefined;
      });
      const next = listed?.roots ?? withHosts(this.current, this.engineDir);
      const records = changes(this.current, next);
      this.current = next;
      const releasing = listed ? this.held : [];
      if (listed) this.held = listed.leases;
      try {
        for (const record of records) await this.send(record);
      } finally {
        // dbox-fuse holds its own descriptors of the new roots now (and none of the old ones): the old leases go.
        for (const lease of releasing) lease.release();
      }
    }).catch((error: unknown) => this.log(`mount: ${(error as Error).message}`));
    return this.syncing;
  }

  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) listener(this.child.exitCode, this.child.signalCode);
    else this.child.once('exit', listener);
  }

  /** Ends dbox-fuse, which unmounts its mount point; resolves when it has exited. */
  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Ends dbox-fuse (SIGTERM: it unmounts); resolves when it has exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return gone;
}
