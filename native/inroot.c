// dbox native part: file operations confined to a root directory.
//
// What it trusts: the kernel, the root fd it is given, and nothing of the tree below it. A
// container's files, names, link targets and types are hostile.
//
// Every path is resolved by openat2(rootfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
// absolute symlinks and ".." chains inside a container resolve against the container's root,
// never the host's (the class of CVE-2018-15664 / CVE-2019-14271). Operations that must not
// follow the final component (lstat, unlink, rename, symlink, lchown...) resolve the parent
// directory that way and then act on one name relative to that directory fd.
//
// Reading never opens what it should not: a file is first opened O_PATH (which opens nothing:
// no device driver runs, no FIFO waits), its type is checked on that fd, and only then is it
// reopened for reading through /proc/self/fd, O_NONBLOCK|O_NOCTTY (openRead, the tree copy).
// Reads of anything but a regular file wait with poll() and stop on a cancel or at exit, so no
// thread is ever held for ever by a FIFO or a device.
//
// Tree copy and removal walk by directory fds with an explicit stack (a hostile depth ends with
// ENAMETOOLONG, never a stack overflow), open every entry O_PATH|O_NOFOLLOW and act on that fd,
// so a directory swapped for a symlink mid-walk fails with ELOOP/ENOTDIR instead of escaping
// and a file swapped for a device is never opened. Names come from getdents (one component);
// the copy writes only new names (O_EXCL, mkdirat) below the new directory it created.
//
// Names cross to JS losslessly (name-codec.h): invalid UTF-8 bytes become lone surrogates
// U+DC80..U+DCFF and are turned back into the same bytes on the way in.
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
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "identity.h"
#include "link.h"
#include "name-codec.h"
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

// A JS string for the name bytes[0..len), invalid UTF-8 escaped (name-codec.h).
static napi_status name_value(napi_env env, const char *bytes, size_t len, napi_value *out) {
  uint16_t stack_units[256];
  uint16_t *units = len <= 256 ? stack_units : malloc(len * sizeof *units);
  if (!units) return napi_generic_failure;
  size_t n = name_decode(bytes, len, units, len);
  napi_status st = napi_create_string_utf16(env, (const char16_t *)units, n, out);
  if (units != stack_units) free(units);
  return st;
}

// An Error like Node's own for errno `err`; NULL when N-API cannot make it.
static napi_value make_errno_error(napi_env env, int err, const char *syscall_name, const char *path) {
  char msg[PATH_MAX + 128];
  const char *code = strerrorname_np(err);
  if (!code) code = "EIO";
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall_name, path ? path : "");
  napi_value jmsg, jcode, error, jerrno, jsys, jpath;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok || napi_create_error(env, jcode, jmsg, &error) != napi_ok ||
      napi_create_int32(env, err, &jerrno) != napi_ok || napi_set_named_property(env, error, "errno", jerrno) != napi_ok ||
      napi_set_named_property(env, error, "code", jcode) != napi_ok ||
      napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &jsys) != napi_ok ||
      napi_set_named_property(env, error, "syscall", jsys) != napi_ok)
    return NULL;
  // The path is a detail: an error without it is still the error.
  if (path && name_value(env, path, strlen(path), &jpath) == napi_ok) napi_set_named_property(env, error, "path", jpath);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall_name, const char *path) {
  napi_value error = make_errno_error(env, err, syscall_name, path);
  if (!error || napi_throw(env, error) != napi_ok) {
    const char *code = strerrorname_np(err);
    napi_throw_error(env, code ? code : "EIO", strerror(err));
  }
  return NULL;
}

static int get_int(napi_env env, napi_value v, int64_t *out) {
  return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

// Reads a path argument into buf (PATH_MAX bytes), lone surrogates back to the bytes they
// stand for. Returns 0, -1 when v is not a string, or an errno: ENAMETOOLONG, EINVAL (a NUL or
// a string no name decodes to).
static int get_path(napi_env env, napi_value v, char *buf) {
  uint16_t units[PATH_MAX];
  size_t len;
  if (napi_get_value_string_utf16(env, v, NULL, 0, &len) != napi_ok) return -1;
  if (len >= PATH_MAX) return ENAMETOOLONG;
  if (napi_get_value_string_utf16(env, v, (char16_t *)units, PATH_MAX, &len) != napi_ok) return -1;
  return name_encode(units, len, buf, PATH_MAX) < 0 ? errno : 0;
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
  {                                                                        \
    int _pe = get_path(env, argv[i], name);                                \
    if (_pe < 0) {                                                         \
      napi_throw_type_error(env, NULL, "dbox native: expected a path");   \
      return NULL;                                                         \
    }                                                                      \
    if (_pe > 0) return throw_errno(env, _pe, "path", NULL);               \
  }

// A JS number; NULL (and a pending exception) when N-API cannot make one.
static napi_value num(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) == napi_ok) return r;
  napi_throw_error(env, NULL, "dbox native: N-API call failed: napi_create_double");
  return NULL;
}

// A new descriptor as a JS number; closed again when it cannot be handed over.
static napi_value fd_value(napi_env env, int fd) {
  napi_value r = num(env, fd);
  if (!r) close(fd);
  return r;
}

// What a callback returns for undefined.
static napi_value undefined(napi_env env) { return NULL; }

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
  if (!is_one_component(*name)) {
    errno = EINVAL;
    return -1;
  }
  return in_root_open(root, dir, O_PATH | O_DIRECTORY, 0);
}

// The open-O_PATH-then-act pattern (common.h WITH_FD) on `path` in `root`: `act` uses `fd`; an
// error of either is thrown as `syscall_name`'s.
#define IN_ROOT_DO(root, path, flags, syscall_name, act)                  \
  do {                                                                   \
    if (WITH_FD(fd, in_root_open((int)(root), path, (flags), 0), act) < 0) \
      return throw_errno(env, errno, syscall_name, path);                \
  } while (0)

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
  return fd_value(env, fd);
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
  return fd_value(env, fd);
}

// stat(root, path, follow) -> Float64Array
static napi_value js_stat(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  bool follow;
  CHECK(napi_get_value_bool(env, argv[2], &follow));
  struct stat st;
  IN_ROOT_DO(root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), follow ? "stat" : "lstat", fstat(fd, &st));
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
  int err = names && types ? 0 : ENOMEM;
  struct dirent *de;
  while (!err) {
    errno = 0;
    if (!(de = readdir(d))) { err = errno; break; }
    // One component other than "." and "..": the kernel's filesystems never give anything else;
    // checked all the same, since it is what keeps the writes of a copy below their destination.
    if (!is_one_component(de->d_name)) continue;
    if (n == cap) {
      char **nn = realloc(names, cap * 2 * sizeof *names);
      if (nn) names = nn;
      uint8_t *nt = nn ? realloc(types, cap * 2) : NULL;
      if (nt) types = nt;
      if (!nn || !nt) { err = ENOMEM; break; }
      cap *= 2;
    }
    if (!(names[n] = strdup(de->d_name))) { err = ENOMEM; break; }
    types[n] = de->d_type;
    n++;
  }
  napi_value result = NULL, jnames, jtypes, tab, jstats = NULL;
  void *tdata;
  double *sdata = NULL;
  if (!err && (napi_create_object(env, &result) != napi_ok || napi_create_array_with_length(env, n, &jnames) != napi_ok ||
               napi_create_arraybuffer(env, n ? n : 1, &tdata, &tab) != napi_ok ||
               napi_create_typedarray(env, napi_uint8_array, n, tab, 0, &jtypes) != napi_ok)) err = ENOMEM;
  if (!err && with_stat) {
    napi_value sab;
    if (napi_create_arraybuffer(env, (n ? n : 1) * STAT_LEN * sizeof(double), (void **)&sdata, &sab) != napi_ok ||
        napi_create_typedarray(env, napi_float64_array, n * STAT_LEN, sab, 0, &jstats) != napi_ok) err = ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    if (!err) {
      napi_value s;
      if (name_value(env, names[i], strlen(names[i]), &s) != napi_ok || napi_set_element(env, jnames, (uint32_t)i, s) != napi_ok)
        err = ENOMEM;
      else {
        ((uint8_t *)tdata)[i] = types[i];
        if (with_stat) {
          struct stat st;
          if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) encode_stat(&st, sdata + i * STAT_LEN);
          else memset(sdata + i * STAT_LEN, 0, STAT_LEN * sizeof(double));  // vanished meanwhile: mode 0
        }
      }
    }
    free(names[i]);
  }
  free(names);
  free(types);
  closedir(d);
  if (err) return throw_errno(env, err, "scandir", path);
  CHECK(napi_set_named_property(env, result, "names", jnames));
  CHECK(napi_set_named_property(env, result, "types", jtypes));
  if (with_stat) CHECK(napi_set_named_property(env, result, "stats", jstats));
  return result;
}

