// dbox-agent: a small static helper that dbox runs, through the Engine API, as a container of its
// own on an engine's host (src/docker/agent-container.ts), to serve the files of that host's
// containers as the local driver serves them here: in-root resolution (fsops.c), readdir with
// attributes, ranged reads, atomic writes, tree copies and removals, copy_file_range between
// containers of that host. Two modes:
//   dbox-agent keep SECONDS  the container's main process: it only counts the `serve` processes
//                            (each holds a connection to an abstract unix socket of the
//                            container's private network namespace) and exits once none has been
//                            there for SECONDS, so the engine removes the container (AutoRemove).
//   dbox-agent serve         one per dbox process, started by an exec with stdin attached: speaks
//                            the protocol of protocol.h on stdin/stdout, many requests in flight.
//
// What it trusts, and why:
//   - Its client (stdin): whoever can exec in this container holds the Engine API, i.e. is root
//     on this host already; requests are still parsed with every length checked (a malformed
//     frame ends the session), since a bug on the other side must not become a memory error here.
//   - The kernel: /proc of the engine's PID namespace (--pid=host), checked to be procfs; a
//     container's process is taken for it only when its cgroup names the container's full id,
//     through a /proc/<pid> fd held from the check on (identity.c), never when its root is this
//     container's or the host's ("/" of pid 1); every later operation first checks, through that
//     same fd, that the process still exists (ESTALE otherwise: never a restarted container's old
//     root, whose overlay may be mounted again elsewhere).
//   - Nothing from the containers it serves: names, link targets, sizes and types are data,
//     resolved in-root (fsops.h); reads open regular files only, without blocking.
// Nothing is ever written into a target container except what a request asks for; writes go to
// an unnamed O_TMPFILE (a named temporary only where the filesystem has none) linked into place at
// the end, so a write that is cancelled, fails, or is killed with the agent leaves nothing.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../identity.h"
#include "fsops.h"
#include "../layers.h"
#include "protocol.h"

#define KEEPER_NAME "dbox-agent-keeper"
#define POOL_THREADS 8
#define MAX_STREAMS 256
#define MAX_HANDLES 1024

static void die(const char *what) {
  // Only our own words go to stderr (dbox shows them, bounded, as the agent's complaint).
  fprintf(stderr, "dbox-agent: %s: %s\n", what, strerror(errno));
  _exit(70);
}

// ---------- output: whole frames, one writer at a time ----------

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void send_frame(uint32_t id, uint16_t type, const void *a, size_t alen, const void *b, size_t blen) {
  uint8_t h[AGENT_HEADER];
  uint32_t len = (uint32_t)(alen + blen);
  memcpy(h, &len, 4);
  memcpy(h + 4, &id, 4);
  memcpy(h + 8, &type, 2);
  memset(h + 10, 0, 2);
  struct iovec iov[3] = {{h, sizeof h}, {(void *)a, alen}, {(void *)b, blen}};
  int n = 3;
  struct iovec *v = iov;
  pthread_mutex_lock(&out_lock);
  while (n > 0) {
    ssize_t w = writev(STDOUT_FILENO, v, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) _exit(0);  // the client is gone: nothing left to serve
    while (n > 0 && (size_t)w >= v->iov_len) {
      w -= (ssize_t)v->iov_len;
      v++;
      n--;
    }
    if (n > 0) {
      v->iov_base = (uint8_t *)v->iov_base + w;
      v->iov_len -= (size_t)w;
    }
  }
  pthread_mutex_unlock(&out_lock);
}

static void reply_err(uint32_t id, int err) {
  uint32_t e = (uint32_t)(err > 0 ? err : EIO);
  send_frame(id, A_ERR, &e, 4, NULL, 0);
}

static void reply_ok(uint32_t id, const void *p, size_t n) { send_frame(id, A_OK, p, n, NULL, 0); }

// ---------- encoding ----------

typedef struct {
  uint8_t *p;
  size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *src, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) die("out of memory");
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_u8(buf_t *b, uint8_t v) { put(b, &v, 1); }

static void put_str(buf_t *b, const char *s, size_t n) {
  uint16_t l = (uint16_t)n;
  put(b, &l, 2);
  put(b, s, n);
}

static void put_stat(buf_t *b, const struct stat *st) {
  int64_t v[16] = {(int64_t)st->st_dev, (int64_t)st->st_ino, st->st_mode, (int64_t)st->st_nlink, st->st_uid, st->st_gid,
                   (int64_t)st->st_rdev, st->st_size, st->st_blksize, st->st_blocks, st->st_atim.tv_sec, st->st_atim.tv_nsec,
                   st->st_mtim.tv_sec, st->st_mtim.tv_nsec, st->st_ctim.tv_sec, st->st_ctim.tv_nsec};
  put(b, v, sizeof v);
}

// ---------- decoding: every read is bounds-checked; a short payload sets bad ----------

typedef struct {
  const uint8_t *p;
  size_t len, off;
  int bad;
} rd_t;

static void get(rd_t *r, void *dst, size_t n) {
  if (r->bad || r->len - r->off < n) {
    r->bad = 1;
    memset(dst, 0, n);
    return;
  }
  memcpy(dst, r->p + r->off, n);
  r->off += n;
}

static uint8_t get_u8(rd_t *r) { uint8_t v; get(r, &v, 1); return v; }
static uint32_t get_u32(rd_t *r) { uint32_t v; get(r, &v, 4); return v; }
static int64_t get_i64(rd_t *r) { int64_t v; get(r, &v, 8); return v; }

/** A string field into out (PATH_MAX): shorter than PATH_MAX and without NUL, or bad. */
static void get_str(rd_t *r, char *out) {
  uint16_t n;
  get(r, &n, 2);
  if (r->bad || n >= PATH_MAX || r->len - r->off < n || memchr(r->p + r->off, 0, n)) {
    r->bad = 1;
    out[0] = 0;
    return;
  }
  memcpy(out, r->p + r->off, n);
  out[n] = 0;
  r->off += n;
}

// ---------- container roots, by handle ----------

typedef struct {
  int used, closed, refs;
  int root, pid_dir;       // pid_dir -1: a stopped container's merged root (no process to watch)
  int lendable;            // the root itself may be handed out (OPEN_FD kind 2): a mount of the agent's own (layers.c)
  uint32_t close_id;       // a ROOT_CLOSE waiting for the last request to let go (0: none)
} handle_t;

static handle_t handles[MAX_HANDLES];
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static int proc_fd = -1;

/** Drops a reference (under handles_lock); the last one of a closed handle closes its fds and answers its ROOT_CLOSE. */
static void drop_ref(uint32_t h) {
  if (--handles[h].refs == 0 && handles[h].closed) {
    close(handles[h].root);
    if (handles[h].pid_dir >= 0) close(handles[h].pid_dir);
    handles[h].used = 0;
    if (handles[h].close_id) reply_ok(handles[h].close_id, NULL, 0);
  }
}

/**
 * The root fd of handle h, held until release(h); -1 and errno ESTALE (nothing held) when the
 * handle is closed or its process is gone.
 */
static int acquire(uint32_t h) {
  pthread_mutex_lock(&handles_lock);
  if (h == 0 || h >= MAX_HANDLES || !handles[h].used || handles[h].closed) {
    pthread_mutex_unlock(&handles_lock);
    errno = ESTALE;
    return -1;
  }
  handles[h].refs++;
  int root = handles[h].root, dir = handles[h].pid_dir;
  pthread_mutex_unlock(&handles_lock);
  // The container's process still exists (its /proc entry, through the fd opened at the check).
  struct stat st;
  if (dir < 0 || fstatat(dir, "stat", &st, 0) == 0) return root;
  pthread_mutex_lock(&handles_lock);
  handles[h].closed = 1;  // for good: a later process is another root
  drop_ref(h);
  pthread_mutex_unlock(&handles_lock);
  errno = ESTALE;
  return -1;
}

/** Why the files of handle h may not be handed out, or 0: ESTALE for a handle that is gone or
 *  whose process ended (as every other operation says), EOPNOTSUPP for a stopped container's root
 *  (nothing must hold a stopped one's rootfs open). */
