// In-root file operations: see fsops.h for what is trusted and why.
#define _GNU_SOURCE
#include "fsops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

static int is_dot_or_dotdot(const char *n) { return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0)); }

/** Closes fd keeping errno as it was (error paths). */
static void close_keep_errno(int fd) {
  int e = errno;
  close(fd);
  errno = e;
}

int fsops_open(int root, const char *path, int flags, mode_t mode) {
  if (strnlen(path, PATH_MAX) >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  // openat2 rejects mode bits beyond 07777 (open(2) ignores them).
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode & 07777) : 0,
                         .resolve = RESOLVE_FLAGS};
  const char *p = path[0] == 0 ? "." : path;
  int fd;
  do fd = (int)syscall(SYS_openat2, root, p, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

int fsops_open_parent(int root, const char *path, const char **name, char *buf) {
  size_t len = strnlen(path, PATH_MAX);
  if (len >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;  // "a/b/" -> "a/b"
  char *slash = strrchr(buf, '/');
  const char *dir;
  if (!slash) {
    dir = ".";
    *name = buf;
  } else if (slash == buf) {
    dir = "/";
    *name = slash + 1;
    *slash = 0;
  } else {
    *slash = 0;
    dir = buf;
    *name = slash + 1;
  }
  if ((*name)[0] == 0 || is_dot_or_dotdot(*name)) {
    errno = EINVAL;
    return -1;
  }
  return fsops_open(root, dir, O_PATH | O_DIRECTORY, 0);
}

int fsops_stat(int root, const char *path, int follow, struct stat *st) {
  int fd = fsops_open(root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (fd < 0) return -1;
  int r = fstat(fd, st);
  close_keep_errno(fd);
  return r;
}

ssize_t fsops_readlink(int root, const char *path, char *buf, size_t cap) {
  int fd = fsops_open(root, path, O_PATH | O_NOFOLLOW, 0);
  if (fd < 0) return -1;
  ssize_t n = readlinkat(fd, "", buf, cap);
  if (n < 0 && errno == ENOENT) errno = EINVAL;  // readlinkat on "" of a non-link
  close_keep_errno(fd);
  if (n >= 0 && (size_t)n >= cap) {  // truncated: a longer target than any path
    errno = ENAMETOOLONG;
    return -1;
  }
  return n;
}

/** Runs one *at() call on the parent directory of `path` and its final name. */
#define AT_PARENT(root, path, call)                              \
  do {                                                           \
    char buf_[PATH_MAX];                                         \
    const char *name;                                            \
    int pfd = fsops_open_parent(root, path, &name, buf_);        \
    if (pfd < 0) return -1;                                      \
    int r_ = (call);                                             \
    close_keep_errno(pfd);                                       \
    return r_;                                                   \
  } while (0)

int fsops_mkdir(int root, const char *path, mode_t mode) { AT_PARENT(root, path, mkdirat(pfd, name, mode & 07777)); }
int fsops_rmdir(int root, const char *path) { AT_PARENT(root, path, unlinkat(pfd, name, AT_REMOVEDIR)); }
int fsops_unlink(int root, const char *path) { AT_PARENT(root, path, unlinkat(pfd, name, 0)); }
int fsops_symlink(const char *target, int root, const char *path) { AT_PARENT(root, path, symlinkat(target, pfd, name)); }

/** op(parent1, name1, parent2, name2) for two paths, each resolved in its own root. */
static int two_names(int root1, const char *from, int root2, const char *to, unsigned flags, int link) {
  char b1[PATH_MAX], b2[PATH_MAX];
  const char *n1, *n2;
  int p1 = fsops_open_parent(root1, from, &n1, b1);
  if (p1 < 0) return -1;
  int p2 = fsops_open_parent(root2, to, &n2, b2);
  if (p2 < 0) {
    close_keep_errno(p1);
    return -1;
  }
  int r = link ? linkat(p1, n1, p2, n2, 0) : renameat2(p1, n1, p2, n2, flags);
  close_keep_errno(p1);
  close_keep_errno(p2);
  return r;
}

int fsops_rename(int root1, const char *from, int root2, const char *to, unsigned flags) {
  return two_names(root1, from, root2, to, flags, 0);
}

int fsops_link(int root1, const char *from, int root2, const char *to) { return two_names(root1, from, root2, to, 0, 1); }

/** A /proc/self/fd path for fd (the resolved object, for calls that have no fd form). */
static void fd_path(char *out, size_t cap, int fd) { snprintf(out, cap, "/proc/self/fd/%d", fd); }

int fsops_chmod(int root, const char *path, mode_t mode) {
  int fd = fsops_open(root, path, O_PATH, 0);
  if (fd < 0) return -1;
  char proc[64];
  fd_path(proc, sizeof proc, fd);
  int r = fchmodat(AT_FDCWD, proc, mode & 07777, 0);
  close_keep_errno(fd);
  return r;
}

int fsops_chown(int root, const char *path, uid_t uid, gid_t gid, int follow) {
  int fd = fsops_open(root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (fd < 0) return -1;
  int r = fchownat(fd, "", uid, gid, AT_EMPTY_PATH);
  close_keep_errno(fd);
  return r;
}

int fsops_utimes(int root, const char *path, const struct timespec ts[2], int follow) {
  if (!follow) AT_PARENT(root, path, utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW));
  int fd = fsops_open(root, path, O_PATH, 0);
  if (fd < 0) return -1;
  char proc[64];
  fd_path(proc, sizeof proc, fd);
  int r = utimensat(AT_FDCWD, proc, ts, 0);
  close_keep_errno(fd);
  return r;
}

int fsops_truncate(int root, const char *path, off_t length) {
  int fd = fsops_open(root, path, O_WRONLY | O_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct stat st;
  int r = fstat(fd, &st);
  if (r == 0 && !S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    r = -1;
  }
  if (r == 0) r = ftruncate(fd, length);
  close_keep_errno(fd);
  return r;
}

int fsops_statfs(int root, const char *path, struct statfs *out) {
  int fd = fsops_open(root, path, O_PATH, 0);
  if (fd < 0) return -1;
  int r = fstatfs(fd, out);
  close_keep_errno(fd);
  return r;
}

int fsops_open_regular(int root, const char *path, struct stat *st) {
  // O_PATH first: a FIFO or a device is never opened for I/O, only looked at.
  int p = fsops_open(root, path, O_PATH, 0);
  if (p < 0) return -1;
  if (fstat(p, st) < 0) {
    close_keep_errno(p);
    return -1;
  }
  if (!S_ISREG(st->st_mode)) {
    close(p);
    errno = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
    return -1;
  }
  // Reopen the very object the O_PATH fd names (not the path again, which may have changed).
  char proc[64];
  fd_path(proc, sizeof proc, p);
  int fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  close_keep_errno(p);
  if (fd < 0) return -1;
  if (fstat(fd, st) < 0) {
    close_keep_errno(fd);
    return -1;
  }
  if (!S_ISREG(st->st_mode)) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

int fsops_readdir(int root, const char *path, int with_stat, fsops_entry_fn each, void *ctx) {
  int fd = fsops_open(root, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    close_keep_errno(fd);
    return -1;
  }
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) rc = -1;
      break;
    }
    if (is_dot_or_dotdot(de->d_name)) continue;
    struct stat st;
    int have = with_stat && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if ((rc = each(ctx, dirfd(d), de->d_name, de->d_type, have ? &st : NULL)) != 0) break;
  }
  int e = errno;
  closedir(d);
  errno = e;
  return rc;
}

// ---------- long work ----------

void fsops_job_init(fsops_job *j) {
  memset(j, 0, sizeof *j);
  pthread_mutex_init(&j->lock, NULL);
}

void fsops_job_destroy(fsops_job *j) { pthread_mutex_destroy(&j->lock); }

int fsops_fail(fsops_job *j, int err, const char *syscall_name, const char *path) {
  pthread_mutex_lock(&j->lock);
  if (!j->err) {
    j->err = err;
    j->err_syscall = syscall_name;
    snprintf(j->err_path, sizeof j->err_path, "%s", path ? path : "");
  }
  pthread_mutex_unlock(&j->lock);
  errno = err;
  return -1;
}

static int job_failed(fsops_job *j) {
  pthread_mutex_lock(&j->lock);
  int e = j->err;
  pthread_mutex_unlock(&j->lock);
  return e;
}

static void job_progress(fsops_job *j, uint64_t bytes, uint64_t files) {
  pthread_mutex_lock(&j->lock);
  j->bytes += bytes;
  j->files += files;
  pthread_mutex_unlock(&j->lock);
}

int fsops_copy_fd(fsops_job *j, int in, int out, const char *path, off_t size) {
  const size_t chunk = 8u << 20;
  int use_cfr = 1;
  char *buf = NULL;
  off_t done = 0;
  while (size < 0 || done < size) {
    if (j->cancel) {
      free(buf);
      return fsops_fail(j, ECANCELED, "copy", path);
    }
    ssize_t n;
    if (use_cfr) {
      size_t want = size < 0 || (off_t)chunk < size - done ? chunk : (size_t)(size - done);
      n = copy_file_range(in, NULL, out, NULL, want, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF ||
                    errno == EPERM)) {
        use_cfr = 0;
        continue;
      }
    } else {
      if (!buf && !(buf = malloc(1u << 20))) return fsops_fail(j, ENOMEM, "copy", path);
      n = read(in, buf, 1u << 20);
      for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = write(out, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          int e = errno;
          free(buf);
          return fsops_fail(j, e, "write", path);
        }
        off += w;
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      return fsops_fail(j, e, use_cfr ? "copy_file_range" : "read", path);
    }
    if (n == 0) break;
    done += n;
    job_progress(j, (uint64_t)n, 0);
  }
  free(buf);
  return 0;
}

/** Owner, mode and times of a new entry. chown runs before chmod, since chown clears set-id bits. */
static int apply_meta(fsops_job *j, int dirfd, const char *name, int fd, const struct stat *st, const char *path) {
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (fd >= 0) {
    int chown_needed = j->preserve && (j->dst_sgid || st->st_uid != j->euid || st->st_gid != j->egid);
    if (chown_needed && fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM) return fsops_fail(j, errno, "chown", path);
    if (fchmod(fd, st->st_mode & 07777) < 0) return fsops_fail(j, errno, "chmod", path);
    if (j->preserve && futimens(fd, ts) < 0) return fsops_fail(j, errno, "utimes", path);
    return 0;
  }
  // symlinks: no fd to act on
  if (j->preserve && fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
    return fsops_fail(j, errno, "chown", path);
  if (j->preserve && utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return fsops_fail(j, errno, "utimes", path);
  return 0;
}

static int copy_entry(fsops_job *j, int sdir, const char *sname, int ddir, const char *name, const struct stat *st, char *rel,
                      size_t rlen);

/** Appends "/name" to rel (PATH_MAX); ENAMETOOLONG bounds the depth of any walk. */
static int rel_push(fsops_job *j, char *rel, size_t rlen, const char *name, const char *what) {
  size_t nl = strlen(name);
  if (rlen + 1 + nl >= PATH_MAX) return fsops_fail(j, ENAMETOOLONG, what, rel);
  rel[rlen] = '/';
  memcpy(rel + rlen + 1, name, nl + 1);
  return (int)nl;
}

static int copy_dir(fsops_job *j, int sfd, int dfd, char *rel, size_t rlen) {
  int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return fsops_fail(j, errno, "dup", rel);
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    int e = errno;
    close(dup_fd);
    return fsops_fail(j, e, "scandir", rel);
  }
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) rc = fsops_fail(j, errno, "scandir", rel);
      break;
    }
    const char *n = de->d_name;
    if (is_dot_or_dotdot(n)) continue;
    int nl = rel_push(j, rel, rlen, n, "copy");
    if (nl < 0) { rc = -1; break; }
    struct stat st;
    if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = fsops_fail(j, errno, "lstat", rel); break; }
    if ((rc = copy_entry(j, sfd, n, dfd, n, &st, rel, rlen + 1 + (size_t)nl)) < 0) break;
    rel[rlen] = 0;
  }
  closedir(d);
  return rc;
}