// The target of the symlink `fd` (O_PATH|O_NOFOLLOW) into buf, its length in *n; -1 and EINVAL
// when it is no symlink (readlinkat says ENOENT: the empty name).
static int read_link(int fd, char *buf, size_t size, ssize_t *n) {
  *n = readlinkat(fd, "", buf, size);
  if (*n < 0 && errno == ENOENT) errno = EINVAL;
  return *n < 0 ? -1 : 0;
}

// readlink(root, path) -> string
static napi_value js_readlink(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  char buf[PATH_MAX];
  ssize_t n = -1;
  IN_ROOT_DO(root, path, O_PATH | O_NOFOLLOW, "readlink", read_link(fd, buf, sizeof buf - 1, &n));
  napi_value s;
  CHECK(name_value(env, buf, (size_t)n, &s));
  return s;
}

// What openRead may open besides regular files.
#define READ_FIFO 1  // a FIFO (cat reads one, interruptibly)
#define READ_ANY 2   // anything (the host's own files: GNU behaviour)

// openRead(root, path, accept) -> {fd, mode}: opens path (following links in-root) for reading.
// A directory is EISDIR. A type `accept` does not allow is never opened: fd is -1 and mode says
// what it is, for the caller's message. FIFOs keep O_NONBLOCK (read them by polling); other
// fds are blocking again (a regular file never waits).
static napi_value js_open_read(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, accept);
  int p = in_root_open((int)root, path, O_PATH, 0);
  if (p < 0) return throw_errno(env, errno, "open", path);
  struct stat st;
  if (fstat(p, &st) < 0) { int e = errno; close(p); return throw_errno(env, e, "fstat", path); }
  mode_t type = st.st_mode & S_IFMT;
  int fd = -1;
  if (type == S_IFDIR) { close(p); return throw_errno(env, EISDIR, "open", path); }
  if (type == S_IFREG || (type == S_IFIFO && (accept & READ_FIFO)) || (accept & READ_ANY)) {
    fd = reopen_fd(p, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    int e = errno;
    close(p);
    if (fd < 0) return throw_errno(env, e, "open", path);
    if (type != S_IFIFO && type != S_IFSOCK) {
      int fl = fcntl(fd, F_GETFL);
      if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) { e = errno; close(fd); return throw_errno(env, e, "fcntl", path); }
    }
  } else {
    close(p);
  }
  napi_value result, jfd, jmode;
  if (napi_create_object(env, &result) != napi_ok || !(jmode = num(env, st.st_mode)) ||
      napi_set_named_property(env, result, "mode", jmode) != napi_ok || !(jfd = num(env, fd)) ||
      napi_set_named_property(env, result, "fd", jfd) != napi_ok) {
    if (fd >= 0) close(fd);
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) napi_throw_error(env, NULL, "dbox native: N-API call failed: openRead");
    return NULL;
  }
  return result;
}

// Runs op(parentfd, name) for the parent of path.
#define WITH_PARENT(root, path, syscall_name, body)                      \
  do {                                                                   \
    char _buf[PATH_MAX];                                                 \
    const char *name;                                                    \
    if (WITH_FD(pfd, open_parent((int)(root), path, &name, _buf), body) < 0) \
      return throw_errno(env, errno, syscall_name, path);                \
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
  IN_ROOT_DO(root, path, O_PATH, "chmod", fchmodat(AT_FDCWD, fd_path(fd).s, (mode_t)mode, 0));
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
  IN_ROOT_DO(root, path, O_PATH | (follow ? 0 : O_NOFOLLOW), "chown", fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH));
  return undefined(env);
}

// utimes(root, path, atime_s, atime_ns, mtime_s, mtime_ns, follow)
// futimens(fd, as, ans, ms, mns): access and modification times of an open file, to the nanosecond.
static napi_value js_futimens(napi_env env, napi_callback_info info) {
  ARGS(5);
  INT_ARG(0, fd);
  INT_ARG(1, as);
  INT_ARG(2, ans);
  INT_ARG(3, ms);
  INT_ARG(4, mns);
  struct timespec ts[2] = {{.tv_sec = as, .tv_nsec = ans}, {.tv_sec = ms, .tv_nsec = mns}};
  if (futimens((int)fd, ts) < 0) return throw_errno(env, errno, "utimes", "");
  return undefined(env);
}

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
    IN_ROOT_DO(root, path, O_PATH, "utimes", utimensat(AT_FDCWD, fd_path(fd).s, ts, 0));
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
  struct statfs s;
  IN_ROOT_DO(root, path, O_PATH, "statfs", fstatfs(fd, &s));
  double v[8] = {(double)s.f_bsize, (double)s.f_blocks, (double)s.f_bfree, (double)s.f_bavail,
                 (double)s.f_files, (double)s.f_ffree, (double)s.f_namelen, (double)s.f_frsize};
  napi_value arr, item;
  CHECK(napi_create_array_with_length(env, 8, &arr));
  for (uint32_t i = 0; i < 8; i++) {
    if (!(item = num(env, v[i]))) return NULL;
    CHECK(napi_set_element(env, arr, i, item));
  }
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
  return fd_value(env, root);
}

// peerInOurPidNamespace(socketPath) -> whether the engine behind a unix socket shares our PID
// namespace (so the pids it reports are ours); throws when nobody answers there.
static napi_value js_peer_in_our_pid_ns(napi_env env, napi_callback_info info) {
  ARGS(1);
  PATH_ARG(0, path);
  int r = identity_peer_in_our_pid_ns(path);
  if (r < 0) return throw_errno(env, errno, "connect", path);
  napi_value b;
  CHECK(napi_get_boolean(env, r == 1, &b));
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
  CHECK(napi_get_boolean(env, identity_cgroup_names(text, id) == 1, &b));
  return b;
}

// ---------- async work: copies and tree removal ----------
// progress: a Float64Array [bytes, files, cancel]; the worker adds to [0] and [1] and stops
// with ECANCELED when JS sets [2] to 1, or when the process exits (shutdown()).

enum job_kind { JOB_COPY_FD, JOB_COPY_TREE, JOB_REMOVE_TREE, JOB_WRITE_NEW };

// copyTree flags
#define COPY_PRESERVE 1    // --preserve=mode (-p): the exact mode
#define COPY_OWNER 64      // --preserve=ownership (-p): owner and group
#define COPY_TIMES 128     // --preserve=timestamps (-p): access and modification times
#define COPY_DROP_SETID 2  // no setuid/setgid bit on what is made (a container's files on the host)
#define COPY_DEVICES 4     // recreate device nodes; without it they are skipped and listed
#define COPY_LINKS 8       // -a / --preserve=links: entries hard-linked in the source are linked in the copy
#define COPY_SPARSE_NEVER 16   // --sparse=never: holes are written as zeros
#define COPY_SPARSE_ALWAYS 32  // --sparse=always: runs of zeros become holes too (default: holes stay holes)
#define COPY_KEEP_GOING 256    // an entry below the top that cannot be copied is listed and the walk goes on, as GNU cp's
#define FAILURES_KEPT 10000    // entries listed at most (the rest are counted): a hostile tree must not fill memory

typedef struct {
  char *path;
  mode_t mode;
} skipped_t;

// An entry of a tree copy that could not be copied (COPY_KEEP_GOING): its path, error and call.
typedef struct {
  char *path;
  int err;
  const char *sys;
} failure_t;

// A multiply-linked source entry (dev, ino) met in a tree copy, and its first copy: its path below
// the copy's top directory and its inode there (`ready` once made; `failed` if it could not be).
typedef struct {
  dev_t dev;
  ino_t ino;
  ino_t dst_ino;
  char *path;
  int ready, failed;
} link_t;

typedef struct {
  link_t **slots;  // open addressing on (dev, ino); NULL: a free slot
  size_t cap, used;
  pthread_cond_t made;  // signalled when an entry becomes ready or failed (with the job's lock)
} links_t;

