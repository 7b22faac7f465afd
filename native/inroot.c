// dbox native part: file operations confined to a root directory.
//
// Every path is resolved by openat2(rootfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// absolute symlinks and ".." chains inside a container resolve against the container's root,
// never the host's (the class of CVE-2018-15664 / CVE-2019-14271). Operations that must not
// follow the final component (lstat, unlink, rename, symlink, lchown...) resolve the parent
// directory that way and then act on one name relative to that directory fd.
//
// Tree copy and removal walk by directory fds with O_NOFOLLOW on single names, so a directory
// swapped for a symlink mid-walk fails with ELOOP/ENOTDIR instead of escaping.
//
// Errors are thrown as JS Errors with .code (e.g. "ENOENT") and .errno (positive).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "identity.h"
#include "shell-native.h"

#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
// The root value that stands for the host's own filesystem (absolute paths, normal resolution).
#define HOST_ROOT (-1)

// ---------- N-API helpers ----------

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "dbox native: N-API call failed: " #call); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static napi_value make_errno_error(napi_env env, int err, const char *syscall_name, const char *path) {
  char msg[PATH_MAX + 128];
  const char *code = strerrorname_np(err);
  if (!code) code = "EIO";
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall_name, path ? path : "");
  napi_value jmsg, jcode, error, jerrno, jsys;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_error(env, jcode, jmsg, &error);
  napi_create_int32(env, err, &jerrno);
  napi_set_named_property(env, error, "errno", jerrno);
  napi_set_named_property(env, error, "code", jcode);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &jsys);
  napi_set_named_property(env, error, "syscall", jsys);
  if (path) {
    napi_value jpath;
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &jpath);
    napi_set_named_property(env, error, "path", jpath);
  }
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall_name, const char *path) {
  napi_throw(env, make_errno_error(env, err, syscall_name, path));
  return NULL;
}

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

// Reads a string argument into buf (PATH_MAX).
static int get_path(napi_env env, napi_value v, char *buf) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, PATH_MAX, &len) != napi_ok) return -1;
  if (len >= PATH_MAX - 1) return -1;
  return 0;
}

#define ARGS(n)                                                 \
  size_t argc = n;                                              \
  napi_value argv[n];                                           \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc < n) {                                               \
    napi_throw_type_error(env, NULL, "dbox native: missing arguments"); \
    return NULL;                                                \
  }

#define INT_ARG(i, name)                                                   \
  int64_t name;                                                            \
  if (get_int(env, argv[i], &name)) {                                      \
    napi_throw_type_error(env, NULL, "dbox native: expected a number");   \
    return NULL;                                                           \
  }

#define PATH_ARG(i, name)                                                  \
  char name[PATH_MAX];                                                     \
  if (get_path(env, argv[i], name)) {                                      \
    napi_throw_type_error(env, NULL, "dbox native: bad path argument");   \
    return NULL;                                                           \
  }

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static napi_value undefined(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// ---------- resolution ----------

static int in_root_open(int root, const char *path, int flags, mode_t mode) {
  // openat2 rejects mode bits beyond 07777 (open(2) ignores them): callers may pass S_IFREG.
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode & 07777) : 0,
                         .resolve = RESOLVE_FLAGS};
  const char *p = (path[0] == 0) ? "." : path;
  if (root == HOST_ROOT) {  // the host itself: ordinary resolution (magic links such as /dev/stdin allowed)
    how.resolve = 0;
    root = AT_FDCWD;
    if (path[0] != '/') { errno = EINVAL; return -1; }
  }
  int fd;
  do fd = (int)syscall(SYS_openat2, root, p, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

// Splits path into a resolved parent directory fd and the final name.
// A final component of "", "." or ".." has no single name: returns -1 with EINVAL unless
// allow_self is set, in which case *name is set to "" and the fd is the resolved path itself.
static int open_parent(int root, const char *path, const char **name, char *buf) {
  size_t len = strlen(path);
  if (len >= PATH_MAX) { errno = ENAMETOOLONG; return -1; }
  memcpy(buf, path, len + 1);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = 0;  // "a/b/" -> "a/b"
  char *slash = strrchr(buf, '/');
  const char *dir;
  if (!slash) { dir = "."; *name = buf; }
  else if (slash == buf) { dir = "/"; *name = slash + 1; *slash = 0; }
  else { *slash = 0; dir = buf; *name = slash + 1; }
  if ((*name)[0] == 0 || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0) {
    errno = EINVAL;
    return -1;
  }
  return in_root_open(root, dir, O_PATH | O_DIRECTORY, 0);
}

// ---------- stat encoding ----------
// [dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks,
//  atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns]
#define STAT_LEN 16

static void encode_stat(const struct stat *st, double *o) {
  o[0] = (double)st->st_dev; o[1] = (double)st->st_ino; o[2] = st->st_mode; o[3] = (double)st->st_nlink;
  o[4] = st->st_uid; o[5] = st->st_gid; o[6] = (double)st->st_rdev; o[7] = (double)st->st_size;
  o[8] = (double)st->st_blksize; o[9] = (double)st->st_blocks;
  o[10] = (double)st->st_atim.tv_sec; o[11] = (double)st->st_atim.tv_nsec;
  o[12] = (double)st->st_mtim.tv_sec; o[13] = (double)st->st_mtim.tv_nsec;
  o[14] = (double)st->st_ctim.tv_sec; o[15] = (double)st->st_ctim.tv_nsec;
}

static napi_value stat_array(napi_env env, const struct stat *st) {
  napi_value ab, arr;
  void *data;
  CHECK(napi_create_arraybuffer(env, STAT_LEN * sizeof(double), &data, &ab));
  encode_stat(st, data);
  CHECK(napi_create_typedarray(env, napi_float64_array, STAT_LEN, ab, 0, &arr));
  return arr;
}

// ---------- sync operations ----------

// openRoot(path) -> O_PATH directory fd used as the root of every other call.
static napi_value js_open_root(napi_env env, napi_callback_info info) {
  ARGS(1);
  PATH_ARG(0, path);
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open", path);
  return num(env, fd);
}

// open(root, path, flags, mode) -> fd
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, flags);
  INT_ARG(3, mode);
  int fd = in_root_open((int)root, path, (int)flags, (mode_t)mode);
  if (fd < 0) return throw_errno(env, errno, "open", path);
  return num(env, fd);
}