static int handout_refusal(uint32_t h) {
  pthread_mutex_lock(&handles_lock);
  int err = h == 0 || h >= MAX_HANDLES || !handles[h].used || handles[h].closed ? ESTALE : handles[h].pid_dir < 0 ? EOPNOTSUPP : 0;
  pthread_mutex_unlock(&handles_lock);
  return err;
}

static void release(uint32_t h) {
  pthread_mutex_lock(&handles_lock);
  if (h > 0 && h < MAX_HANDLES && handles[h].used) drop_ref(h);
  pthread_mutex_unlock(&handles_lock);
}

/** Whether two fds name the same directory. */
static int same_file(int a, int b) {
  struct stat x, y;
  return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/** ROOT: the root of a container's process under the handle the client chose (so that its next
 *  requests can follow at once). Run on the reader thread, in order with the requests around it. */
static void op_root(uint32_t id, rd_t *r) {
  uint32_t h = get_u32(r), pid = get_u32(r);
  char cid[65];
  get(r, cid, 64);
  cid[64] = 0;
  if (r->bad || r->off != r->len || pid == 0 || pid > INT32_MAX || h == 0 || h >= MAX_HANDLES) return reply_err(id, EINVAL);
  pthread_mutex_lock(&handles_lock);
  int taken = handles[h].used;
  pthread_mutex_unlock(&handles_lock);
  if (taken) return reply_err(id, EBUSY);
  int dir = identity_open_container_proc(proc_fd, (pid_t)pid, cid);
  if (dir < 0) return reply_err(id, errno);
  int root = identity_open_root(dir);
  if (root < 0) {
    int e = errno;
    close(dir);
    return reply_err(id, e);
  }
  // Never the host's root either (identity.c refuses this container's own "/"): the root of pid 1
  // of this PID namespace, where it may be looked at (a sandbox may hide it; then the cgroup proof
  // stands alone, as it does for the local driver).
  int host = openat(proc_fd, "1/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host >= 0 && same_file(host, root)) {
    close(host);
    close(root);
    close(dir);
    return reply_err(id, EPERM);
  }
  if (host >= 0) close(host);
  pthread_mutex_lock(&handles_lock);
  handles[h] = (handle_t){.used = 1, .root = root, .pid_dir = dir};
  pthread_mutex_unlock(&handles_lock);
  reply_ok(id, NULL, 0);
}

/** ROOT_CLOSE: answered once no request holds the root any more and its fds are closed (a stopped
 *  container's rootfs is then free for the engine to unmount). */
static void op_root_close(uint32_t id, rd_t *r) {
  uint32_t h = get_u32(r);
  if (r->bad || id == 0) return reply_err(id, EINVAL);
  pthread_mutex_lock(&handles_lock);
  int ok = h > 0 && h < MAX_HANDLES && handles[h].used && !handles[h].close_id;
  if (ok) {
    handles[h].closed = 1;
    handles[h].close_id = id;
    handles[h].refs++;
    drop_ref(h);
  }
  pthread_mutex_unlock(&handles_lock);
  if (!ok) return reply_err(id, EBADF);
}

/**
 * ROOT_MERGED: a stopped container's root as the engine has it mounted while it serves an archive
 * request (MergedDir, reached through the root of this agent's containerd-shim, which lives in the
 * engine's mount namespace: host_root()). The path is the engine's word: it must look like an overlay2 merged
 * directory and be an overlay mount now (EAGAIN while it is not mounted yet); never this
 * container's own root.
 */
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
/** The parent of process `pid` (from /proc/<pid>/stat), or -1. */
static pid_t parent_of(pid_t pid) {
  char name[32], buf[512];
  snprintf(name, sizeof name, "%d/stat", (int)pid);
  int fd = openat(proc_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  char *end = strrchr(buf, ')');  // the name may hold spaces and parentheses: the fields follow the last ')'
  int ppid;
  return end && sscanf(end + 1, " %*c %d", &ppid) == 1 ? ppid : -1;
}

/**
 * The root of our nearest ancestor outside this container (its containerd-shim: an exec's parent,
 * or the keeper's for a door's session), i.e. the root of the engine's mount namespace; -1 and
 * errno when there is none.
 */
static pid_t host_pid(void) {
  int own = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return -1;
  pid_t p = getppid();
  for (int depth = 0; depth < 4 && p > 1; depth++, p = parent_of(p)) {
    char where[32];
    snprintf(where, sizeof where, "%d/root", (int)p);
    int r = openat(proc_fd, where, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (r < 0) break;
    int other = !same_file(own, r);
    close(r);
    if (other) {
      close(own);
      return p;
    }
  }
  close(own);
  errno = ESRCH;
  return -1;
}

/** /proc/<pid>/<what> of that ancestor (its root, its mount namespace), opened with `flags`. */
static int host_entry(const char *what, int flags) {
  pid_t p = host_pid();
  if (p < 0) return -1;
  char where[64];
  snprintf(where, sizeof where, "%d/%s", (int)p, what);
  return openat(proc_fd, where, flags | O_CLOEXEC);
}

static int host_root(void) { return host_entry("root", O_PATH | O_DIRECTORY); }

static void op_root_merged(uint32_t id, rd_t *r) {
  uint32_t h = get_u32(r);
  char merged[PATH_MAX];
  get_str(r, merged);
  size_t n = strlen(merged);
  if (r->bad || r->off != r->len || h == 0 || h >= MAX_HANDLES || merged[0] != '/' || n < 8 || strcmp(merged + n - 7, "/merged") != 0 ||
      strstr(merged, "/../") || strstr(merged, "/./") || !strstr(merged, "/overlay2/"))
    return reply_err(id, EINVAL);
  pthread_mutex_lock(&handles_lock);
  int taken = handles[h].used;
  pthread_mutex_unlock(&handles_lock);
  if (taken) return reply_err(id, EBUSY);
  int host = host_root();
  if (host < 0) return reply_err(id, errno);
  int root = fsops_open(host, merged, O_PATH | O_DIRECTORY, 0);
  int e = errno;
  close(host);
  if (root < 0) return reply_err(id, e == ENOENT ? EAGAIN : e);
  struct statfs sf;
  if (fstatfs(root, &sf) != 0 || sf.f_type != OVERLAYFS_SUPER_MAGIC) {
    close(root);
    return reply_err(id, EAGAIN);  // not mounted (yet, or any more)
  }
  pthread_mutex_lock(&handles_lock);
  handles[h] = (handle_t){.used = 1, .root = root, .pid_dir = -1};
  pthread_mutex_unlock(&handles_lock);
  reply_ok(id, NULL, 0);
}

/**
 * ROOT_LAYERS (native/layers.c): kind 0, an image's or a stopped container's files, read-only, assembled
 * from its layer directories (top first) as a detached overlay in this process only; kind 1, one
 * directory (a volume's), read-write as it is. Every path is the engine's word, checked in
 * native/layers.c (canonical, below the data root, no link on the way, root's alone). Nothing to watch: pid_dir -1.
 */
struct layers_args {
  const char *data_root;
  const char *const *list;
  size_t n;
};

static int mount_layers(int host, const void *arg) {
  const struct layers_args *a = arg;
  return layers_mount_ro(host, a->data_root, a->list, a->n);
}

static void op_root_layers(uint32_t id, rd_t *r) {
  uint32_t h = get_u32(r);
  uint8_t kind = get_u8(r);
  char data_root[PATH_MAX];
  get_str(r, data_root);
  uint16_t n = 0;
  get(r, &n, 2);
  if (r->bad || h == 0 || h >= MAX_HANDLES || kind > 1 || n == 0 || n > LAYERS_MAX || (kind == 1 && n != 1))
    return reply_err(id, EINVAL);
  char *paths = malloc((size_t)n * PATH_MAX);
  const char *list[LAYERS_MAX];
  if (!paths) return reply_err(id, ENOMEM);
  for (uint16_t i = 0; i < n; i++) {
    get_str(r, paths + (size_t)i * PATH_MAX);
    list[i] = paths + (size_t)i * PATH_MAX;
  }
  if (r->bad || r->off != r->len) {
    free(paths);
    return reply_err(id, EINVAL);
  }
  pthread_mutex_lock(&handles_lock);
  int taken = handles[h].used;
  pthread_mutex_unlock(&handles_lock);
  int root = -1, e = EBUSY;
  if (!taken) {
    // A volume's directory is only opened; layers are mounted from the engine's mount namespace.
    struct layers_args a = {data_root, list, n};
    int at = kind == 1 ? host_root() : host_entry("ns/mnt", O_RDONLY);
    root = at < 0 ? -1 : kind == 1 ? layers_open_dir(at, data_root, list[0]) : layers_in_namespace(at, mount_layers, &a);
    e = errno;
    if (at >= 0) close(at);
  }
  free(paths);
  if (root < 0) return reply_err(id, e);
  pthread_mutex_lock(&handles_lock);
  // Ours alone (a detached mount, or a volume's directory): it may be lent whole (OPEN_FD kind 2).
  handles[h] = (handle_t){.used = 1, .root = root, .pid_dir = -1, .lendable = 1};
  pthread_mutex_unlock(&handles_lock);
  reply_ok(id, NULL, 0);
}

// ---------- requests ----------

typedef struct chunk {
  struct chunk *next;
  size_t len;
  uint8_t *data;
} chunk_t;

typedef struct job {
  uint32_t id;
  uint16_t type;
  uint8_t *payload;
  size_t plen;
  struct job *next;          // worker queue, or the stream table
  pthread_mutex_t lock;      // guards what follows
  pthread_cond_t cond;
  int64_t credit;            // reads: bytes that may still be sent
  int cancelled;
  chunk_t *head, *tail;      // writes: bytes received, not yet written
  size_t queued;
  int ended;
  fsops_job *work;           // tree work in progress, for cancellation
} job_t;

static job_t *new_job(uint32_t id, uint16_t type, uint8_t *payload, size_t plen) {
  job_t *j = calloc(1, sizeof *j);
  if (!j) die("out of memory");
  j->id = id;
  j->type = type;
  j->payload = payload;
  j->plen = plen;
  pthread_mutex_init(&j->lock, NULL);
  pthread_cond_init(&j->cond, NULL);
  return j;
}

static void free_job(job_t *j) {
  for (chunk_t *c = j->head, *n; c; c = n) {
    n = c->next;
    free(c->data);
    free(c);
  }
  pthread_mutex_destroy(&j->lock);
  pthread_cond_destroy(&j->cond);
  free(j->payload);
  free(j);
}

// Streams in flight (reads, writes, copies, removals), by id: credits, data, cancels reach them.
static job_t *streams;
static int stream_count;
static pthread_mutex_t streams_lock = PTHREAD_MUTEX_INITIALIZER;

static job_t *find_stream(uint32_t id) {
  job_t *j = streams;
  while (j && j->id != id) j = j->next;
  return j;
}

/** Removes a stream from the table; after that no frame of the client reaches it. */
static void end_stream(job_t *j) {
  pthread_mutex_lock(&streams_lock);
  for (job_t **p = &streams; *p; p = &(*p)->next)
    if (*p == j) {
      *p = j->next;
      stream_count--;
      break;
    }
  pthread_mutex_unlock(&streams_lock);
}

static void stat_reply(uint32_t id, int r, const struct stat *st) {
  if (r < 0) return reply_err(id, errno);
  buf_t b = {0};
  put_stat(&b, st);
  reply_ok(id, b.p, b.len);
  free(b.p);
}

typedef struct {
  uint32_t id;
  buf_t b;
  uint32_t count;
} listing_t;

static int listing_entry(void *ctx, int dir, const char *name, unsigned char d_type, const struct stat *st) {
  listing_t *l = ctx;
  // A link's target comes along (ls -l shows it): one frame answers the whole listing.
  char target[PATH_MAX];
  ssize_t tn = -1;
  if (st ? S_ISLNK(st->st_mode) : d_type == DT_LNK) tn = readlinkat(dir, name, target, sizeof target);
  if (tn >= (ssize_t)sizeof target) tn = -1;
  put_str(&l->b, name, strlen(name));
  put_u8(&l->b, d_type);
  put_u8(&l->b, (uint8_t)((st != NULL) | (tn >= 0 ? 2 : 0)));
  if (st) put_stat(&l->b, st);
  if (tn >= 0) put_str(&l->b, target, (size_t)tn);
  l->count++;
  if (l->b.len >= (64u << 10)) {
    send_frame(l->id, A_ENTRIES, l->b.p, l->b.len, NULL, 0);
    l->b.len = 0;
  }
  return 0;
}

static void op_fd_channel(uint32_t id, rd_t *r);
static void op_open_fd(uint32_t id, rd_t *r);
static void op_commit(uint32_t id, rd_t *r);
static void op_door(uint32_t id, rd_t *r);

/** Short requests: one system call or a few, answered at once. */
static void short_request(job_t *j) {
  rd_t r = {j->payload, j->plen, 0, 0};
  uint32_t id = j->id;
  char p1[PATH_MAX], p2[PATH_MAX];
  uint32_t h1 = 0, h2 = 0;
  int root1 = -1, root2 = -1, rc = 0;
  struct stat st;
  switch (j->type) {
    case A_FD_CHANNEL: return op_fd_channel(id, &r);
    case A_OPEN_FD: return op_open_fd(id, &r);
    case A_COMMIT: return op_commit(id, &r);
    case A_DOOR: return op_door(id, &r);
    default: break;
  }
  h1 = get_u32(&r);
  // Fields before the path, per type; the path (and a second root and path) after.
  uint32_t u1 = 0, u2 = 0;
  uint8_t flag = 0;
  int64_t i1 = 0, i2 = 0;
  switch (j->type) {
    case A_STAT: case A_READDIR: flag = get_u8(&r); get_str(&r, p1); break;
    case A_READLINK: case A_RMDIR: case A_UNLINK: case A_STATFS: get_str(&r, p1); break;
    case A_MKDIR: case A_CHMOD: u1 = get_u32(&r); get_str(&r, p1); break;
    case A_RENAME: get_str(&r, p1); h2 = get_u32(&r); get_str(&r, p2); u1 = get_u32(&r); break;
    case A_LINK: get_str(&r, p1); h2 = get_u32(&r); get_str(&r, p2); break;
    case A_SYMLINK: get_str(&r, p2); get_str(&r, p1); break;  // p2: the target (data, stored as is)
    case A_CHOWN: u1 = get_u32(&r); u2 = get_u32(&r); flag = get_u8(&r); get_str(&r, p1); break;
    case A_UTIMES: i1 = get_i64(&r); u1 = get_u32(&r); i2 = get_i64(&r); u2 = get_u32(&r); flag = get_u8(&r); get_str(&r, p1); break;
    case A_TRUNCATE: i1 = get_i64(&r); get_str(&r, p1); break;
    default: return reply_err(id, ENOSYS);
  }
  if (r.bad) return reply_err(id, EINVAL);
  if ((j->type == A_RENAME || j->type == A_LINK) && h2 == 0) return reply_err(id, EINVAL);
  root1 = acquire(h1);
  if (root1 < 0) return reply_err(id, errno);
  if (h2) {
    root2 = acquire(h2);
    if (root2 < 0) {
      int e = errno;
      release(h1);
      return reply_err(id, e);
    }
  }
  switch (j->type) {
    case A_STAT:
      rc = fsops_stat(root1, p1, flag, &st);
      stat_reply(id, rc, &st);
      break;
    case A_READDIR: {
      listing_t l = {.id = id};
      rc = fsops_readdir(root1, p1, flag, listing_entry, &l);
      if (rc < 0) reply_err(id, errno);
      else {
        if (l.b.len) send_frame(id, A_ENTRIES, l.b.p, l.b.len, NULL, 0);
        reply_ok(id, &l.count, 4);
      }
      free(l.b.p);
      break;
    }
    case A_READLINK: {
      ssize_t n = fsops_readlink(root1, p1, p2, sizeof p2);
      if (n < 0) reply_err(id, errno);
      else {
        buf_t b = {0};
        put_str(&b, p2, (size_t)n);
        reply_ok(id, b.p, b.len);
        free(b.p);
      }
      break;
    }
    case A_STATFS: {
      struct statfs s;
      if (fsops_statfs(root1, p1, &s) < 0) reply_err(id, errno);
      else {
        int64_t v[7] = {s.f_bsize, (int64_t)s.f_blocks, (int64_t)s.f_bfree, (int64_t)s.f_bavail, (int64_t)s.f_files,
                        (int64_t)s.f_ffree, s.f_namelen};
        reply_ok(id, v, sizeof v);
      }
      break;
    }
    default: {
      switch (j->type) {
        case A_MKDIR: rc = fsops_mkdir(root1, p1, u1); break;
        case A_RMDIR: rc = fsops_rmdir(root1, p1); break;
        case A_UNLINK: rc = fsops_unlink(root1, p1); break;
        case A_RENAME: rc = fsops_rename(root1, p1, root2, p2, u1); break;
        case A_LINK: rc = fsops_link(root1, p1, root2, p2); break;
        case A_SYMLINK: rc = fsops_symlink(p2, root1, p1); break;
        case A_CHMOD: rc = fsops_chmod(root1, p1, u1); break;
        case A_CHOWN: rc = fsops_chown(root1, p1, u1, u2, flag); break;
        case A_UTIMES: {
          if (u1 >= 1000000000u || u2 >= 1000000000u) { rc = -1; errno = EINVAL; break; }
          struct timespec ts[2] = {{.tv_sec = i1, .tv_nsec = u1}, {.tv_sec = i2, .tv_nsec = u2}};
          rc = fsops_utimes(root1, p1, ts, flag);
          break;
        }
        case A_TRUNCATE:
          if (i1 < 0) { rc = -1; errno = EINVAL; break; }
          rc = fsops_truncate(root1, p1, i1);
          break;
      }
      if (rc < 0) reply_err(id, errno);
      else reply_ok(id, NULL, 0);
    }
  }
  release(h1);
  if (h2) release(h2);
}

// ---------- the worker pool (short requests) ----------

static job_t *queue_head, *queue_tail;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;

static void *pool_worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&queue_lock);
    while (!queue_head) pthread_cond_wait(&queue_cond, &queue_lock);
    job_t *j = queue_head;
    queue_head = j->next;
    if (!queue_head) queue_tail = NULL;
    pthread_mutex_unlock(&queue_lock);
    short_request(j);
    free_job(j);
  }
  return NULL;
}