typedef struct {
  enum job_kind kind;
  int in_fd, out_fd;          // JOB_COPY_FD
  off_t size;                 // JOB_COPY_FD: bytes at most, or -1: to the end
  int src_root, dst_root;     // trees
  const char *data;           // JOB_WRITE_NEW: the bytes (a Buffer held by data_ref while the job runs)
  size_t len;
  napi_ref data_ref;
  mode_t new_mode;            // JOB_WRITE_NEW: the new file's mode
  char src[PATH_MAX], dst[PATH_MAX];
  int flags;                  // COPY_*
  volatile double *progress;  // may be NULL
  napi_ref progress_ref;
  pthread_mutex_t lock;       // guards progress, bytes, skipped and the first error between worker threads
  uid_t euid;
  gid_t egid;
  mode_t umask;
  int dst_sgid;               // the destination directory is setgid: new entries take its group
  skipped_t *skipped;         // device nodes left out (COPY_DEVICES unset)
  size_t nskipped, skipped_cap;
  int going;                  // COPY_KEEP_GOING and the top directory made: failures below it are listed
  failure_t *failures;        // entries that could not be copied (going)
  size_t nfailures, failures_cap;
  double failures_dropped;    // beyond FAILURES_KEPT: counted only
  int dst_top;                // the new top directory of a tree copy (hard links are made below it only), or -1
  size_t src_len;             // length of the source path in rel: what follows is the path below dst_top
  links_t links;              // COPY_LINKS: the source's multiply-linked entries met so far
  // result
  int err;
  char err_path[PATH_MAX];
  const char *err_syscall;
  double bytes;
  napi_async_work work;
  napi_deferred deferred;
} job_t;

// Set when the process exits: every wait below ends, so no worker holds the exit up.
static volatile int shutting_down;

static int stopping(job_t *j) {
  return __atomic_load_n(&shutting_down, __ATOMIC_RELAXED) || (j->progress && j->progress[2] != 0);
}

static int fail(job_t *j, int err, const char *sys, const char *path) {
  pthread_mutex_lock(&j->lock);
  // About the whole copy, not one entry (transfer.ts WHOLE_COPY): a cancel, no memory, a full or
  // read-only destination. An entry deeper than a path can name is one entry (GNU cp copies the
  // rest of the tree): a hostile container's deep directory must not keep the rest from a backup.
  if (j->going && err != ECANCELED && err != ENOMEM && err != ENOSPC && err != EDQUOT && err != EROFS && !j->err) {
    // An entry below the top: listed, and the walk goes on (the caller returns -1 for it alone).
    char *copy = NULL;
    if (j->nfailures == j->failures_cap && j->failures_cap < FAILURES_KEPT) {
      size_t cap = j->failures_cap ? j->failures_cap * 2 : 16;
      if (cap > FAILURES_KEPT) cap = FAILURES_KEPT;
      failure_t *f = realloc(j->failures, cap * sizeof *f);
      if (f) { j->failures = f; j->failures_cap = cap; }
    }
    if (j->nfailures < j->failures_cap && (copy = strdup(path ? path : ""))) j->failures[j->nfailures++] = (failure_t){copy, err, sys};
    else j->failures_dropped++;
    pthread_mutex_unlock(&j->lock);
    return -1;
  }
  if (!j->err) {
    j->err = err;
    j->err_syscall = sys;
    snprintf(j->err_path, sizeof j->err_path, "%s", path ? path : "");
  }
  pthread_mutex_unlock(&j->lock);
  return -1;
}

