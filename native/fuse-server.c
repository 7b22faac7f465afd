// dbox-fuse: the mount's fast path. A FUSE server on libfuse3's low-level API whose root lists
// named directory trees ("roots") and whose /<name>/... passes every request straight through to
// that tree by file descriptors, on several threads, without a round trip to Node:
//   - a running container of the local engine: its root, proven by Node (native/identity.c) and
//     handed over as /proc/<node pid>/fd/<fd>;
//   - anything else (stopped containers, other engines, .hosts): a directory of dbox's own
//     fuse-native mount, where Node serves it through the engine driver.
// Node decides which tree serves a name (src/vfs/namespace.ts localRoot); this process opens what
// it is given and never decides. "ready" (or "error ...") on stdout once mounted; the control
// protocol below on stdin; EOF on stdin (dbox went away) unmounts and exits. Messages go to
// stderr, which Node points at the mount's log file, never at a terminal.
//
// What each mechanism trusts, and why:
//
// Control (stdin): records of NUL-terminated fields, answered one line each on stdout:
//     "+" NAME PATH FLAGS      add or replace NAME     -> "ok" | "error <why>"
//     "-" NAME                 remove NAME             -> "ok" | "error <why>"
//   FLAGS: w = watch its directories with inotify (the kernel may cache longer); h = hidden from
//   the root's listing. The writer (Node, dbox's own process) is trusted for WHICH tree a name
//   gets; nothing else of a record is: a field cannot hold NUL, so no name or path can smuggle in
//   another record, and a NAME must be one component of Docker's grammar
//   ([a-zA-Z0-9][a-zA-Z0-9_.-]+, or "." + that for a hidden name), else the record is refused.
//   A root that cannot be opened is answered with an error (and a root it replaced goes).
//
// Lookups and links: every lookup is one name, opened O_PATH|O_NOFOLLOW relative to its parent's
//   fd, so no symlink is ever followed here, and nothing resolves a path from this process's root.
//   Files are opened again from their own fd (/proc/self/fd), creation uses O_NOFOLLOW. The kernel
//   follows links on the reader's side, from the path the reader used: every target is presented
//   by native/link.h's rule (never above the container's directory) for the node's depth, and
//   the depth is part of a node's key, so a file reached at two depths (a hard-linked symlink, a
//   volume mounted twice) is two nodes, each presented for its own path. A directory or symlink
//   renamed through the mount to another depth would keep its old depth in the kernel's cache:
//   such renames answer EXDEV (mv then copies). A tree served by dbox's fuse-native mount (stopped
//   containers, .hosts) had its links presented there already, by the same rule for exact paths;
//   presenting them again here changes nothing (the rule is idempotent) and bounds them here too.
//
// Descriptors: each node holds an O_PATH fd while it is in use or recently used; at most
//   `max_fds` stay open (least recently used closed first), the rest are opened again by
//   (parent fd, name) with O_PATH|O_NOFOLLOW and must still be the same (dev, ino, type), else
//   ESTALE. A request pins the fd it uses (`acquire`/`release`), and only an unpinned fd is ever
//   closed, so an fd number is never closed, and reused for another file, under a request.
//
// Revocation: when a root is removed or replaced by another tree (a container stopped, restarted,
//   an engine gone), every node and open file below it stops referencing the old tree at once:
//   unpinned node fds are closed, and fds in use (pinned nodes, open files and directories) are
//   replaced in place by dup2() of a dead descriptor (an O_PATH fd of a deleted empty directory),
//   so a request in flight fails instead of reaching a reused fd number; later requests on those
//   nodes answer ESTALE, and the kernel is told to drop what it cached of them (pages, listings,
//   attributes). No descriptor into the old tree is kept (overlayfs warns of two mounts of one
//   upper dir, and a stopped container's tree must not stay writable). The same tree given again
//   (same device, inode and mount id: an engine that reconnected) is kept as it is.
//
// Inode numbers: sub-mounts of a container (proc, sysfs, devpts, volumes) share the mount's one
//   st_dev, and their small inode numbers collide. A file of the root's own file system keeps its
//   inode number; any other presents a 64-bit mix of (dev, ino) with the top bit set, so distinct
//   files differ (with overwhelming probability), hard links share one, and `find` sees no loops.
//
// Environment (for tests and tuning): DBOX_FUSE_MAX_FDS lowers the bound on node descriptors
// (default: half the raised limit, at most 65536); DBOX_FUSE_INOTIFY=off serves as when the
// kernel's watches have run out.
//
// Locking: one mutex guards the tables and every node's mutable fields, and nothing else: no
//   system call runs under it (lookups, stats, opens and inotify_add_watch come before it, and
//   take it only to enter what they found in the table), except dup3() of descriptors in use
//   during a revocation (rare, and atomicity against a concurrent close is its point). Closes and
//   inotify_rm_watch calls are collected under it and done after it (when memory runs out to
//   collect one, it is done at once: correct, only slower). Parallel lookups of a slow tree are
//   in the tree at once (test/adversarial/fuse-parallel.test.ts).
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "link.h"

// How long the kernel may keep names and attributes. Changes made through the mount are seen at
// once. In a directory watched with inotify (every directory of a local container), a change
// made by the container's processes is reported and invalidated at once too, so the kernel may
// keep what it knows for WATCHED seconds (the bound for what inotify cannot see, such as a
// network file system in a volume); elsewhere (dbox's engine mount) for SHORT seconds.
static const double SHORT = 1.0;
static const double WATCHED = 10.0;
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_ONLYDIR | IN_EXCL_UNLINK)
#define NBUCKETS 65536
// The most node descriptors kept open when the limit allows it (DBOX_FUSE_MAX_FDS overrides).
#define DEFAULT_MAX_FDS 65536
// A name the kernel sends is at most this long (FUSE_NAME_MAX).
#define NAME_LIMIT 1024

struct node {
  struct node *next;            // hash chain, while hashed
  struct node *all_prev, *all_next;  // every live node (what a revocation walks)
  struct node *older, *newer;   // the LRU of open, unpinned descriptors
  struct node *parent;          // where it was last found (a reference); NULL for a root
  char *name;                   // its name there
  int fd;                       // O_PATH, not following a final symlink; -1 while closed
  dev_t dev;                    // these four never change
  ino_t ino;
  mode_t type;
  dev_t root_dev;               // the st_dev of its root: inode numbers of that device are kept
  unsigned root;                // serial of the root it is under
  unsigned depth;               // components below that root (the root itself is 0)
  bool watch;                   // its tree is watched (a local container)
  uint64_t lookups;             // the kernel's references
  unsigned refs;                // children naming it as parent, +1 while it is a registered root
  unsigned pins;                // requests using its fd now
  bool hashed, in_lru, revoked;
  int wd;                       // a directory's inotify watch, or -1
  struct node *wd_next;         // other nodes of the same watched inode
  int watched;                  // found in a watched directory: cached for WATCHED seconds
  int writers;                  // open for writing through the mount
};

struct root {
  struct root *next;
  char *name;
  struct node *node;
  bool hidden;
  uint64_t mnt_id;              // of its tree, to tell a new tree from the same one given again
};

// An open file or directory of the mount. Its fd is used by READ, WRITE... without the lock (the
// kernel sends nothing on a handle after RELEASE); a revocation swaps it under the lock, and
// RELEASE unlinks it under the lock before closing it, so the two never meet.
struct handle {
  struct handle *prev, *next;
  int fd;
  DIR *dp;                      // for a directory: the stream that owns fd
  unsigned root;
  bool revoked;
};

// Closes and frees collected under the lock, done after it.
struct fdlist {
  int *v;
  size_t n, cap;
};
struct reap {
  struct fdlist fds;   // descriptors to close
  struct fdlist wds;   // inotify watches to remove
  struct node *nodes;  // nodes to free (chained by next)
};
#define REAP_INIT {{0}, {0}, NULL}

static struct {
  pthread_mutex_t lock;
  struct fuse_session *session;
  int inotify_fd;
  int dead_fd;                  // O_PATH of a deleted empty directory: what revoked fds become
  int no_opendir;
  int ending;                   // the control pipe closed: the unmount that follows is no failure
  int failed;                   // ... unless the control thread could not read it (exit status 1)
  int caller_owns;              // allow_other: what a request creates is given the caller's uid/gid
  struct root *roots;
  unsigned root_serial;
  struct node *buckets[NBUCKETS];
  struct node *all;             // every live node below a root (all_next)
  struct node **by_wd;          // watch descriptor -> the nodes watched by it
  size_t by_wd_cap;
  struct node *lru_oldest, *lru_newest;
  size_t open_fds;              // node descriptors open below the roots (roots' own not counted)
  size_t max_fds;
  struct handle *handles;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER, .inotify_fd = -1, .dead_fd = -1};

static void lock(void) { pthread_mutex_lock(&S.lock); }
// wd, watched and a handle's revoked are written under the lock and read without it (timeouts,
// a revoked open file): those writes and reads are atomic.
#define STORE(field, value) __atomic_store_n(&(field), (value), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
static void unlock(void) { pthread_mutex_unlock(&S.lock); }

