// dbox-fuse: the mount's fast path. A FUSE server on libfuse3's low-level API whose root lists
// named directory trees ("roots") and whose /<name>/... passes every request straight through to
// that tree by file descriptors, on several threads, without a round trip to Node:
//   - a running container of the local engine: its root, /proc/<pid>/root;
//   - anything else (stopped containers, other engines, .hosts): a directory of dbox's own
//     fuse-native mount, where Node serves it through the engine driver.
// Node tells it the roots on stdin, one line each, and it follows as they change:
//   +NAME<TAB>PATH<TAB>FLAGS   add or replace NAME (FLAGS: t = present absolute symlink targets
//                              relative to the root; h = hidden from the root's listing)
//   -NAME                      remove NAME
// EOF on stdin (dbox went away) unmounts and exits. "ready" on stdout once mounted.
//
// Containment: every lookup is one name, opened O_PATH|O_NOFOLLOW relative to its parent's fd, so
// a symlink is never followed here (the kernel resolves links on the reader's side, which is why
// absolute targets are presented relative to the container's root); files are opened again from
// their own fd through /proc/self/fd, never by path; creation uses O_NOFOLLOW. Nothing resolves
// a path from this process's root.
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

// Attributes and names are cached by the kernel this long; changes made through the mount are
// seen at once, changes made inside a container within this time.
static const double TIMEOUT = 1.0;

struct node {
  struct node *next;  // hash chain
  int fd;             // O_PATH, not following a final symlink
  dev_t dev;
  ino_t ino;
  unsigned root;      // serial of the root it is under (0 for the mount's own root)
  int depth;          // components below that root (the root itself is 0)
  int transform;      // absolute symlink targets are presented relative to the root
  uint64_t refs;      // kernel lookups, plus one while it is a registered root
};

