// The mount's log file: where the mount process and dbox-fuse write their messages, instead of a
// terminal (they would land in the middle of the prompt) or a launcher's pipe (which goes away).
//
// What is trusted: the per-user runtime directory, which runtimeDir() checks to be a directory of
// this user, mode 0700 (so nobody else can plant or swap a name in it). The log is opened without
// following a symlink, created 0600, and checked to be a regular file of this user with one link
// before it is used; one grown beyond LOG_LIMIT is emptied.
import fs from 'node:fs';
import path from 'node:path';

const LOG_LIMIT = 4 << 20;

/** Opens `runtime`/mount.log for appending; its fd (close-on-exec off: children write to it). */
export const openMountLog = (runtime: string): {fd: number; path: string} => openLogFile(path.join(runtime, 'mount.log'));

/** A log file for appending: created 0600, never through a symlink (O_NOFOLLOW), refused unless
 *  it is a regular file of this user with one name (a local user cannot point it elsewhere). */
export function openLogFile(file: string): {fd: number; path: string} {
  const {O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW} = fs.constants;
  const fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== (process.getuid?.() ?? 0) || st.nlink !== 1) throw new Error(`${file}: not a log file of this user`);
    if ((st.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
    if (st.size > LOG_LIMIT) fs.ftruncateSync(fd, 0);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return {fd, path: file};
}

/** One line for the log, stamped like dbox-fuse's own. */
export const logLine = (message: string): string =>
  `${new Date().toISOString().slice(0, 19)} dbox-mount[${process.pid}]: ${message.replace(/[\x00-\x1f\x7f]/g, '?')}\n`;