// stat(root, path, follow) -> Float64Array
static napi_value js_stat(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  bool follow;
  CHECK(napi_get_value_bool(env, argv[2], &follow));
  int fd = in_root_open((int)root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (fd < 0) return throw_errno(env, errno, follow ? "stat" : "lstat", path);
  struct stat st;
  int r = fstat(fd, &st);
  int err = errno;
  close(fd);
  if (r < 0) return throw_errno(env, err, "stat", path);
  return stat_array(env, &st);
}

// fstat(fd) -> Float64Array
static napi_value js_fstat(napi_env env, napi_callback_info info) {
  ARGS(1);
  INT_ARG(0, fd);
  struct stat st;
  if (fstat((int)fd, &st) < 0) return throw_errno(env, errno, "fstat", NULL);
  return stat_array(env, &st);
}

// readdir(root, path, withStat) -> {names: string[], types: Uint8Array, stats?: Float64Array}
// Entries "." and ".." are left out. Stats are lstat of each entry (relative to the dir fd).
static napi_value js_readdir(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  bool with_stat;
  CHECK(napi_get_value_bool(env, argv[2], &with_stat));
  int fd = in_root_open((int)root, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return throw_errno(env, errno, "scandir", path);
  DIR *d = fdopendir(fd);
  if (!d) { int e = errno; close(fd); return throw_errno(env, e, "scandir", path); }
  size_t cap = 64, n = 0;
  char **names = malloc(cap * sizeof *names);
  uint8_t *types = malloc(cap);
  struct dirent *de;
  errno = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' && (de->d_name[1] == 0 || (de->d_name[1] == '.' && de->d_name[2] == 0))) continue;
    if (n == cap) {
      cap *= 2;
      names = realloc(names, cap * sizeof *names);
      types = realloc(types, cap);
    }
    names[n] = strdup(de->d_name);
    types[n] = de->d_type;
    n++;
  }
  napi_value result, jnames, jtypes, tab;
  void *tdata;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, n, &jnames);
  napi_create_arraybuffer(env, n ? n : 1, &tdata, &tab);
  napi_create_typedarray(env, napi_uint8_array, n, tab, 0, &jtypes);
  double *sdata = NULL;
  napi_value jstats = NULL;
  if (with_stat) {
    napi_value sab;
    napi_create_arraybuffer(env, (n ? n : 1) * STAT_LEN * sizeof(double), (void **)&sdata, &sab);
    napi_create_typedarray(env, napi_float64_array, n * STAT_LEN, sab, 0, &jstats);
  }
  for (size_t i = 0; i < n; i++) {
    napi_value s;
    napi_create_string_utf8(env, names[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, jnames, (uint32_t)i, s);
    ((uint8_t *)tdata)[i] = types[i];
    if (with_stat) {
      struct stat st;
      if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) encode_stat(&st, sdata + i * STAT_LEN);
      else memset(sdata + i * STAT_LEN, 0, STAT_LEN * sizeof(double));  // vanished meanwhile: mode 0
    }
    free(names[i]);
  }
  free(names);
  free(types);
  closedir(d);
  napi_set_named_property(env, result, "names", jnames);
  napi_set_named_property(env, result, "types", jtypes);
  if (with_stat) napi_set_named_property(env, result, "stats", jstats);
  return result;
}