static int copy_entry(fsops_job *j, int sdir, const char *sname, int ddir, const char *name, const struct stat *st, char *rel,
                      size_t rlen) {
  if (j->cancel) return fsops_fail(j, ECANCELED, "copy", rel);
  if (job_failed(j)) return -1;
  switch (st->st_mode & S_IFMT) {
    case S_IFDIR: {
      if (mkdirat(ddir, name, 0700) < 0) return fsops_fail(j, errno, "mkdir", rel);
      int s = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return fsops_fail(j, errno, "open", rel);
      int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) {
        int e = errno;
        close(s);
        return fsops_fail(j, e, "open", rel);
      }
      int rc = copy_dir(j, s, d, rel, rlen);
      if (rc == 0) rc = apply_meta(j, ddir, name, d, st, rel);
      close(s);
      close(d);
      if (rc == 0) job_progress(j, 0, 1);
      return rc;
    }
    case S_IFREG: {
      int s = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (s < 0) return fsops_fail(j, errno, "open", rel);
      struct stat now;
      if (fstat(s, &now) < 0) {
        int e = errno;
        close(s);
        return fsops_fail(j, e, "fstat", rel);
      }
      if (!S_ISREG(now.st_mode)) {  // swapped for something else since the lstat
        close(s);
        return fsops_fail(j, EINVAL, "open", rel);
      }
      int d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (d < 0) {
        int e = errno;
        close(s);
        return fsops_fail(j, e, "open", rel);
      }
      int rc = fsops_copy_fd(j, s, d, rel, now.st_size);
      if (rc == 0) rc = apply_meta(j, ddir, name, d, st, rel);
      close(s);
      if (close(d) < 0 && rc == 0) rc = fsops_fail(j, errno, "close", rel);
      if (rc == 0) job_progress(j, 0, 1);
      return rc;
    }
    case S_IFLNK: {
      char target[PATH_MAX];
      ssize_t n = readlinkat(sdir, sname, target, sizeof target - 1);
      if (n < 0) return fsops_fail(j, errno, "readlink", rel);
      target[n] = 0;
      if (symlinkat(target, ddir, name) < 0) return fsops_fail(j, errno, "symlink", rel);
      job_progress(j, 0, 1);
      return apply_meta(j, ddir, name, -1, st, rel);
    }
    default: {  // fifos, sockets, devices: recreated (as cp -a does); EPERM for devices without CAP_MKNOD
      if (mknodat(ddir, name, st->st_mode & (S_IFMT | 0600), st->st_rdev) < 0) return fsops_fail(j, errno, "mknod", rel);
      int d = openat(ddir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) return fsops_fail(j, errno, "open", rel);
      int rc = 0;
      if (j->preserve && fchownat(d, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0 && errno != EPERM)
        rc = fsops_fail(j, errno, "chown", rel);
      char proc[64];
      fd_path(proc, sizeof proc, d);
      if (rc == 0 && fchmodat(AT_FDCWD, proc, st->st_mode & 07777, 0) < 0) rc = fsops_fail(j, errno, "chmod", rel);
      struct timespec ts[2] = {st->st_atim, st->st_mtim};
      if (rc == 0 && j->preserve && utimensat(AT_FDCWD, proc, ts, 0) < 0) rc = fsops_fail(j, errno, "utimes", rel);
      close(d);
      if (rc == 0) job_progress(j, 0, 1);
      return rc;
    }
  }
}