/** A line in the log (stderr, which Node points at the mount's log file). */
static void say(const char *fmt, ...) {
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now, &tm) ? &tm : &(struct tm){0});
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s dbox-fuse[%d]: ", when, (int)getpid());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

// ---------- collected work (reap) ----------

/** Adds `v` to a list; when the list cannot grow, `now` is done at once (under the lock: correct, slower). */
static void fdlist_push(struct fdlist *l, int v, void (*now)(int)) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    int *grown = realloc(l->v, cap * sizeof *grown);
    if (!grown) {
      now(v);
      return;
    }
    l->v = grown;
    l->cap = cap;
  }
  l->v[l->n++] = v;
}

static void close_now(int fd) { close(fd); }
static void rm_watch_now(int wd) { inotify_rm_watch(S.inotify_fd, wd); }

/** Does what the lock collected (lock NOT held). */
static void reap_done(struct reap *r) {
  for (size_t i = 0; i < r->fds.n; i++) close(r->fds.v[i]);
  for (size_t i = 0; i < r->wds.n; i++) inotify_rm_watch(S.inotify_fd, r->wds.v[i]);
  free(r->fds.v);
  free(r->wds.v);
  while (r->nodes) {
    struct node *n = r->nodes;
    r->nodes = n->next;
    if (n->fd >= 0) close(n->fd);
    free(n->name);
    free(n);
  }
}

// ---------- the LRU of open node descriptors (lock held) ----------

static void lru_remove(struct node *n) {
  if (!n->in_lru) return;
  if (n->older) n->older->newer = n->newer;
  else S.lru_oldest = n->newer;
  if (n->newer) n->newer->older = n->older;
  else S.lru_newest = n->older;
  n->older = n->newer = NULL;
  n->in_lru = false;
}

static void lru_push(struct node *n) {
  if (n->in_lru || n->fd < 0 || n->pins > 0 || n->revoked || n->depth == 0) return;
  n->older = S.lru_newest;
  n->newer = NULL;
  if (S.lru_newest) S.lru_newest->newer = n;
  else S.lru_oldest = n;
  S.lru_newest = n;
  n->in_lru = true;
}

/** Closes the least recently used descriptors beyond the bound. */
static void evict(struct reap *r) {
  while (S.open_fds > S.max_fds && S.lru_oldest) {
    struct node *n = S.lru_oldest;
    lru_remove(n);
    fdlist_push(&r->fds, n->fd, close_now);
    n->fd = -1;
    S.open_fds--;
  }
}

// ---------- the node table (lock held) ----------

static size_t bucket(dev_t dev, ino_t ino, unsigned root, unsigned depth) {
  uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full ^ root ^ ((uint64_t)depth << 32);
  h ^= h >> 29;
  return (size_t)(h * 0xBF58476D1CE4E5B9ull >> 48) % NBUCKETS;
}

static struct node *find_node(dev_t dev, ino_t ino, unsigned root, unsigned depth) {
  struct node *n = S.buckets[bucket(dev, ino, root, depth)];
  while (n && !(n->dev == dev && n->ino == ino && n->root == root && n->depth == depth)) n = n->next;
  return n;
}

static void unhash(struct node *n) {
  if (!n->hashed) return;
  struct node **p = &S.buckets[bucket(n->dev, n->ino, n->root, n->depth)];
  while (*p && *p != n) p = &(*p)->next;
  if (*p) *p = n->next;
  n->next = NULL;
  n->hashed = false;
}

/** Stops watching for node `n`; the watch itself goes with the last node of its inode. */
static void unwatch(struct node *n, struct reap *r) {
  if (n->wd < 0) return;
  struct node **p = &S.by_wd[n->wd];
  while (*p && *p != n) p = &(*p)->wd_next;
  if (*p) *p = n->wd_next;
  if (!S.by_wd[n->wd]) fdlist_push(&r->wds, n->wd, rm_watch_now);
  STORE(n->wd, -1);
  n->wd_next = NULL;
}

/** Frees `n` (and, in turn, parents only it kept) once nothing refers to it. */
static void maybe_free(struct node *n, struct reap *r) {
  while (n && n->lookups == 0 && n->refs == 0 && n->pins == 0) {
    struct node *parent = n->parent;
    unhash(n);
    lru_remove(n);
    unwatch(n, r);
    if (n->fd >= 0 && n->depth > 0) S.open_fds--;
    if (n->all_prev) n->all_prev->all_next = n->all_next;
    else if (S.all == n) S.all = n->all_next;
    if (n->all_next) n->all_next->all_prev = n->all_prev;
    n->next = r->nodes;  // its fd is closed after the lock
    r->nodes = n;
    n = parent;
    if (n) n->refs--;
  }
}

/** Points `n` at a new (parent, name) for reopening, when they changed. */
static void set_place(struct node *n, struct node *parent, const char *name, struct reap *r) {
  if (n->parent == parent && n->name && strcmp(n->name, name) == 0) return;
  char *copy = strdup(name);
  if (!copy) return;  // keeps the old place: a reopen may then answer ESTALE
  free(n->name);
  n->name = copy;
  if (n->parent != parent) {
    parent->refs++;
    struct node *old = n->parent;
    n->parent = parent;
    if (old) {
      old->refs--;
      maybe_free(old, r);
    }
  }
}

static struct node *node_of(fuse_ino_t ino) { return (struct node *)(uintptr_t)ino; }

// ---------- pins: a node's descriptor for the length of one request ----------

static void release(struct node *n) {
  struct reap r = REAP_INIT;
  lock();
  n->pins--;
  if (n->pins == 0 && n->revoked && n->fd >= 0) {  // revoked while in use: its (dead) fd goes now
    fdlist_push(&r.fds, n->fd, close_now);
    if (n->depth > 0) S.open_fds--;
    n->fd = -1;
  }
  lru_push(n);
  maybe_free(n, &r);
  unlock();
  reap_done(&r);
}

/** Whether `fd` is still the file of `n`. */
static bool same_file(const struct node *n, int fd) {
  struct stat st;
  return fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == n->dev && st.st_ino == n->ino &&
         (st.st_mode & S_IFMT) == n->type;
}

/** Installs `fd` as the descriptor of pinned node `n` unless one came meanwhile; returns the one in use. */
static int install_fd(struct node *n, int fd) {
  struct reap r = REAP_INIT;
  lock();
  if (n->revoked) {
    fdlist_push(&r.fds, fd, close_now);
    fd = -ESTALE;
  } else if (n->fd >= 0) {
    fdlist_push(&r.fds, fd, close_now);
    fd = n->fd;
  } else {
    n->fd = fd;
    S.open_fds++;
    evict(&r);
  }
  unlock();
  reap_done(&r);
  return fd;
}

/**
 * Opens pinned node `n` again (its descriptor was closed to bound how many are open): the chain of
 * closed ancestors is pinned up to the nearest open one, then each is opened by name from its
 * parent, checked to be the same file. Returns the fd, or -errno (ESTALE when a file moved or changed).
 */
static int reopen(struct node *n) {
  lock();
  if (n->fd >= 0) {  // another request opened it meanwhile
    int fd = n->fd;
    unlock();
    return fd;
  }
  size_t count = 0;
  struct node *top = n;
  int err = 0;
  while (top->fd < 0) {
    if (top->revoked || !top->parent) {
      err = ESTALE;
      break;
    }
    top = top->parent;
    top->pins++;
    lru_remove(top);
    count++;
  }
  struct node **chain = err ? NULL : malloc((count + 1) * sizeof *chain);
  if (!err && !chain) err = ENOMEM;
  if (err) {  // give back the pins taken on the way
    struct reap r = REAP_INIT;
    for (struct node *p = n; p != top;) {
      p = p->parent;
      p->pins--;
      lru_push(p);
      maybe_free(p, &r);
    }
    unlock();
    reap_done(&r);
    return -err;
  }
  struct node *p = n;
  for (size_t i = 0; i <= count; i++, p = p->parent) chain[i] = p;  // chain[count] = top
  unlock();
  int fd = -ESTALE;
  for (size_t i = count; i-- > 0;) {
    struct node *c = chain[i];
    lock();
    int parent_fd = chain[i + 1]->fd;
    bool moved = c->parent != chain[i + 1] || !c->name;  // found elsewhere meanwhile
    char *name = moved ? NULL : strdup(c->name);
    int have = c->fd;
    unlock();
    if (have >= 0) {
      fd = have;
    } else if (moved || parent_fd < 0) {
      fd = -ESTALE;
    } else if (!name) {
      fd = -ENOMEM;
    } else {
      fd = open_name_path(parent_fd, name);
      if (fd < 0) fd = errno == ENOENT || errno == ENOTDIR ? -ESTALE : -errno;
      else if (!same_file(c, fd)) {
        close(fd);
        fd = -ESTALE;
      } else {
        fd = install_fd(c, fd);
      }
    }
    free(name);
    if (fd < 0) break;
  }
  for (size_t i = 1; i <= count; i++) release(chain[i]);
  free(chain);
  return fd;
}