// readlink(root, path) -> string
static napi_value js_readlink(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  int fd = in_root_open((int)root, path, O_PATH | O_NOFOLLOW, 0);
  if (fd < 0) return throw_errno(env, errno, "readlink", path);
  char buf[PATH_MAX];
  ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, err == ENOENT ? EINVAL : err, "readlink", path);
  napi_value s;
  napi_create_string_utf8(env, buf, (size_t)n, &s);
  return s;
}

// Runs op(parentfd, name) for the parent of path.
#define WITH_PARENT(root, path, syscall_name, body)                      \
  do {                                                                   \
    char _buf[PATH_MAX];                                                 \
    const char *name;                                                    \
    int pfd = open_parent((int)(root), path, &name, _buf);               \
    if (pfd < 0) return throw_errno(env, errno, syscall_name, path);     \
    int _r = (body);                                                     \
    int _e = errno;                                                      \
    close(pfd);                                                          \
    if (_r < 0) return throw_errno(env, _e, syscall_name, path);         \
  } while (0)

static napi_value js_mkdir(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, mode);
  WITH_PARENT(root, path, "mkdir", mkdirat(pfd, name, (mode_t)mode));
  return undefined(env);
}

static napi_value js_rmdir(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  WITH_PARENT(root, path, "rmdir", unlinkat(pfd, name, AT_REMOVEDIR));
  return undefined(env);
}

static napi_value js_unlink(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  WITH_PARENT(root, path, "unlink", unlinkat(pfd, name, 0));
  return undefined(env);
}

// symlink(target, root, path): target is stored verbatim (it is data, resolved later in-root).
static napi_value js_symlink(napi_env env, napi_callback_info info) {
  ARGS(3);
  PATH_ARG(0, target);
  INT_ARG(1, root);
  PATH_ARG(2, path);
  WITH_PARENT(root, path, "symlink", symlinkat(target, pfd, name));
  return undefined(env);
}

// Operations on two names, each resolved in its own root: rename and link.
typedef int (*two_names_op)(int olddir, const char *oldname, int newdir, const char *newname, unsigned flags);
static int do_rename(int od, const char *on, int nd, const char *nn, unsigned f) { return renameat2(od, on, nd, nn, f); }
static int do_link(int od, const char *on, int nd, const char *nn, unsigned f) { return linkat(od, on, nd, nn, (int)f); }

static napi_value two_names(napi_env env, int64_t root1, const char *from, int64_t root2, const char *to, unsigned flags,
                            two_names_op op, const char *syscall_name) {
  char b1[PATH_MAX], b2[PATH_MAX];
  const char *n1, *n2;
  int p1 = open_parent((int)root1, from, &n1, b1);
  if (p1 < 0) return throw_errno(env, errno, syscall_name, from);
  int p2 = open_parent((int)root2, to, &n2, b2);
  if (p2 < 0) {
    int e = errno;
    close(p1);
    return throw_errno(env, e, syscall_name, to);
  }
  int r = op(p1, n1, p2, n2, flags);
  int e = errno;
  close(p1);
  close(p2);
  if (r < 0) return throw_errno(env, e, syscall_name, from);
  return undefined(env);
}

// rename(root1, from, root2, to, flags) with renameat2 flags (RENAME_NOREPLACE = 1).
static napi_value js_rename(napi_env env, napi_callback_info info) {
  ARGS(5);
  INT_ARG(0, root1);
  PATH_ARG(1, from);
  INT_ARG(2, root2);
  PATH_ARG(3, to);
  INT_ARG(4, flags);
  return two_names(env, root1, from, root2, to, (unsigned)flags, do_rename, "rename");
}

// link(root1, from, root2, to): hard link, never following a final symlink of `from`.
static napi_value js_link(napi_env env, napi_callback_info info) {
  ARGS(4);
  INT_ARG(0, root1);
  PATH_ARG(1, from);
  INT_ARG(2, root2);
  PATH_ARG(3, to);
  return two_names(env, root1, from, root2, to, 0, do_link, "link");
}

// chmod(root, path, mode): follows the final symlink in-root (as chmod(2) does).
static napi_value js_chmod(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, mode);
  int fd = in_root_open((int)root, path, O_PATH, 0);
  if (fd < 0) return throw_errno(env, errno, "chmod", path);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int r = fchmodat(AT_FDCWD, proc, (mode_t)mode, 0);
  int err = errno;
  close(fd);
  if (r < 0) return throw_errno(env, err, "chmod", path);
  return undefined(env);
}

