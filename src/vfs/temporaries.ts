// Temporary names of copies: `.NAME.dbox-HOST-PID-RANDOM` in the destination's directory, where
// HOST stands for this machine and PID is the dbox process writing it. A copy removes its
// temporary however it ends, but a kill -9 cannot be caught: a copy into a directory first
// sweeps the temporaries of this machine whose process is gone and that belong to the user it
// writes as. One whose process lives (or whose pid was reused) is left alone, as is any other
// machine's, and any other user's (a -p copy killed after it gave its temporary the source's
// owner leaves that one behind).
// Trusted: the kernel's answer about a pid. Names in the directory are not: only what matches
// the pattern exactly is touched, and it is removed through the same filesystem, in-root.
import {createHash} from 'node:crypto';
import os from 'node:os';
import type {ContainerFs} from './types.js';
import {entryPath} from './untrusted.js';

const HOST = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 4);
/** Room left in a 255-byte name for the part after the original name. */
const NAME_BYTES = 200;
const PATTERN = /^\.([^]*)\.dbox-([0-9a-f]{4})-([1-9][0-9]*)-([0-9a-z]{6})$/;

/** The first code points of `name` that fit in `bytes` UTF-8 bytes. */
function leading(name: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of name) {
    used += Buffer.byteLength(ch);
    if (used > bytes) break;
    out += ch;
  }
  return out;
}

/** The temporary name for `name`, of this process (`random`: six base-36 characters). */
export function temporaryName(name: string, pid = process.pid, random = Math.random().toString(36).slice(2, 8).padEnd(6, '0'), host = HOST): string {
  return `.${leading(name, NAME_BYTES)}.dbox-${host}-${pid}-${random}`;
}

/** The machine and pid a temporary name belongs to; undefined for any other name. */
export function temporaryOwner(name: string): {readonly host: string; readonly pid: number} | undefined {
  const m = PATTERN.exec(name);
  return m ? {host: m[2]!, pid: Number(m[3])} : undefined;
}

/** Whether process `pid` of this machine exists (EPERM: it does, someone else's). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as {code?: string}).code !== 'ESRCH';
  }
}

/** Whether the temporary `name` is this machine's and its process is gone. */
export function isStale(name: string, isAlive: (pid: number) => boolean = alive): boolean {
  const owner = temporaryOwner(name);
  return owner !== undefined && owner.host === HOST && !isAlive(owner.pid);
}

/**
 * Removes the stale temporaries in directory `dir` of `fs` that belong to `uid` (the user dbox
 * writes them as there: a name anyone can make in a shared directory such as /tmp is no reason to
 * remove another user's file); what cannot be read or removed is left (the copy that follows
 * reports real problems). `removing` is told of each first (a tree left by a copy that was killed
 * can take long to remove).
 */
export async function sweepTemporaries(fs: ContainerFs, dir: string, uid: number, removing?: (path: string) => void): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => []);
  for (const entry of entries) {
    const path = entryPath(dir, entry.name);
    if (!path || !isStale(entry.name)) continue;
    const owner = (entry.stat ?? (await fs.lstat(path).catch(() => undefined)))?.uid;
    if (owner !== uid) continue;
    removing?.(path);
    await fs.remove(path).catch(() => undefined);
  }
}
