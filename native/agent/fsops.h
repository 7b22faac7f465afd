// File operations confined to a root directory: a plain C library (no N-API, no globals) used by
// the dbox agent, and shaped so that the local driver's addon (native/inroot.c) can move onto it
// (the issue-12 C refactor): the same resolution, the same tree walks, one copy of each.
//
// What it trusts, and why:
//   - The kernel's openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): every path is resolved inside
//     `root` (an O_PATH directory fd), so a container's absolute symlinks and ".." chains resolve
//     against the container's root, never the caller's (CVE-2018-15664 / CVE-2019-14271 class).
//     Operations that must not follow the final component (lstat, unlink, rename, symlink,
//     lchown, …) resolve the parent that way and act on one name relative to that directory fd.
//   - Nothing else. Names, link targets, sizes and types inside the tree are the container's and
//     hostile: tree walks go by directory fds with O_NOFOLLOW on single names, so a directory
//     swapped for a symlink mid-walk fails with ELOOP/ENOTDIR instead of escaping; walks are
//     iterative in depth only as far as PATH_MAX allows (ENAMETOOLONG beyond); regular files are
//     opened O_NONBLOCK and checked with fstat before any byte is read (a FIFO or a device node
//     is refused, never opened for reading in a way that blocks or reaches a device).
//
// Conventions: functions return >= 0 on success (an fd where one is returned) and -1 with errno
// set on failure. Paths are NUL-terminated, shorter than PATH_MAX.
#ifndef DBOX_FSOPS_H
#define DBOX_FSOPS_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

/** Opens `path` inside `root` with open(2) flags (O_CLOEXEC is added; mode bits beyond 07777 ignored). */
int fsops_open(int root, const char *path, int flags, mode_t mode);

/**
 * Resolves the parent directory of `path` inside `root` and returns it as an O_PATH directory fd;
 * `*name` points to the final component inside `buf` (PATH_MAX bytes). A final component of "",
 * "." or ".." has no single name: EINVAL.
 */
int fsops_open_parent(int root, const char *path, const char **name, char *buf);

int fsops_stat(int root, const char *path, int follow, struct stat *st);
/** The target of the symlink `path` (not followed); EINVAL when it is not a link. Returns its length. */
ssize_t fsops_readlink(int root, const char *path, char *buf, size_t cap);
int fsops_mkdir(int root, const char *path, mode_t mode);
int fsops_rmdir(int root, const char *path);
int fsops_unlink(int root, const char *path);
int fsops_symlink(const char *target, int root, const char *path);
/** renameat2 between two roots (flags: RENAME_NOREPLACE…). */
int fsops_rename(int root1, const char *from, int root2, const char *to, unsigned flags);
/** A hard link `to` the existing `from`; a final symlink of `from` is linked, not followed. */
int fsops_link(int root1, const char *from, int root2, const char *to);
/** chmod follows a final symlink in-root, as chmod(2) does. */
int fsops_chmod(int root, const char *path, mode_t mode);
int fsops_chown(int root, const char *path, uid_t uid, gid_t gid, int follow);
int fsops_utimes(int root, const char *path, const struct timespec ts[2], int follow);
int fsops_truncate(int root, const char *path, off_t length);
int fsops_statfs(int root, const char *path, struct statfs *out);

/**
 * Opens a regular file for reading (following symlinks in-root) without blocking on FIFOs or
 * devices: EISDIR for a directory, EINVAL for anything else that is not a regular file. `st`
 * receives its fstat.
 */
int fsops_open_regular(int root, const char *path, struct stat *st);

/** Calls `each` for every entry of a directory but "." and ".."; `dir` is the directory's fd (for
 *  *at() calls on the name), `st` the entry's lstat, or NULL when it vanished meanwhile. A
 *  non-zero return from `each` stops the walk and is returned. */
typedef int (*fsops_entry_fn)(void *ctx, int dir, const char *name, unsigned char d_type, const struct stat *st);
int fsops_readdir(int root, const char *path, int with_stat, fsops_entry_fn each, void *ctx);

/** Long work (copies, removals): progress, cancellation and the first error, shared between threads. */
typedef struct {
  volatile int cancel;        // set by another thread: the work stops with ECANCELED
  pthread_mutex_t lock;
  uint64_t bytes, files;      // progress
  int err;                    // the first error
  const char *err_syscall;
  char err_path[PATH_MAX];
  int preserve;               // tree copies: keep owner and times (mode is always kept)
  uid_t euid;
  gid_t egid;
  mode_t umask;
  int dst_sgid;               // the destination directory is setgid: new entries take its group
} fsops_job;

void fsops_job_init(fsops_job *j);
void fsops_job_destroy(fsops_job *j);
/** Records an error (the first one wins) and returns -1. */
int fsops_fail(fsops_job *j, int err, const char *syscall_name, const char *path);

/** Copies in -> out from their offsets: `size` bytes, or to the end when negative (copy_file_range, else read/write). */
int fsops_copy_fd(fsops_job *j, int in, int out, const char *path, off_t size);
/** Copies the entry `src` (a final symlink is copied as a link) to the new name `dst`. */
int fsops_copy_tree(fsops_job *j, int src_root, const char *src, int dst_root, const char *dst);
/** rm -rf of `path` inside `root`; a final symlink is removed, not followed. */
int fsops_remove_tree(fsops_job *j, int root, const char *path);

#endif