static void enqueue(job_t *j) {
  pthread_mutex_lock(&queue_lock);
  j->next = NULL;
  if (queue_tail) queue_tail->next = j;
  else queue_head = j;
  queue_tail = j;
  pthread_cond_signal(&queue_cond);
  pthread_mutex_unlock(&queue_lock);
}

// ---------- streams: reads, writes, copies, removals (a thread each) ----------

static void stream_read(job_t *j, rd_t *r) {
  uint32_t h = get_u32(r);
  int64_t offset = get_i64(r), length = get_i64(r);
  char path[PATH_MAX];
  get_str(r, path);
  if (r->bad || offset < 0) return reply_err(j->id, EINVAL);
  int root = acquire(h);
  if (root < 0) return reply_err(j->id, errno);
  struct stat st;
  int fd = fsops_open_regular(root, path, &st);
  int e = errno;
  if (fd < 0) {
    release(h);
    return reply_err(j->id, e);
  }
  buf_t meta = {0};
  put_stat(&meta, &st);
  send_frame(j->id, A_META, meta.p, meta.len, NULL, 0);
  free(meta.p);
  uint8_t *buf = malloc(AGENT_CHUNK);
  if (!buf) die("out of memory");
  uint64_t total = 0;
  int err = 0;
  for (;;) {
    if (length >= 0 && (int64_t)total >= length) break;
    pthread_mutex_lock(&j->lock);
    while (j->credit <= 0 && !j->cancelled) pthread_cond_wait(&j->cond, &j->lock);
    int64_t credit = j->credit;
    int cancelled = j->cancelled;
    pthread_mutex_unlock(&j->lock);
    if (cancelled) { err = ECANCELED; break; }
    size_t want = AGENT_CHUNK;
    if ((int64_t)want > credit) want = (size_t)credit;
    if (length >= 0 && (int64_t)want > length - (int64_t)total) want = (size_t)(length - (int64_t)total);
    ssize_t n = pread(fd, buf, want, offset + (off_t)total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { err = errno; break; }
    if (n == 0) break;
    pthread_mutex_lock(&j->lock);
    j->credit -= n;
    pthread_mutex_unlock(&j->lock);
    send_frame(j->id, A_DATA, buf, (size_t)n, NULL, 0);
    total += (uint64_t)n;
  }
  free(buf);
  close(fd);
  release(h);  // held while the file was open (ROOT_CLOSE waits for it)
  end_stream(j);
  if (err) return reply_err(j->id, err);
  reply_ok(j->id, &total, 8);
}

/** A name for a temporary next to `name` in its directory: ".name.dbox-agent-XXXXXXXX" (within NAME_MAX). */
static void temp_name(char *out, size_t cap, const char *name) {
  static volatile uint32_t counter;
  uint32_t r = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL) ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 40503u;
  snprintf(out, cap, ".%.200s.dbox-agent-%08x", name, r);
}