/** Pins `n`'s descriptor for one request and returns it (opened again if it was closed), or -errno. */
static int acquire(struct node *n) {
  lock();
  if (n->revoked) {
    unlock();
    return -ESTALE;
  }
  n->pins++;
  lru_remove(n);
  int fd = n->fd;
  unlock();
  if (fd >= 0) return fd;
  fd = reopen(n);
  if (fd < 0) release(n);
  return fd;
}

// ---------- inotify watches ----------

static double timeout_of(struct node *n) { return LOAD(n->watched) ? WATCHED : SHORT; }

/** Watches directory node `n` (pinned, its fd `fd`) if its tree is watched. */
static void watch_dir(struct node *n, int fd) {
  if (!n->watch || S.inotify_fd < 0) return;
  int wd = inotify_add_watch(S.inotify_fd, fd_path(fd).s, WATCH_MASK);
  if (wd < 0) return;  // out of watches: this directory is cached for SHORT seconds only
  lock();
  if (n->wd >= 0 || n->revoked) {  // watched already (the same wd), or gone meanwhile
    unlock();
    return;
  }
  if ((size_t)wd >= S.by_wd_cap) {
    size_t cap = S.by_wd_cap ? S.by_wd_cap * 2 : 1024;
    while (cap <= (size_t)wd) cap *= 2;
    struct node **grown = realloc(S.by_wd, cap * sizeof *grown);
    if (!grown) {
      bool alone = (size_t)wd >= S.by_wd_cap || !S.by_wd[wd];
      unlock();
      if (alone) inotify_rm_watch(S.inotify_fd, wd);
      return;
    }
    memset(grown + S.by_wd_cap, 0, (cap - S.by_wd_cap) * sizeof *grown);
    S.by_wd = grown;
    S.by_wd_cap = cap;
  }
  STORE(n->wd, wd);
  n->wd_next = S.by_wd[wd];
  S.by_wd[wd] = n;
  unlock();
}

// ---------- attributes as the mount presents them ----------

/** st_ino unique across the sub-mounts of a container (see the header). */
static ino_t presented_ino(dev_t root_dev, dev_t dev, ino_t ino) {
  if (dev == root_dev) return ino;
  uint64_t h = (uint64_t)ino ^ ((uint64_t)dev * 0x9E3779B97F4A7C15ull);
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
  h ^= h >> 31;
  return (ino_t)(h | (1ull << 63));
}

/** The presented target of symlink node `n` (its fd `fd`) into `out` (PATH_MAX); its length, or -errno. */
static ssize_t presented_target(const struct node *n, int fd, char *out) {
  char target[PATH_MAX];
  ssize_t len = readlinkat(fd, "", target, sizeof target);
  if (len < 0) return -errno;
  if ((size_t)len == sizeof target) return -ENAMETOOLONG;  // maybe cut short: never presented cut
  ssize_t r = link_present(target, (size_t)len, n->depth, out, PATH_MAX);
  return r < 0 ? -errno : r;
}

/** Turns the stat of node `n` (fd `fd`) into what the mount shows. */
static void present(const struct node *n, int fd, struct stat *st) {
  st->st_ino = presented_ino(n->root_dev, st->st_dev, st->st_ino);
  if (S_ISLNK(st->st_mode)) {
    char out[PATH_MAX];
    ssize_t len = presented_target(n, fd, out);
    st->st_size = len < 0 ? 0 : len;
  }
}

static int stat_fd(int fd, struct stat *st) { return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno; }

// ---------- lookup ----------

static struct root *find_root(const char *name) {
  for (struct root *r = S.roots; r; r = r->next)
    if (strcmp(r->name, name) == 0) return r;
  return NULL;
}

static void root_attr(struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = FUSE_ROOT_ID;
  st->st_mode = S_IFDIR | 0555;
  st->st_nlink = 2;
}

/** A root of the mount's root directory: one reference for the kernel. */
static int lookup_root(const char *name, struct fuse_entry_param *e) {
  lock();
  struct root *r = find_root(name);
  struct node *n = r && !r->node->revoked ? r->node : NULL;
  if (n) n->pins++;
  unlock();
  if (!n) return ENOENT;
  int err = stat_fd(n->fd, &e->attr);  // a root's fd is never closed while pinned
  if (!err) {
    present(n, n->fd, &e->attr);
    e->ino = (uintptr_t)n;
    e->attr_timeout = timeout_of(n);
    e->entry_timeout = WATCHED;  // the root's names change only by control records, which invalidate them
    lock();
    n->lookups++;
    unlock();
  }
  release(n);
  return err;
}

/**
 * Finds or makes the node of `name` below pinned node `p` (fd `pfd`) and takes one kernel reference
 * on it; returns it pinned, with its fd in *fd and its stat in *st, or NULL and an errno in *err.
 */
static struct node *child(struct node *p, int pfd, const char *name, int *fd, struct stat *st, int *err) {
  if (fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) != 0) {
    *err = errno;
    return NULL;
  }
  struct reap r = REAP_INIT;
  lock();
  struct node *n = find_node(st->st_dev, st->st_ino, p->root, p->depth + 1);
  if (n) {
    n->pins++;
    lru_remove(n);
  }
  int have = n ? n->fd : -1;
  unlock();
  if (n) {
    // A node the kernel knows: still that file? (A deleted file's inode number may be a new
    // file's now; the kernel must not take one for the other.)
    bool fresh = false;
    if (have >= 0) {
      struct stat now;
      fresh = stat_fd(have, &now) == 0 && now.st_nlink > 0 && now.st_ino == n->ino && (now.st_mode & S_IFMT) == n->type;
    } else {
      int opened = open_name_path(pfd, name);
      if (opened >= 0 && same_file(n, opened)) {
        have = install_fd(n, opened);
        fresh = have >= 0;
      } else if (opened >= 0) {
        close(opened);
      }
    }
    if (fresh) {
      lock();
      set_place(n, p, name, &r);
      n->lookups++;
      STORE(n->watched, p->wd >= 0);
      unlock();
      reap_done(&r);
      *fd = have;
      return n;
    }
    lock();
    unhash(n);  // it lives on until the kernel forgets it, but is never found again
    unlock();
    release(n);
  }
  int opened = open_name_path(pfd, name);
  if (opened < 0) {
    *err = errno;
    return NULL;
  }
  if (stat_fd(opened, st) != 0) {  // the fd's own stat: the name may have changed since fstatat
    *err = errno;
    close(opened);
    return NULL;
  }
  struct node *made = calloc(1, sizeof *made);
  char *copy = strdup(name);
  if (!made || !copy) {
    free(made);
    free(copy);
    close(opened);
    *err = ENOMEM;
    return NULL;
  }
  lock();
  if (p->revoked) {
    unlock();
    free(made);
    free(copy);
    close(opened);
    *err = ESTALE;
    return NULL;
  }
  n = find_node(st->st_dev, st->st_ino, p->root, p->depth + 1);
  if (n) {  // another thread was quicker
    free(made);
    free(copy);
    fdlist_push(&r.fds, opened, close_now);
    n->pins++;
    lru_remove(n);
  } else {
    n = made;
    *n = (struct node){.fd = opened, .dev = st->st_dev, .ino = st->st_ino, .type = st->st_mode & S_IFMT,
                       .root_dev = p->root_dev, .root = p->root, .depth = p->depth + 1, .watch = p->watch,
                       .parent = p, .name = copy, .pins = 1, .hashed = true, .wd = -1};
    size_t b = bucket(n->dev, n->ino, n->root, n->depth);
    n->next = S.buckets[b];
    S.buckets[b] = n;
    n->all_next = S.all;
    if (S.all) S.all->all_prev = n;
    S.all = n;
    p->refs++;
    S.open_fds++;
    evict(&r);
  }
  n->lookups++;
  STORE(n->watched, p->wd >= 0);
  have = n->fd;
  unlock();
  reap_done(&r);
  if (have < 0) {  // closed between the two locks: open it again
    have = reopen(n);
    if (have < 0) {
      lock();
      n->lookups--;
      unlock();
      release(n);
      *err = -have;
      return NULL;
    }
  }
  if (n == made && S_ISDIR(st->st_mode)) watch_dir(n, have);
  *fd = have;
  return n;
}

/** Fills `e` for `name` under `parent`, taking one reference for the kernel. Returns an errno. */
static int do_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  if (parent == FUSE_ROOT_ID) return lookup_root(name, e);
  if (!is_one_component(name)) return ENOENT;
  struct node *p = node_of(parent);
  int pfd = acquire(p);
  if (pfd < 0) return -pfd;
  int fd, err = 0;
  struct node *n = child(p, pfd, name, &fd, &e->attr, &err);
  if (n) {
    e->entry_timeout = LOAD(p->wd) >= 0 ? WATCHED : SHORT;
    e->attr_timeout = timeout_of(n);
    e->ino = (uintptr_t)n;
    present(n, fd, &e->attr);
    release(n);
  }
  release(p);
  return n ? 0 : err;
}

