// dbox-fuse: the mount's fast path. A FUSE server on libfuse3's low-level API whose root lists
// named directory trees ("roots") and whose /<name>/... passes every request straight through to
// that tree by file descriptors, on several threads, without a round trip to Node:
//   - a running container of the local engine: its root, /proc/<pid>/root;
//   - anything else (stopped containers, other engines, .hosts): a directory of dbox's own
//     fuse-native mount, where Node serves it through the engine driver.
// Node tells it the roots on stdin, one line each, and it follows as they change:
//   +NAME<TAB>PATH<TAB>FLAGS   add or replace NAME (FLAGS: t = present absolute symlink targets
//                              relative to the root; w = watch its directories with inotify, so
//                              that the kernel may cache longer; h = hidden from the root's listing)
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
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

// How long the kernel may keep names and attributes. Changes made through the mount are seen at
// once. In a directory watched with inotify (every directory of a local container), a change
// made by the container's processes is reported and invalidated at once too, so the kernel may
// keep what it knows for WATCHED seconds (the bound for what inotify cannot see, such as a
// network file system in a volume); elsewhere (dbox's engine mount) for SHORT seconds.
static const double SHORT = 1.0;
static const double WATCHED = 10.0;
static int inotify_fd = -1;
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_ONLYDIR | IN_EXCL_UNLINK)

struct node {
  struct node *next;  // hash chain
  int fd;             // O_PATH, not following a final symlink
  dev_t dev;
  ino_t ino;
  unsigned root;      // serial of the root it is under (0 for the mount's own root)
  int depth;          // components below that root (the root itself is 0)
  int transform;      // absolute symlink targets are presented relative to the root
  uint64_t refs;      // kernel lookups, plus one while it is a registered root
  int unhashed;       // its file was deleted: no longer in the table
  int watch;          // its tree is watched (a local container): its directories get inotify watches
  int wd;             // a directory's inotify watch, or -1
  struct node *wd_next;  // other nodes of the same watched inode
  int watched;        // the directory it was last found in is watched: cache it for WATCHED seconds
  int writers;        // open for writing through the mount (its attributes change with each write)
};

// Watch descriptor -> the nodes watched by it (lock held).
static struct node **by_wd;
static size_t by_wd_cap;

/** Watches directory node `n` if its tree is watched (lock held). */
static void watch_dir(struct node *n) {
  n->wd = -1;
  if (!n->watch || inotify_fd < 0) return;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", n->fd);
  int wd = inotify_add_watch(inotify_fd, path, WATCH_MASK);
  if (wd < 0) return;  // out of watches: this directory is cached for SHORT seconds only
  if ((size_t)wd >= by_wd_cap) {
    size_t cap = by_wd_cap ? by_wd_cap * 2 : 1024;
    while (cap <= (size_t)wd) cap *= 2;
    struct node **grown = realloc(by_wd, cap * sizeof *grown);
    if (!grown) {
      inotify_rm_watch(inotify_fd, wd);
      return;
    }
    memset(grown + by_wd_cap, 0, (cap - by_wd_cap) * sizeof *grown);
    by_wd = grown;
    by_wd_cap = cap;
  }
  n->wd = wd;
  n->wd_next = by_wd[wd];
  by_wd[wd] = n;
}

/** Stops watching for node `n` (lock held); the watch goes with the last node of its inode. */
static void unwatch_dir(struct node *n) {
  if (n->wd < 0) return;
  struct node **p = &by_wd[n->wd];
  while (*p && *p != n) p = &(*p)->wd_next;
  if (*p) *p = n->wd_next;
  if (!by_wd[n->wd]) inotify_rm_watch(inotify_fd, n->wd);
  n->wd = -1;
}

static double timeout_of(const struct node *n) { return n->watched ? WATCHED : SHORT; }

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

/** The node of a file under root `root` (lock held). A node whose file was deleted is dropped from
 *  the table here, since its inode number may already name a new file. */