/**
 * Puts the new file `fd` (an O_TMPFILE, or the named temporary `tmp`) in place as `name` of
 * directory pfd: EEXIST when `excl` and the name exists; else it replaces what is there, atomically.
 */
static int link_into_place(int pfd, const char *name, int fd, const char *tmp, int excl) {
  if (tmp[0]) return renameat2(pfd, tmp, pfd, name, excl ? RENAME_NOREPLACE : 0);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (excl) return linkat(AT_FDCWD, proc, pfd, name, AT_SYMLINK_FOLLOW);
  char t[NAME_MAX + 1];
  for (int tries = 0; tries < 16; tries++) {
    temp_name(t, sizeof t, name);
    if (linkat(AT_FDCWD, proc, pfd, t, AT_SYMLINK_FOLLOW) == 0) {
      if (renameat(pfd, t, pfd, name) == 0) return 0;
      int e = errno;
      unlinkat(pfd, t, 0);
      errno = e;
      return -1;
    }
    if (errno != EEXIST) return -1;
  }
  return -1;
}

/** A new, unnamed file in directory pfd (O_TMPFILE); a named temporary (in tmp) where the filesystem has none. */
static int new_file(int pfd, const char *name, mode_t mode, char *tmp, size_t cap) {
  tmp[0] = 0;
  int fd = openat(pfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode & 07777);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  for (int tries = 0; tries < 16; tries++) {
    temp_name(tmp, cap, name);
    fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
    if (fd >= 0 || errno != EEXIST) break;
  }
  if (fd < 0) tmp[0] = 0;
  return fd;
}

/** A file being written: where it goes, what it replaces, and how it is finished. */
typedef struct pending_write {
  struct pending_write *next;  // the table of writes whose fd went to the client (OPENFD)
  uint32_t id;
  uint32_t h;                  // the root's handle, held until the write is finished
  uint32_t flags, mode;
  int64_t uid, gid, mtime_s;
  uint32_t mtime_ns;
  int fd, pfd, inplace, have_old;
  struct stat old;
  char buf[PATH_MAX];          // the path, cut at its last '/'
  const char *name;            // its final component, in buf
  char tmp[NAME_MAX + 1];      // a named temporary, where the filesystem has no O_TMPFILE
} pending_write;

/**
 * Reads a write's header (h, flags, mode, uid, gid, mtime, path) and opens the new file: an
 * unnamed one in the target's directory, or (through a final symlink) the target itself. 0, or
 * an errno with everything closed.
 */