// chown(root, path, uid, gid, follow)
static napi_value js_chown(napi_env env, napi_callback_info info) {
  ARGS(5);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, uid);
  INT_ARG(3, gid);
  bool follow;
  CHECK(napi_get_value_bool(env, argv[4], &follow));
  int fd = in_root_open((int)root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (fd < 0) return throw_errno(env, errno, "chown", path);
  int r = fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH);
  int err = errno;
  close(fd);
  if (r < 0) return throw_errno(env, err, "chown", path);
  return undefined(env);
}

// utimes(root, path, atime_s, atime_ns, mtime_s, mtime_ns, follow)
static napi_value js_utimes(napi_env env, napi_callback_info info) {
  ARGS(7);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, as);
  INT_ARG(3, ans);
  INT_ARG(4, ms);
  INT_ARG(5, mns);
  bool follow;
  CHECK(napi_get_value_bool(env, argv[6], &follow));
  struct timespec ts[2] = {{.tv_sec = as, .tv_nsec = ans}, {.tv_sec = ms, .tv_nsec = mns}};
  if (follow) {
    int fd = in_root_open((int)root, path, O_PATH, 0);
    if (fd < 0) return throw_errno(env, errno, "utimes", path);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int r = utimensat(AT_FDCWD, proc, ts, 0);
    int err = errno;
    close(fd);
    if (r < 0) return throw_errno(env, err, "utimes", path);
  } else {
    WITH_PARENT(root, path, "utimes", utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW));
  }
  return undefined(env);
}

// statfs(root, path) -> [bsize, blocks, bfree, bavail, files, ffree, namelen, frsize]
static napi_value js_statfs(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  int fd = in_root_open((int)root, path, O_PATH, 0);
  if (fd < 0) return throw_errno(env, errno, "statfs", path);
  struct statfs s;
  int r = fstatfs(fd, &s);
  int err = errno;
  close(fd);
  if (r < 0) return throw_errno(env, err, "statfs", path);
  double v[8] = {(double)s.f_bsize, (double)s.f_blocks, (double)s.f_bfree, (double)s.f_bavail,
                 (double)s.f_files, (double)s.f_ffree, (double)s.f_namelen, (double)s.f_frsize};
  napi_value arr;
  napi_create_array_with_length(env, 8, &arr);
  for (uint32_t i = 0; i < 8; i++) napi_set_element(env, arr, i, num(env, v[i]));
  return arr;
}

// ---------- process identity (identity.c) ----------

// openContainerRoot(pid, id) -> an O_PATH fd of the root of container `id`'s process `pid`, only
// when that process is proven to be the container's (identity.h); EPERM when it is not.
static napi_value js_open_container_root(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, pid);
  char id[80];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[1], id, sizeof id, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "dbox native: bad container id");
    return NULL;
  }
  char what[32];
  snprintf(what, sizeof what, "/proc/%lld", (long long)pid);
  int proc = identity_open_proc();
  if (proc < 0) return throw_errno(env, errno, "open", "/proc");
  int dir = pid > 0 && pid <= INT32_MAX ? identity_open_container_proc(proc, (pid_t)pid, id) : (errno = EINVAL, -1);
  int err = errno;
  close(proc);
  if (dir < 0) return throw_errno(env, err, "open", what);
  int root = identity_open_root(dir);
  err = errno;
  close(dir);
  if (root < 0) return throw_errno(env, err, "open", what);
  return num(env, root);
}

// peerInOurPidNamespace(socketPath) -> whether the engine behind a unix socket shares our PID
// namespace (so the pids it reports are ours); throws when nobody answers there.
static napi_value js_peer_in_our_pid_ns(napi_env env, napi_callback_info info) {
  ARGS(1);
  PATH_ARG(0, path);
  int r = identity_peer_in_our_pid_ns(path);
  if (r < 0) return throw_errno(env, errno, "connect", path);
  napi_value b;
  napi_get_boolean(env, r == 1, &b);
  return b;
}

// cgroupNames(text, id) -> whether a /proc/<pid>/cgroup text names container `id` (for tests).
static napi_value js_cgroup_names(napi_env env, napi_callback_info info) {
  ARGS(2);
  size_t len;
  char id[80];
  static char text[65536];
  if (napi_get_value_string_utf8(env, argv[0], text, sizeof text, &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], id, sizeof id, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "dbox native: expected strings");
    return NULL;
  }
  napi_value b;
  napi_get_boolean(env, identity_cgroup_names(text, id) == 1, &b);
  return b;
}

// ---------- async work: copies and tree removal ----------
// progress: a Float64Array [bytes, files, cancel]; the worker adds to [0] and [1] and stops
// with ECANCELED when JS sets [2] to 1.

enum job_kind { JOB_COPY_FD, JOB_COPY_TREE, JOB_REMOVE_TREE };

