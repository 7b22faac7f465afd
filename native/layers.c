// Layer assembly: an image's, a stopped container's or a volume's files as the engine stores them
// (overlay2 layer directories under the engine's data root), opened and assembled into one tree.
// The one C owner of this, for the agent and for attach's snapshots.
//
// How: each directory is opened from the root of the engine's mount namespace (the caller passes
// it: for the agent, the root of its containerd-shim, host_root() in agent.c, not pid 1's root,
// since the engine may run in a mount namespace of its own; for a snapshot, "/" of its private
// copy of the host's mounts, or of the helper container the engine's data root is bound into)
// one component at a time, and handed to the kernel by fd (/proc/self/fd/N), so what is checked
// is what is mounted. For the agent, two or more layers become an overlay made with the new mount
// API (fsopen, fsconfig, fsmount): a *detached* mount, read-only, nosuid, nodev, noexec, that
// belongs to no mount namespace and goes away with the last fd of it; one layer becomes a detached
// read-only clone of that directory (open_tree, mount_setattr). That overlay has no upper and no
// work directory: it takes none of overlayfs's in-use locks and writes nothing, so a container the
// engine starts on the same directories (with its own overlay, the directory we list as a lower
// being its upper) is never affected by ours; ours may then show that container's changes late or
// not at all (the kernel's rule for changed lower layers), which is why the client closes it when
// the container starts. For a snapshot (layers_mount_rw) the lower layers get a throw-away upper
// layer on a tmpfs in the snapshot's own mount namespace, nodev.
//
// What it trusts, and why:
//   - The kernel: openat2's RESOLVE_NO_SYMLINKS / RESOLVE_BENEATH / RESOLVE_NO_XDEV, overlayfs.
//   - The data root and the layer paths are the engine's words, i.e. hostile: each must be
//     canonical and absolute (no control character, no ':' or ','), the data root not "/", every
//     layer strictly below it, and no component of either may be a symbolic link (checked by the
//     kernel while opening, not by a prior lstat). Below the data root nothing may cross into
//     another mount. Every directory on the way must be root's and writable by nobody else, so no
//     unprivileged local user can have made it or can swap what is beneath it; a layer itself
//     too (layers_open; a volume's own directory is its users', layers_open_dir). Of the two
//     rules this module's predecessors had (attach's: root's alone, no link, from "/"; the
//     agent's: no link, below the data root, on its mount) each is kept: both hold. One
//     exception to attach's, with the same guarantee: a directory on the way that others may
//     write to but that has the sticky bit (/tmp, where a test engine keeps its data root) is
//     taken when the entry beneath it is itself checked (root's, then the next): no other user
//     can rename or remove root's entry there, and one they made first would be theirs. Never
//     for a layer itself or the directory just above the last component.
//   - Nothing in the layers: their names, whiteouts and xattrs are overlayfs's to interpret; the
//     caller reads the result with in-root resolution (fsops.h) like any container root, or runs
//     a confined program in it (attach-snapshot.c). Every overlay made here is nodev.
// Needs CAP_SYS_ADMIN (every mount does); the engine's default seccomp profile allows these calls
// with it. Everything up to the mount is plain system calls and memory work: this may run in a
// child forked from a threaded process (layers_in_namespace).
#define _GNU_SOURCE
#include "layers.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/** Whether `p` (not empty) is canonical: "/a/b", no empty, "." or ".." component, no trailing slash,
 *  no control character, no ':' or ',', shorter than PATH_MAX. */
static int canonical(const char *p) {
  if (p[0] != '/' || p[1] == 0 || strnlen(p, PATH_MAX) >= PATH_MAX) return 0;
  for (const char *c = p; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ':' || *c == ',') return 0;
  for (const char *c = p; *c;) {
    c++;  // past the '/'
    const char *e = strchrnul(c, '/');
    size_t n = (size_t)(e - c);
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return 0;
    c = e;
  }
  return 1;
}