static struct node *find_node(dev_t dev, ino_t ino, unsigned root) {
  struct node **p = &buckets[bucket(dev, ino, root)];
  while (*p && !((*p)->dev == dev && (*p)->ino == ino && (*p)->root == root)) p = &(*p)->next;
  struct node *n = *p;
  struct stat st;
  if (n && (fstatat(n->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 || st.st_nlink == 0 || st.st_ino != ino)) {
    *p = n->next;  // it lives on until the kernel forgets it, but is never found again
    n->next = NULL;
    n->unhashed = 1;
    return NULL;
  }
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
  if (n->depth > 0 && !n->unhashed) unhash(n);
  unwatch_dir(n);
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
  // The root's names change only by control lines, which invalidate them.
  e->attr_timeout = e->entry_timeout = parent == FUSE_ROOT_ID || node_of(parent)->wd >= 0 ? WATCHED : SHORT;
  if (parent == FUSE_ROOT_ID) {
    pthread_mutex_lock(&lock);
    struct root *r = find_root(name);
    int err = 0;
    if (!r) err = ENOENT;
    else if (empty_path_stat(r->node->fd, &e->attr) != 0) err = errno;
    else {
      r->node->refs++;
      e->ino = (uintptr_t)r->node;
      e->attr_timeout = timeout_of(r->node);
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
    n->watched = p->wd >= 0;
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
                       .depth = p->depth + 1, .transform = p->transform, .watch = p->watch, .wd = -1};
    buckets[b] = n;
    if (S_ISDIR(e->attr.st_mode)) watch_dir(n);
  }
  n->watched = p->wd >= 0;
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

static int no_opendir;

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  // Splice moves data between the kernel and the files without copies through this process.
  conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_SPLICE_READ | FUSE_CAP_PARALLEL_DIROPS);
  // No writeback cache, though it makes writes 2-3x faster: with it the kernel keeps a file's
  // size and mtime for itself, and would not see the container's own processes change them.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // No OPENDIR/RELEASEDIR round trips, and the kernel caches listings (with watched directories
  // invalidated on change, the cache is kept as long as names are).
  if (inotify_fd >= 0 && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)) no_opendir = 1;
}