static int prepare_write(pending_write *w, rd_t *r) {
  uint32_t h = get_u32(r);
  w->flags = get_u32(r);
  w->mode = get_u32(r);
  w->uid = get_i64(r);
  w->gid = get_i64(r);
  w->mtime_s = get_i64(r);
  w->mtime_ns = get_u32(r);
  char path[PATH_MAX];
  get_str(r, path);
  w->fd = w->pfd = -1;
  w->tmp[0] = 0;
  if (r->bad || r->off != r->len || w->mtime_ns >= 1000000000u || w->uid > UINT32_MAX || w->gid > UINT32_MAX) return EINVAL;
  int root = acquire(h);
  if (root < 0) return errno;
  w->h = h;
  int err = 0;
  w->pfd = fsops_open_parent(root, path, &w->name, w->buf);
  if (w->pfd < 0) err = errno;
  if (!err) {
    w->have_old = fstatat(w->pfd, w->name, &w->old, AT_SYMLINK_NOFOLLOW) == 0;
    if (w->have_old && (w->flags & AW_EXCL)) err = EEXIST;
    else if (w->have_old && S_ISDIR(w->old.st_mode)) err = EISDIR;
    else if (w->have_old && (S_ISLNK(w->old.st_mode) || (S_ISREG(w->old.st_mode) && (w->flags & AW_INPLACE)))) {
      // Through a final symlink (resolved in-root) the file is written in place, as open(2) would;
      // with AW_INPLACE an existing regular file too. Only a regular file is ever opened for writing
      // (checked on the O_PATH fd: the inode reopened is the one checked).
      w->inplace = 1;
      int p = fsops_open(root, path, O_PATH | (S_ISLNK(w->old.st_mode) ? 0 : O_NOFOLLOW), 0);
      if (p < 0 || fstat(p, &w->old) < 0) err = errno;
      else if (!S_ISREG(w->old.st_mode)) err = S_ISDIR(w->old.st_mode) ? EISDIR : EINVAL;
      else {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", p);
        w->fd = open(proc, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (w->fd < 0) err = errno;
      }
      if (p >= 0) close(p);
    } else if (w->have_old && !S_ISREG(w->old.st_mode)) err = EINVAL;
    else {
      w->fd = new_file(w->pfd, w->name, w->mode, w->tmp, sizeof w->tmp);
      if (w->fd < 0) err = errno;
    }
  }
  if (err) {
    if (w->fd >= 0) close(w->fd);
    if (w->pfd >= 0) close(w->pfd);
    w->fd = w->pfd = -1;
    release(h);
    w->h = 0;
  }
  return err;
}

/**
 * Finishes a write (`err` 0: its bytes are all written): owner, mode and time, then the new file
 * linked into place; with an error, or when the write is abandoned, nothing is put in place and a
 * named temporary is removed. Closes everything; returns the write's outcome.
 */
static int finish_write(pending_write *w, int err) {
  if (!err && !w->inplace) {
    if (w->uid >= 0 && fchown(w->fd, (uid_t)w->uid, (gid_t)w->gid) < 0) err = errno;
    else if (w->uid < 0 && w->have_old && fchown(w->fd, w->old.st_uid, w->old.st_gid) < 0 && errno != EPERM) err = errno;
    if (!err && fchmod(w->fd, w->mode & 07777) < 0) err = errno;
  }
  if (!err && w->mtime_s != -1) {
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = w->mtime_s, .tv_nsec = w->mtime_ns}};
    if (futimens(w->fd, ts) < 0) err = errno;
  }
  if (!err && !w->inplace && link_into_place(w->pfd, w->name, w->fd, w->tmp, w->flags & AW_EXCL) < 0) err = errno;
  if (w->fd >= 0 && close(w->fd) < 0 && !err) err = errno;
  if (err && w->tmp[0]) unlinkat(w->pfd, w->tmp, 0);
  if (w->pfd >= 0) close(w->pfd);
  w->fd = w->pfd = -1;
  if (w->h) release(w->h);
  w->h = 0;
  return err;
}

static void stream_write(job_t *j, rd_t *r) {
  pending_write w = {0};
  int err = prepare_write(&w, r);
  if (err) {  // answered at once: the client stops sending, and what it sent meanwhile is dropped
    end_stream(j);
    return reply_err(j->id, err);
  }
  // The bytes: written as they come; the client may send AGENT_WINDOW bytes beyond those acknowledged.
  for (;;) {
    pthread_mutex_lock(&j->lock);
    while (!j->head && !j->ended && !j->cancelled) pthread_cond_wait(&j->cond, &j->lock);
    chunk_t *c = j->head;
    if (c) {
      j->head = c->next;
      if (!j->head) j->tail = NULL;
      j->queued -= c->len;
    }
    int done = !c && (j->ended || j->cancelled);
    if (j->cancelled && !err) err = ECANCELED;
    pthread_mutex_unlock(&j->lock);
    if (done) break;
    if (!c) continue;
    for (size_t off = 0; !err && off < c->len;) {
      ssize_t n = write(w.fd, c->data + off, c->len - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) err = errno;
      else off += (size_t)n;
    }
    uint32_t n = (uint32_t)c->len;
    if (!err) send_frame(j->id, A_WCREDIT, &n, 4, NULL, 0);
    free(c->data);
    free(c);
    if (err) {  // stop taking bytes: the client stops at the ERR
      end_stream(j);
      break;
    }
  }
  err = finish_write(&w, err);
  end_stream(j);
  if (err) return reply_err(j->id, err);
  reply_ok(j->id, NULL, 0);
}

// ---------- the fd channel: files handed to a client on this same host ----------
// A client on the engine's own host (the same kernel and PID namespace: a non-root user of a
// local engine) may take open files instead of their bytes: FDCHANNEL makes a unix socket in a
// directory of the client's (reached through /proc/<its pid>/root; the directory must be the
// client's uid's and closed to others), for that uid only (SO_PEERCRED) and whoever proves a
// random token, removed once connected; OPENFD then sends the opened file over it (SCM_RIGHTS)
// tagged with the request id, and COMMIT puts a written file in place. What the client gets is
// exactly what a read or write request would have touched; it is root on this host already.

static int fd_chan = -1;
static int fd_offered;  // an offer's socket waits for the client: OPENFD waits for it to settle
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fd_settled = PTHREAD_COND_INITIALIZER;
static pending_write *handed;  // writes whose fd went to the client, waiting for COMMIT
static pthread_mutex_t handed_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
  int listener, dir, root;
  uid_t uid;
  char name[64];
  uint8_t token[16];
} fd_offer;

