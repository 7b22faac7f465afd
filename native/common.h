// Small helpers the native parts share (header only: each is a few lines).
//
// Names: a name from a container (a directory entry, a lookup the kernel forwards, a container
// name from an engine) is used only as ONE path component: not empty, not "." or "..", no "/".
//
// Descriptors: the "open O_PATH, then act" pattern. A file is found once, relative to a directory
// fd, without following a final symlink (O_PATH|O_NOFOLLOW); what is then done to it goes through
// that fd, never through a path resolved again. Calls that take no fd (chmod, truncate, utimes
// following links, open for reading) use the fd's own /proc/self/fd/N entry, which names the
// opened file itself, whatever happened to its path since.
#ifndef DBOX_COMMON_H
#define DBOX_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/** "." or "..". */
static inline int is_dot_or_dotdot(const char *name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/** Whether `name` is exactly one path component: not empty, not "." or "..", no "/". */
static inline int is_one_component(const char *name) {
  return name[0] != '\0' && !is_dot_or_dotdot(name) && strchr(name, '/') == NULL;
}

/** /proc/self/fd/N of a descriptor, as a value: `chmod(fd_path(fd).s, mode)`. */
struct fd_path {
  char s[32];
};
static inline struct fd_path fd_path(int fd) {
  struct fd_path p;
  snprintf(p.s, sizeof p.s, "/proc/self/fd/%d", fd);
  return p;
}

/** Opens one name below directory fd `dir` without following it (the first half of the pattern). */
static inline int open_name_path(int dir, const char *name) {
  return openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

/** Opens the file an O_PATH descriptor names, with `flags` (the second half). */
static inline int reopen_fd(int fd, int flags) {
  return open(fd_path(fd).s, flags | O_CLOEXEC);
}

/**
 * The whole pattern as one expression: `act` (an int expression using the descriptor as `fd`; -1
 * and errno on failure) runs on the descriptor `open_expr` gives, which is closed after, act's
 * errno kept. Its value: act's, or -1 with errno when the open or act failed.
 *   int r = WITH_FD(fd, open_name_path(dir, name), fchownat(fd, "", uid, gid, AT_EMPTY_PATH));
 */
#define WITH_FD(fd, open_expr, act)      \
  __extension__({                        \
    int fd = (open_expr);                \
    int with_fd_r_ = -1;                 \
    if (fd >= 0) {                       \
      with_fd_r_ = (act);                \
      int with_fd_e_ = errno;            \
      close(fd);                         \
      errno = with_fd_e_;                \
    }                                    \
    with_fd_r_;                          \
  })

#endif