/** Open flags for a file of the tree, as the kernel asked, without what only a path lookup uses. */
static int open_flags(int flags) { return (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC; }

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
  fuse_reply_attr(req, &st, ino == FUSE_ROOT_ID ? SHORT : timeout_of(node_of(ino)));
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

/** Counts the opens for writing of node `n`: the kernel knows their changes without being told. */
static void count_writer(const struct fuse_file_info *fi, struct node *n, int delta) {
  if ((fi->flags & O_ACCMODE) == O_RDONLY) return;
  pthread_mutex_lock(&lock);
  n->writers += delta;
  pthread_mutex_unlock(&lock);
}

/** A file opened only for writing bypasses the kernel's page cache of the mount: the writer's
 *  bytes go straight into the request, one copy fewer (writes 1.7x faster); the kernel keeps
 *  the pages other readers cached coherent. (Such a descriptor cannot be mmap'ed anyway.) */
static void write_only_direct(struct fuse_file_info *fi) {
  if ((fi->flags & O_ACCMODE) == O_WRONLY) fi->direct_io = 1;
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
  count_writer(fi, node_of(ino), 1);
  write_only_direct(fi);
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
  count_writer(fi, node_of(e.ino), 1);
  write_only_direct(fi);
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
  count_writer(fi, node_of(ino), -1);
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

static void close_dir(struct dir *d) {
  if (d->dp) closedir(d->dp);
  for (size_t i = 0; i < d->count; i++) free(d->names[i]);
  free(d->names);
  free(d);
}

/** Opens directory `ino` for reading (the root: a snapshot of its names). NULL and errno on failure. */
static struct dir *open_dir(fuse_ino_t ino) {
  struct dir *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  if (ino == FUSE_ROOT_ID) {
    pthread_mutex_lock(&lock);
    size_t n = 0;
    for (struct root *r = roots; r; r = r->next) n += !r->hidden;
    d->names = calloc(n + 1, sizeof *d->names);
    for (struct root *r = roots; r && d->names; r = r->next)
      if (!r->hidden) d->names[d->count++] = strdup(r->name);
    pthread_mutex_unlock(&lock);
    return d;
  }
  char path[64];
  proc_path(path, node_of(ino)->fd);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || !(d->dp = fdopendir(fd))) {
    int err = errno;
    if (fd >= 0) close(fd);
    free(d);
    errno = err;
    return NULL;
  }
  return d;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  // Without open directories the kernel sends no OPENDIR and RELEASEDIR: two round trips fewer for
  // each directory `find` enters; each READDIR then opens the directory here for itself.
  if (no_opendir) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  struct dir *d = open_dir(ino);
  if (!d) {
    fuse_reply_err(req, errno);
    return;
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
  struct dir *own = NULL;  // opened for this request alone (no OPENDIR)
  if (!d && !(d = own = open_dir(ino))) {
    fuse_reply_err(req, errno);
    return;
  }
  char *buf = malloc(size);
  if (!buf) {
    if (own) close_dir(own);
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
          int err = errno;
          free(buf);
          if (own) close_dir(own);
          fuse_reply_err(req, err);
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
  if (own) close_dir(own);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  readdir_common(req, ino, size, offset, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi) {
  readdir_common(req, ino, size, offset, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  if (fi->fh) close_dir((struct dir *)(uintptr_t)fi->fh);
  fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  struct dir *d = fi->fh ? (struct dir *)(uintptr_t)fi->fh : open_dir(ino);
  if (!d) {
    fuse_reply_err(req, errno);
    return;
  }
  int r = d->dp ? (datasync ? fdatasync(dirfd(d->dp)) : fsync(dirfd(d->dp))) : 0;
  int err = r == 0 ? 0 : errno;
  if (!fi->fh) close_dir(d);
  fuse_reply_err(req, err);
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
                       .watch = strchr(flags, 'w') != NULL, .wd = -1, .refs = 1};
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
    watch_dir(n);
    n->watched = n->wd >= 0;
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

/** After lost events: every directory the kernel knows is read again on its next use. */
static void invalidate_all(void) {
  size_t count = 0, cap = 1024;
  fuse_ino_t *dirs = malloc(cap * sizeof *dirs);
  pthread_mutex_lock(&lock);
  for (size_t b = 0; b < NBUCKETS && dirs; b++)
    for (struct node *n = buckets[b]; n && dirs; n = n->next) {
      if (n->wd < 0) continue;
      if (count == cap) {
        fuse_ino_t *grown = realloc(dirs, (cap *= 2) * sizeof *dirs);
        if (!grown) break;
        dirs = grown;
      }
      dirs[count++] = (uintptr_t)n;
    }
  pthread_mutex_unlock(&lock);
  for (size_t i = 0; i < count; i++) fuse_lowlevel_notify_inval_inode(session, dirs[i], 0, 0);
  free(dirs);
}

/**
 * Tells the kernel what inotify saw change in watched directories, so that it drops the names,
 * attributes and listings it cached: the container's own processes change its files behind the
 * mount. (Never called with the lock held: the kernel may wait for a request to finish first.)
 */
static void *watch_loop(void *arg) {
  char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t len = read(inotify_fd, buf, sizeof buf);
    if (len <= 0) {
      if (len < 0 && errno == EINTR) continue;
      return NULL;
    }
    for (char *at = buf; at < buf + len;) {
      struct inotify_event *ev = (struct inotify_event *)at;
      at += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        invalidate_all();
        continue;
      }
      enum { MAX = 16 };
      fuse_ino_t dirs[MAX], children[MAX];
      size_t nd = 0, nc = 0;
      const char *name = ev->len ? ev->name : NULL;
      pthread_mutex_lock(&lock);
      if (ev->wd >= 0 && (size_t)ev->wd < by_wd_cap) {
        for (struct node *n = by_wd[ev->wd]; n && nd < MAX; n = n->wd_next) {
          dirs[nd++] = (uintptr_t)n;
          struct stat st;
          if (name && (ev->mask & (IN_MODIFY | IN_ATTRIB)) && fstatat(n->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            struct node *c = find_node(st.st_dev, st.st_ino, n->root);
            // Not a file being written through the mount: its own writes would each cost the
            // next write a GETATTR round trip.
            if (c && c->writers == 0 && nc < MAX) children[nc++] = (uintptr_t)c;
          }
        }
        if (ev->mask & IN_IGNORED) {  // the directory is gone: so is its watch
          for (struct node *n = by_wd[ev->wd]; n; n = n->wd_next) n->wd = -1;
          by_wd[ev->wd] = NULL;
        }
      }
      pthread_mutex_unlock(&lock);
      for (size_t i = 0; i < nd; i++) {
        if (name && (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))) {
          fuse_lowlevel_notify_inval_entry(session, dirs[i], name, strlen(name));
          fuse_lowlevel_notify_inval_inode(session, dirs[i], 0, 0);  // its attributes and cached listing
        } else if (!name && (ev->mask & IN_ATTRIB)) {
          fuse_lowlevel_notify_inval_inode(session, dirs[i], -1, 0);
        }
      }
      // A file's attributes only: its cached pages go when the kernel sees its new mtime and size.
      for (size_t i = 0; i < nc; i++) fuse_lowlevel_notify_inval_inode(session, children[i], -1, 0);
    }
  }
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
  inotify_fd = inotify_init1(IN_CLOEXEC);
  char *fuse_argv[] = {argv[0], "-o", "fsname=dbox,subtype=dbox", NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
  session = fuse_session_new(&args, &ops, sizeof ops, NULL);
  if (!session) return 1;
  if (fuse_set_signal_handlers(session) != 0) return 1;
  if (fuse_session_mount(session, argv[1]) != 0) return 1;
  printf("ready\n");
  fflush(stdout);
  pthread_t control_thread, watch_thread;
  pthread_create(&control_thread, NULL, control_loop, NULL);
  if (inotify_fd >= 0) pthread_create(&watch_thread, NULL, watch_loop, NULL);
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(config, 16);
  int r = fuse_session_loop_mt(session, config);
  fuse_loop_cfg_destroy(config);
  fuse_session_unmount(session);
  fuse_remove_signal_handlers(session);
  fuse_session_destroy(session);
  return r == 0 ? 0 : 1;
}