static void *fd_accept(void *arg) {
  fd_offer *o = arg;
  time_t deadline = time(NULL) + 10;
  while (time(NULL) < deadline) {
    struct pollfd p = {.fd = o->listener, .events = POLLIN};
    if (poll(&p, 1, 1000) <= 0) continue;
    int c = accept4(o->listener, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) continue;
    struct ucred cred;
    socklen_t len = sizeof cred;
    uint8_t token[16];
    struct pollfd q = {.fd = c, .events = POLLIN};
    size_t got = 0;
    int ok = getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == o->uid;
    while (ok && got < sizeof token && poll(&q, 1, 5000) > 0) {
      ssize_t n = read(c, token + got, sizeof token - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    unsigned diff = got != sizeof token;
    for (size_t i = 0; i < sizeof token; i++) diff |= (unsigned)(token[i] ^ o->token[i]);
    if (!ok || diff) {
      close(c);
      continue;
    }
    pthread_mutex_lock(&fd_lock);
    if (fd_chan < 0) fd_chan = c;
    else close(c);
    pthread_mutex_unlock(&fd_lock);
    break;
  }
  pthread_mutex_lock(&fd_lock);
  fd_offered = 0;
  pthread_cond_broadcast(&fd_settled);
  pthread_mutex_unlock(&fd_lock);
  unlinkat(o->dir, o->name, 0);
  close(o->listener);
  close(o->dir);
  close(o->root);
  free(o);
  return NULL;
}

static void op_fd_channel(uint32_t id, rd_t *r) {
  uint32_t pid = get_u32(r), uid = get_u32(r);
  char dir[PATH_MAX];
  get_str(r, dir);
  if (r->bad || r->off != r->len || pid == 0 || pid > INT32_MAX) return reply_err(id, EINVAL);
  pthread_mutex_lock(&fd_lock);
  int have = fd_chan >= 0 || fd_offered;
  if (!have) fd_offered = 1;
  pthread_mutex_unlock(&fd_lock);
  if (have) return reply_err(id, EISCONN);
  fd_offer *o = calloc(1, sizeof *o);
  if (!o) die("out of memory");
  o->uid = uid;
  o->listener = o->dir = -1;
  char where[32];
  snprintf(where, sizeof where, "%u/root", pid);
  o->root = openat(proc_fd, where, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int err = o->root < 0 ? errno : 0;
  struct stat st;
  if (!err && (o->dir = fsops_open(o->root, dir, O_PATH | O_DIRECTORY, 0)) < 0) err = errno;
  if (!err && fstat(o->dir, &st) < 0) err = errno;
  if (!err && (st.st_uid != uid || (st.st_mode & 077) != 0)) err = EPERM;  // the client's, closed to others
  if (!err && getrandom(o->token, sizeof o->token, 0) != (ssize_t)sizeof o->token) err = EIO;
  if (!err) {
    snprintf(o->name, sizeof o->name, "agent-%02x%02x%02x%02x.sock", o->token[0], o->token[5], o->token[10], o->token[15]);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", o->dir, o->name);
    o->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (o->listener < 0 || bind(o->listener, (struct sockaddr *)&addr, sizeof addr) < 0) err = errno;
    else if (fchownat(o->dir, o->name, uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(o->dir, o->name, 0600, 0) < 0 ||
             listen(o->listener, 1) < 0) {
      err = errno;
      unlinkat(o->dir, o->name, 0);
    }
  }
  pthread_t t;
  if (!err && (err = pthread_create(&t, NULL, fd_accept, o)) == 0) {  // it settles the offer
    pthread_detach(t);
    buf_t b = {0};
    put_str(&b, o->name, strlen(o->name));
    put(&b, o->token, sizeof o->token);
    reply_ok(id, b.p, b.len);
    free(b.p);
    return;
  }
  if (o->listener >= 0) {
    unlinkat(o->dir, o->name, 0);
    close(o->listener);
  }
  if (o->dir >= 0) close(o->dir);
  if (o->root >= 0) close(o->root);
  free(o);
  pthread_mutex_lock(&fd_lock);
  fd_offered = 0;
  pthread_cond_broadcast(&fd_settled);
  pthread_mutex_unlock(&fd_lock);
  reply_err(id, err);
}

/** Sends `fd` to the client over the fd channel, tagged with request `id`. */
static int send_fd(uint32_t id, int fd) {
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct iovec iov = {&id, sizeof id};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  pthread_mutex_lock(&fd_lock);
  while (fd_offered) pthread_cond_wait(&fd_settled, &fd_lock);  // the client is connecting (at most 10 s)
  int chan = fd_chan;
  ssize_t n = chan < 0 ? (errno = ENOTCONN, -1) : sendmsg(chan, &m, MSG_NOSIGNAL);
  int e = errno;
  pthread_mutex_unlock(&fd_lock);
  errno = e;
  return n == (ssize_t)sizeof id ? 0 : -1;
}

/** OPENFD: u32 kind (0 read, 1 write, 2 the root), then a read's (h, path), a write's header, or h. */
static void op_open_fd(uint32_t id, rd_t *r) {
  uint32_t kind = get_u32(r);
  if (kind == 2) {
    // The root of a handle of the agent's own (an image's or a stopped container's layers, a
    // volume's directory), lent for the client's native reads: never a process's root (the client
    // gets those files one by one, checked here) nor the engine's mount of a stopped container
    // (which must stay free to unmount). The client keeps the detached mount alive while it holds it.
    uint32_t h = get_u32(r);
    if (r->bad || r->off != r->len) return reply_err(id, EINVAL);
    pthread_mutex_lock(&handles_lock);
    int lendable = h > 0 && h < MAX_HANDLES && handles[h].used && handles[h].lendable;
    pthread_mutex_unlock(&handles_lock);
    if (!lendable) return reply_err(id, handout_refusal(h) == ESTALE ? ESTALE : EOPNOTSUPP);
    int root = acquire(h);
    if (root < 0) return reply_err(id, errno);
    int sent = send_fd(id, root);
    int e = errno;
    release(h);
    return sent < 0 ? reply_err(id, e) : reply_ok(id, NULL, 0);
  }
  if (kind == 0) {
    uint32_t h = get_u32(r);
    char path[PATH_MAX];
    get_str(r, path);
    if (r->bad || r->off != r->len) return reply_err(id, EINVAL);
    int refusal = handout_refusal(h);
    if (refusal) return reply_err(id, refusal);
    int root = acquire(h);
    if (root < 0) return reply_err(id, errno);
    struct stat st;
    int fd = fsops_open_regular(root, path, &st);
    int e = errno;
    release(h);
    if (fd < 0) return reply_err(id, e);
    int sent = send_fd(id, fd);
    e = errno;
    close(fd);
    if (sent < 0) return reply_err(id, e);
    return stat_reply(id, 0, &st);
  }
  pending_write *w = calloc(1, sizeof *w);
  if (!w) die("out of memory");
  rd_t peek = *r;
  int refusal = kind == 1 ? handout_refusal(get_u32(&peek)) : 0;
  int err = kind != 1 ? EINVAL : refusal ? refusal : prepare_write(w, r);
  if (!err && send_fd(id, w->fd) < 0) err = finish_write(w, errno);
  if (err) {
    free(w);
    return reply_err(id, err);
  }
  w->id = id;
  pthread_mutex_lock(&handed_lock);
  w->next = handed;
  handed = w;
  pthread_mutex_unlock(&handed_lock);
  reply_ok(id, NULL, 0);
}

/** COMMIT: u32 id of an OPENFD write, u8 keep: puts the written file in place, or drops it. */
static void op_commit(uint32_t id, rd_t *r) {
  uint32_t of = get_u32(r);
  uint8_t keep = get_u8(r);
  if (r->bad || r->off != r->len) return reply_err(id, EINVAL);
  pthread_mutex_lock(&handed_lock);
  pending_write *w = NULL;
  for (pending_write **p = &handed; *p; p = &(*p)->next)
    if ((*p)->id == of) {
      w = *p;
      *p = w->next;
      break;
    }
  pthread_mutex_unlock(&handed_lock);
  if (!w) return reply_err(id, EBADF);
  int err = finish_write(w, keep ? 0 : ECANCELED);
  free(w);
  if (err && keep) return reply_err(id, err);
  reply_ok(id, NULL, 0);
}

static void stream_tree(job_t *j, rd_t *r) {
  uint32_t h1 = get_u32(r), h2 = 0;
  char p1[PATH_MAX], p2[PATH_MAX];
  uint8_t preserve = 0;
  get_str(r, p1);
  if (j->type != A_REMOVE) {
    h2 = get_u32(r);
    get_str(r, p2);
    preserve = get_u8(r);
  }
  if (r->bad) return reply_err(j->id, EINVAL);
  if (j->type != A_REMOVE && h2 == 0) return reply_err(j->id, EINVAL);
  int root1 = acquire(h1), root2 = -1;
  if (root1 < 0) return reply_err(j->id, errno);
  if (h2) {
    root2 = acquire(h2);
    if (root2 < 0) {
      int e = errno;
      release(h1);
      return reply_err(j->id, e);
    }
  }
  fsops_job work;
  fsops_job_init(&work);
  work.preserve = preserve;
  pthread_mutex_lock(&j->lock);
  j->work = &work;
  if (j->cancelled) work.cancel = 1;
  pthread_mutex_unlock(&j->lock);
  int rc;
  if (j->type == A_REMOVE) rc = fsops_remove_tree(&work, root1, p1);
  else if (j->type == A_COPY_TREE) rc = fsops_copy_tree(&work, root1, p1, root2, p2);
  else {  // A_COPY_FILE: a regular file, replacing `to` atomically
    struct stat st;
    char buf[PATH_MAX], tmp[NAME_MAX + 1] = "";
    const char *name;
    int in = fsops_open_regular(root1, p1, &st), out = -1, pfd = -1;
    rc = in < 0 ? fsops_fail(&work, errno, "open", p1) : 0;
    if (rc == 0 && (pfd = fsops_open_parent(root2, p2, &name, buf)) < 0) rc = fsops_fail(&work, errno, "open", p2);
    if (rc == 0 && (out = new_file(pfd, name, 0600, tmp, sizeof tmp)) < 0) rc = fsops_fail(&work, errno, "open", p2);
    if (rc == 0) rc = fsops_copy_fd(&work, in, out, p1, -1);
    if (rc == 0 && preserve && fchown(out, st.st_uid, st.st_gid) < 0 && errno != EPERM) rc = fsops_fail(&work, errno, "chown", p2);
    if (rc == 0 && fchmod(out, st.st_mode & 07777) < 0) rc = fsops_fail(&work, errno, "chmod", p2);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (rc == 0 && preserve && futimens(out, ts) < 0) rc = fsops_fail(&work, errno, "utimes", p2);
    if (rc == 0 && link_into_place(pfd, name, out, tmp, 0) < 0) rc = fsops_fail(&work, errno, "rename", p2);
    if (out >= 0 && close(out) < 0 && rc == 0) rc = fsops_fail(&work, errno, "close", p2);
    if (rc < 0 && tmp[0]) unlinkat(pfd, tmp, 0);
    if (in >= 0) close(in);
    if (pfd >= 0) close(pfd);
  }
  pthread_mutex_lock(&j->lock);
  j->work = NULL;
  pthread_mutex_unlock(&j->lock);
  release(h1);
  if (h2) release(h2);
  end_stream(j);
  if (rc < 0) reply_err(j->id, work.err);
  else {
    uint64_t v[2] = {work.bytes, work.files};
    reply_ok(j->id, v, sizeof v);
  }
  fsops_job_destroy(&work);
}

static void *stream_thread(void *arg) {
  job_t *j = arg;
  rd_t r = {j->payload, j->plen, 0, 0};
  switch (j->type) {
    case A_READ: stream_read(j, &r); break;
    case A_WRITE: stream_write(j, &r); break;
    default: stream_tree(j, &r); break;
  }
  end_stream(j);  // on every path (it is a no-op when already done)
  free_job(j);
  return NULL;
}

static void start_stream(job_t *j) {
  pthread_mutex_lock(&streams_lock);
  int busy = stream_count >= MAX_STREAMS || find_stream(j->id) != NULL;
  if (!busy) {
    j->next = streams;
    streams = j;
    stream_count++;
  }
  pthread_mutex_unlock(&streams_lock);
  if (busy) {
    reply_err(j->id, EAGAIN);
    free_job(j);
    return;
  }
  if (j->type == A_READ) j->credit = AGENT_WINDOW;
  pthread_attr_t attr;
  pthread_t t;
  int rc = pthread_attr_init(&attr);
  if (rc == 0) rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (rc == 0) rc = pthread_create(&t, &attr, stream_thread, j);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    end_stream(j);
    reply_err(j->id, rc);
    free_job(j);
  }
}

/** A frame for a stream in flight (data, end, credit, cancel); frames for unknown ids are dropped. */
static void to_stream(uint32_t id, uint16_t type, uint8_t *payload, size_t plen) {
  pthread_mutex_lock(&streams_lock);
  job_t *j = find_stream(id);
  if (j) pthread_mutex_lock(&j->lock);
  pthread_mutex_unlock(&streams_lock);
  if (!j) {
    free(payload);
    return;
  }
  int bad = 0;
  switch (type) {
    case A_WDATA: {
      if (j->type != A_WRITE || j->ended || j->queued + plen > AGENT_WINDOW + AGENT_MAX_PAYLOAD) { bad = 1; break; }
      chunk_t *c = malloc(sizeof *c);
      if (!c) die("out of memory");
      *c = (chunk_t){.next = NULL, .len = plen, .data = payload};
      payload = NULL;
      if (j->tail) j->tail->next = c;
      else j->head = c;
      j->tail = c;
      j->queued += plen;
      break;
    }
    case A_WEND: j->ended = 1; break;
    case A_CREDIT: {
      uint32_t n;
      if (plen != 4) { bad = 1; break; }
      memcpy(&n, payload, 4);
      j->credit += n;
      if (j->credit > 2 * (int64_t)AGENT_WINDOW) bad = 1;
      break;
    }
    case A_CANCEL:
      j->cancelled = 1;
      if (j->work) j->work->cancel = 1;
      break;
  }
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
  free(payload);
  if (bad) {
    fprintf(stderr, "dbox-agent: protocol error on request %u\n", id);
    _exit(2);
  }
}


// ---------- the door: later sessions of a local user without an exec ----------
// A session of a client on this same host may leave a door for the next ones of the same uid: a
// unix socket in a directory of that uid's (closed to others, reached through /proc/<pid>/root),
// for that uid only (SO_PEERCRED, checked at each connection). The keeper listens on it and
// starts a serve process for each connection, as an exec would. The uid was proven to hold the
// Engine API by the exec this request came through; a door lasts as long as this agent (until
// its idle time passes) and is removed when the keeper exits.

static int keeper_fd = -1;

/** What a serve process tells the keeper about a door (its listener, directory and the directory's parent come along). */
typedef struct {
  uint32_t uid;
  char name[65];  // the socket's name in the directory
  char dir[65];   // the directory's name in its parent
} door_msg;

static void op_door(uint32_t id, rd_t *r) {
  uint32_t pid = get_u32(r), uid = get_u32(r);
  char dir[PATH_MAX], name[PATH_MAX];
  get_str(r, dir);
  get_str(r, name);
  size_t nl = strlen(name);
  if (r->bad || r->off != r->len || pid == 0 || pid > INT32_MAX || nl < 12 || nl > 64 || strncmp(name, "agent-", 6) != 0 ||
      strcmp(name + nl - 5, ".sock") != 0 || strchr(name, '/'))
    return reply_err(id, EINVAL);
  char where[32];
  snprintf(where, sizeof where, "%u/root", pid);
  int root = openat(proc_fd, where, O_PATH | O_DIRECTORY | O_CLOEXEC), d = -1, l = -1, up = -1, err = 0;
  struct stat st;
  char pbuf[PATH_MAX];
  const char *dname = NULL;
  if (root < 0) err = errno;
  if (!err && (d = fsops_open(root, dir, O_PATH | O_DIRECTORY, 0)) < 0) err = errno;
  // Its parent, so that the keeper removes the directory too when it leaves (if nothing else is there).
  if (!err && (up = fsops_open_parent(root, dir, &dname, pbuf)) < 0) err = errno;
  if (!err && strlen(dname) > 64) err = ENAMETOOLONG;
  if (!err && fstat(d, &st) < 0) err = errno;
  if (!err && (st.st_uid != uid || (st.st_mode & 077) != 0)) err = EPERM;
  if (!err) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", d, name);
    unlinkat(d, name, 0);  // a door of an agent that is gone
    l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof addr) < 0) err = errno;
    else if (fchownat(d, name, uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(d, name, 0600, 0) < 0 || listen(l, 16) < 0) {
      err = errno;
      unlinkat(d, name, 0);
    }
  }
  if (!err) {  // to the keeper: the listener and the directory (to remove the door at the end)
    door_msg msg = {.uid = uid};
    memcpy(msg.name, name, nl + 1);
    memcpy(msg.dir, dname, strlen(dname) + 1);
    int fds[3] = {l, d, up};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct iovec iov = {&msg, sizeof msg};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    if (sendmsg(keeper_fd, &m, MSG_NOSIGNAL) != (ssize_t)sizeof msg) {
      err = errno ? errno : EIO;
      unlinkat(d, name, 0);
    }
  }
  if (l >= 0) close(l);
  if (d >= 0) close(d);
  if (up >= 0) close(up);
  if (root >= 0) close(root);
  if (err) return reply_err(id, err);
  reply_ok(id, NULL, 0);
}

// ---------- serve: one client on stdin/stdout ----------

static int read_full(int fd, void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/** The keeper's address: an abstract socket, private to this container's network namespace. */
static socklen_t keeper_address(struct sockaddr_un *addr) {
  *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
  memcpy(addr->sun_path + 1, KEEPER_NAME, strlen(KEEPER_NAME));
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(KEEPER_NAME));
}

static int serve(void) {
  // Held for as long as this process lives: the keeper counts us.
  int keep = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr;
  socklen_t alen = keeper_address(&addr);
  keeper_fd = keep;
  if (keep < 0 || connect(keep, (struct sockaddr *)&addr, alen) != 0) {
    fprintf(stderr, "dbox-agent: the agent is stopping\n");
    return 75;
  }
  proc_fd = identity_open_proc();
  if (proc_fd < 0) die("/proc");
  for (int i = 0; i < POOL_THREADS; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, pool_worker, NULL) != 0) {
      if (i == 0) die("pthread_create");
      break;
    }
    pthread_detach(t);
  }
  for (;;) {
    uint8_t h[AGENT_HEADER];
    if (read_full(STDIN_FILENO, h, sizeof h) < 0) _exit(0);  // the client closed: done
    uint32_t len, id;
    uint16_t type;
    memcpy(&len, h, 4);
    memcpy(&id, h + 4, 4);
    memcpy(&type, h + 8, 2);
    if (len > AGENT_MAX_PAYLOAD) {
      fprintf(stderr, "dbox-agent: frame too long (%u bytes)\n", len);
      _exit(2);
    }
    uint8_t *payload = malloc(len ? len : 1);
    if (!payload) die("out of memory");
    if (read_full(STDIN_FILENO, payload, len) < 0) _exit(0);
    switch (type) {
      case A_HELLO: {
        uint32_t v = AGENT_VERSION;
        reply_ok(id, &v, 4);
        free(payload);
        break;
      }
      case A_ROOT: case A_ROOT_MERGED: case A_ROOT_LAYERS: case A_ROOT_CLOSE: {  // in order with the requests that use the handle
        rd_t r = {payload, len, 0, 0};
        if (type == A_ROOT) op_root(id, &r);
        else if (type == A_ROOT_MERGED) op_root_merged(id, &r);
        else if (type == A_ROOT_LAYERS) op_root_layers(id, &r);
        else op_root_close(id, &r);
        free(payload);
        break;
      }
      case A_WDATA: case A_WEND: case A_CREDIT: case A_CANCEL:
        to_stream(id, type, payload, len);
        break;
      case A_READ: case A_WRITE: case A_COPY_TREE: case A_COPY_FILE: case A_REMOVE:
        start_stream(new_job(id, type, payload, len));
        break;
      default:
        enqueue(new_job(id, type, payload, len));
    }
  }
}

