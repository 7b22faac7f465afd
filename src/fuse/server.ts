// `dbox mount DIR --foreground`: serves the containers of the current engine at DIR until it is
// unmounted, signalled (SIGTERM, SIGINT, SIGHUP), or (with --parent-pipe) its parent dbox goes
// away; each way out unmounts both of its mounts and removes the directories it made. This
// process must never touch its own mount: fuse-native calls the ops on this event loop, so a
// blocking call on a path of the mount would deadlock it. The ops reach containers through
// /proc/<pid>/root and the engine, never through DIR. With dbox-fuse built, it serves DIR
// (front.ts) and fuse-native serves an engine mount behind it, detached as soon as it is mounted
// and reached only through a descriptor of this process (mounts.ts hideMount): dbox-fuse, another
// process, uses it; it is in no mount table, and it goes with this process however it ends.
//
// Messages go to stderr: the mount's log file when launched in the background (launch.ts), the
// terminal in the foreground. A write error there (EPIPE) is ignored, never fatal.
import fs from 'node:fs';
import path from 'node:path';
import type {FuseOptions} from 'fuse-native';
import {Engine} from '../docker/engine.js';
import {fuseHelper} from '../self.js';
import {quoteaf} from '../format/quote.js';
import {Namespace} from '../vfs/namespace.js';
import {refusalText} from '../vfs/untrusted.js';
import {FrontServer} from './front.js';
import {logLine} from './log.js';
import {hideMount, isMounted, unmountAndRemove} from './mounts.js';
import {byteNames} from './byte-names.js';
import {makeOps} from './ops.js';
import {NO_OPTIONS, optionList, type MountOptions} from './mount-options.js';
import {cleanStale, engineMountOf, runtimeDir} from './runtime.js';
import {fuseProblem, gatherFuse} from './usable.js';

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

/** How long dbox-fuse may take to unmount and exit after SIGTERM before the mount is detached anyway. */
const STOP_GRACE_MS = 2000;

const say = (message: string): void => {
  try {
    process.stderr.write(logLine(message));
  } catch { /* no log to write to: nothing to do */ }
};