const char *layers_below(const char *root, const char *path) {
  size_t n = strlen(root);
  if (!canonical(root) || !canonical(path) || strncmp(path, root, n) != 0 || path[n] != '/' || path[n + 1] == 0) {
    errno = EINVAL;
    return NULL;
  }
  return path + n + 1;
}

/** Whether the directory `fd` is root's and writable by nobody else; with `sticky_ok`, or
 *  writable by others with the sticky bit (as /tmp: no one else can rename or remove root's
 *  entries in it), for a directory whose entry on the way is checked to be root's in turn.
 *  errno EPERM when not. */
static int root_alone(int fd, int sticky_ok) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  if (st.st_uid == 0 && (!(st.st_mode & 022) || (sticky_ok && (st.st_mode & S_ISVTX)))) return 1;
  errno = EPERM;
  return 0;
}

/** From directory `dir`, one component after another of `path` (relative, canonical, not empty):
 *  each with no link, beneath the one before, `resolve` added; each but the last root's alone.
 *  Closes nothing of the caller's; an O_PATH fd or -1. */
static int walk(int dir, const char *path, uint64_t resolve) {
  struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                         .resolve = resolve | RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  char name[NAME_MAX + 1];
  int at = dir;
  for (const char *c = path;;) {
    const char *e = strchrnul(c, '/');
    size_t n = (size_t)(e - c);
    if (n > NAME_MAX) {
      errno = ENAMETOOLONG;
      break;
    }
    memcpy(name, c, n);
    name[n] = 0;
    int fd;
    do fd = (int)syscall(SYS_openat2, at, name, &how, sizeof how);
    while (fd < 0 && errno == EAGAIN);
    if (at != dir) close(at);
    if (fd < 0) return -1;
    at = fd;
    if (*e == 0) return at;
    if (!root_alone(at, strchr(e + 1, '/') != NULL)) break;  // sticky: only above an entry checked in turn
    c = e + 1;
  }
  if (at != dir) {
    int err = errno;
    close(at);
    errno = err;
  }
  return -1;
}

int layers_open_dir(int host, const char *data_root, const char *dir) {
  const char *rel = layers_below(data_root, dir);
  if (!rel) return -1;
  // "/" of the engine's namespace, the data root from it, then the directory beneath, on its mount.
  if (!root_alone(host, 1)) return -1;
  int root = walk(host, data_root + 1, 0);
  if (root < 0) return -1;
  int fd = root_alone(root, strchr(rel, '/') != NULL) ? walk(root, rel, RESOLVE_NO_XDEV) : -1;
  int e = errno;
  close(root);
  errno = e;
  return fd;
}

int layers_open(int host, const char *data_root, const char *layer) {
  int fd = layers_open_dir(host, data_root, layer);
  if (fd >= 0 && !root_alone(fd, 0)) {
    close(fd);
    errno = EPERM;
    return -1;
  }
  return fd;
}

/** A detached, read-only clone of directory `dir` (its fd stays the caller's). */
static int clone_ro(int dir) {
  int m = (int)syscall(SYS_open_tree, dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (m < 0) return -1;
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
  if (syscall(SYS_mount_setattr, m, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    int e = errno;
    close(m);
    errno = e;
    return -1;
  }
  return m;
}

/** "/proc/self/fd/A:/proc/self/fd/B..." for the n fds, in `lower` (LOWER_MAX bytes). 0, or -1 and errno. */
#define LOWER_MAX (LAYERS_MAX * 26 + 1)  // "/proc/self/fd/N" is at most 25 bytes
static int lower_option(char *lower, const int *fds, size_t n) {
  // Built by hand: this may run in a child forked from a threaded process (layers_in_namespace),
  // where only system calls and plain memory work are safe.
  static const char prefix[] = "/proc/self/fd/";
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    char digits[12];
    int d = 0;
    for (unsigned v = (unsigned)fds[i]; d == 0 || v > 0; v /= 10) digits[d++] = (char)('0' + v % 10);
    if (n > LAYERS_MAX || len + 1 + sizeof prefix + (size_t)d >= LOWER_MAX) {
      errno = E2BIG;
      return -1;
    }
    if (i) lower[len++] = ':';
    memcpy(lower + len, prefix, sizeof prefix - 1);
    len += sizeof prefix - 1;
    while (d > 0) lower[len++] = digits[--d];
  }
  lower[len] = 0;
  return 0;
}

/** A detached read-only overlay of the n directories (fds) in `fds`, top first. */
static int overlay_ro(const int *fds, size_t n) {
  char lower[LOWER_MAX];
  if (lower_option(lower, fds, n) < 0) return -1;
  int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return -1;
  int m = -1;
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) == 0 &&
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
    m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
                     MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  }
  int e = errno;
  close(fs);
  errno = e;
  return m;
}