// ---------- keep: the container's main process ----------

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

/** What the keeper watches: its own socket, serve processes, and doors. */
typedef struct {
  int fd;
  enum { K_SELF, K_SERVE, K_DOOR } kind;
  uid_t uid;       // doors: who may come in
  int dir, up;     // doors: the directory and its parent, to remove both at the end
  char name[65], dname[65];
} watched;

/** A door's connection: a serve process of its own, on that connection, as an exec would start. */
static void open_door(watched *w, watched *all, int n) {
  int c = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != w->uid) {
    close(c);
    return;
  }
  pid_t child = fork();
  if (child == 0) {
    for (int i = 0; i < n; i++) {
      close(all[i].fd);
      if (all[i].kind == K_DOOR) {
        close(all[i].dir);
        close(all[i].up);
      }
    }
    if (dup2(c, STDIN_FILENO) < 0 || dup2(c, STDOUT_FILENO) < 0) _exit(70);
    close(c);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    _exit(serve());
  }
  close(c);
}

/** A message from a serve process: a door to watch (its listener and directory come along). */
static int take_door(int from, watched *all, int *n, int max) {
  door_msg msg;
  int fds[3];
  char control[CMSG_SPACE(sizeof fds)];
  struct iovec iov = {&msg, sizeof msg};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t got = recvmsg(from, &m, MSG_CMSG_CLOEXEC);
  if (got <= 0) return -1;  // the serve process ended
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof fds)) return 0;
  memcpy(fds, CMSG_DATA(c), sizeof fds);
  msg.name[64] = msg.dir[64] = 0;
  if (got != (ssize_t)sizeof msg || *n == max) {
    unlinkat(fds[1], msg.name, 0);
    for (int i = 0; i < 3; i++) close(fds[i]);
    return 0;
  }
  watched *w = &all[(*n)++];
  *w = (watched){.fd = fds[0], .kind = K_DOOR, .uid = msg.uid, .dir = fds[1], .up = fds[2]};
  memcpy(w->name, msg.name, sizeof w->name);
  memcpy(w->dname, msg.dir, sizeof w->dname);
  return 0;
}

