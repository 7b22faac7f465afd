// Process identity: see identity.h for what is trusted and why.
#define _GNU_SOURCE
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC 0x9fa0
#define ID_LEN 64

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
static int is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

int identity_valid_id(const char *id) {
  if (!id) return 0;
  size_t n = 0;
  for (; id[n]; n++)
    if (n >= ID_LEN || !is_hex(id[n])) return 0;
  return n == ID_LEN;
}

int identity_cgroup_names(const char *cgroup, const char *id) {
  if (!identity_valid_id(id)) return 0;
  // Each line is "hierarchy-id:controllers:path"; only the path part counts, and the id must
  // stand alone there: not a piece of a longer word (a longer hex string, "xdocker-<id>0").
  for (const char *line = cgroup; *line;) {
    const char *end = strchr(line, '\n');
    if (!end) end = line + strlen(line);
    const char *colon1 = memchr(line, ':', (size_t)(end - line));
    const char *colon2 = colon1 ? memchr(colon1 + 1, ':', (size_t)(end - colon1 - 1)) : NULL;
    if (colon2) {
      for (const char *p = colon2 + 1; p + ID_LEN <= end; p++) {
        if (memcmp(p, id, ID_LEN) != 0) continue;
        char before = p == colon2 + 1 ? '/' : p[-1];
        char after = p + ID_LEN == end ? '/' : p[ID_LEN];
        if (!is_alnum(before) && !is_alnum(after)) return 1;
      }
    }
    line = *end ? end + 1 : end;
  }
  return 0;
}

int identity_open_proc(void) {
  int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct statfs sf;
  if (fstatfs(fd, &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  return fd;
}

/** Reads a small /proc file through dir into buf (NUL-terminated); -1 and errno on failure. */
static ssize_t read_small(int dir, const char *name, char *buf, size_t cap) {
  int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  size_t used = 0;
  while (used < cap - 1) {
    ssize_t n = read(fd, buf + used, cap - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  close(fd);
  buf[used] = '\0';
  return (ssize_t)used;
}

int identity_open_container_proc(int proc, pid_t pid, const char *id) {
  if (pid <= 0 || !identity_valid_id(id)) {
    errno = EINVAL;
    return -1;
  }
  char name[32];
  snprintf(name, sizeof name, "%d", (int)pid);
  int dir = openat(proc, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dir < 0) {
    if (errno == ENOENT) errno = ESRCH;
    return -1;
  }
  char cgroup[16384];
  if (read_small(dir, "cgroup", cgroup, sizeof cgroup) < 0) {
    int e = errno == ENOENT ? ESRCH : errno;
    close(dir);
    errno = e;
    return -1;
  }
  if (!identity_cgroup_names(cgroup, id)) {
    close(dir);
    errno = EPERM;
    return -1;
  }
  return dir;
}

int identity_open_root(int pid_dir) {
  int root = openat(pid_dir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    if (errno == ENOENT) errno = ESRCH;
    return -1;
  }
  struct stat ours, theirs;
  if (stat("/", &ours) != 0 || fstat(root, &theirs) != 0) {
    int e = errno;
    close(root);
    errno = e;
    return -1;
  }
  if (ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino) {
    close(root);
    errno = EPERM;
    return -1;
  }
  return root;
}

int identity_peer_in_our_pid_ns(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return -1;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0 || getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  close(s);
  // A peer in an ancestor namespace has no pid here (0); one in a descendant has its own.
  if (cred.pid <= 0) return 0;
  char theirs[64];
  snprintf(theirs, sizeof theirs, "/proc/%d/ns/pid", (int)cred.pid);
  struct stat a, b;
  if (stat("/proc/self/ns/pid", &a) != 0 || stat(theirs, &b) != 0) return 0;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