typedef struct {
  enum job_kind kind;
  int in_fd, out_fd;          // JOB_COPY_FD
  int src_root, dst_root;     // trees
  char src[PATH_MAX], dst[PATH_MAX];
  int preserve;
  volatile double *progress;  // may be NULL
  napi_ref progress_ref;
  pthread_mutex_t lock;       // guards progress, bytes and the first error between worker threads
  uid_t euid;
  gid_t egid;
  mode_t umask;
  int dst_sgid;               // the destination directory is setgid: new entries take its group
  int parallel_top;           // the next directory copied is the top one: walk it with several threads
  // result
  int err;
  char err_path[PATH_MAX];
  const char *err_syscall;
  double bytes;
  napi_async_work work;
  napi_deferred deferred;
} job_t;

static int cancelled(job_t *j) { return j->progress && j->progress[2] != 0; }

static int fail(job_t *j, int err, const char *sys, const char *path) {
  pthread_mutex_lock(&j->lock);
  if (!j->err) {
    j->err = err;
    j->err_syscall = sys;
    snprintf(j->err_path, sizeof j->err_path, "%s", path ? path : "");
  }
  pthread_mutex_unlock(&j->lock);
  return -1;
}

static int failed(job_t *j) {
  pthread_mutex_lock(&j->lock);
  int e = j->err;
  pthread_mutex_unlock(&j->lock);
  return e;
}

static void add_progress(job_t *j, double bytes, double files) {
  pthread_mutex_lock(&j->lock);
  j->bytes += bytes;
  if (j->progress) {
    j->progress[0] += bytes;
    j->progress[1] += files;
  }
  pthread_mutex_unlock(&j->lock);
}

// The process umask, read without changing it (umask(2) would race with other threads).
static mode_t current_umask(void) {
  FILE *f = fopen("/proc/self/status", "re");
  unsigned u = 022;
  char line[256];
  while (f && fgets(line, sizeof line, f)) {
    if (sscanf(line, "Umask: %o", &u) == 1) break;
  }
  if (f) fclose(f);
  return (mode_t)u;
}

// Copies in -> out from their current offsets: `size` bytes (the size a stat saw; the copy ends
// there, or earlier at EOF), or to EOF when size < 0. copy_file_range first (in-kernel, reflinks
// where the filesystem can), read/write when the pair does not support it.
static int copy_fd(job_t *j, int in, int out, const char *path, off_t size) {
  const size_t chunk = 8u << 20;
  int use_cfr = 1;
  char *buf = NULL;
  off_t done = 0;
  while (size < 0 || done < size) {
    if (cancelled(j)) { free(buf); return fail(j, ECANCELED, "copy", path); }
    ssize_t n;
    if (use_cfr) {
      size_t want = size < 0 || (off_t)chunk < size - done ? chunk : (size_t)(size - done);
      n = copy_file_range(in, NULL, out, NULL, want, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF)) {
        use_cfr = 0;
        continue;
      }
    } else {
      if (!buf && !(buf = malloc(1u << 20))) return fail(j, ENOMEM, "copy", path);
      n = read(in, buf, 1u << 20);
      if (n > 0) {
        for (ssize_t off = 0; off < n;) {
          ssize_t w = write(out, buf + off, (size_t)(n - off));
          if (w < 0 && errno == EAGAIN) {  // a non-blocking pipe (Node's stdout): wait until writable
            struct pollfd pfd = {.fd = out, .events = POLLOUT};
            poll(&pfd, 1, 1000);
            continue;
          }
          if (w < 0) { if (errno == EINTR) continue; int e = errno; free(buf); return fail(j, e, "write", path); }
          off += w;
        }
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      return fail(j, e, use_cfr ? "copy_file_range" : "read", path);
    }
    if (n == 0) break;
    done += n;
    add_progress(j, (double)n, 0);
  }
  free(buf);
  return 0;
}