// The entry `name` of the directory `rel` is deeper than PATH_MAX: named whole in its failure
// (a path longer than rel can hold, so built on the heap).
static int fail_too_long(job_t *j, const char *rel, const char *name) {
  size_t rl = strlen(rel), nl = strlen(name);
  char *whole = malloc(rl + nl + 2);
  if (!whole) return fail(j, ENAMETOOLONG, "copy", rel);
  memcpy(whole, rel, rl);
  whole[rl] = '/';
  memcpy(whole + rl + 1, name, nl + 1);
  int rc = fail(j, ENAMETOOLONG, "copy", whole);
  free(whole);
  return rc;
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

static int add_skipped(job_t *j, const char *path, mode_t mode) {
  pthread_mutex_lock(&j->lock);
  int ok = 1;
  if (j->nskipped == j->skipped_cap) {
    size_t cap = j->skipped_cap ? j->skipped_cap * 2 : 16;
    skipped_t *s = realloc(j->skipped, cap * sizeof *s);
    if (s) { j->skipped = s; j->skipped_cap = cap; } else ok = 0;
  }
  char *copy = ok ? strdup(path) : NULL;
  if (copy) j->skipped[j->nskipped++] = (skipped_t){copy, mode};
  pthread_mutex_unlock(&j->lock);
  return copy ? 0 : fail(j, ENOMEM, "copy", path);
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

// Waits until fd is ready for `events`, a tenth of a second at a time, so a cancel or the exit
// ends the wait. 0 when ready, -1 (after fail) when stopped.
static int wait_fd(job_t *j, int fd, short events, const char *path) {
  for (;;) {
    if (stopping(j)) return fail(j, ECANCELED, "copy", path);
    struct pollfd pfd = {.fd = fd, .events = events};
    int r = poll(&pfd, 1, 100);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return fail(j, errno, "poll", path);
  }
}

static int all_zero(const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (b[i]) return 0;
  return 1;
}

// Copies the regular file `in` to the regular, empty file `out` (both from offset 0) keeping holes
// holes, as GNU cp does: only the data extents SEEK_DATA/SEEK_HOLE name are copied, at their
// offsets; with `zeros` (--sparse=always) every block of zeros inside them is skipped too. The
// length is set at the end (a trailing hole), to `size` or where the file ended sooner. A hole
// counts in the progress as bytes done.
static int copy_sparse(job_t *j, int in, int out, const char *path, off_t size, int zeros) {
  const size_t chunk = 1u << 20;
  struct stat out_st;
  if (fstat(out, &out_st) < 0) return fail(j, errno, "fstat", path);
  size_t blk = out_st.st_blksize > 0 && (size_t)out_st.st_blksize <= chunk ? (size_t)out_st.st_blksize : 4096;
  char *buf = NULL;
  int use_cfr = !zeros;
  off_t pos = 0, end = size;
  while (pos < end) {
    off_t data = lseek(in, pos, SEEK_DATA), hole;
    if (data < 0 && errno == ENXIO) break;  // only a hole is left
    if (data < 0 && errno != EINVAL) { free(buf); return fail(j, errno, "lseek", path); }
    if (data < 0) { data = pos; hole = end; }  // no SEEK_DATA here: all data
    else if ((hole = lseek(in, data, SEEK_HOLE)) < 0) { free(buf); return fail(j, errno, "lseek", path); }
    if (data >= end) break;
    if (hole > end) hole = end;
    add_progress(j, (double)(data - pos), 0);
    for (off_t off = data; off < hole;) {
      if (stopping(j)) { free(buf); return fail(j, ECANCELED, "copy", path); }
      size_t want = (off_t)chunk < hole - off ? chunk : (size_t)(hole - off);
      ssize_t n;
      if (use_cfr) {
        loff_t a = off, b = off;
        n = copy_file_range(in, &a, out, &b, want, 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF)) {
          use_cfr = 0;
          continue;
        }
      } else {
        if (!buf && !(buf = malloc(chunk))) return fail(j, ENOMEM, "copy", path);
        n = pread(in, buf, want, off);
        for (ssize_t w = 0; n > 0 && w < n;) {  // block by block: a block of zeros is skipped with `zeros`
          size_t len = (size_t)(n - w) < blk ? (size_t)(n - w) : blk;
          if (zeros && all_zero(buf + w, len)) { w += (ssize_t)len; continue; }
          ssize_t k = pwrite(out, buf + w, len, off + w);
          if (k < 0 && errno == EINTR) continue;
          if (k < 0) { int e = errno; free(buf); return fail(j, e, "write", path); }
          w += k;
        }
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        free(buf);
        return fail(j, e, use_cfr ? "copy_file_range" : "read", path);
      }
      if (n == 0) { end = off; break; }  // the file ended sooner than its stat said
      off += n;
      add_progress(j, (double)n, 0);
    }
    pos = hole < end ? hole : end;
  }
  free(buf);
  if (pos < end) add_progress(j, (double)(end - pos), 0);
  if (ftruncate(out, end) < 0) return fail(j, errno, "ftruncate", path);
  return 0;
}

// Copies in -> out from their current offsets: `size` bytes (the size a stat saw; the copy ends
// there, or earlier at EOF), or to EOF when size < 0. A regular file: copy_file_range first
// (in-kernel, reflinks where the filesystem can), read/write when the pair does not support it.
// Anything else (a FIFO, a host device) is read non-blocking, after poll() says it is ready.
static int copy_fd(job_t *j, int in, int out, const char *path, off_t size) {
  const size_t chunk = 8u << 20;
  struct stat in_st;
  if (fstat(in, &in_st) < 0) return fail(j, errno, "fstat", path);
  int polled = !S_ISREG(in_st.st_mode);
  // Holes stay holes (GNU's --sparse=auto: a file with fewer blocks than its size), or with
  // --sparse=always zeros become holes; --sparse=never writes every byte.
  struct stat out_st;
  if (!polled && !(j->flags & COPY_SPARSE_NEVER) && fstat(out, &out_st) == 0 && S_ISREG(out_st.st_mode) &&
      out_st.st_size == 0 && lseek(in, 0, SEEK_CUR) == 0 && lseek(out, 0, SEEK_CUR) == 0 &&
      ((j->flags & COPY_SPARSE_ALWAYS) || (off_t)in_st.st_blocks * 512 < in_st.st_size)) {
    return copy_sparse(j, in, out, path, size < 0 ? in_st.st_size : size, j->flags & COPY_SPARSE_ALWAYS);
  }
  if (polled) {
    int fl = fcntl(in, F_GETFL);
    if (fl < 0 || fcntl(in, F_SETFL, fl | O_NONBLOCK) < 0) return fail(j, errno, "fcntl", path);
  }
  int use_cfr = !polled;
  char *buf = NULL;
  off_t done = 0;
  while (size < 0 || done < size) {
    if (stopping(j)) { free(buf); return fail(j, ECANCELED, "copy", path); }
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
      if (polled && wait_fd(j, in, POLLIN, path) < 0) { free(buf); return -1; }
      n = read(in, buf, 1u << 20);
      if (n < 0 && errno == EAGAIN) continue;
      if (n > 0) {
        for (ssize_t off = 0; off < n;) {
          ssize_t w = write(out, buf + off, (size_t)(n - off));
          if (w < 0 && errno == EAGAIN) {  // a non-blocking pipe (Node's stdout): wait until writable
            if (wait_fd(j, out, POLLOUT, path) < 0) { free(buf); return -1; }
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

// The permission bits a copy of an entry with mode `src` gets, as GNU cp 9.1 gives them to new
// files: without -p, src & 0777 for files (set-id and sticky bits dropped), src & 01777 for
// directories and src & 07777 for special files, each less the umask; with -p, src & 07777.
// COPY_DROP_SETID then clears setuid and setgid whatever the rest says.
static mode_t copy_mode(mode_t src, int flags, mode_t umask_bits) {
  mode_t m;
  if (flags & COPY_PRESERVE) m = src & 07777;
  else if (S_ISREG(src)) m = src & 0777 & ~umask_bits;
  else if (S_ISDIR(src)) m = src & 01777 & ~umask_bits;
  else m = src & 07777 & ~umask_bits;
  if (flags & COPY_DROP_SETID) m &= ~(mode_t)(S_ISUID | S_ISGID);
  return m;
}

static mode_t target_mode(const job_t *j, mode_t src) { return copy_mode(src, j->flags, j->umask); }

// Sets owner, mode and times of a new file or directory through its fd, leaving out the calls
// that would change nothing: `created` is the mode it was created with (before the umask).
// chown runs before chmod, since chown clears setuid/setgid bits. A directory keeps the setgid
// bit it inherited from a setgid parent, as mkdir gives it. 0, or the errno of the call that
// failed (named in *sys); apply_meta says it as the entry's failure.
static int set_meta(job_t *j, int fd, const struct stat *st, mode_t created, const char **sys) {
  int owner = j->flags & COPY_OWNER;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  mode_t want = target_mode(j, st->st_mode);
  if (S_ISDIR(st->st_mode)) {
    struct stat now;
    if (fstat(fd, &now) < 0) return *sys = "fstat", errno;
    want |= now.st_mode & S_ISGID;
  }
  int chown_needed = owner && (j->dst_sgid || st->st_uid != j->euid || st->st_gid != j->egid);
  if (chown_needed && fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM) return *sys = "chown", errno;
  int mode_right = !chown_needed && (created & ~j->umask) == want;
  if (!mode_right && fchmod(fd, want) < 0) return *sys = "chmod", errno;
  if ((j->flags & COPY_TIMES) && futimens(fd, ts) < 0) return *sys = "utimes", errno;
  return 0;
}

static int apply_meta(job_t *j, int fd, const struct stat *st, const char *path, mode_t created) {
  const char *sys;
  int e = set_meta(j, fd, st, created, &sys);
  return e ? fail(j, e, sys, path) : 0;
}

// The same for a symlink or a special file, by name in the new directory ddir (which only this
// copy writes to: nothing can be swapped in there).
static int apply_meta_at(job_t *j, int ddir, const char *name, const struct stat *st, const char *path) {
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if ((j->flags & COPY_OWNER) && fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
    return fail(j, errno, "chown", path);
  // A special file was made with its mode (mknod, less the umask); chown may have cleared set-id bits.
  if ((j->flags & (COPY_PRESERVE | COPY_OWNER)) && !S_ISLNK(st->st_mode) && fchmodat(ddir, name, target_mode(j, st->st_mode), 0) < 0)
    return fail(j, errno, "chmod", path);
  if ((j->flags & COPY_TIMES) && utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return fail(j, errno, "utimes", path);
  return 0;
}

// ---- hard links in a tree copy (COPY_LINKS) ----
// What it trusts: the source's (dev, ino) from fstat of the entry's own O_PATH fd (the kernel's),
// and nothing of the destination but the inode its first copy got. A later member of the group
// is linked to that first copy by its path below the copy's new top directory, opened with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV (a directory of the new tree swapped
// for a symlink, say by the container the copy goes into, fails), and only if the name there
// still is that very inode, checked again after the link (else the link is removed): a copy
// never links to anything but what it made below its own top directory.

static size_t link_slot(const links_t *t, dev_t dev, ino_t ino) {
  uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)dev * 0xC2B2AE3D27D4EB4Full);
  size_t i = (size_t)(h ^ (h >> 31)) & (t->cap - 1);
  while (t->slots[i] && (t->slots[i]->dev != dev || t->slots[i]->ino != ino)) i = (i + 1) & (t->cap - 1);
  return i;
}

// Adds l (not present) to the table, growing it to keep it at most half full. 0, or -1 (ENOMEM).
static int links_add(links_t *t, link_t *l) {
  if ((t->used + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    link_t **old = t->slots;
    size_t old_cap = t->cap;
    link_t **slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    t->slots = slots;
    t->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i]) t->slots[link_slot(t, old[i]->dev, old[i]->ino)] = old[i];
    free(old);
  }
  t->slots[link_slot(t, l->dev, l->ino)] = l;
  t->used++;
  return 0;
}

static void links_free(links_t *t) {
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->slots[i]) continue;
    free(t->slots[i]->path);
    free(t->slots[i]);
  }
  free(t->slots);
  t->slots = NULL;
  t->cap = t->used = 0;
}

// Links dname of ddir to l's first copy (see above). 0, or -1 after fail.
static int link_existing(job_t *j, const link_t *l, int ddir, const char *dname, const char *rel) {
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", l->path);
  char *slash = strrchr(parent, '/');
  const char *name = slash ? slash + 1 : parent;
  if (slash) *slash = 0;
  struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
  int p;
  do p = (int)syscall(SYS_openat2, j->dst_top, slash ? parent : ".", &how, sizeof how);
  while (p < 0 && errno == EAGAIN);
  if (p < 0) return fail(j, errno, "link", rel);
  struct stat a, b;
  int rc = 0;
  if (fstatat(p, name, &a, AT_SYMLINK_NOFOLLOW) < 0) rc = fail(j, errno, "link", rel);
  else if (a.st_ino != l->dst_ino) rc = fail(j, ESTALE, "link", rel);  // not what this copy made
  else if (linkat(p, name, ddir, dname, 0) < 0) rc = fail(j, errno, "link", rel);
  else if (fstatat(ddir, dname, &b, AT_SYMLINK_NOFOLLOW) < 0 || b.st_ino != a.st_ino || b.st_dev != a.st_dev) {
    unlinkat(ddir, dname, 0);  // swapped between the check and the link: not ours to keep
    rc = fail(j, ESTALE, "link", rel);
  }
  close(p);
  if (rc == 0) add_progress(j, 0, 1);
  return rc;
}

// For a multiply-linked non-directory `st` about to be copied to dname of ddir: 1 when it was
// linked to the copy of an earlier member of its group (nothing more to do), 0 when it is to be
// copied (*claim set when it is the first of its group: link_made() tells the others when its
// copy exists), -1 after fail. A member whose first copy is still being made waits for it.
static int hard_link(job_t *j, const struct stat *st, int ddir, const char *dname, const char *rel, link_t **claim) {
  *claim = NULL;
  if (!(j->flags & COPY_LINKS) || j->dst_top < 0 || S_ISDIR(st->st_mode) || st->st_nlink < 2) return 0;
  const char *below = strlen(rel) >= j->src_len ? rel + j->src_len : "";
  while (*below == '/') below++;
  pthread_mutex_lock(&j->lock);
  link_t *l = j->links.cap ? j->links.slots[link_slot(&j->links, st->st_dev, st->st_ino)] : NULL;
  if (!l) {
    l = calloc(1, sizeof *l);
    char *path = l && *below ? strdup(below) : NULL;
    if (path) *l = (link_t){.dev = st->st_dev, .ino = st->st_ino, .path = path};
    if (!path || links_add(&j->links, l) < 0) {
      pthread_mutex_unlock(&j->lock);
      free(path);
      free(l);
      return fail(j, *below ? ENOMEM : EINVAL, "copy", rel);
    }
    *claim = l;
    pthread_mutex_unlock(&j->lock);
    return 0;
  }
  while (!l->ready && !l->failed && !j->err && !stopping(j)) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&j->links.made, &j->lock, &until);
  }
  int ready = l->ready, err = j->err;
  pthread_mutex_unlock(&j->lock);
  if (err) return -1;
  if (stopping(j)) return fail(j, ECANCELED, "copy", rel);
  if (!ready) return 0;  // its first copy was not made (a device left out): copied on its own
  return link_existing(j, l, ddir, dname, rel) == 0 ? 1 : -1;
}

// The first copy of a group claimed by hard_link() exists as dname of ddir (`ok`), or not.
static void link_made(job_t *j, link_t *l, int ddir, const char *dname, int ok) {
  struct stat d;
  ok = ok && fstatat(ddir, dname, &d, AT_SYMLINK_NOFOLLOW) == 0;
  pthread_mutex_lock(&j->lock);
  if (ok) l->dst_ino = d.st_ino;
  l->ready = ok;
  l->failed = !ok;
  pthread_cond_broadcast(&j->links.made);
  pthread_mutex_unlock(&j->lock);
}

// A directory being copied: its source stream, the new directory, and what to apply at the end.
typedef struct {
  DIR *d;          // the source directory (owns its fd)
  int dfd;         // the new directory
  struct stat st;  // the source directory's stat
  size_t rlen;     // length of its path in rel
} frame_t;

static void close_frame(frame_t *f) {
  closedir(f->d);
  close(f->dfd);
}

// Copies entry sname of sdir to the new name dname of ddir. rel holds the path for messages.
// Returns 0 when done, 1 when it is a directory, created and opened in *f with its contents
// still to copy, -1 on failure. The entry is opened O_PATH|O_NOFOLLOW and everything is done
// on that fd: what was stat-ed is what is read, and nothing but a regular file or a directory
// is ever opened for reading.
static int copy_one(job_t *j, int sdir, const char *sname, int ddir, const char *dname, const char *rel, frame_t *f) {
  if (stopping(j)) return fail(j, ECANCELED, "copy", rel);
  if (failed(j)) return -1;  // another thread met an error: stop
  if (!is_one_component(sname) || !is_one_component(dname)) return fail(j, EINVAL, "copy", rel);
  struct stat st;
  int p = open_name_path(sdir, sname);
  if (p < 0) return fail(j, errno, "open", rel);
  if (fstat(p, &st) < 0) { int e = errno; close(p); return fail(j, e, "lstat", rel); }
  link_t *claim;
  int rc = hard_link(j, &st, ddir, dname, rel, &claim);
  if (rc != 0) { close(p); return rc < 0 ? -1 : 0; }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      int s = reopen_fd(p, O_RDONLY | O_DIRECTORY);
      if (s < 0) {
        int e = errno;
        // Below the top, as GNU cp: the directory is made all the same, empty, with the source's
        // mode and owner, and the walk goes on (said as one failure: the source's).
        pthread_mutex_lock(&j->lock);
        int going = j->going;
        pthread_mutex_unlock(&j->lock);
        if (going && mkdirat(ddir, dname, 0700) == 0) {
          int d = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (d >= 0) {
            const char *sys;
            (void)set_meta(j, d, &st, 0700, &sys);  // its own failure is not said: the source's is
            close(d);
          }
        }
        rc = fail(j, e, "open", rel);
        break;
      }
      if (mkdirat(ddir, dname, 0700) < 0) { rc = fail(j, errno, "mkdir", rel); close(s); break; }
      int d = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) { rc = fail(j, errno, "open", rel); close(s); unlinkat(ddir, dname, AT_REMOVEDIR); break; }
      DIR *dir = fdopendir(s);
      if (!dir) { rc = fail(j, errno, "opendir", rel); close(s); close(d); unlinkat(ddir, dname, AT_REMOVEDIR); break; }
      *f = (frame_t){.d = dir, .dfd = d, .st = st, .rlen = strlen(rel)};
      rc = 1;
      break;
    }
    case S_IFREG: {
      int s = reopen_fd(p, O_RDONLY | O_NONBLOCK | O_NOCTTY);
      if (s < 0) { rc = fail(j, errno, "open", rel); break; }
      mode_t created = st.st_mode & 0777;
      int d = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, created);
      if (d < 0) { rc = fail(j, errno, "open", rel); close(s); break; }
      // Up to the size its stat gave: a file that grows (or a /proc file that never ends, as
      // pagemap) cannot hold a tree copy for ever; /proc's and /sys's files come out empty.
      rc = copy_fd(j, s, d, rel, st.st_size);
      if (rc == 0) rc = apply_meta(j, d, &st, rel, created);
      close(s);
      if (close(d) < 0 && rc == 0) rc = fail(j, errno, "close", rel);
      if (rc == 0) add_progress(j, 0, 1);
      else unlinkat(ddir, dname, 0);  // never a half-written file (this copy made it: O_EXCL)
      break;
    }
    case S_IFLNK: {
      char target[PATH_MAX];
      ssize_t n = readlinkat(p, "", target, sizeof target - 1);
      if (n < 0) { rc = fail(j, errno, "readlink", rel); break; }
      target[n] = 0;
      if (symlinkat(target, ddir, dname) < 0) { rc = fail(j, errno, "symlink", rel); break; }
      rc = apply_meta_at(j, ddir, dname, &st, rel);
      if (rc == 0) add_progress(j, 0, 1);
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
      if (!(j->flags & COPY_DEVICES)) {  // never made unless asked: the caller lists what was left out
        rc = add_skipped(j, rel, st.st_mode);
        break;
      }
      // fall through
    default: {  // FIFOs, sockets (inert nodes), devices when asked: recreated, as cp -a does
      mode_t type = st.st_mode & S_IFMT;
      if (mknodat(ddir, dname, type | target_mode(j, st.st_mode), st.st_rdev) < 0) { rc = fail(j, errno, "mknod", rel); break; }
      rc = apply_meta_at(j, ddir, dname, &st, rel);
      if (rc == 0) add_progress(j, 0, 1);
      break;
    }
  }
  if (claim) link_made(j, claim, ddir, dname, rc == 0);
  close(p);
  return rc;
}