/** Gives back one kernel reference taken by a lookup whose reply was not sent. */
static void unlookup(fuse_ino_t ino) {
  if (ino == 0 || ino == FUSE_ROOT_ID) return;
  struct reap r = REAP_INIT;
  lock();
  struct node *n = node_of(ino);
  n->lookups--;
  maybe_free(n, &r);
  unlock();
  reap_done(&r);
}

static void reply_entry_or_err(fuse_req_t req, fuse_ino_t parent, const char *name, int err) {
  if (err) {
    fuse_reply_err(req, err);
    return;
  }
  struct fuse_entry_param e;
  err = do_lookup(parent, name, &e);
  if (err) fuse_reply_err(req, err);
  else if (fuse_reply_entry(req, &e) != 0) unlookup(e.ino);
}

// ---------- operations ----------

static void op_init(void *userdata, struct fuse_conn_info *conn) {
  // Splice moves data between the kernel and the files without copies through this process.
  conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_SPLICE_READ | FUSE_CAP_PARALLEL_DIROPS);
  // No writeback cache, though it makes writes 2-3x faster: with it the kernel keeps a file's
  // size and mtime for itself, and would not see the container's own processes change them.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // No OPENDIR/RELEASEDIR round trips, and the kernel caches listings (with watched directories
  // invalidated on change, the cache is kept as long as names are).
  if (S.inotify_fd >= 0 && (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)) S.no_opendir = 1;
}

/** Open flags for a file of the tree, as the kernel asked, without what only a path lookup uses. */
static int open_flags(int flags) { return (flags & ~(O_NOFOLLOW | O_CREAT | O_EXCL)) | O_CLOEXEC; }

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) { reply_entry_or_err(req, parent, name, 0); }

static void forget_one(fuse_ino_t ino, uint64_t nlookup, struct reap *r) {
  if (ino == FUSE_ROOT_ID) return;
  struct node *n = node_of(ino);
  n->lookups -= nlookup < n->lookups ? nlookup : n->lookups;
  maybe_free(n, r);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  struct reap r = REAP_INIT;
  lock();
  forget_one(ino, nlookup, &r);
  unlock();
  reap_done(&r);
  fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  struct reap r = REAP_INIT;
  lock();
  for (size_t i = 0; i < count; i++) forget_one(forgets[i].ino, forgets[i].nlookup, &r);
  unlock();
  reap_done(&r);
  fuse_reply_none(req);
}

static struct handle *handle_of(const struct fuse_file_info *fi) { return (struct handle *)(uintptr_t)fi->fh; }

static void reply_attr(fuse_req_t req, fuse_ino_t ino) {
  struct stat st;
  if (ino == FUSE_ROOT_ID) {
    root_attr(&st);
    fuse_reply_attr(req, &st, SHORT);
    return;
  }
  struct node *n = node_of(ino);
  int fd = acquire(n);
  if (fd < 0) {
    fuse_reply_err(req, -fd);
    return;
  }
  int err = stat_fd(fd, &st);
  if (!err) present(n, fd, &st);
  release(n);
  if (err) fuse_reply_err(req, err);
  else fuse_reply_attr(req, &st, timeout_of(n));
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { reply_attr(req, ino); }

static int set_attributes(int fd, struct stat *attr, int valid, struct fuse_file_info *fi) {
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  bool is_link = S_ISLNK(st.st_mode);
  int file = fi ? handle_of(fi)->fd : -1;
  struct fd_path own = fd_path(fd);
  const char *path = own.s;
  if (valid & FUSE_SET_ATTR_MODE) {
    if (is_link) return EOPNOTSUPP;
    if ((file >= 0 ? fchmod(file, attr->st_mode & 07777) : chmod(path, attr->st_mode & 07777)) != 0) return errno;
  }
  if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
    gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  }
  if (valid & FUSE_SET_ATTR_SIZE) {
    if ((file >= 0 ? ftruncate(file, attr->st_size) : truncate(path, attr->st_size)) != 0) return errno;
  }
  if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
    if (valid & FUSE_SET_ATTR_ATIME_NOW) tv[0].tv_nsec = UTIME_NOW;
    else if (valid & FUSE_SET_ATTR_ATIME) tv[0] = attr->st_atim;
    if (valid & FUSE_SET_ATTR_MTIME_NOW) tv[1].tv_nsec = UTIME_NOW;
    else if (valid & FUSE_SET_ATTR_MTIME) tv[1] = attr->st_mtim;
    int r = file >= 0 ? futimens(file, tv)
            : is_link ? utimensat(fd, "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
                      : utimensat(AT_FDCWD, path, tv, 0);
    if (r != 0) return errno;
  }
  return 0;
}

/**
 * Pins node `ino` for a request on it, its fd in *fd; NULL after replying `root_err` for the
 * mount's root, or the error of acquiring it.
 */
static struct node *pinned(fuse_req_t req, fuse_ino_t ino, int root_err, int *fd) {
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, root_err);
    return NULL;
  }
  struct node *n = node_of(ino);
  *fd = acquire(n);
  if (*fd >= 0) return n;
  fuse_reply_err(req, -*fd);
  return NULL;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid, struct fuse_file_info *fi) {
  int fd;
  struct node *n = pinned(req, ino, EPERM, &fd);
  if (!n) return;
  int err = set_attributes(fd, attr, valid, fi);
  release(n);
  if (err) fuse_reply_err(req, err);
  else reply_attr(req, ino);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  int fd;
  struct node *n = pinned(req, ino, EINVAL, &fd);
  if (!n) return;
  char out[PATH_MAX];
  ssize_t len = presented_target(n, fd, out);
  release(n);
  if (len < 0) fuse_reply_err(req, (int)-len);
  else fuse_reply_readlink(req, out);
}

/** Pins the directory `parent` for a change to `name` in it; the mount's root takes none. -1 after replying. */
static int change_dir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  if (parent == FUSE_ROOT_ID) {
    fuse_reply_err(req, EPERM);
    return -1;
  }
  if (!is_one_component(name)) {
    fuse_reply_err(req, EINVAL);
    return -1;
  }
  int fd = acquire(node_of(parent));
  if (fd < 0) fuse_reply_err(req, -fd);
  return fd < 0 ? -1 : fd;
}

/** After a change in `parent` (pinned): the new entry, or the change's error. */
static void changed(fuse_req_t req, fuse_ino_t parent, const char *name, int err) {
  reply_entry_or_err(req, parent, name, err);
  release(node_of(parent));
}

// Ownership of what a request creates (allow_other only, S.caller_owns): this process (root) makes
//   it, then gives it to the caller's uid/gid, as bindfs does; without allow_other only root uses
//   the mount and nothing changes. A file is made without its set-user/group-ID bits, which come
//   back only once the caller owns it (by fd, or through /proc/self/fd of an O_PATH|O_NOFOLLOW fd:
//   never by name, which the container could have swapped for a symlink meanwhile), so there is no
//   instant where a caller's file is set-ID root. When the ownership cannot be given, the entry is
//   removed again (if the name still is that file) and the request fails: a root-owned file the
//   caller created, maybe holds open for writing, never stays.

/** The mode to create with: without set-ID bits while the owner is still root. */
static mode_t bare(mode_t mode) { return S.caller_owns ? mode & ~(mode_t)(S_ISUID | S_ISGID) : mode; }

/** Gives the file of `fd` (just made as `name` in `dir` with `mode`) to the caller; 0 or an errno. */
static int own_fd(fuse_req_t req, int dir, const char *name, int fd, mode_t mode) {
  if (!S.caller_owns) return 0;
  const struct fuse_ctx *ctx = fuse_req_ctx(req);
  struct stat st;
  int err = 0;
  if (fchownat(fd, "", ctx->uid, ctx->gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) err = errno;
  else if (bare(mode) != mode && chmod(fd_path(fd).s, mode & 07777) != 0) err = errno;
  if (!err) return 0;
  struct stat now;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == now.st_dev && st.st_ino == now.st_ino)
    unlinkat(dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
  return err;
}

/** After `name` was made in `dir` (`err`: the making's errno, 0 when made): gives it to the caller. */
static int own_name(fuse_req_t req, int dir, const char *name, mode_t mode, int err) {
  if (err || !S.caller_owns) return err;
  int r = WITH_FD(fd, open_name_path(dir, name), own_fd(req, dir, name, fd, mode));
  return r < 0 ? errno : r;
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  changed(req, parent, name, own_name(req, dir, name, mode, mknodat(dir, name, bare(mode), rdev) == 0 ? 0 : errno));
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  changed(req, parent, name, own_name(req, dir, name, S_IFDIR | mode, mkdirat(dir, name, bare(mode)) == 0 ? 0 : errno));
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name) {
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  changed(req, parent, name, own_name(req, dir, name, S_IFLNK | 0777, symlinkat(target, dir, name) == 0 ? 0 : errno));
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name) {
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, EPERM);
    return;
  }
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  struct node *src = node_of(ino);
  if (src->root != node_of(parent)->root) {  // another container (or the same files seen twice)
    changed(req, parent, name, EXDEV);
    return;
  }
  int fd = acquire(src);
  if (fd < 0) {
    changed(req, parent, name, -fd);
    return;
  }
  int err = linkat(AT_FDCWD, fd_path(fd).s, dir, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno;
  release(src);
  changed(req, parent, name, err);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  fuse_reply_err(req, unlinkat(dir, name, 0) == 0 ? 0 : errno);
  release(node_of(parent));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  fuse_reply_err(req, unlinkat(dir, name, AT_REMOVEDIR) == 0 ? 0 : errno);
  release(node_of(parent));
}