/** The process umask, read without changing it (umask(2) would race with other threads). */
static mode_t current_umask(void) {
  FILE *f = fopen("/proc/self/status", "re");
  unsigned u = 022;
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Umask: %o", &u) == 1) break;
  if (f) fclose(f);
  return (mode_t)u;
}

int fsops_copy_tree(fsops_job *j, int src_root, const char *src, int dst_root, const char *dst) {
  char b1[PATH_MAX], b2[PATH_MAX], rel[PATH_MAX];
  const char *sn, *dn;
  int sp = fsops_open_parent(src_root, src, &sn, b1);
  if (sp < 0) return fsops_fail(j, errno, "open", src);
  int dp = fsops_open_parent(dst_root, dst, &dn, b2);
  if (dp < 0) {
    int e = errno;
    close(sp);
    return fsops_fail(j, e, "open", dst);
  }
  struct stat st, parent;
  j->euid = geteuid();
  j->egid = getegid();
  j->umask = current_umask();
  j->dst_sgid = fstat(dp, &parent) == 0 && (parent.st_mode & S_ISGID);
  int rc;
  if (fstatat(sp, sn, &st, AT_SYMLINK_NOFOLLOW) < 0) rc = fsops_fail(j, errno, "lstat", src);
  else {
    snprintf(rel, sizeof rel, "%s", src);
    rc = copy_entry(j, sp, sn, dp, dn, &st, rel, strlen(rel));
  }
  close(sp);
  close(dp);
  return rc;
}