// Sets owner, mode and times of a new entry, leaving out the calls that would change nothing:
// `created` is the mode it was created with (before the umask). chown runs before chmod, since
// chown clears setuid/setgid bits.
static int apply_meta(job_t *j, int dirfd, const char *name, int fd, const struct stat *st, const char *path,
                      mode_t created) {
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (fd >= 0) {
    mode_t want = st->st_mode & 07777;
    int chown_needed = j->preserve && (j->dst_sgid || st->st_uid != j->euid || st->st_gid != j->egid);
    if (chown_needed && fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM) return fail(j, errno, "chown", path);
    int mode_right = !chown_needed && (created & ~j->umask) == want;
    if (!mode_right && fchmod(fd, want) < 0) return fail(j, errno, "chmod", path);
    if (j->preserve && futimens(fd, ts) < 0) return fail(j, errno, "utimes", path);
  } else {  // symlinks: no fd to act on
    if (j->preserve && fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
      return fail(j, errno, "chown", path);
    if (j->preserve && utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return fail(j, errno, "utimes", path);
  }
  return 0;
}

static int copy_entry(job_t *j, int sdir, const char *sname, int ddir, const char *name, const struct stat *st, char *rel,
                      size_t rlen);

// Copies the contents of directory sfd into directory dfd. rel holds the path for messages.
static int copy_dir(job_t *j, int sfd, int dfd, char *rel, size_t rlen) {
  int dup_fd = dup(sfd);
  if (dup_fd < 0) return fail(j, errno, "dup", rel);
  DIR *d = fdopendir(dup_fd);
  if (!d) { int e = errno; close(dup_fd); return fail(j, e, "scandir", rel); }
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    struct stat st;
    size_t nl = strlen(n);
    if (rlen + 1 + nl >= PATH_MAX) { rc = fail(j, ENAMETOOLONG, "copy", rel); break; }
    rel[rlen] = '/';
    memcpy(rel + rlen + 1, n, nl + 1);
    if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) { rc = fail(j, errno, "lstat", rel); break; }
    if ((rc = copy_entry(j, sfd, n, dfd, n, &st, rel, rlen + 1 + nl)) < 0) break;
    rel[rlen] = 0;
  }
  closedir(d);
  return rc;
}

// The top directory of a tree copy is shared by several threads: each takes the next entry from
// the one directory stream (under a lock) and copies it, recursively, on its own.
typedef struct {
  job_t *j;
  int sfd, dfd;
  DIR *d;
  pthread_mutex_t lock;
  const char *base;
  size_t blen;
} shared_dir_t;

static void *dir_worker(void *arg) {
  shared_dir_t *sd = arg;
  char rel[PATH_MAX];
  memcpy(rel, sd->base, sd->blen + 1);
  for (;;) {
    char name[NAME_MAX + 1];
    pthread_mutex_lock(&sd->lock);
    struct dirent *de = failed(sd->j) ? NULL : readdir(sd->d);
    if (de) snprintf(name, sizeof name, "%s", de->d_name);
    pthread_mutex_unlock(&sd->lock);
    if (!de) break;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t nl = strlen(name);
    if (sd->blen + 1 + nl >= PATH_MAX) { fail(sd->j, ENAMETOOLONG, "copy", rel); break; }
    rel[sd->blen] = '/';
    memcpy(rel + sd->blen + 1, name, nl + 1);
    struct stat st;
    if (fstatat(sd->sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) { fail(sd->j, errno, "lstat", rel); break; }
    if (copy_entry(sd->j, sd->sfd, name, sd->dfd, name, &st, rel, sd->blen + 1 + nl) < 0) break;
    rel[sd->blen] = 0;
  }
  return NULL;
}

static int copy_dir_parallel(job_t *j, int sfd, int dfd, char *rel, size_t rlen) {
  int dup_fd = dup(sfd);
  if (dup_fd < 0) return fail(j, errno, "dup", rel);
  shared_dir_t sd = {.j = j, .sfd = sfd, .dfd = dfd, .d = fdopendir(dup_fd), .base = rel, .blen = rlen};
  if (!sd.d) { int e = errno; close(dup_fd); return fail(j, e, "scandir", rel); }
  pthread_mutex_init(&sd.lock, NULL);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int extra = cpus > 4 ? 3 : cpus > 1 ? (int)cpus - 1 : 0;
  pthread_t threads[3];
  int started = 0;
  while (started < extra && pthread_create(&threads[started], NULL, dir_worker, &sd) == 0) started++;
  dir_worker(&sd);
  for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
  pthread_mutex_destroy(&sd.lock);
  closedir(sd.d);
  return failed(j) ? -1 : 0;
}

// Copies entry sname of sdir to the new entry name of ddir.
static int copy_entry(job_t *j, int sdir, const char *sname, int ddir, const char *name, const struct stat *st, char *rel,
                      size_t rlen) {
  if (cancelled(j)) return fail(j, ECANCELED, "copy", rel);
  if (failed(j)) return -1;  // another thread met an error: stop
  switch (st->st_mode & S_IFMT) {
    case S_IFDIR: {
      if (mkdirat(ddir, name, 0700) < 0) return fail(j, errno, "mkdir", rel);
      int s = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return fail(j, errno, "open", rel);
      int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) { int e = errno; close(s); return fail(j, e, "open", rel); }
      int top = j->parallel_top;
      j->parallel_top = 0;  // only the top directory is shared between threads
      int rc = top ? copy_dir_parallel(j, s, d, rel, rlen) : copy_dir(j, s, d, rel, rlen);
      if (rc == 0) rc = apply_meta(j, ddir, name, d, st, rel, 0700);
      close(s);
      close(d);
      if (rc == 0) add_progress(j, 0, 1);
      return rc;
    }
    case S_IFREG: {
      int s = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0) return fail(j, errno, "open", rel);
      mode_t created = st->st_mode & 0777;
      int d = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, created);
      if (d < 0) { int e = errno; close(s); return fail(j, e, "open", rel); }
      int rc = copy_fd(j, s, d, rel, st->st_size);
      if (rc == 0) rc = apply_meta(j, ddir, name, d, st, rel, created);
      close(s);
      if (close(d) < 0 && rc == 0) rc = fail(j, errno, "close", rel);
      if (rc == 0) add_progress(j, 0, 1);
      return rc;
    }
    case S_IFLNK: {
      char target[PATH_MAX];
      ssize_t n = readlinkat(sdir, sname, target, sizeof target - 1);
      if (n < 0) return fail(j, errno, "readlink", rel);
      target[n] = 0;
      if (symlinkat(target, ddir, name) < 0) return fail(j, errno, "symlink", rel);
      add_progress(j, 0, 1);
      return apply_meta(j, ddir, name, -1, st, rel, 0);
    }
    default: {  // fifos, sockets, devices: recreated (as cp -a does); EPERM for devices when unprivileged
      if (mknodat(ddir, name, st->st_mode, st->st_rdev) < 0) return fail(j, errno, "mknod", rel);
      int d = openat(ddir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) return fail(j, errno, "open", rel);
      char proc[64];
      snprintf(proc, sizeof proc, "/proc/self/fd/%d", d);
      struct timespec ts[2] = {st->st_atim, st->st_mtim};
      if (j->preserve) {
        if (fchownat(d, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) < 0 && errno != EPERM) { int e = errno; close(d); return fail(j, e, "chown", rel); }
        utimensat(AT_FDCWD, proc, ts, 0);
      }
      close(d);
      add_progress(j, 0, 1);
      return 0;
    }
  }
}