/** Whether `name` in `dir` is a directory or a symlink: what must not change depth in the kernel's cache. */
static bool depth_bound(int dir, const char *name) {
  struct stat st;
  return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode));
}

/** Points the node that was in `from_dir` and is now `name` in `to_dir` (fd `to`) at its new place. */
static void moved(struct node *from_dir, struct node *to_dir, int to, const char *name) {
  struct stat st;
  if (fstatat(to, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  struct reap r = REAP_INIT;
  lock();
  struct node *n = find_node(st.st_dev, st.st_ino, from_dir->root, from_dir->depth + 1);
  if (n && !to_dir->revoked) set_place(n, to_dir, name, &r);
  unlock();
  reap_done(&r);
}

static int do_rename(struct node *a, int from, const char *name, struct node *b, int to, const char *newname, unsigned flags) {
  if (a->root != b->root) return EXDEV;  // another container (or the same files seen twice)
  bool across = a->depth != b->depth;
  // The kernel moves its cached entry (and what it knows below it) to the new place: a directory
  // or symlink would keep the depth it was presented for, so their links would climb too far.
  if (across && ((flags & RENAME_EXCHANGE) || depth_bound(from, name))) return EXDEV;
  if (syscall(SYS_renameat2, from, name, to, newname, flags) != 0) return errno;
  if (across && depth_bound(to, newname)) {  // swapped in by the container meanwhile: put it back
    if (syscall(SYS_renameat2, to, newname, from, name, RENAME_NOREPLACE) != 0)
      say("rename: %s moved to another depth and could not be put back: %s", newname, strerror(errno));
    return EXDEV;
  }
  // A moved node is opened again from its new place when its fd was closed.
  moved(a, b, to, newname);
  if (flags & RENAME_EXCHANGE) moved(b, a, from, name);
  return 0;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname,
                      unsigned int flags) {
  int from = change_dir(req, parent, name);
  if (from < 0) return;
  int to = change_dir(req, newparent, newname);
  if (to < 0) {
    release(node_of(parent));
    return;
  }
  fuse_reply_err(req, do_rename(node_of(parent), from, name, node_of(newparent), to, newname, flags));
  release(node_of(newparent));
  release(node_of(parent));
}

/** Registers an open file or directory of node `n`'s tree; NULL and ESTALE when the tree went. */
static struct handle *add_handle(struct node *n, int fd, DIR *dp) {
  struct handle *h = calloc(1, sizeof *h);
  if (!h) {
    errno = ENOMEM;
    return NULL;
  }
  *h = (struct handle){.fd = fd, .dp = dp, .root = n->root};
  lock();
  if (n->revoked) {
    unlock();
    free(h);
    errno = ESTALE;
    return NULL;
  }
  h->next = S.handles;
  if (S.handles) S.handles->prev = h;
  S.handles = h;
  unlock();
  return h;
}

/** Closes a handle on RELEASE: unlinked under the lock first, so no revocation swaps its fd after. */
static void drop_handle(struct handle *h) {
  lock();
  if (h->prev) h->prev->next = h->next;
  else S.handles = h->next;
  if (h->next) h->next->prev = h->prev;
  unlock();
  if (h->dp) closedir(h->dp);
  else close(h->fd);
  free(h);
}

/** Counts the opens for writing of node `n`: the kernel knows their changes without being told. */
static void count_writer(const struct fuse_file_info *fi, struct node *n, int delta) {
  if ((fi->flags & O_ACCMODE) == O_RDONLY) return;
  lock();
  n->writers += delta;
  unlock();
}

/** A file opened only for writing bypasses the kernel's page cache of the mount: the writer's
 *  bytes go straight into the request, one copy fewer (writes 1.7x faster); the kernel keeps
 *  the pages other readers cached coherent. (Such a descriptor cannot be mmap'ed anyway.) */
static void write_only_direct(struct fuse_file_info *fi) {
  if ((fi->flags & O_ACCMODE) == O_WRONLY) fi->direct_io = 1;
}

/** Replies to OPEN or CREATE with file `fd` of node `n` (e for CREATE); closes it on failure. */
static void reply_opened(fuse_req_t req, struct node *n, int fd, struct fuse_file_info *fi, struct fuse_entry_param *e) {
  struct handle *h = add_handle(n, fd, NULL);
  if (!h) {
    int err = errno;
    close(fd);
    if (e) unlookup(e->ino);
    fuse_reply_err(req, err);
    return;
  }
  fi->fh = (uintptr_t)h;
  // The page cache stays across opens; the kernel drops it when it sees mtime or size change.
  fi->keep_cache = 1;
  count_writer(fi, n, 1);
  write_only_direct(fi);
  if ((e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi)) != 0) {
    // The kernel will not send RELEASE for it.
    count_writer(fi, n, -1);
    drop_handle(h);
    if (e) unlookup(e->ino);
  }
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  int pfd;
  struct node *n = pinned(req, ino, EISDIR, &pfd);
  if (!n) return;
  int fd = reopen_fd(pfd, open_flags(fi->flags));
  int err = errno;
  release(n);
  if (fd < 0) fuse_reply_err(req, err);
  else reply_opened(req, n, fd, fi, NULL);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  int dir = change_dir(req, parent, name);
  if (dir < 0) return;
  // Given to the caller only what this request made: an existing file (made meanwhile in the
  // container) is never opened by CREATE then, it answers EEXIST.
  int excl = S.caller_owns ? O_EXCL : fi->flags & O_EXCL;
  int fd = openat(dir, name, open_flags(fi->flags) | O_CREAT | excl | O_NOFOLLOW, bare(mode));
  struct fuse_entry_param e;
  int err = fd < 0 ? errno : own_fd(req, dir, name, fd, mode);
  if (!err) err = do_lookup(parent, name, &e);
  release(node_of(parent));
  if (err) {
    if (fd >= 0) close(fd);
    fuse_reply_err(req, err);
    return;
  }
  reply_opened(req, node_of(e.ino), fd, fi, &e);
}

/** An open file whose tree was revoked answers ESTALE (its fd is dead anyway: this says why). */
static bool revoked(fuse_req_t req, const struct fuse_file_info *fi) {
  if (!LOAD(handle_of(fi)->revoked)) return false;
  fuse_reply_err(req, ESTALE);
  return true;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  if (revoked(req, fi)) return;
  struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
  buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  buf.buf[0].fd = handle_of(fi)->fd;
  buf.buf[0].pos = off;
  fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off, struct fuse_file_info *fi) {
  if (revoked(req, fi)) return;
  struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
  out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
  out.buf[0].fd = handle_of(fi)->fd;
  out.buf[0].pos = off;
  ssize_t n = fuse_buf_copy(&out, in, 0);
  if (n < 0) fuse_reply_err(req, (int)-n);
  else fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  // What close(2) would report for this descriptor (NFS-style errors), without closing it.
  int fd = dup(handle_of(fi)->fd);
  fuse_reply_err(req, fd < 0 ? errno : close(fd) == 0 ? 0 : errno);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  count_writer(fi, node_of(ino), -1);
  drop_handle(handle_of(fi));
  fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  if (revoked(req, fi)) return;
  int fd = handle_of(fi)->fd;
  fuse_reply_err(req, (datasync ? fdatasync(fd) : fsync(fd)) == 0 ? 0 : errno);
}

// An open directory: a stream over the real one, or a snapshot of the root's names.
struct dir {
  struct handle *h;  // the stream's registration (NULL for the root's snapshot, or a stream of one request)
  DIR *dp;
  struct dirent *entry;
  off_t offset;
  dev_t dev, root_dev;  // for the presented inode numbers of plain READDIR
  char **names;
  size_t count;
};

static void close_dir(struct dir *d) {
  if (d->h) drop_handle(d->h);
  else if (d->dp) closedir(d->dp);
  for (size_t i = 0; i < d->count; i++) free(d->names[i]);
  free(d->names);
  free(d);
}

/** A snapshot of the mount root's names. NULL and errno on failure. */
static struct dir *open_root_dir(void) {
  struct dir *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  lock();
  size_t n = 0;
  for (struct root *r = S.roots; r; r = r->next) n += !r->hidden;
  d->names = calloc(n + 1, sizeof *d->names);
  for (struct root *r = S.roots; r && d->names; r = r->next) {
    if (r->hidden) continue;
    if (!(d->names[d->count] = strdup(r->name))) break;
    d->count++;
  }
  bool ok = d->names && d->count == n;
  unlock();
  if (!ok) {
    close_dir(d);
    errno = ENOMEM;
    return NULL;
  }
  return d;
}

/** Opens directory `ino` for reading (`registered`: kept across requests, so revocable). NULL and errno on failure. */
static struct dir *open_dir(fuse_ino_t ino, bool registered) {
  if (ino == FUSE_ROOT_ID) return open_root_dir();
  struct dir *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  struct node *n = node_of(ino);
  int nfd = acquire(n);
  if (nfd < 0) {
    free(d);
    errno = -nfd;
    return NULL;
  }
  struct stat st;
  int fd = reopen_fd(nfd, O_RDONLY | O_DIRECTORY);
  int err = fd < 0 ? errno : stat_fd(fd, &st);
  release(n);
  if (!err && !(d->dp = fdopendir(fd))) err = errno;
  if (!err && registered && !(d->h = add_handle(n, fd, d->dp))) err = errno;
  if (err) {
    if (d->dp) closedir(d->dp);
    else if (fd >= 0) close(fd);
    free(d);
    errno = err;
    return NULL;
  }
  d->dev = st.st_dev;
  d->root_dev = n->root_dev;
  return d;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  // Without open directories the kernel sends no OPENDIR and RELEASEDIR: two round trips fewer for
  // each directory `find` enters; each READDIR then opens the directory here for itself.
  if (S.no_opendir) {
    fuse_reply_err(req, ENOSYS);
    return;
  }
  struct dir *d = open_dir(ino, true);
  if (!d) {
    fuse_reply_err(req, errno);
    return;
  }
  fi->fh = (uintptr_t)d;
  if (fuse_reply_open(req, fi) != 0) close_dir(d);
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
      if (plus && i >= 2) unlookup(e.ino);  // not sent: give back the reference the lookup took
      break;
    }
    used += len;
  }
  return used;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, struct fuse_file_info *fi, int plus) {
  struct dir *d = (struct dir *)(uintptr_t)fi->fh;
  struct dir *own = NULL;  // opened for this request alone (no OPENDIR)
  if (!d && !(d = own = open_dir(ino, false))) {
    fuse_reply_err(req, errno);
    return;
  }
  if (d->h && LOAD(d->h->revoked)) {
    fuse_reply_err(req, ESTALE);
    return;
  }
  char *buf = malloc(size);
  if (!buf) {
    if (own) close_dir(own);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  size_t used = 0;
  int err = 0;
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
        if (errno && used == 0) err = errno;
        break;
      }
    }
    const char *name = d->entry->d_name;
    off_t next = d->entry->d_off;
    struct fuse_entry_param e = {.attr = {.st_ino = presented_ino(d->root_dev, d->dev, d->entry->d_ino),
                                          .st_mode = (mode_t)d->entry->d_type << 12}};
    bool looked = false;
    if (plus && !is_dot_or_dotdot(name)) {
      if (do_lookup(ino, name, &e) != 0) {  // gone meanwhile: skip it
        d->entry = NULL;
        d->offset = next;
        continue;
      }
      looked = true;
    }
    size_t len = plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, next)
                      : fuse_add_direntry(req, buf + used, size - used, name, &e.attr, next);
    if (len > size - used) {
      if (looked) unlookup(e.ino);
      break;
    }
    used += len;
    d->entry = NULL;
    d->offset = next;
  }