static int remove_below(fsops_job *j, int dfd, char *rel, size_t rlen) {
  int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return fsops_fail(j, errno, "dup", rel);
  DIR *d = fdopendir(dup_fd);
  if (!d) {
    int e = errno;
    close(dup_fd);
    return fsops_fail(j, e, "scandir", rel);
  }
  int rc = 0;
  for (;;) {
    if (j->cancel) { rc = fsops_fail(j, ECANCELED, "rm", rel); break; }
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) rc = fsops_fail(j, errno, "scandir", rel);
      break;
    }
    const char *n = de->d_name;
    if (is_dot_or_dotdot(n)) continue;
    int nl = rel_push(j, rel, rlen, n, "rm");
    if (nl < 0) { rc = -1; break; }
    if (unlinkat(dfd, n, 0) == 0) {
      rel[rlen] = 0;
      continue;
    }
    if (errno != EISDIR && errno != EPERM) { rc = fsops_fail(j, errno, "unlink", rel); break; }
    int sub = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) { rc = fsops_fail(j, errno, "open", rel); break; }
    rc = remove_below(j, sub, rel, rlen + 1 + (size_t)nl);
    close(sub);
    if (rc < 0) break;
    if (unlinkat(dfd, n, AT_REMOVEDIR) < 0) { rc = fsops_fail(j, errno, "rmdir", rel); break; }
    rel[rlen] = 0;
  }
  closedir(d);
  return rc;
}

int fsops_remove_tree(fsops_job *j, int root, const char *path) {
  char b1[PATH_MAX], rel[PATH_MAX];
  const char *n;
  int p = fsops_open_parent(root, path, &n, b1);
  if (p < 0) return fsops_fail(j, errno, "open", path);
  if (unlinkat(p, n, 0) == 0) {
    close(p);
    return 0;
  }
  if (errno != EISDIR && errno != EPERM) {
    int e = errno;
    close(p);
    return fsops_fail(j, e, "unlink", path);
  }
  int d = openat(p, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (d < 0) {
    int e = errno;
    close(p);
    return fsops_fail(j, e, "open", path);
  }
  snprintf(rel, sizeof rel, "%s", path);
  int rc = remove_below(j, d, rel, strlen(rel));
  if (rc == 0 && unlinkat(p, n, AT_REMOVEDIR) < 0) rc = fsops_fail(j, errno, "rmdir", path);
  close(d);
  close(p);
  return rc;
}