// Copies the contents of the directory in `top` and everything below it, depth first, with a
// stack on the heap: what is deeper than rel (PATH_MAX) can name fails with ENAMETOOLONG, one
// entry (the rest is copied), never with a stack overflow. Each directory's own metadata is
// applied once its contents are copied.
static int copy_tree_from(job_t *j, frame_t top, char *rel) {
  size_t n = 0, cap = 16;
  frame_t *stack = malloc(cap * sizeof *stack);
  if (!stack) { close_frame(&top); return fail(j, ENOMEM, "copy", rel); }
  stack[n++] = top;
  int rc = 0;
  while (n > 0) {
    frame_t *f = &stack[n - 1];
    rel[f->rlen] = 0;
    struct dirent *de = NULL;
    if (rc == 0) {
      errno = 0;
      de = readdir(f->d);
      if (!de && errno && fail(j, errno, "readdir", rel) < 0 && failed(j)) rc = -1;
    }
    if (!de) {  // done with this directory (or unwinding after an error)
      if (rc == 0 && apply_meta(j, f->dfd, &f->st, rel, 0700) < 0 && failed(j)) rc = -1;
      if (rc == 0) add_progress(j, 0, 1);
      close_frame(f);
      n--;
      continue;
    }
    const char *name = de->d_name;
    if (is_dot_or_dotdot(name)) continue;
    size_t nl = strlen(name);
    if (f->rlen + 1 + nl >= PATH_MAX) {
      if (fail_too_long(j, rel, name) < 0 && failed(j)) rc = -1;
      continue;
    }
    rel[f->rlen] = '/';
    memcpy(rel + f->rlen + 1, name, nl + 1);
    frame_t child;
    int r = copy_one(j, dirfd(f->d), name, f->dfd, name, rel, &child);
    if (r < 0) {  // this entry failed: the walk ends only when the job has (else it was listed)
      if (failed(j)) rc = -1;
      continue;
    }
    if (r == 1) {
      if (n == cap) {
        frame_t *grown = realloc(stack, cap * 2 * sizeof *stack);
        if (!grown) { close_frame(&child); rc = fail(j, ENOMEM, "copy", rel); continue; }
        stack = grown;
        cap *= 2;
      }
      stack[n++] = child;
    }
  }
  free(stack);
  return rc;
}