done:
  if (err) fuse_reply_err(req, err);
  else fuse_reply_buf(req, buf, used);
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
  struct dir *d = fi->fh ? (struct dir *)(uintptr_t)fi->fh : open_dir(ino, false);
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
  if (ino != FUSE_ROOT_ID) {
    struct node *n = node_of(ino);
    int fd = acquire(n);
    if (fd < 0) {
      fuse_reply_err(req, -fd);
      return;
    }
    int err = fstatvfs(fd, &sv) == 0 ? 0 : errno;
    release(n);
    if (err) {
      fuse_reply_err(req, err);
      return;
    }
  }
  fuse_reply_statfs(req, &sv);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  if (ino == FUSE_ROOT_ID) {
    fuse_reply_err(req, (mask & W_OK) ? EACCES : 0);
    return;
  }
  int fd;
  struct node *n = pinned(req, ino, 0, &fd);
  if (!n) return;
  int err = n->type == S_IFLNK ? 0 : faccessat(AT_FDCWD, fd_path(fd).s, mask, AT_EACCESS) == 0 ? 0 : errno;
  release(n);
  fuse_reply_err(req, err);
}

static void op_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op) {
  if (revoked(req, fi)) return;
  fuse_reply_err(req, flock(handle_of(fi)->fd, op) == 0 ? 0 : errno);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi) {
  if (revoked(req, fi)) return;
  fuse_reply_err(req, fallocate(handle_of(fi)->fd, mode, offset, length) == 0 ? 0 : errno);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi) {
  if (revoked(req, fi)) return;
  off_t r = lseek(handle_of(fi)->fd, off, whence);
  if (r < 0) fuse_reply_err(req, errno);
  else fuse_reply_lseek(req, r);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t in, off_t off_in, struct fuse_file_info *fi_in, fuse_ino_t out,
                               off_t off_out, struct fuse_file_info *fi_out, size_t len, int flags) {
  if (revoked(req, fi_in) || revoked(req, fi_out)) return;
  ssize_t n = copy_file_range(handle_of(fi_in)->fd, &off_in, handle_of(fi_out)->fd, &off_out, len, (unsigned)flags);
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

// ---------- revocation ----------

/** Swaps in-use descriptor `fd` for the dead directory, atomically (lock held). */
static void kill_fd(int fd) {
  if (dup3(S.dead_fd, fd, O_CLOEXEC) < 0) say("revoke: dup3 over fd %d: %s", fd, strerror(errno));
}

/**
 * Revokes root `serial`: no node or open file below it refers to its tree afterwards (see the
 * header). Nodes stay until the kernel forgets them; their requests answer ESTALE.
 */
static void revoke_tree(unsigned serial) {
  struct reap r = REAP_INIT;
  // The kernel's caches of revoked nodes (pages, listings, attributes) are dropped after the lock:
  // ids collected here, each pinned so that it stays a node until then.
  struct node **ids = NULL;
  size_t count = 0, cap = 0;
  lock();
  for (struct node *n = S.all; n; n = n->all_next) {
    if (n->root != serial || n->revoked) continue;
    if (count == cap) {
      size_t more = cap ? cap * 2 : 1024;
      struct node **grown = realloc(ids, more * sizeof *grown);
      if (grown) {
        ids = grown;
        cap = more;
      }
    }
    bool ours = count < cap;  // pinned here (else its cache just expires)
    if (ours) {
      n->pins++;
      ids[count++] = n;
    }
    unhash(n);  // never found again
    n->revoked = true;
    lru_remove(n);
    unwatch(n, &r);
    if (n->fd < 0) continue;
    if (n->pins == (ours ? 1u : 0u)) {  // nobody else uses it: closed after the lock
      fdlist_push(&r.fds, n->fd, close_now);
      n->fd = -1;
      S.open_fds--;
    } else {  // in use: dead now, closed by the last release
      kill_fd(n->fd);
    }
  }
  for (struct handle *h = S.handles; h; h = h->next)
    if (h->root == serial && !h->revoked) {
      STORE(h->revoked, true);
      kill_fd(h->fd);
    }
  unlock();
  reap_done(&r);
  for (size_t i = 0; i < count; i++) {
    fuse_lowlevel_notify_inval_inode(S.session, (uintptr_t)ids[i], 0, 0);
    release(ids[i]);
  }
  free(ids);
}

/** Revokes a root node itself (its fd: closed if unused, else dead) after revoke_tree(serial). */
static void revoke_root_node(struct node *n) {
  struct reap r = REAP_INIT;
  lock();
  n->revoked = true;
  unwatch(n, &r);
  if (n->fd >= 0) {
    if (n->pins == 0) {
      fdlist_push(&r.fds, n->fd, close_now);
      n->fd = -1;
    } else {
      kill_fd(n->fd);
    }
  }
  n->refs--;  // no longer registered
  maybe_free(n, &r);
  unlock();
  reap_done(&r);
}

// ---------- control ----------

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/** Docker's grammar for names ([a-zA-Z0-9][a-zA-Z0-9_.-]+, at most 255), "." before it when hidden. */
static bool valid_name(const char *name, bool hidden) {
  if (hidden) {
    if (name[0] != '.') return false;
    name++;
  }
  size_t n = strlen(name);
  if (n < 2 || n > 255 || !name_char(name[0]) || name[0] == '_' || name[0] == '.' || name[0] == '-') return false;
  for (size_t i = 1; i < n; i++)
    if (!name_char(name[i])) return false;
  return true;
}

static uint64_t mount_id(int fd) {
#ifdef STATX_MNT_ID
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID))
    return stx.stx_mnt_id;
#endif
  return 0;
}