struct root {
  struct root *next;
  char *name;
  struct node *node;
  int hidden;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct root *roots;
static unsigned root_serial;
#define NBUCKETS 65536
static struct node *buckets[NBUCKETS];
static struct fuse_session *session;

static void present(struct node *n, struct stat *st);

static size_t bucket(dev_t dev, ino_t ino, unsigned root) {
  uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full ^ root;
  return (size_t)(h >> 48) % NBUCKETS;
}

/** The node of a file under root `root` (lock held). */
static struct node *find_node(dev_t dev, ino_t ino, unsigned root) {
  struct node *n = buckets[bucket(dev, ino, root)];
  while (n && !(n->dev == dev && n->ino == ino && n->root == root)) n = n->next;
  return n;
}

static struct node *node_of(fuse_ino_t ino) { return (struct node *)(uintptr_t)ino; }

static void unhash(struct node *n) {
  struct node **p = &buckets[bucket(n->dev, n->ino, n->root)];
  while (*p && *p != n) p = &(*p)->next;
  if (*p) *p = n->next;
}

/** Drops `count` references (lock held); the node goes with its last one. */
static void unref(struct node *n, uint64_t count) {
  n->refs -= count;
  if (n->refs > 0) return;
  if (n->depth > 0) unhash(n);
  close(n->fd);
  free(n);
}

static int empty_path_stat(int fd, struct stat *st) {
  return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

static void proc_path(char *buf, int fd) { snprintf(buf, 64, "/proc/self/fd/%d", fd); }

static int bad_name(const char *name) {
  return name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static struct root *find_root(const char *name) {
  for (struct root *r = roots; r; r = r->next)
    if (strcmp(r->name, name) == 0) return r;
  return NULL;
}

/** Fills `e` for `name` under `parent`, taking one reference for the kernel. Returns an errno. */
static int do_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->attr_timeout = TIMEOUT;
  e->entry_timeout = TIMEOUT;
  if (parent == FUSE_ROOT_ID) {
    pthread_mutex_lock(&lock);
    struct root *r = find_root(name);
    int err = 0;
    if (!r) err = ENOENT;
    else if (empty_path_stat(r->node->fd, &e->attr) != 0) err = errno;
    else {
      r->node->refs++;
      e->ino = (uintptr_t)r->node;
    }
    pthread_mutex_unlock(&lock);
    return err;
  }
  if (bad_name(name)) return ENOENT;
  struct node *p = node_of(parent);
  // A name the kernel already knows costs one fstatat; only a new one is opened.
  if (fstatat(p->fd, name, &e->attr, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  pthread_mutex_lock(&lock);
  struct node *n = find_node(e->attr.st_dev, e->attr.st_ino, p->root);
  if (n) {
    n->refs++;
    pthread_mutex_unlock(&lock);
    e->ino = (uintptr_t)n;
    present(n, &e->attr);
    return 0;
  }
  pthread_mutex_unlock(&lock);
  int fd = openat(p->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  if (empty_path_stat(fd, &e->attr) != 0) {
    int err = errno;
    close(fd);
    return err;
  }
  pthread_mutex_lock(&lock);
  size_t b = bucket(e->attr.st_dev, e->attr.st_ino, p->root);
  n = find_node(e->attr.st_dev, e->attr.st_ino, p->root);
  if (n) {  // another thread was quicker
    close(fd);
  } else {
    n = calloc(1, sizeof *n);
    if (!n) {
      pthread_mutex_unlock(&lock);
      close(fd);
      return ENOMEM;
    }
    *n = (struct node){.next = buckets[b], .fd = fd, .dev = e->attr.st_dev, .ino = e->attr.st_ino, .root = p->root,
                       .depth = p->depth + 1, .transform = p->transform};
    buckets[b] = n;
  }
  n->refs++;
  pthread_mutex_unlock(&lock);
  e->ino = (uintptr_t)n;
  present(n, &e->attr);
  return 0;
}

static void reply_entry_or_err(fuse_req_t req, fuse_ino_t parent, const char *name, int err) {
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  struct fuse_entry_param e;
  err = do_lookup(parent, name, &e);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_entry(req, &e);
}

static int writeback;

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  // Splice moves data between the kernel and the files without copies through this process.
  conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_SPLICE_READ | FUSE_CAP_PARALLEL_DIROPS);
  // Writes gather in the page cache and reach the file in 1 MiB requests (3.5x faster writes).
  if (conn->capable & FUSE_CAP_WRITEBACK_CACHE) {
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    writeback = 1;
  }
}

/** Open flags for a file of the tree: with the writeback cache the kernel reads pages of files
 *  opened write-only, and places appends itself. */
static int open_flags(int flags) {
  flags &= ~(O_NOFOLLOW | O_CREAT | O_EXCL);
  if (writeback) {
    if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
    flags &= ~O_APPEND;
  }
  return flags | O_CLOEXEC;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  reply_entry_or_err(req, parent, name, 0);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  if (ino != FUSE_ROOT_ID) {
    pthread_mutex_lock(&lock);
    unref(node_of(ino), nlookup);
    pthread_mutex_unlock(&lock);
  }
  fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < count; i++)
    if (forgets[i].ino != FUSE_ROOT_ID) unref(node_of(forgets[i].ino), forgets[i].nlookup);
  pthread_mutex_unlock(&lock);
  fuse_reply_none(req);
}

static void root_attr(struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = FUSE_ROOT_ID;
  st->st_mode = S_IFDIR | 0555;
  st->st_nlink = 2;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct stat st;
  if (ino == FUSE_ROOT_ID) root_attr(&st);
  else if (empty_path_stat(node_of(ino)->fd, &st) != 0) {
    fuse_reply_err(req, errno);
    return;
  } else present(node_of(ino), &st);
  fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid, struct fuse_file_info *fi) {
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, EPERM);
    return;
  }
  struct node *n = node_of(ino);
  char path[64];
  proc_path(path, n->fd);
  struct stat st;
  if (empty_path_stat(n->fd, &st) != 0) goto fail;
  int is_link = S_ISLNK(st.st_mode);
  if (valid & FUSE_SET_ATTR_MODE) {
    if (is_link) {
      errno = EOPNOTSUPP;
      goto fail;
    }
    if ((fi ? fchmod((int)fi->fh, attr->st_mode & 07777) : chmod(path, attr->st_mode & 07777)) != 0) goto fail;
  }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
    gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
    if (fchownat(n->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) goto fail;
  }
  if (valid & FUSE_SET_ATTR_SIZE) {
    if ((fi ? ftruncate((int)fi->fh, attr->st_size) : truncate(path, attr->st_size)) != 0) goto fail;
  }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
    if (valid & FUSE_SET_ATTR_ATIME_NOW) tv[0].tv_nsec = UTIME_NOW;
    else if (valid & FUSE_SET_ATTR_ATIME) tv[0] = attr->st_atim;
    if (valid & FUSE_SET_ATTR_MTIME_NOW) tv[1].tv_nsec = UTIME_NOW;
    else if (valid & FUSE_SET_ATTR_MTIME) tv[1] = attr->st_mtim;
    int r = fi ? futimens((int)fi->fh, tv)
               : is_link ? utimensat(n->fd, "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
                         : utimensat(AT_FDCWD, path, tv, 0);
    if (r != 0) goto fail;
  }
  op_getattr(req, ino, fi);
  return;
fail:
  fuse_reply_err(req, errno);
}