// The top directory of a tree copy is shared by several threads: each takes the next entry from
// the one directory stream (under a lock) and copies it, and what is below it, on its own.
typedef struct {
  job_t *j;
  frame_t *top;
  pthread_mutex_t lock;
  const char *base;
  int ended;  // the top's stream ended (or failed): the other threads stop too, and say nothing more
} shared_dir_t;

static void *dir_worker(void *arg) {
  shared_dir_t *sd = arg;
  job_t *j = sd->j;
  char rel[PATH_MAX];
  size_t blen = sd->top->rlen;
  memcpy(rel, sd->base, blen + 1);
  for (;;) {
    char name[NAME_MAX + 1];
    pthread_mutex_lock(&sd->lock);
    errno = 0;
    struct dirent *de = failed(j) || sd->ended ? NULL : readdir(sd->top->d);
    int e = sd->ended ? 0 : errno;
    if (de) snprintf(name, sizeof name, "%s", de->d_name);
    else sd->ended = 1;
    pthread_mutex_unlock(&sd->lock);
    if (!de) {
      if (e) fail(j, e, "readdir", rel);  // listed (going) or the job's error: the directory ends either way
      break;
    }
    if (is_dot_or_dotdot(name)) continue;
    size_t nl = strlen(name);
    if (blen + 1 + nl >= PATH_MAX) {
      rel[blen] = 0;
      if (fail_too_long(j, rel, name) < 0 && failed(j)) break;
      continue;
    }
    rel[blen] = '/';
    memcpy(rel + blen + 1, name, nl + 1);
    frame_t child;
    int r = copy_one(j, dirfd(sd->top->d), name, sd->top->dfd, name, rel, &child);
    if (r == 1) r = copy_tree_from(j, child, rel);
    if (r < 0 && failed(j)) break;
    rel[blen] = 0;
  }
  return NULL;
}

static int copy_dir_parallel(job_t *j, frame_t *top, const char *rel) {
  shared_dir_t sd = {.j = j, .top = top, .base = rel};
  if (pthread_mutex_init(&sd.lock, NULL) != 0) return fail(j, EAGAIN, "copy", rel);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int extra = cpus > 4 ? 3 : cpus > 1 ? (int)cpus - 1 : 0;
  pthread_t threads[3];
  int started = 0;
  while (started < extra && pthread_create(&threads[started], NULL, dir_worker, &sd) == 0) started++;
  dir_worker(&sd);
  for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
  pthread_mutex_destroy(&sd.lock);
  return failed(j) ? -1 : 0;
}

// A directory being emptied: its stream, and its name in its parent (removed once empty).
typedef struct {
  DIR *d;
  char *name;
  size_t rlen;
} rframe_t;