int layers_mount_ro(int host, const char *data_root, const char *const *layers, size_t n) {
  if (n == 0 || n > LAYERS_MAX) {
    errno = EINVAL;
    return -1;
  }
  int fds[LAYERS_MAX];
  size_t opened = 0;
  int m = -1, e = 0;
  for (; opened < n; opened++) {
    fds[opened] = layers_open(host, data_root, layers[opened]);
    if (fds[opened] < 0) {
      e = errno;
      break;
    }
  }
  if (opened == n) {
    m = n == 1 ? clone_ro(fds[0]) : overlay_ro(fds, n);
    e = errno;
  }
  for (size_t i = 0; i < opened; i++) close(fds[i]);
  if (m < 0) errno = e;
  return m;  // an O_PATH fd of the mount's root, as every root handle is
}

int layers_mount_rw(const char *scratch, const int *fds, size_t n) {
  char upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX], lower[LOWER_MAX], options[LOWER_MAX + 2 * PATH_MAX + 64];
  if (n == 0 || n > LAYERS_MAX) {
    errno = EINVAL;
    return -1;
  }
  if (snprintf(upper, sizeof upper, "%s/upper", scratch) >= (int)sizeof upper || snprintf(work, sizeof work, "%s/work", scratch) >= (int)sizeof work ||
      snprintf(root, sizeof root, "%s/root", scratch) >= (int)sizeof root) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (lower_option(lower, fds, n) < 0) return -1;
  if (snprintf(options, sizeof options, "upperdir=%s,workdir=%s,lowerdir=%s", upper, work, lower) >= (int)sizeof options) {
    errno = E2BIG;
    return -1;
  }
  if (mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) return -1;
  if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(root, 0755) < 0) return -1;
  return mount("overlay", root, "overlay", MS_NODEV, options);
}

/** Sends fd (or, when fd < 0, the errno err) over socket s. */
static void send_result(int s, int fd, int err) {
  struct iovec iov = {&err, sizeof err};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&u, 0, sizeof u);
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  while (sendmsg(s, &m, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

int layers_in_namespace(int mntns, layers_work work, const void *arg) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    // One thread, a copy of the caller's memory: only system calls from here on.
    close(sv[0]);
    int fd = -1, err = 0;
    if (setns(mntns, CLONE_NEWNS) != 0) {
      err = errno;
    } else {
      int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);  // setns made it the namespace's root
      fd = host < 0 ? -1 : work(host, arg);
      err = fd < 0 ? errno : 0;
    }
    send_result(sv[1], fd, err ? err : 0);
    _exit(0);
  }
  close(sv[1]);
  int err = EIO, fd = -1;
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct iovec iov = {&err, sizeof err};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do n = recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  struct cmsghdr *c = n == (ssize_t)sizeof err ? CMSG_FIRSTHDR(&m) : NULL;
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
  } else if (n != (ssize_t)sizeof err || err == 0) {
    err = EIO;  // the child died or said nothing we can use
  }
  close(sv[0]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  if (fd < 0) errno = err;
  return fd;
}