/** Tells whoever waits on `fd` (launch.ts) one line, then closes it; false when nobody listens. */
function tell(fd: number | undefined, line: string): boolean {
  if (fd === undefined) return true;
  try {
    fs.writeSync(fd, `${line}\n`);
    fs.closeSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** Whether the mount at `dir` is a FUSE mount whose server is gone (stat: ENOTCONN; a live server answers). */
function deadMount(dir: string): boolean {
  try {
    fs.statSync(dir);
    return false;
  } catch (error) {
    return (error as {code?: string}).code === 'ENOTCONN';
  }
}

/** fuse-native's options for the mount at DIR itself (when it serves it): the user's on top of ours.
 *  fuse-native has no `ro`: it rides on the option string after fsname, as big_writes does. */
export function userMountOptions(o: MountOptions): FuseOptions {
  return {...mountOptions, fsname: `${mountOptions.fsname}${o.readOnly ? ',ro' : ''}`,
    ...(o.allowOther ? {allowOther: true} : {}), ...(o.defaultPermissions ? {defaultPermissions: true} : {})};
}

export async function serve(dir: string, options: {readyFd?: number; parentPipe?: boolean; options?: MountOptions} = {}): Promise<never> {
  const userOptions = options.options ?? NO_OPTIONS;
  process.stderr.on('error', () => undefined);
  const runtime = runtimeDir();
  for (const mnt of cleanStale(runtime)) say(`removed a mount left by a crash: ${mnt}`);
  const engineDir = engineMountOf(runtime, process.pid);
  // A mount at DIR whose server is gone (both killed at once: kill -9 of the process group) answers
  // every look with ENOTCONN: it goes first, or DIR could not be used (nor told from a missing one).
  if (isMounted(dir) && deadMount(dir)) {
    unmountAndRemove(dir, {dead: true, keep: true});
    say(isMounted(dir) ? `${dir}: a dead mount is left there and could not be removed` : `removed a dead mount at ${dir}`);
  }
  // The directories this process made, removed when it ends: the engine mount's always; DIR when
  // it did not exist, or is a mount point of the shell under the runtime directory.
  const shellMount = path.dirname(path.dirname(dir)) === runtime;
  const ownDir = shellMount || !fs.existsSync(dir);
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, {mode: 0o755});
  let front: FrontServer | undefined;
  let stopWatching = (): void => undefined;
  let ending = false;
  const end = async (code: number, why?: string): Promise<never> => {
    if (!ending) {
      ending = true;
      if (why) say(why);
      stopWatching();
      const stopped = front?.stop();
      if (stopped) await Promise.race([stopped, new Promise((r) => setTimeout(r, STOP_GRACE_MS))]);
      unmountAndRemove(dir, {keep: !ownDir, parents: shellMount ? [path.dirname(dir)] : []});
      unmountAndRemove(engineDir, {parents: [path.dirname(engineDir)]});
      process.exit(code);
    }
    return new Promise<never>(() => undefined);
  };
  // This process's signals are the mount's: a handler installed for the shell (cli.ts exits at once
  // on SIGTERM) would leave both mounts behind.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void end(0, `${signal}: unmounting`));
  }
  process.on('uncaughtException', (error) => void end(1, `internal error: ${error.stack ?? String(error)}`));
  if (options.parentPipe) {
    // The parent holds the other end of stdin: EOF means it exited or crashed.
    process.stdin.on('end', () => void end(0)).on('error', () => void end(0)).resume();
  }

  try {
    const {default: Fuse} = await import('fuse-native');
    // The mount lives long: a listing made through the engine is reused for a second, as the
    // kernel keeps names and attributes (mountOptions), so changes made behind it show.
    const ns = new Namespace(new Engine(), {listingTtlMs: 1000});
    ns.onRefusal((c, r) => say(`${c.name}: ${quoteaf(r.path)}: ${refusalText(r)}`));
    // The engine's events are followed from before the trees are first given; the mounts are made
    // while the stream connects.
    const watching = ns.live().catch(() => () => undefined);
    const mount = async (at: string, fuseOptions: FuseOptions, callerOwns = false): Promise<void> => {
      const fuse = new Fuse(at, byteNames(makeOps(ns, {callerOwns})), fuseOptions);
      await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
    };
    // The fast path: dbox-fuse on `dir`, fuse-native on a private directory behind it. Without the
    // helper (not built: no libfuse3), or with DBOX_FUSE=node, fuse-native serves `dir` itself; so
    // it does for users other than root, for whom no container's root is ever passed through (the
    // agent serves every container: dbox-fuse would only add a hop, `ls -l` of 1,000 entries
    // 340 ms against 108 ms).
    if (process.env['DBOX_FUSE'] !== 'node' && fs.existsSync(fuseHelper) && (process.getuid?.() ?? 0) === 0) {
      // dbox-fuse starts while the engine mount is made (each takes a few hundred ms).
      const engineMounted = (async (): Promise<string> => {
        fs.mkdirSync(engineDir, {recursive: true, mode: 0o700});
        await mount(engineDir, mountOptions);
        // Nobody but dbox-fuse needs it: reached by descriptor, it is in no mount table, so no walk of
        // the runtime directory goes into it and no way out of this process can leave it behind.
        return hideMount(engineDir, [path.dirname(engineDir)]).catch((error: unknown) => {
          say(`the engine mount stays visible (${(error as Error).message})`);
          return engineDir;
        });
      })();
      const engineFailed = engineMounted.then(() => false, () => true);
      // The trees are first given once the events are followed: no change falls between the two.
      const givenAt = Promise.all([engineMounted, watching]).then(([root]) => root);
      front = await FrontServer.start(fuseHelper, dir, ns, givenAt, say, optionList(userOptions)).catch(async (error: unknown) => {
        if (!(await engineFailed)) say(`the fast path is off (${(error as Error).message})`);
        return undefined;
      });
      await engineMounted; // its failure is the mount's
      if (!front) unmountAndRemove(engineDir, {parents: [path.dirname(engineDir)]});
    }
    // Serving `dir` itself, fuse-native gives what another user creates to that user (allow_other);
    // behind dbox-fuse its caller is dbox-fuse, which does that itself.
    if (!front) await mount(dir, userMountOptions(userOptions), userOptions.allowOther);
    stopWatching = await watching;
  } catch (error) {
    // fuse-native says only "fuse failed" (libfuse's own words are in the log, above this line).
    const why = fuseProblem(gatherFuse()) ?? (error as Error).message;
    tell(options.readyFd, `error ${why.replace(/\n/g, ' ')}`);
    return end(1, `cannot mount ${dir}: ${why}`);
  }

  // Unmounted from outside (dbox umount, fusermount -u), or dbox-fuse died: nothing left to serve.
  // dbox-fuse ends with 0 only when its mount went away from outside; a failure is ours too.
  front?.onExit((code, signal) => void (code === 0 ? end(0, 'dbox-fuse exited') : end(1, `dbox-fuse failed (${signal ? `killed by ${signal}` : `exit status ${code}`})`)));
  setInterval(() => {
    if (!isMounted(dir)) void end(0);
  }, 1000).unref();
  if (!tell(options.readyFd, `ready ${dir}`)) return end(0); // whoever waited for the mount is gone
  return new Promise<never>(() => undefined);
}