/** Removes root `old` (unlinked already), revoking everything under it. */
static void retire(struct root *old) {
  revoke_tree(old->node->root);
  revoke_root_node(old->node);
  free(old->name);
  free(old);
}

/** Applies "-": NAME goes (absent already, when its tree could not be opened: nothing to do). */
static int remove_root(const char *name) {
  lock();
  struct root **p = &S.roots;
  while (*p && strcmp((*p)->name, name) != 0) p = &(*p)->next;
  struct root *old = *p;
  if (old) *p = old->next;
  unlock();
  if (old) retire(old);
  return 0;
}

/** Applies "+": NAME gets the tree at PATH. Returns 0 or an errno; *why says what failed. */
static int add_root(const char *name, const char *path, const char *flags, const char **why) {
  bool hidden = strchr(flags, 'h') != NULL, watch = strchr(flags, 'w') != NULL;
  if (path[0] != '/') {
    *why = "not an absolute path";
    return EINVAL;
  }
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || stat_fd(fd, &st) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    *why = "cannot open its tree";
    remove_root(name);  // its old tree is no longer what it should serve
    return err;
  }
  uint64_t mnt = mount_id(fd);
  lock();
  struct root **p = &S.roots;
  while (*p && strcmp((*p)->name, name) != 0) p = &(*p)->next;
  struct root *old = *p;
  if (old && old->node->dev == st.st_dev && old->node->ino == st.st_ino && old->mnt_id == mnt && old->hidden == hidden &&
      old->node->watch == watch && !old->node->revoked) {
    unlock();  // the same tree again (an engine reconnected): nothing changes
    close(fd);
    return 0;
  }
  unlock();
  struct node *n = calloc(1, sizeof *n);
  struct root *r = calloc(1, sizeof *r);
  char *copy = strdup(name);
  if (!n || !r || !copy) {
    free(n);
    free(r);
    free(copy);
    close(fd);
    *why = "out of memory";
    return ENOMEM;
  }
  *n = (struct node){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .type = S_IFDIR, .root_dev = st.st_dev, .watch = watch,
                     .refs = 1, .wd = -1};
  *r = (struct root){.name = copy, .node = n, .hidden = hidden, .mnt_id = mnt};
  lock();
  n->root = ++S.root_serial;
  p = &S.roots;
  while (*p && strcmp((*p)->name, name) != 0) p = &(*p)->next;
  old = *p;
  r->next = old ? old->next : NULL;
  *p = r;  // in place of the old one, or at the end: the listing keeps its order
  n->pins++;
  unlock();
  watch_dir(n, fd);
  lock();
  STORE(n->watched, n->wd >= 0);
  unlock();
  release(n);
  if (old) retire(old);
  return 0;
}


/** Reads one NUL-terminated field into *buf; false at EOF, on a last field without its NUL, or
 *  when it cannot be read (ferror: out of memory, a read error). */
static bool read_field(FILE *in, char **buf, size_t *cap) {
  errno = 0;
  ssize_t len = getdelim(buf, cap, '\0', in);
  if (len < 0 && errno != 0 && !feof(in)) {
    int err = errno;
    say("control: reading a record: %s", strerror(err));
    __atomic_store_n(&S.failed, 1, __ATOMIC_SEQ_CST);
    return false;
  }
  return len > 0 && (*buf)[len - 1] == '\0';
}

/** Answers one record on stdout: "ok", or "error NAME: WHY: STRERROR". */
static void answer(const char *name, int err, const char *why) {
  if (err) {
    printf("error %s: %s: %s\n", name, why, strerror(err));
    say("%s: %s: %s", name, why, strerror(err));
  } else {
    printf("ok\n");
  }
  fflush(stdout);
}

static void *control_loop(void *arg) {
  char *op = NULL, *name = NULL, *path = NULL, *flags = NULL;
  size_t ocap = 0, ncap = 0, pcap = 0, fcap = 0;
  for (;;) {
    if (!read_field(stdin, &op, &ocap) || !read_field(stdin, &name, &ncap)) break;
    bool add = strcmp(op, "+") == 0;
    if (!add && strcmp(op, "-") != 0) {
      say("control: unknown record: the stream is out of step");
      break;
    }
    if (add && (!read_field(stdin, &path, &pcap) || !read_field(stdin, &flags, &fcap))) break;
    // Fields are whole now: whatever they hold, the stream stays in step.
    bool named = valid_name(name, add ? strchr(flags, 'h') != NULL : name[0] == '.');
    const char *why = "not a container name";
    int err = EINVAL;
    if (named && add && strlen(path) >= PATH_MAX) why = "path too long";
    else if (named) err = add ? add_root(name, path, flags, &why) : remove_root(name);
    if (named) {
      fuse_lowlevel_notify_inval_entry(S.session, FUSE_ROOT_ID, name, strlen(name));
      fuse_lowlevel_notify_inval_inode(S.session, FUSE_ROOT_ID, 0, 0);
    }
    answer(named ? name : "?", err, why);
  }
  // dbox is gone, or spoke out of step: nothing may be left mounted. The end goes the way of a
  // SIGTERM (libfuse's handler ends the loop, whose threads are joined before main unmounts): an
  // unmount from here would close /dev/fuse under threads still replying on its fd number.
  free(op);
  free(name);
  free(path);
  free(flags);
  if (__atomic_load_n(&S.failed, __ATOMIC_SEQ_CST)) say("control: unmounting");
  else if (!feof(stdin)) say("control: malformed record: unmounting");
  __atomic_store_n(&S.ending, 1, __ATOMIC_SEQ_CST);
  if (kill(getpid(), SIGTERM) != 0) {
    fuse_session_unmount(S.session);
    _exit(0);
  }
  return NULL;
}

// ---------- inotify ----------

/** After lost events: every directory the kernel knows is read again on its next use. */
static void invalidate_all(void) {
  size_t count = 0, cap = 1024;
  struct node **dirs = malloc(cap * sizeof *dirs);
  bool partial = !dirs;
  lock();
  for (struct node *n = S.all; n && dirs; n = n->all_next) {
    if (n->wd < 0) continue;
    if (count == cap) {
      struct node **grown = realloc(dirs, (cap *= 2) * sizeof *dirs);
      if (!grown) {
        partial = true;  // said after the lock
        break;
      }
      dirs = grown;
    }
    n->pins++;
    lru_remove(n);
    dirs[count++] = n;
  }
  unlock();
  if (partial) say("inotify: events lost, and no memory to drop every listing the kernel keeps: those expire after %.0f s", WATCHED);
  for (size_t i = 0; i < count; i++) {
    fuse_lowlevel_notify_inval_inode(S.session, (uintptr_t)dirs[i], 0, 0);
    release(dirs[i]);
  }
  free(dirs);
}

/** One inotify event: tells the kernel to drop what it cached of the changed names and attributes. */
static void watch_event(const struct inotify_event *ev) {
  enum { MAX = 16 };
  struct node *dirs[MAX], *children[MAX];
  size_t nd = 0, nc = 0;
  const char *name = ev->len ? ev->name : NULL;
  lock();
  if (ev->wd >= 0 && (size_t)ev->wd < S.by_wd_cap) {
    for (struct node *n = S.by_wd[ev->wd]; n && nd < MAX; n = n->wd_next) {
      n->pins++;
      lru_remove(n);
      dirs[nd++] = n;
    }
    if (ev->mask & IN_IGNORED) {  // the directory is gone: so is its watch
      for (struct node *n = S.by_wd[ev->wd]; n;) {
        struct node *next = n->wd_next;
        STORE(n->wd, -1);
        n->wd_next = NULL;
        n = next;
      }
      S.by_wd[ev->wd] = NULL;
    }
  }
  unlock();
  // A file's attributes changed: find its node (not one being written through the mount: its own
  // writes would each cost the next write a GETATTR round trip).
  if (name && (ev->mask & (IN_MODIFY | IN_ATTRIB))) {
    for (size_t i = 0; i < nd && nc < MAX; i++) {
      int fd = acquire(dirs[i]);
      if (fd < 0) continue;
      struct stat st;
      if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        lock();
        struct node *c = find_node(st.st_dev, st.st_ino, dirs[i]->root, dirs[i]->depth + 1);
        if (c && c->writers == 0) {
          c->pins++;
          lru_remove(c);
          children[nc++] = c;
        }
        unlock();
      }
      release(dirs[i]);
    }
  }
  for (size_t i = 0; i < nd; i++) {
    fuse_ino_t ino = (uintptr_t)dirs[i];
    if (name && (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))) {
      fuse_lowlevel_notify_inval_entry(S.session, ino, name, strlen(name));
      fuse_lowlevel_notify_inval_inode(S.session, ino, 0, 0);  // its attributes and cached listing
    } else if (!name && (ev->mask & IN_ATTRIB)) {
      fuse_lowlevel_notify_inval_inode(S.session, ino, -1, 0);
    }
    release(dirs[i]);
  }
  // A file's attributes only: its cached pages go when the kernel sees its new mtime and size.
  for (size_t i = 0; i < nc; i++) {
    fuse_lowlevel_notify_inval_inode(S.session, (uintptr_t)children[i], -1, 0);
    release(children[i]);
  }
}