// Removes everything below directory fd dfd (not dfd itself).
static int remove_below(job_t *j, int dfd, char *rel, size_t rlen) {
  int dup_fd = dup(dfd);
  if (dup_fd < 0) return fail(j, errno, "dup", rel);
  DIR *d = fdopendir(dup_fd);
  if (!d) { int e = errno; close(dup_fd); return fail(j, e, "scandir", rel); }
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
    size_t nl = strlen(n);
    if (rlen + 1 + nl >= PATH_MAX) { rc = fail(j, ENAMETOOLONG, "rm", rel); break; }
    rel[rlen] = '/';
    memcpy(rel + rlen + 1, n, nl + 1);
    if (unlinkat(dfd, n, 0) == 0) { rel[rlen] = 0; continue; }
    if (errno != EISDIR && errno != EPERM) { rc = fail(j, errno, "unlink", rel); break; }
    int sub = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) { rc = fail(j, errno, "open", rel); break; }
    rc = remove_below(j, sub, rel, rlen + 1 + nl);
    close(sub);
    if (rc < 0) break;
    if (unlinkat(dfd, n, AT_REMOVEDIR) < 0) { rc = fail(j, errno, "rmdir", rel); break; }
    rel[rlen] = 0;
  }
  closedir(d);
  return rc;
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  char rel[PATH_MAX];
  switch (j->kind) {
    case JOB_COPY_FD:
      copy_fd(j, j->in_fd, j->out_fd, "", -1);
      break;
    case JOB_COPY_TREE: {
      // src: an existing entry (not followed if a symlink); dst: a new name (must not exist).
      char b1[PATH_MAX], b2[PATH_MAX];
      const char *sn, *dn;
      int sp = open_parent(j->src_root, j->src, &sn, b1);
      if (sp < 0) { fail(j, errno, "open", j->src); break; }
      int dp = open_parent(j->dst_root, j->dst, &dn, b2);
      if (dp < 0) { fail(j, errno, "open", j->dst); close(sp); break; }
      struct stat st, dst_parent;
      j->euid = geteuid();
      j->egid = getegid();
      j->umask = current_umask();
      j->dst_sgid = fstat(dp, &dst_parent) == 0 && (dst_parent.st_mode & S_ISGID);
      j->parallel_top = 1;
      if (fstatat(sp, sn, &st, AT_SYMLINK_NOFOLLOW) < 0) fail(j, errno, "lstat", j->src);
      else {
        snprintf(rel, sizeof rel, "%s", j->src);
        copy_entry(j, sp, sn, dp, dn, &st, rel, strlen(rel));
      }
      close(sp);
      close(dp);
      break;
    }
    case JOB_REMOVE_TREE: {
      char b1[PATH_MAX];
      const char *n;
      int p = open_parent(j->src_root, j->src, &n, b1);
      if (p < 0) { fail(j, errno, "open", j->src); break; }
      if (unlinkat(p, n, 0) == 0) { close(p); break; }
      if (errno != EISDIR && errno != EPERM) { fail(j, errno, "unlink", j->src); close(p); break; }
      int d = openat(p, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) { fail(j, errno, "open", j->src); close(p); break; }
      snprintf(rel, sizeof rel, "%s", j->src);
      if (remove_below(j, d, rel, strlen(rel)) == 0 && unlinkat(p, n, AT_REMOVEDIR) < 0) fail(j, errno, "rmdir", j->src);
      close(d);
      close(p);
      break;
    }
  }
}