static int keeper(long idle_seconds) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un addr;
  socklen_t alen = keeper_address(&addr);
  if (s < 0 || bind(s, (struct sockaddr *)&addr, alen) != 0 || listen(s, 64) != 0) die("keeper socket");
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  struct sigaction reap = {.sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT};  // door sessions leave no zombies
  sigaction(SIGCHLD, &reap, NULL);
  enum { MAX = 1024 };
  static watched all[MAX];
  struct pollfd fds[MAX];
  int n = 1;
  all[0] = (watched){.fd = s, .kind = K_SELF};
  struct timespec now, idle_since;
  clock_gettime(CLOCK_MONOTONIC, &idle_since);
  while (!stop) {
    for (int i = 0; i < n; i++) fds[i] = (struct pollfd){.fd = all[i].fd, .events = POLLIN};
    int r = poll(fds, (nfds_t)n, 250);
    if (r < 0 && errno != EINTR) die("poll");
    clock_gettime(CLOCK_MONOTONIC, &now);
    for (int i = r > 0 ? n - 1 : -1; i >= 0; i--) {
      if (!fds[i].revents) continue;
      if (all[i].kind == K_SELF) {
        int c;
        while ((c = accept4(s, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
          if (n == MAX) close(c);
          else all[n++] = (watched){.fd = c, .kind = K_SERVE};
        }
      } else if (all[i].kind == K_DOOR) {
        open_door(&all[i], all, n);
      } else if (take_door(all[i].fd, all, &n, MAX) < 0) {  // a serve process ended
        close(all[i].fd);
        all[i] = all[--n];
      }
    }
    int serving = 0;
    for (int i = 0; i < n; i++) serving += all[i].kind == K_SERVE;
    if (serving > 0) idle_since = now;
    else if (now.tv_sec - idle_since.tv_sec >= idle_seconds) break;
  }
  // Stop taking new sessions first: a serve process that comes now fails at once (75) and its
  // client starts a new agent. Doors are removed.
  for (int i = 0; i < n; i++) {
    if (all[i].kind == K_DOOR) {
      unlinkat(all[i].dir, all[i].name, 0);
      struct stat a, b;  // the directory, if it is still the one the door was made in and nothing else is there
      if (fstat(all[i].dir, &a) == 0 && fstatat(all[i].up, all[i].dname, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
          a.st_ino == b.st_ino)
        unlinkat(all[i].up, all[i].dname, AT_REMOVEDIR);
      close(all[i].dir);
      close(all[i].up);
    }
    close(all[i].fd);
  }
  return 0;
}

int main(int argc, char **argv) {
  // Our fds (container roots) are not for anyone who could read them through /proc.
  prctl(PR_SET_DUMPABLE, 0);
  umask(0);  // modes are given exactly by requests
  signal(SIGPIPE, SIG_IGN);
  if (argc == 3 && strcmp(argv[1], "keep") == 0) {
    char *end;
    long idle = strtol(argv[2], &end, 10);
    if (*end || idle < 1 || idle > 86400) {
      fprintf(stderr, "dbox-agent: bad idle time\n");
      return 64;
    }
    return keeper(idle);
  }
  if (argc == 2 && strcmp(argv[1], "serve") == 0) return serve();
  if (argc == 2 && strcmp(argv[1], "version") == 0) {
    printf("%d\n", AGENT_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: dbox-agent keep SECONDS | serve | version\n");
  return 64;
}
