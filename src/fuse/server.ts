// `dbox mount DIR --foreground`: serves the containers of the current engine at DIR until it is
// unmounted, signalled, or (with --parent-pipe) its parent dbox goes away. This process must
// never touch its own mount: fuse-native calls the ops on this event loop, so a blocking call on
// a path of the mount would deadlock it. The ops reach containers through /proc/<pid>/root and
// the engine, never through DIR.
import fs from 'node:fs';
import {spawnSync} from 'node:child_process';
import type {FuseOptions} from 'fuse-native';
import {Engine} from '../docker/engine.js';
import {Namespace} from '../vfs/namespace.js';
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

export function isMounted(dir: string): boolean {
  const mounts = fs.readFileSync('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === dir.replace(/ /g, '\\040'));
}

/** Lazily detaches a mount (works while a process still has its cwd inside it). */
export function detach(dir: string): void {
  if (!isMounted(dir)) return;
  if (spawnSync('fusermount3', ['-u', '-z', dir], {stdio: 'ignore'}).status !== 0) {
    spawnSync('umount', ['-l', dir], {stdio: 'ignore'});
  }
}

export async function serve(dir: string, options: {readyFd?: number; parentPipe?: boolean} = {}): Promise<never> {
  const {default: Fuse} = await import('fuse-native');
  const ns = new Namespace(new Engine());
  const stopWatching = await ns.live().catch(() => () => undefined);
  const fuse = new Fuse(dir, makeOps(ns), mountOptions);
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));

  let ending = false;
  const end = (code: number): void => {
    if (ending) return;
    ending = true;
    stopWatching();
    detach(dir);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => end(0));
  // Unmounted from outside (dbox umount, fusermount -u): nothing left to serve.
  setInterval(() => {
    if (!isMounted(dir)) end(0);
  }, 1000).unref();
  if (options.parentPipe) {
    // The parent holds the other end of stdin: EOF means it exited or crashed.
    process.stdin.on('end', () => end(0)).on('error', () => end(0)).resume();
  }
  if (options.readyFd !== undefined) {
    fs.writeSync(options.readyFd, `${dir}\n`);
    fs.closeSync(options.readyFd);
  }
  return new Promise<never>(() => undefined);
}