// Removes everything below directory fd dfd (not dfd itself), depth first with a stack on the
// heap, never following a symlink. rel holds the path for messages; past PATH_MAX it stops
// growing (the removal itself needs no path).
static int remove_below(job_t *j, int dfd, char *rel) {
  int top = dup(dfd);
  if (top < 0) return fail(j, errno, "dup", rel);
  DIR *td = fdopendir(top);
  if (!td) { int e = errno; close(top); return fail(j, e, "opendir", rel); }
  size_t n = 0, cap = 16;
  rframe_t *stack = malloc(cap * sizeof *stack);
  if (!stack) { closedir(td); return fail(j, ENOMEM, "rm", rel); }
  stack[n++] = (rframe_t){.d = td, .name = NULL, .rlen = strlen(rel)};
  int rc = 0;
  while (n > 0) {
    rframe_t *f = &stack[n - 1];
    rel[f->rlen] = 0;
    struct dirent *de = NULL;
    if (rc == 0) {
      errno = 0;
      de = readdir(f->d);
      if (!de && errno) rc = fail(j, errno, "readdir", rel);
    }
    if (!de) {
      rframe_t done = *f;
      n--;
      closedir(done.d);
      if (done.name) {
        if (rc == 0 && unlinkat(dirfd(stack[n - 1].d), done.name, AT_REMOVEDIR) < 0) rc = fail(j, errno, "rmdir", rel);
        free(done.name);
      }
      continue;
    }
    const char *name = de->d_name;
    if (is_dot_or_dotdot(name)) continue;
    size_t nl = strlen(name), rlen = f->rlen;
    if (rlen + 1 + nl < PATH_MAX) {
      rel[rlen] = '/';
      memcpy(rel + rlen + 1, name, nl + 1);
      rlen += 1 + nl;
    }
    if (unlinkat(dirfd(f->d), name, 0) == 0) continue;
    if (errno != EISDIR && errno != EPERM) { rc = fail(j, errno, "unlink", rel); continue; }
    int sub = openat(dirfd(f->d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) { rc = fail(j, errno, "open", rel); continue; }
    DIR *sd = fdopendir(sub);
    char *copy = strdup(name);
    if (n == cap) {
      rframe_t *grown = realloc(stack, cap * 2 * sizeof *stack);
      if (grown) { stack = grown; cap *= 2; }
    }
    if (!sd || !copy || n == cap) {
      rc = fail(j, sd && copy ? ENOMEM : errno ? errno : ENOMEM, "rm", rel);
      if (sd) closedir(sd); else close(sub);
      free(copy);
      continue;
    }
    stack[n++] = (rframe_t){.d = sd, .name = copy, .rlen = rlen};
  }
  free(stack);
  return rc;
}

static void job_execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  char rel[PATH_MAX];
  switch (j->kind) {
    case JOB_COPY_FD:
      copy_fd(j, j->in_fd, j->out_fd, "", j->size);
      break;
    case JOB_COPY_TREE: {
      // src: an existing entry (not followed if a symlink); dst: a new name (must not exist).
      char b1[PATH_MAX], b2[PATH_MAX];
      const char *sn, *dn;
      int sp = open_parent(j->src_root, j->src, &sn, b1);
      if (sp < 0) { fail(j, errno, "open", j->src); break; }
      int dp = open_parent(j->dst_root, j->dst, &dn, b2);
      if (dp < 0) { fail(j, errno, "open", j->dst); close(sp); break; }
      struct stat dst_parent;
      j->euid = geteuid();
      j->egid = getegid();
      j->umask = current_umask();
      j->dst_sgid = fstat(dp, &dst_parent) == 0 && (dst_parent.st_mode & S_ISGID);
      snprintf(rel, sizeof rel, "%s", j->src);
      frame_t top;
      j->src_len = strlen(rel);
      if (copy_one(j, sp, sn, dp, dn, rel, &top) == 1) {
        j->dst_top = top.dfd;
        // The top is made: from here, an entry that cannot be copied is listed (COPY_KEEP_GOING).
        pthread_mutex_lock(&j->lock);
        j->going = (j->flags & COPY_KEEP_GOING) != 0;
        pthread_mutex_unlock(&j->lock);
        int rc = copy_dir_parallel(j, &top, rel);
        rel[top.rlen] = 0;
        if (rc == 0 && apply_meta(j, top.dfd, &top.st, rel, 0700) < 0 && failed(j)) rc = -1;
        if (rc == 0) add_progress(j, 0, 1);
        j->dst_top = -1;
        close_frame(&top);
      }
      close(sp);
      close(dp);
      break;
    }
    case JOB_WRITE_NEW: {
      // A small file written whole in one hop of the thread pool: open (in-root, flags as given:
      // O_CREAT|O_EXCL for a new name), write, close. What was made stays on an error: the caller
      // removes it, as after a failed stream.
      int fd = in_root_open(j->src_root, j->src, j->flags | O_WRONLY, j->new_mode);
      if (fd < 0) { fail(j, errno, "open", j->src); break; }
      size_t done = 0;
      while (done < j->len) {
        if (stopping(j)) { fail(j, ECANCELED, "write", j->src); break; }
        ssize_t n = write(fd, j->data + done, j->len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { fail(j, n < 0 ? errno : EIO, "write", j->src); break; }
        done += (size_t)n;
      }
      if (close(fd) < 0 && !failed(j) && errno != EINTR) fail(j, errno, "close", j->src);
      j->bytes = (double)done;
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
      if (remove_below(j, d, rel) == 0 && unlinkat(p, n, AT_REMOVEDIR) < 0) fail(j, errno, "rmdir", j->src);
      close(d);
      close(p);
      break;
    }
  }
}

// The value a finished job resolves with: bytes copied, and for a tree copy also the device
// nodes it left out ({bytes, skipped: [{path, mode}]}).
// NULL when N-API cannot make it (the job then fails with ENOMEM).
static napi_value job_result(napi_env env, job_t *j) {
  napi_value result, list, bytes;
  if (napi_create_double(env, j->bytes, &bytes) != napi_ok) return NULL;
  if (j->kind != JOB_COPY_TREE) return bytes;
  if (napi_create_object(env, &result) != napi_ok || napi_create_array_with_length(env, j->nskipped, &list) != napi_ok ||
      napi_set_named_property(env, result, "bytes", bytes) != napi_ok)
    return NULL;
  for (size_t i = 0; i < j->nskipped; i++) {
    napi_value item, path, mode;
    if (napi_create_object(env, &item) != napi_ok || name_value(env, j->skipped[i].path, strlen(j->skipped[i].path), &path) != napi_ok ||
        napi_set_named_property(env, item, "path", path) != napi_ok || napi_create_double(env, j->skipped[i].mode, &mode) != napi_ok ||
        napi_set_named_property(env, item, "mode", mode) != napi_ok || napi_set_element(env, list, (uint32_t)i, item) != napi_ok)
      return NULL;
  }
  if (napi_set_named_property(env, result, "skipped", list) != napi_ok) return NULL;
  napi_value failures, dropped;
  if (napi_create_array_with_length(env, j->nfailures, &failures) != napi_ok || napi_create_double(env, j->failures_dropped, &dropped) != napi_ok ||
      napi_set_named_property(env, result, "failuresDropped", dropped) != napi_ok)
    return NULL;
  for (size_t i = 0; i < j->nfailures; i++) {
    napi_value error = make_errno_error(env, j->failures[i].err, j->failures[i].sys, j->failures[i].path);
    if (!error || napi_set_element(env, failures, (uint32_t)i, error) != napi_ok) return NULL;
  }
  return napi_set_named_property(env, result, "failures", failures) == napi_ok ? result : NULL;
}

static void job_complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  if (status != napi_ok && !j->err) j->err = EIO;
  napi_value result = j->err ? NULL : job_result(env, j);
  if (!j->err && !result) j->err = ENOMEM;
  if (j->err) {
    napi_value error = make_errno_error(env, j->err, j->err_syscall ? j->err_syscall : "copy", j->err_path);
    if (!error) napi_get_undefined(env, &error);  // settled all the same: nobody waits for ever
    if (napi_reject_deferred(env, j->deferred, error) != napi_ok) fprintf(stderr, "dbox native: a copy's promise could not be settled\n");
  } else if (napi_resolve_deferred(env, j->deferred, result) != napi_ok) {
    fprintf(stderr, "dbox native: a copy's promise could not be settled\n");
  }
  if (j->progress_ref) napi_delete_reference(env, j->progress_ref);
  if (j->data_ref) napi_delete_reference(env, j->data_ref);
  napi_delete_async_work(env, j->work);
  pthread_mutex_destroy(&j->lock);
  pthread_cond_destroy(&j->links.made);
  links_free(&j->links);
  for (size_t i = 0; i < j->nskipped; i++) free(j->skipped[i].path);
  free(j->skipped);
  for (size_t i = 0; i < j->nfailures; i++) free(j->failures[i].path);
  free(j->failures);
  free(j);
}

// Frees a job that never started (no work queued), with what it holds.
static void job_discard(napi_env env, job_t *j) {
  if (j->work) napi_delete_async_work(env, j->work);
  if (j->progress_ref) napi_delete_reference(env, j->progress_ref);
  if (j->data_ref) napi_delete_reference(env, j->data_ref);
  pthread_mutex_destroy(&j->lock);
  pthread_cond_destroy(&j->links.made);
  free(j);
}

static napi_value start_job(napi_env env, job_t *j, napi_value progress) {
  napi_value promise, name;
  int err = pthread_mutex_init(&j->lock, NULL);
  if (err != 0) {
    if (j->data_ref) napi_delete_reference(env, j->data_ref);
    free(j);
    return throw_errno(env, err, "copy", NULL);
  }
  err = pthread_cond_init(&j->links.made, NULL);
  if (err != 0) {
    pthread_mutex_destroy(&j->lock);
    if (j->data_ref) napi_delete_reference(env, j->data_ref);
    free(j);
    return throw_errno(env, err, "copy", NULL);
  }
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, progress, &t) != napi_ok) {
    job_discard(env, j);
    napi_throw_type_error(env, NULL, "dbox native: progress must be a Float64Array(3)");
    return NULL;
  }
  if (t == napi_object) {
    napi_typedarray_type tt;
    size_t len;
    void *data;
    if (napi_get_typedarray_info(env, progress, &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_float64_array ||
        len < 3) {
      job_discard(env, j);
      napi_throw_type_error(env, NULL, "dbox native: progress must be a Float64Array(3)");
      return NULL;
    }
    // The worker writes into the array: it must stay alive (referenced) for as long as the job runs.
    if (napi_create_reference(env, progress, 1, &j->progress_ref) != napi_ok) {
      job_discard(env, j);
      napi_throw_error(env, NULL, "dbox native: cannot hold the progress array");
      return NULL;
    }
    j->progress = data;
  }
  // Nothing started yet on a failure here: the job goes, and the promise (never returned) with it.
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "dbox-copy", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, job_execute, job_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    job_discard(env, j);
    napi_throw_error(env, NULL, "dbox native: cannot start the copy");
    return NULL;
  }
  return promise;
}

static job_t *new_job(napi_env env, enum job_kind kind) {
  job_t *j = calloc(1, sizeof *j);
  if (!j) throw_errno(env, ENOMEM, "copy", NULL);
  else {
    j->kind = kind;
    j->dst_top = -1;
  }
  return j;
}