/**
 * The target of symlink `n` as the mount presents it, in a malloc'ed string (NULL and errno on
 * failure): "/etc/shadow" in /a/b/link becomes "../../etc/shadow", the same file seen from the
 * container's root, since the kernel resolves a target from the reader's root.
 */
static char *presented_target(struct node *n) {
  char target[PATH_MAX + 1];
  ssize_t len = readlinkat(n->fd, "", target, PATH_MAX);
  if (len < 0) return NULL;
  target[len] = '\0';
  if (!n->transform || target[0] != '/') return strdup(target);
  const char *rest = target;
  while (*rest == '/') rest++;
  size_t ups = n->depth > 0 ? (size_t)(n->depth - 1) : 0;
  char *out = malloc(ups * 3 + strlen(rest) + 2);
  if (!out) return NULL;
  char *p = out;
  for (size_t i = 0; i < ups; i++) p = stpcpy(p, "../");
  p = stpcpy(p, rest);
  if (p == out) strcpy(out, ".");
  return out;
}

/** Attributes as the mount presents them: a symlink's size is its presented target's length. */
static void present(struct node *n, struct stat *st) {
  if (!S_ISLNK(st->st_mode) || !n->transform) return;
  char *target = presented_target(n);
  if (target) st->st_size = (off_t)strlen(target);
  free(target);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  char *target = presented_target(node_of(ino));
  if (!target) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_reply_readlink(req, target);
  free(target);
}

