// Mount points as the kernel lists them, and leaving them: the one owner of mountinfo parsing and
// of unmount-and-remove for dbox's FUSE mounts.
//
// What is trusted: the kernel's /proc/self/mountinfo (mount points escaped as \ooo octal, so a
// space or newline in a path cannot shift a field). A mount is found by its exact mount point,
// never by a prefix. stat() is never used on a mount point that may be dead (it would hang on a
// FUSE connection whose server is gone): a dead connection is aborted through fusectl first.
import {execFile, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {native} from '../native.js';

export interface MountEntry {
  readonly id: number;
  readonly parent: number;
  /** major:minor of the mounted file system (for FUSE: the connection number is the minor). */
  readonly dev: string;
  readonly root: string;
  readonly mountPoint: string;
  readonly fstype: string;
  readonly source: string;
}

/** The kernel's \ooo escapes (space, tab, newline, backslash) undone. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses the text of a /proc/<pid>/mountinfo file (pure). Malformed lines are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (f.length < 10 || dash < 0 || dash + 2 >= f.length) continue;
    out.push({id: Number(f[0]), parent: Number(f[1]), dev: f[2]!, root: unescape(f[3]!), mountPoint: unescape(f[4]!),
      fstype: f[dash + 1]!, source: unescape(f[dash + 2]!)});
  }
  return out;
}

/** The mounts this process sees (or process `pid`'s). */
export const mountTable = (pid: number | 'self' = 'self'): MountEntry[] => parseMountinfo(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));

/** The mount at exactly `dir`, the topmost when several are stacked. */
export const mountAt = (dir: string, table: MountEntry[] = mountTable()): MountEntry | undefined =>
  table.filter((m) => m.mountPoint === dir).pop();

export const isMounted = (dir: string): boolean => mountAt(dir) !== undefined;

/** Lazily detaches a mount (works while a process still has its cwd inside it). */
export function detach(dir: string): void {
  for (let i = 0; i < 8 && isMounted(dir); i++) { // stacked mounts, one at a time
    if (spawnSync('fusermount3', ['-u', '-z', dir], {stdio: 'ignore'}).status !== 0) {
      if (spawnSync('umount', ['-l', dir], {stdio: 'ignore'}).status !== 0) return;
    }
  }
}

/** Fails every request of a FUSE mount whose server is dead, so that nothing waits on it. */
export function abortConnection(dir: string): void {
  const m = mountAt(dir);
  if (!m || !m.fstype.startsWith('fuse')) return;
  const conn = m.dev.split(':')[1];
  try {
    if (!fs.existsSync(`/sys/fs/fuse/connections/${conn}`)) {
      spawnSync('mount', ['-t', 'fusectl', 'none', '/sys/fs/fuse/connections'], {stdio: 'ignore'});
    }
    fs.writeFileSync(`/sys/fs/fuse/connections/${conn}/abort`, '1');
  } catch { /* not ours to abort, or already gone */ }
}

/**
 * Leaves a mount dbox made: aborts its connection when its server is gone (`dead`), detaches it,
 * and removes the directory (unless `keep`: a directory the user made) and then each of `parents`
 * that is empty (never anything else). Returns whether something was mounted there.
 */
export function unmountAndRemove(dir: string, options: {dead?: boolean; keep?: boolean; parents?: readonly string[]} = {}): boolean {
  const was = isMounted(dir);
  if (was && options.dead) abortConnection(dir);
  if (was) detach(dir);
  for (const d of [...(options.keep ? [] : [dir]), ...(options.parents ?? [])]) {
    try { fs.rmdirSync(d); } catch { /* busy, not empty, or gone */ }
  }
  return was;
}

/**
 * Takes a mount this process serves out of every mount table: holds its root as an O_PATH
 * descriptor, detaches it lazily (it lives on while that descriptor and what is opened through it
 * do, and goes with the last of them, whatever way this process ends), then removes its directory
 * and `parents` that are empty. Returns the path that reaches it from now on, for other processes
 * too: /proc/<this pid>/fd/<fd>. Asynchronous on purpose: this process serves the mount, and an
 * unmount that looks at the mount point would wait for this process (O_PATH opens nothing of it).
 */
export async function hideMount(dir: string, parents: readonly string[] = []): Promise<string> {
  const fd = native().openRoot(dir);
  await new Promise<void>((resolve) => execFile('umount', ['-l', dir], () => resolve()));
  if (isMounted(dir)) {
    fs.closeSync(fd);
    throw new Error(`cannot detach ${dir}`);
  }
  for (const d of [dir, ...parents]) {
    try { fs.rmdirSync(d); } catch { /* busy, not empty, or gone */ }
  }
  return path.join('/proc', String(process.pid), 'fd', String(fd));
}