// copyFd(inFd, outFd, progress?, flags?, size?) -> Promise<bytes>; flags: COPY_SPARSE_* (holes stay
// holes by default); size: bytes at most (absent or negative: to the end)
static napi_value js_copy_fd(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, in);
  INT_ARG(1, out);
  int64_t flags = 0, size = -1;  // optional fourth and fifth arguments
  size_t fc = 5;
  napi_value fargv[5];
  napi_valuetype t;
  int got = napi_get_cb_info(env, info, &fc, fargv, NULL, NULL) == napi_ok;
  if (got && fc >= 4 && napi_typeof(env, fargv[3], &t) == napi_ok && t == napi_number && get_int(env, fargv[3], &flags))
    flags = 0;
  if (got && fc >= 5 && napi_typeof(env, fargv[4], &t) == napi_ok && t == napi_number && get_int(env, fargv[4], &size))
    size = -1;
  job_t *j = new_job(env, JOB_COPY_FD);
  if (!j) return NULL;
  j->in_fd = (int)in;
  j->out_fd = (int)out;
  j->size = size < 0 ? -1 : (off_t)size;
  j->flags = (int)flags & (COPY_SPARSE_NEVER | COPY_SPARSE_ALWAYS);
  return start_job(env, j, argv[2]);
}

// copyTree(srcRoot, src, dstRoot, dst, flags, progress?) -> Promise<{bytes, skipped}>
static napi_value js_copy_tree(napi_env env, napi_callback_info info) {
  ARGS(6);
  INT_ARG(0, sroot);
  PATH_ARG(1, src);
  INT_ARG(2, droot);
  PATH_ARG(3, dst);
  INT_ARG(4, flags);
  job_t *j = new_job(env, JOB_COPY_TREE);
  if (!j) return NULL;
  j->src_root = (int)sroot;
  j->dst_root = (int)droot;
  snprintf(j->src, sizeof j->src, "%s", src);
  snprintf(j->dst, sizeof j->dst, "%s", dst);
  j->flags = (int)flags;
  return start_job(env, j, argv[5]);
}

// removeTree(root, path) -> Promise<0>: rm -rf confined to root; a final symlink is removed, not followed.
static napi_value js_remove_tree(napi_env env, napi_callback_info info) {
  ARGS(2);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  job_t *j = new_job(env, JOB_REMOVE_TREE);
  if (!j) return NULL;
  j->src_root = (int)root;
  snprintf(j->src, sizeof j->src, "%s", path);
  napi_value none;
  if (napi_get_undefined(env, &none) != napi_ok) {
    free(j);
    napi_throw_error(env, NULL, "dbox native: N-API call failed: napi_get_undefined");
    return NULL;
  }
  return start_job(env, j, none);
}

// writeNew(root, path, flags, mode, buffer) -> Promise<bytes>: a small file written whole off the
// main thread (in_root_open with `flags`, O_WRONLY added; then the bytes; then close).
static napi_value js_write_new(napi_env env, napi_callback_info info) {
  ARGS(5);
  INT_ARG(0, root);
  PATH_ARG(1, path);
  INT_ARG(2, flags);
  INT_ARG(3, mode);
  void *data = NULL;
  size_t len = 0;
  bool is_buffer = false;
  if (napi_is_buffer(env, argv[4], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[4], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "dbox native: writeNew's bytes must be a Buffer");
    return NULL;
  }
  job_t *j = new_job(env, JOB_WRITE_NEW);
  if (!j) return NULL;
  j->src_root = (int)root;
  snprintf(j->src, sizeof j->src, "%s", path);
  j->flags = (int)flags & ~O_ACCMODE;
  j->new_mode = (mode_t)mode;
  j->data = data;
  j->len = len;
  // The Buffer stays alive (referenced) for as long as the job reads it.
  if (napi_create_reference(env, argv[4], 1, &j->data_ref) != napi_ok) {
    free(j);
    napi_throw_error(env, NULL, "dbox native: cannot hold the bytes");
    return NULL;
  }
  napi_value none;
  if (napi_get_undefined(env, &none) != napi_ok) {
    napi_delete_reference(env, j->data_ref);
    free(j);
    napi_throw_error(env, NULL, "dbox native: N-API call failed: napi_get_undefined");
    return NULL;
  }
  return start_job(env, j, none);
}

// shutdown(): the process is exiting; every copy stops at its next check (a tenth of a second
// at most when it waits on a FIFO or a device), so no worker thread holds the exit up.
static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  __atomic_store_n(&shutting_down, 1, __ATOMIC_RELAXED);
  return undefined(env);
}

// revokeFd(fd): the open file behind `fd` is replaced in place by a dead one (an O_PATH
// descriptor of an anonymous memory file), atomically: a read or write on `fd` from now on, even by a worker thread in
// the middle of a copy, fails with EBADF and reaches nothing, and the number stays taken (never
// reused for another file) until its owner closes it. For the write descriptors of a container
// root that was retired (src/vfs/local-fs.ts): nothing is written into an old root once the
// container's process changed.
static napi_value js_revoke_fd(napi_env env, napi_callback_info info) {
  ARGS(1);
  INT_ARG(0, fd);
  static int dead = -1;  // opened once, on the JS thread (the only caller), kept for the process
  if (dead < 0) {
    // An O_PATH descriptor of an anonymous, empty memory file: reads and writes fail (EBADF), it
    // is no directory (openat relative to it fails), and whatever a late fchown or fchmod through
    // it changes is that nameless file alone, never a file of the host.
    int mem = (int)syscall(SYS_memfd_create, "dbox-revoked", 1u /* MFD_CLOEXEC */);
    if (mem < 0) return throw_errno(env, errno, "memfd_create", "");
    struct fd_path self = fd_path(mem);
    dead = open(self.s, O_PATH | O_CLOEXEC);
    int err = errno;
    close(mem);
    if (dead < 0) return throw_errno(env, err, "open", self.s);
  }
  if (dup3(dead, (int)fd, O_CLOEXEC) < 0) return throw_errno(env, errno, "dup3", "");
  return undefined(env);
}

// copyMode(mode, flags, umask) -> the permission bits a copy gets (copy_mode), for copies
// made through the ContainerFs interface: one rule for both kinds of copy.
static napi_value js_copy_mode(napi_env env, napi_callback_info info) {
  ARGS(3);
  INT_ARG(0, mode);
  INT_ARG(1, flags);
  INT_ARG(2, umask_bits);
  return num(env, copy_mode((mode_t)mode, (int)flags, (mode_t)umask_bits));
}

// umask() -> the process umask, read without changing it.
static napi_value js_umask(napi_env env, napi_callback_info info) {
  return num(env, current_umask());
}

// encodeName(string) -> Buffer and decodeName(Buffer) -> string: the name codec, for tests and
// for JS that must show or compare the bytes of a name.
static napi_value js_encode_name(napi_env env, napi_callback_info info) {
  ARGS(1);
  PATH_ARG(0, path);
  napi_value buf;
  void *data;
  size_t len = strlen(path);
  CHECK(napi_create_buffer_copy(env, len, path, &data, &buf));
  return buf;
}

static napi_value js_decode_name(napi_env env, napi_callback_info info) {
  ARGS(1);
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "dbox native: expected a Buffer");
    return NULL;
  }
  napi_value s;
  CHECK(name_value(env, data, len, &s));
  return s;
}

// A module that could not export every function is no module: loading it throws.
#define EXPORT(name, fn)                                                                   \
  do {                                                                                     \
    napi_value f;                                                                          \
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) != napi_ok ||      \
        napi_set_named_property(env, exports, name, f) != napi_ok) {                       \
      napi_throw_error(env, NULL, "dbox native: cannot export " name);                     \
      return NULL;                                                                         \
    }                                                                                      \
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
  EXPORT("futimens", js_futimens);
  EXPORT("statfs", js_statfs);
  EXPORT("copyFd", js_copy_fd);
  EXPORT("copyTree", js_copy_tree);
  EXPORT("removeTree", js_remove_tree);
  EXPORT("writeNew", js_write_new);
  EXPORT("openContainerRoot", js_open_container_root);
  EXPORT("peerInOurPidNamespace", js_peer_in_our_pid_ns);
  EXPORT("cgroupNames", js_cgroup_names);
  if (link_napi_export(env, exports) < 0) return NULL;
  EXPORT("openRead", js_open_read);
  EXPORT("shutdown", js_shutdown);
  EXPORT("revokeFd", js_revoke_fd);
  EXPORT("umask", js_umask);
  EXPORT("copyMode", js_copy_mode);
  EXPORT("encodeName", js_encode_name);
  EXPORT("decodeName", js_decode_name);
  if (shell_native_register(env, exports) < 0) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