/** The directory fd of `parent` for a change to a name in it; the mount's root takes none. */
static int parent_fd(fuse_req_t req, fuse_ino_t parent, const char *name) {
  if (parent == FUSE_ROOT_ID) {
    fuse_reply_err(req, EPERM);
    return -1;
  }
  if (bad_name(name)) {
    fuse_reply_err(req, EINVAL);
    return -1;
  }
  return node_of(parent)->fd;
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  reply_entry_or_err(req, parent, name, mknodat(dir, name, mode, rdev) == 0 ? 0 : errno);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  reply_entry_or_err(req, parent, name, mkdirat(dir, name, mode) == 0 ? 0 : errno);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  reply_entry_or_err(req, parent, name, symlinkat(target, dir, name) == 0 ? 0 : errno);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, EPERM);
    return;
  }
  char path[64];
  proc_path(path, node_of(ino)->fd);
  reply_entry_or_err(req, parent, name, linkat(AT_FDCWD, path, dir, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  fuse_reply_err(req, unlinkat(dir, name, 0) == 0 ? 0 : errno);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  fuse_reply_err(req, unlinkat(dir, name, AT_REMOVEDIR) == 0 ? 0 : errno);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                      unsigned int flags) {
  int from = parent_fd(req, parent, name);
  if (from < 0) return;
  int to = parent_fd(req, newparent, newname);
  if (to < 0) return;
  if (node_of(parent)->root != node_of(newparent)->root) {
    fuse_reply_err(req, EXDEV);  // another container (or the same file system seen twice)
    return;
  }
  fuse_reply_err(req, syscall(SYS_renameat2, from, name, to, newname, flags) == 0 ? 0 : errno);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  char path[64];
  proc_path(path, node_of(ino)->fd);
  int fd = open(path, open_flags(fi->flags));
  if (fd < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fi->fh = (uint64_t)fd;
  // The page cache stays across opens; the kernel drops it when it sees mtime or size change.
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  int dir = parent_fd(req, parent, name);
  if (dir < 0) return;
  int fd = openat(dir, name, open_flags(fi->flags) | O_CREAT | (fi->flags & O_EXCL) | O_NOFOLLOW, mode);
  if (fd < 0) {
    fuse_reply_err(req, errno);
    return;
  }
  struct fuse_entry_param e;
  int err = do_lookup(parent, name, &e);
  if (err) {
    close(fd);
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = (uint64_t)fd;
  fi->keep_cache = 1;
  fuse_reply_create(req, &e, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = (int)fi->fh;
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off, struct fuse_file_info *fi) {
  struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = (int)fi->fh;
  out.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&out, in, 0);
  if (n < 0) fuse_reply_err(req, (int)-n);
  else fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  // What close(2) would report for this descriptor (NFS-style errors), without closing it.
  int fd = dup((int)fi->fh);
  fuse_reply_err(req, fd < 0 ? errno : close(fd) == 0 ? 0 : errno);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  close((int)fi->fh);
  fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
  fuse_reply_err(req, r == 0 ? 0 : errno);
}

// An open directory: a stream over the real one, or a snapshot of the root's names.
struct dir {
  DIR *dp;
  struct dirent *entry;
  off_t offset;
  char **names;  // the mount's root
  size_t count;
};

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct dir *d = calloc(1, sizeof *d);
  if (!d) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  if (ino == FUSE_ROOT_ID) {
    pthread_mutex_lock(&lock);
    size_t n = 0;
    for (struct root *r = roots; r; r = r->next) n += !r->hidden;
    d->names = calloc(n + 1, sizeof *d->names);
    for (struct root *r = roots; r && d->names; r = r->next)
      if (!r->hidden) d->names[d->count++] = strdup(r->name);
    pthread_mutex_unlock(&lock);
  } else {
    char path[64];
    proc_path(path, node_of(ino)->fd);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !(d->dp = fdopendir(fd))) {
      int err = errno;
      if (fd >= 0) close(fd);
      free(d);
      fuse_reply_err(req, err);
      return;
    }
  }
  fi->fh = (uintptr_t)d;
  fuse_reply_open(req, fi);
}

/** Adds the root's names from `offset` (0 and 1 are "." and ".."). */
static size_t fill_root(fuse_req_t req, struct dir *d, char *buf, size_t size, off_t offset, int plus) {
  size_t used = 0;
  for (off_t i = offset; i < (off_t)d->count + 2; i++) {
    const char *name = i == 0 ? "." : i == 1 ? ".." : d->names[i - 2];
    struct fuse_entry_param e = {.attr = {.st_ino = FUSE_ROOT_ID, .st_mode = S_IFDIR}};
    if (plus && i >= 2 && do_lookup(FUSE_ROOT_ID, name, &e) != 0) continue;  // gone since opendir
    size_t len = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, i + 1)
                      : fuse_add_direntry(req, buf + used, size - used, name, &e.attr, i + 1);
    if (len > size - used) {
      if (plus && i >= 2) {  // not sent: give back the reference the lookup took
        pthread_mutex_lock(&lock);
        unref(node_of(e.ino), 1);
        pthread_mutex_unlock(&lock);
      }
      break;
    }
    used += len;
  }
  return used;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi, int plus) {
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  char *buf = malloc(size);
  if (!buf) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  size_t used = 0;
  if (ino == FUSE_ROOT_ID) {
    used = fill_root(req, d, buf, size, offset, plus);
    goto done;
  }
  if (offset != d->offset) {
    seekdir(d->dp, offset);
    d->entry = NULL;
    d->offset = offset;
  }
  for (;;) {
    if (!d->entry) {
      errno = 0;
      d->entry = readdir(d->dp);
      if (!d->entry) {
        if (errno && used == 0) {
          free(buf);
          fuse_reply_err(req, errno);
          return;
        }
        break;
      }
    }
    const char *name = d->entry->d_name;
    off_t next = d->entry->d_off;
    struct fuse_entry_param e = {.attr = {.st_ino = d->entry->d_ino, .st_mode = (mode_t)d->entry->d_type << 12}};
    int looked = 0;
    if (plus && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
      if (do_lookup(ino, name, &e) != 0) {  // gone meanwhile: skip it
        d->entry = NULL;
        d->offset = next;
        continue;
      }
      looked = 1;
    }
    size_t len = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next)
                      : fuse_add_direntry(req, buf + used, size - used, name, &e.attr, next);
    if (len > size - used) {
      if (looked) {
        pthread_mutex_lock(&lock);
        unref(node_of(e.ino), 1);
        pthread_mutex_unlock(&lock);
      }
      break;
    }
    used += len;
    d->entry = NULL;
    d->offset = next;
  }
done:
  fuse_reply_buf(req, buf, used);
  free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  readdir_common(req, ino, size, offset, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  readdir_common(req, ino, size, offset, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  if (d->dp) closedir(d->dp);
  for (size_t i = 0; i < d->count; i++) free(d->names[i]);
  free(d->names);
  free(d);
  fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  int r = d->dp ? (datasync ? fdatasync(dirfd(d->dp)) : fsync(dirfd(d->dp))) : 0;
  fuse_reply_err(req, r == 0 ? 0 : errno);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs sv = {.f_bsize = 4096, .f_frsize = 4096, .f_namemax = 255};
  if (ino != FUSE_ROOT_ID && fstatvfs(node_of(ino)->fd, &sv) != 0) {
    fuse_reply_err(req, errno);
    return;
  }
  fuse_reply_statfs(req, &sv);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, (mask & W_OK) ? EACCES : 0);
    return;
  }
  char path[64];
  proc_path(path, node_of(ino)->fd);
  struct stat st;
  if (empty_path_stat(node_of(ino)->fd, &st) == 0 && S_ISLNK(st.st_mode)) {
    fuse_reply_err(req, 0);
    return;
  }
  fuse_reply_err(req, faccessat(AT_FDCWD, path, mask, AT_EACCESS) == 0 ? 0 : errno);
}

