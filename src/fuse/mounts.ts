// Mount points as /proc sees them, and leaving them.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';

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