static void job_complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  if (status != napi_ok && !j->err) j->err = EIO;
  if (j->err) {
    napi_reject_deferred(env, j->deferred, make_errno_error(env, j->err, j->err_syscall ? j->err_syscall : "copy", j->err_path));
  } else {
    napi_resolve_deferred(env, j->deferred, num(env, j->bytes));
  }
  if (j->progress_ref) napi_delete_reference(env, j->progress_ref);
  napi_delete_async_work(env, j->work);
  pthread_mutex_destroy(&j->lock);
  free(j);
}

static napi_value start_job(napi_env env, job_t *j, napi_value progress) {
  napi_value promise, name;
  pthread_mutex_init(&j->lock, NULL);
  napi_valuetype t;
  napi_typeof(env, progress, &t);
  if (t == napi_object) {
    napi_typedarray_type tt;
    size_t len;
    void *data;
    if (napi_get_typedarray_info(env, progress, &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_float64_array ||
        len < 3) {
      free(j);
      napi_throw_type_error(env, NULL, "dbox native: progress must be a Float64Array(3)");
      return NULL;
    }
    j->progress = data;
    napi_create_reference(env, progress, 1, &j->progress_ref);
  }
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "dbox-copy", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, job_execute, job_complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

// copyFd(inFd, outFd, progress?) -> Promise<bytes>
static napi_value js_copy_fd(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, in);
  INT_ARG(1, out);
  job_t *j = calloc(1, sizeof *j);
  j->kind = JOB_COPY_FD;
  j->in_fd = (int)in;
  j->out_fd = (int)out;
  return start_job(env, j, argv[2]);
}

// copyTree(srcRoot, src, dstRoot, dst, preserve, progress?) -> Promise<bytes>
static napi_value js_copy_tree(napi_env env, napi_callback_info info) {
  ARGS(6);
  INT_ARG(0, sroot);
  PATH_ARG(1, src);
  INT_ARG(2, droot);
  PATH_ARG(3, dst);
  bool preserve;
  CHECK(napi_get_value_bool(env, argv[4], &preserve));
  job_t *j = calloc(1, sizeof *j);
  j->kind = JOB_COPY_TREE;
  j->src_root = (int)sroot;
  j->dst_root = (int)droot;
  snprintf(j->src, sizeof j->src, "%s", src);
  snprintf(j->dst, sizeof j->dst, "%s", dst);
  j->preserve = preserve;
  return start_job(env, j, argv[5]);
}

// removeTree(root, path) -> Promise<0>: rm -rf confined to root; a final symlink is removed, not followed.
static napi_value js_remove_tree(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  job_t *j = calloc(1, sizeof *j);
  j->kind = JOB_REMOVE_TREE;
  j->src_root = (int)root;
  snprintf(j->src, sizeof j->src, "%s", path);
  napi_value none;
  napi_get_undefined(env, &none);
  return start_job(env, j, none);
}

#define EXPORT(name, fn)                                            \
  do {                                                              \
    napi_value f;                                                   \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f); \
    napi_set_named_property(env, exports, name, f);                 \
  } while (0)

static napi_value init(napi_env env, napi_value exports) {
  EXPORT("openRoot", js_open_root);
  EXPORT("open", js_open);
  EXPORT("stat", js_stat);
  EXPORT("fstat", js_fstat);
  EXPORT("readdir", js_readdir);
  EXPORT("readlink", js_readlink);
  EXPORT("mkdir", js_mkdir);
  EXPORT("rmdir", js_rmdir);
  EXPORT("unlink", js_unlink);
  EXPORT("symlink", js_symlink);
  EXPORT("rename", js_rename);
  EXPORT("link", js_link);
  EXPORT("chmod", js_chmod);
  EXPORT("chown", js_chown);
  EXPORT("utimes", js_utimes);
  EXPORT("statfs", js_statfs);
  EXPORT("copyFd", js_copy_fd);
  EXPORT("copyTree", js_copy_tree);
  EXPORT("removeTree", js_remove_tree);
  EXPORT("openContainerRoot", js_open_container_root);
  EXPORT("peerInOurPidNamespace", js_peer_in_our_pid_ns);
  EXPORT("cgroupNames", js_cgroup_names);
  shell_native_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