static void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op) {
  fuse_reply_err(req, flock((int)fi->fh, op) == 0 ? 0 : errno);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi) {
  fuse_reply_err(req, fallocate((int)fi->fh, mode, offset, length) == 0 ? 0 : errno);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) {
  off_t r = lseek((int)fi->fh, off, whence);
  if (r < 0) fuse_reply_err(req, errno);
  else fuse_reply_lseek(req, r);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t in, off_t off_in, struct fuse_file_info *fi_in, fuse_ino_t out,
                               off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags) {
  ssize_t n = copy_file_range((int)fi_in->fh, &off_in, (int)fi_out->fh, &off_out, len, (unsigned)flags);
  if (n < 0) fuse_reply_err(req, errno);
  else fuse_reply_write(req, (size_t)n);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .symlink = op_symlink,
    .link = op_link,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write_buf = op_write_buf,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .access = op_access,
    .flock = op_flock,
    .fallocate = op_fallocate,
    .lseek = op_lseek,
    .copy_file_range = op_copy_file_range,
};

/** Applies one control line; tells the kernel to forget what it knew of the name. */
static void control(char *line) {
  char op = line[0];
  char *name = line + 1;
  char *path = NULL, *flags = "";
  if (op == '+') {
    path = strchr(name, '\t');
    if (!path) return;
    *path++ = '\0';
    char *tab = strchr(path, '\t');
    if (tab) {
      *tab = '\0';
      flags = tab + 1;
    }
  } else if (op != '-') {
    return;
  }
  if (bad_name(name)) return;
  struct node *n = NULL;
  if (op == '+') {
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || empty_path_stat(fd, &st) != 0) {
      fprintf(stderr, "dbox-fuse: %s: %s\n", path, strerror(errno));
      if (fd >= 0) close(fd);
      return;
    }
    n = calloc(1, sizeof *n);
    if (!n) {
      close(fd);
      return;
    }
    *n = (struct node){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .depth = 0, .transform = strchr(flags, 't') != NULL,
                       .refs = 1};
  }
  pthread_mutex_lock(&lock);
  struct root **p = &roots;
  while (*p && strcmp((*p)->name, name) != 0) p = &(*p)->next;
  struct root *old = *p;
  if (old) {
    *p = old->next;
    unref(old->node, 1);
    free(old->name);
    free(old);
  }
  if (n) {
    n->root = ++root_serial;
    struct root *r = calloc(1, sizeof *r);
    if (r && (r->name = strdup(name))) {
      r->node = n;
      r->hidden = strchr(flags, 'h') != NULL;
      r->next = *p;  // in place of the old one, or at the end: the listing keeps its order
      *p = r;
    } else {
      free(r);
      unref(n, 1);
    }
  }
  pthread_mutex_unlock(&lock);
  fuse_lowlevel_notify_inval_entry(session, FUSE_ROOT_ID, name, strlen(name));
  fuse_lowlevel_notify_inval_inode(session, FUSE_ROOT_ID, 0, 0);
}

static void *control_loop(void *arg) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    if (line[len - 1] == '\n') line[len - 1] = '\0';
    control(line);
    printf("ok\n");
    fflush(stdout);
  }
  // dbox is gone: nothing may be left mounted.
  fuse_session_unmount(session);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dbox-fuse MOUNTPOINT  (roots on stdin: +NAME\\tPATH\\tFLAGS, -NAME)\n");
    return 2;
  }
  // Only what this process needs: an inherited descriptor of another FUSE connection (dbox's
  // engine mount, whose server started this one) would keep that connection alive after its
  // server died, and a request to it would wait for ever.
  syscall(SYS_close_range, 3, ~0U, 0);
  char *fuse_argv[] = {argv[0], "-o", "fsname=dbox,subtype=dbox", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
  session = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!session) return 1;
  if (fuse_set_signal_handlers(session) != 0) return 1;
  if (fuse_session_mount(session, argv[1]) != 0) return 1;
  printf("ready\n");
  fflush(stdout);
  pthread_t control_thread;
  pthread_create(&control_thread, NULL, control_loop, NULL);
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, 16);
  int r = fuse_session_loop_mt(session, config);
  fuse_loop_cfg_destroy(config);
  fuse_session_unmount(session);
  fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
  return r == 0 ? 0 : 1;
}
