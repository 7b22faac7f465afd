// `dbox mount DIR --foreground`: serves the containers of the current engine at DIR until it is
// unmounted, signalled, or (with --parent-pipe) its parent dbox goes away. This process must
// never touch its own mount: fuse-native calls the ops on this event loop, so a blocking call on
// a path of the mount would deadlock it. The ops reach containers through /proc/<pid>/root and
// the engine, never through DIR. With dbox-fuse built, it serves DIR (front.ts) and fuse-native
// serves a private engine mount behind it; dbox-fuse, another process, may use that one.
import fs from 'node:fs';
import path from 'node:path';
import type {FuseOptions} from 'fuse-native';
import {Engine} from '../docker/engine.js';
import {fuseHelper} from '../self.js';
import {Namespace} from '../vfs/namespace.js';
import {engineMountOf, runtimeDir} from './background.js';
import {FrontServer} from './front.js';
import {detach, isMounted} from './mounts.js';
import {makeOps} from './ops.js';

/**
 * libfuse options, and why (figures in the README):
 * - attr/entry timeouts of 1 s: `find` and `du` over a tree do not ask twice for the same names,
 *   while a change made inside the container shows within a second.
 * - auto_cache: the page cache is kept across opens while a file's mtime and size are unchanged,
 *   so repeated reads run at page-cache speed, and a change made in the container drops it.
 * - big_writes, max_write=128 KiB: writes arrive in 128 KiB requests instead of 4 KiB ones.
 *   fuse-native has no option for them: they ride on the comma-joined option string after fsname.
 */
export const mountOptions: FuseOptions = {
  fsname: 'dbox,big_writes,max_write=131072',
  attrTimeout: 1,
  entryTimeout: 1,
  autoCache: true,
  maxRead: 131072,
  force: true,
  mkdir: true,
  timeout: false,
};

export async function serve(dir: string, options: {readyFd?: number; parentPipe?: boolean} = {}): Promise<never> {
  const {default: Fuse} = await import('fuse-native');
  const ns = new Namespace(new Engine());
  const stopWatching = await ns.live().catch(() => () => undefined);
  const mount = async (at: string): Promise<void> => {
    const fuse = new Fuse(at, makeOps(ns), mountOptions);
    await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  };

  // The fast path: dbox-fuse on `dir`, fuse-native on a private directory behind it. Without the
  // helper (not built: no libfuse3), or with DBOX_FUSE=node, fuse-native serves `dir` itself.
  let front: FrontServer | undefined;
  const engineDir = engineMountOf(runtimeDir(), process.pid);
  if (process.env['DBOX_FUSE'] !== 'node' && fs.existsSync(fuseHelper)) {
    fs.mkdirSync(engineDir, {recursive: true, mode: 0o700});
    await mount(engineDir);
    front = await FrontServer.start(fuseHelper, dir, ns, engineDir).catch((error: unknown) => {
      process.stderr.write(`dbox: mount: the fast path is off (${(error as Error).message})\n`);
      return undefined;
    });
    if (!front) leave(engineDir);
  }
  if (!front) await mount(dir);

  let ending = false;
  const end = (code: number): void => {
    if (ending) return;
    ending = true;
    stopWatching();
    front?.stop();
    detach(dir);
    if (front) leave(engineDir);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => end(0));
  // Unmounted from outside (dbox umount, fusermount -u): nothing left to serve.
  front?.onExit(() => end(0));
  setInterval(() => {
    if (!isMounted(dir)) end(0);
  }, 1000).unref();
  if (options.parentPipe) {
    // The parent holds the other end of stdin: EOF means it exited or crashed.
    process.stdin.on('end', () => end(0)).on('error', () => end(0)).resume();
  }
  if (options.readyFd !== undefined) {
    try {
      fs.writeSync(options.readyFd, `${dir}\n`);
      fs.closeSync(options.readyFd);
    } catch {
      end(0); // whoever waited for the mount is gone
    }
  }
  return new Promise<never>(() => undefined);
}

/** Unmounts a private mount and removes its directories. */
function leave(mnt: string): void {
  detach(mnt);
  for (const d of [mnt, path.dirname(mnt)]) {
    try { fs.rmdirSync(d); } catch { /* busy, or not empty */ }
  }
}