/**
 * Tells the kernel what inotify saw change in watched directories: the container's own processes
 * change its files behind the mount. (Never with the lock held: the kernel may wait for a request
 * to finish first.)
 */
static void *watch_loop(void *arg) {
  char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t len = read(S.inotify_fd, buf, sizeof buf);
    if (len <= 0) {
      if (len < 0 && errno == EINTR) continue;
      say("inotify: %s: the kernel's caches now expire after %.0f s", len < 0 ? strerror(errno) : "end of events", SHORT);
      return NULL;
    }
    for (char *at = buf; at < buf + len;) {
      struct inotify_event *ev = (struct inotify_event *)at;
      at += sizeof *ev + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) invalidate_all();
      else watch_event(ev);
    }
  }
}

// ---------- start ----------

/** The descriptor revoked fds become: an O_PATH fd of an empty directory that no longer exists. */
static int make_dead_fd(void) {
  char dir[] = "/tmp/dbox-fuse-dead.XXXXXX";
  if (!mkdtemp(dir)) return -1;
  int fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  struct stat st;
  // mkdtemp made it 0700 and ours, in sticky /tmp: nobody else can have swapped it.
  if (!err && (stat_fd(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())) err = EPERM;
  if (rmdir(dir) != 0 && !err) err = errno;
  if (err) {
    if (fd >= 0) close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/** Raises the soft limit on descriptors to the hard one, and sets how many node fds stay open. */
static void set_fd_limits(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rlim_t want = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) say("setrlimit: %s", strerror(errno));
  }
  rlim_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 1024;
  // Half the limit for nodes: the rest for open files, directories and libfuse.
  size_t max = limit / 2 < DEFAULT_MAX_FDS ? (size_t)(limit / 2) : DEFAULT_MAX_FDS;
  const char *env = getenv("DBOX_FUSE_MAX_FDS");
  if (env && *env) {
    char *end;
    unsigned long v = strtoul(env, &end, 10);
    if (*end == '\0' && v > 0 && v < max) max = v;
  }
  S.max_fds = max < 16 ? 16 : max;
}

/**
 * Starts a thread of our own, detached, with the signals that end the loop blocked in it, as libfuse starts
 * its workers: SIGTERM (the control thread's EOF sends it to this process), SIGINT, SIGHUP, SIGQUIT
 * must reach the main thread, whose wait they interrupt. Delivered to another thread (the kernel
 * picks one that does not block them, as the main thread does while libfuse starts a worker),
 * libfuse's handler would mark the session ended and nobody would wake up to end it.
 */
static int start_thread(pthread_t *t, void *(*fn)(void *)) {
  sigset_t ending, old;
  sigemptyset(&ending);
  sigaddset(&ending, SIGTERM);
  sigaddset(&ending, SIGINT);
  sigaddset(&ending, SIGHUP);
  sigaddset(&ending, SIGQUIT);
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err != 0) return err;
  err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);  // never joined: they end with the process
  if (err == 0) err = pthread_sigmask(SIG_BLOCK, &ending, &old);
  if (err == 0) {
    err = pthread_create(t, &attr, fn, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
  }
  pthread_attr_destroy(&attr);
  return err;
}

static void *parked(void *arg) {
  for (;;) pause();  // a cancellation point
  return NULL;
}

/**
 * libfuse ends its worker threads with pthread_cancel, which loads libgcc_s.so.1 on its first use
 * and aborts the process when it cannot (out of memory): the mount would be left behind, its
 * server dead. So it is loaded before anything is mounted, by cancelling a thread of our own
 * (glibc keeps what it loaded); a failure here fails the start with nothing mounted.
 */
static int load_cancellation(void) {
  if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE)) {
    errno = ENOMEM;
    return -1;
  }
  pthread_t t;
  int err = pthread_create(&t, NULL, parked, NULL);
  if (err != 0) {
    errno = err;
    return -1;
  }
  pthread_cancel(t);
  pthread_join(t, NULL);
  return 0;
}

/** Fails the start: says why on stdout (for Node) and in the log. */
__attribute__((format(printf, 1, 2))) static int fail_start(const char *fmt, ...) {
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  say("%s", why);
  printf("error %s\n", why);
  fflush(stdout);
  return 1;
}

/**
 * Whether `list` (comma-separated) holds only the mount options dbox gives (src/fuse/mount-options.ts
 * chose them; this is the check on this side: no other libfuse or kernel option gets through).
 * Sets S.caller_owns when allow_other is among them.
 */
static bool valid_options(const char *list) {
  static const char *const known[] = {"allow_other", "default_permissions", "ro", "rw"};
  for (const char *p = list; *p;) {
    size_t len = strcspn(p, ",");
    bool ok = len == 0;
    for (size_t i = 0; !ok && i < sizeof known / sizeof *known; i++)
      ok = strlen(known[i]) == len && strncmp(p, known[i], len) == 0;
    if (!ok) return false;
    if (len == strlen("allow_other") && strncmp(p, "allow_other", len) == 0) S.caller_owns = 1;
    p += len + (p[len] == ',');
  }
  return true;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && !valid_options(argv[2]))) {
    fprintf(stderr, "usage: dbox-fuse MOUNTPOINT [OPTIONS]  (OPTIONS: allow_other,default_permissions,ro,rw; roots on stdin: NUL-terminated fields + NAME PATH FLAGS, - NAME)\n");
    return 2;
  }
  // Only what this process needs: an inherited descriptor of another FUSE connection (dbox's
  // engine mount, whose server started this one) would keep that connection alive after its
  // server died, and a request to it would wait for ever. (0, 1, 2: the control pipe, the
  // answers, the log.)
  syscall(SYS_close_range, 3, ~0U, 0);
  set_fd_limits();
  if (load_cancellation() != 0) return fail_start("cannot load the thread cancellation of libgcc_s.so.1: %s", strerror(errno));
  S.dead_fd = make_dead_fd();
  if (S.dead_fd < 0) return fail_start("cannot make the dead directory for revoked descriptors: %s", strerror(errno));
  // DBOX_FUSE_INOTIFY=off: as when the kernel's watches run out (tests use it to reach that path).
  const char *inotify = getenv("DBOX_FUSE_INOTIFY");
  S.inotify_fd = inotify && strcmp(inotify, "off") == 0 ? (errno = ENOSYS, -1) : inotify_init1(IN_CLOEXEC);
  if (S.inotify_fd < 0) say("inotify: %s: the kernel's caches expire after %.0f s", strerror(errno), SHORT);
  char opts[256];
  int n = snprintf(opts, sizeof opts, "fsname=dbox,subtype=dbox%s%s", argc == 3 && *argv[2] ? "," : "", argc == 3 ? argv[2] : "");
  if (n < 0 || (size_t)n >= sizeof opts) return fail_start("mount options too long");
  char *fuse_argv[] = {argv[0], "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
  S.session = fuse_session_new(&args, &ops, sizeof ops, NULL);
  fuse_opt_free_args(&args);  // parsed: the session keeps what it needs
  if (!S.session) return fail_start("fuse_session_new failed");
  if (fuse_set_signal_handlers(S.session) != 0) return fail_start("cannot set signal handlers");
  if (fuse_session_mount(S.session, argv[1]) != 0) return fail_start("cannot mount (see the log)");
  pthread_t control_thread, watch_thread;
  int err = start_thread(&control_thread, control_loop);
  if (err != 0) {
    // Without it, EOF could never unmount: no start at all.
    fuse_session_unmount(S.session);
    return fail_start("cannot start the control thread: %s", strerror(err));
  }
  if (S.inotify_fd >= 0 && (err = start_thread(&watch_thread, watch_loop)) != 0) {
    say("cannot start the inotify thread: %s", strerror(err));
    close(S.inotify_fd);
    S.inotify_fd = -1;  // read before the kernel's INIT: no cached listings then
  }
  printf("ready\n");
  fflush(stdout);
  struct fuse_loop_config *config = fuse_loop_cfg_create();
  if (!config) {
    fuse_session_unmount(S.session);
    return fail_start("out of memory");
  }
  fuse_loop_cfg_set_max_threads(config, 16);
  int r = fuse_session_loop_mt(S.session, config);
  // Read now: an EOF that comes while a loop that failed on its own is being torn down is no excuse.
  int ended_by_eof = __atomic_load_n(&S.ending, __ATOMIC_SEQ_CST);
  fuse_loop_cfg_destroy(config);
  fuse_session_unmount(S.session);
  fuse_remove_signal_handlers(S.session);
  // The control thread's EOF (a SIGTERM to this process) may still come, when the loop ended on
  // its own (a worker could not start): this exit is on its way already.
  signal(SIGTERM, SIG_IGN);
  fuse_session_destroy(S.session);
  if (__atomic_load_n(&S.failed, __ATOMIC_SEQ_CST)) return 1;
  return r == 0 || ended_by_eof ? 0 : 1;
}
