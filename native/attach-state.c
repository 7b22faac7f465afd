// attach's state on the host: see attach-state.h for what is trusted and why.
#define _GNU_SOURCE
#include "attach-state.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "identity.h"

#define STATE_MAX 8192

int state_path_ok(const char *path) {
  size_t n = strnlen(path, PATH_MAX);
  if (n == 0 || n >= PATH_MAX || path[0] != '/' || n == 1 || path[n - 1] == '/') return 0;
  for (const char *p = path; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) return 0;
  for (const char *c = path + 1;;) {  // each component: not empty, ".", ".."
    const char *end = strchr(c, '/');
    size_t len = end ? (size_t)(end - c) : strlen(c);
    if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) return 0;
    if (len > NAME_MAX) return 0;
    if (!end) return 1;
    c = end + 1;
  }
}

int state_path_within(const char *a, const char *b) {
  size_t n = strlen(a);
  return strncmp(a, b, n) == 0 && (b[n] == 0 || b[n] == '/');
}

static int parse_number(const char *v, unsigned long long *out) {
  if (!*v || strlen(v) > 20) return -1;
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p)) return -1;
  if (v[0] == '0' && v[1]) return -1;
  errno = 0;
  *out = strtoull(v, NULL, 10);
  return errno ? -1 : 0;
}

static int parse_token(const char *v, char *out) {
  if (strlen(v) != STATE_TOKEN_LEN) return -1;
  for (const char *p = v; *p; p++)
    if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f')) return -1;
  memcpy(out, v, STATE_TOKEN_LEN + 1);
  return 0;
}

#define WHY(...) (snprintf(why, why_len, __VA_ARGS__), -1)

int state_parse(const char *text, struct attach_state *s, char *why, size_t why_len) {
  memset(s, 0, sizeof *s);
  enum { K_METHOD, K_TARGET, K_CREATED, K_DEV, K_INO, K_MOUNT_ID, K_TOKEN, K_COUNT };
  static const char *const keys[K_COUNT] = {"method", "target", "created", "dev", "ino", "mount_id", "token"};
  int seen[K_COUNT] = {0};
  if (strlen(text) >= STATE_MAX) return WHY("too long");
  char buf[STATE_MAX];
  snprintf(buf, sizeof buf, "%s", text);
  char *save = NULL;
  if (buf[0] && buf[strlen(buf) - 1] != '\n') return WHY("incomplete last line");
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq) return WHY("a line without '='");
    *eq = 0;
    const char *v = eq + 1;
    int k = 0;
    while (k < K_COUNT && strcmp(line, keys[k]) != 0) k++;
    if (k == K_COUNT) return WHY("unknown key");
    if (seen[k]++) return WHY("key '%s' given twice", keys[k]);
    switch (k) {
      case K_METHOD:
        if (strcmp(v, "mount-api") != 0 && strcmp(v, "blockdev") != 0 && strcmp(v, "upload") != 0) return WHY("unknown method");
        snprintf(s->method, sizeof s->method, "%s", v);
        break;
      case K_TARGET:
        if (!state_path_ok(v)) return WHY("target is not an absolute normalised path other than /");
        snprintf(s->target, sizeof s->target, "%s", v);
        break;
      case K_CREATED:
        if (*v && !state_path_ok(v)) return WHY("created is not an absolute normalised path other than /");
        snprintf(s->created, sizeof s->created, "%s", v);
        break;
      case K_DEV: {
        const char *colon = strchr(v, ':');
        char major[24];
        if (!colon || (size_t)(colon - v) >= sizeof major) return WHY("dev is not MAJOR:MINOR");
        memcpy(major, v, (size_t)(colon - v));
        major[colon - v] = 0;
        if (parse_number(major, &s->dev_major) < 0 || parse_number(colon + 1, &s->dev_minor) < 0) return WHY("dev is not MAJOR:MINOR");
        break;
      }
      case K_INO:
        if (parse_number(v, &s->ino) < 0) return WHY("ino is not a number");
        break;
      case K_MOUNT_ID:
        if (parse_number(v, &s->mount_id) < 0) return WHY("mount_id is not a number");
        s->has_mount_id = 1;
        break;
      case K_TOKEN:
        if (parse_token(v, s->token) < 0) return WHY("token is not %d hex digits", STATE_TOKEN_LEN);
        break;
    }
  }
  if (!seen[K_METHOD] || !seen[K_TARGET]) return WHY("method or target missing");
  int upload = strcmp(s->method, "upload") == 0;
  if (upload) {
    if (!seen[K_TOKEN] || seen[K_DEV] || seen[K_INO] || seen[K_MOUNT_ID] || seen[K_CREATED]) return WHY("upload state holds a token and nothing else");
  } else {
    if (seen[K_TOKEN] || !seen[K_DEV] || !seen[K_INO] || !seen[K_CREATED]) return WHY("mount state needs created, dev and ino and no token");
    s->has_source = 1;
  }
  if (s->created[0] && !state_path_within(s->created, s->target)) return WHY("created is not the target or one of its ancestors");
  return 0;
}

int state_format(const struct attach_state *s, char *buf, size_t len) {
  int n;
  if (strcmp(s->method, "upload") == 0) {
    n = snprintf(buf, len, "method=upload\ntarget=%s\ntoken=%s\n", s->target, s->token);
  } else {
    n = snprintf(buf, len, "method=%s\ntarget=%s\ncreated=%s\ndev=%llu:%llu\nino=%llu\n", s->method, s->target, s->created,
                 s->dev_major, s->dev_minor, s->ino);
    if (n >= 0 && (size_t)n < len && s->has_mount_id) n += snprintf(buf + n, len - (size_t)n, "mount_id=%llu\n", s->mount_id);
  }
  return n < 0 || (size_t)n >= len ? -1 : n;
}

/** A component on the way: a directory owned by root or us that nobody else may change (unless
 *  sticky). dbox's own components (`own`): ours, mode 0700 exactly. */
static int component_ok(int fd, const char *name, int own, struct fail *f) {
  struct stat st;
  if (fstat(fd, &st) < 0) return failf(f, EXIT_ATTACH, "state directory: %s: %s", name, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return failf(f, EXIT_ATTACH, "state directory: %s is not a directory", name);
  uid_t me = geteuid();
  if (own) {
    if (st.st_uid != me || (st.st_mode & 07777) != 0700)
      return failf(f, EXIT_ATTACH, "state directory: %s must be owned by uid %u with mode 0700 (it is uid %u, mode %04o): refusing to use it",
                   name, (unsigned)me, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
  } else if ((st.st_uid != 0 && st.st_uid != me) || ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
    return failf(f, EXIT_ATTACH, "state directory: %s can be changed by another user (uid %u, mode %04o): refusing to use it", name,
                 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
  }
  return 0;
}

/** Opens `path` component by component from "/", never following a link. Components from index
 *  `first_made` on are created (0700) when missing; from `first_own` on they are dbox's own and
 *  held to component_ok's `own`. */
static int open_checked(const char *path, int first_made, int first_own, struct fail *f) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf || !state_path_ok(buf))
    return failf(f, EXIT_ATTACH, "state directory: %s is not an absolute normalised path", path);
  int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return failf(f, EXIT_ATTACH, "state directory: /: %s", strerror(errno));
  if (component_ok(dir, "/", 0, f) < 0) {
    close(dir);
    return -1;
  }
  int index = 0;
  char *save = NULL;
  for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save), index++) {
    int own = index >= first_own;
    int next = openat(dir, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && index >= first_made) {
      if (mkdirat(dir, c, 0700) < 0 && errno != EEXIST) {
        close(dir);
        return failf(f, EXIT_ATTACH, "state directory: cannot create %s in %s: %s", c, path, strerror(errno));
      }
      next = openat(dir, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    close(dir);
    if (next < 0) return failf(f, EXIT_ATTACH, "state directory: %s in %s: %s", c, path, errno == ENOTDIR || errno == ELOOP ? "not a directory (a link?)" : strerror(errno));
    dir = next;
    if (component_ok(dir, c, own, f) < 0) {
      close(dir);
      return -1;
    }
  }
  return dir;
}

int state_dir_open(const char *path, struct fail *f) {
  if (path) {
    int components = 0;
    for (const char *p = path; *p; p++) components += *p == '/';
    return open_checked(path, components - 1, components - 1, f);
  }
  char where[PATH_MAX];
  const char *base;
  const char *sub;
  int extra = 0;  // components between the base and dbox's own two
  if (geteuid() == 0) {
    base = "/run";
    sub = "dbox/attach";
  } else if ((base = getenv("XDG_RUNTIME_DIR")) && base[0] == '/') {
    sub = "dbox/attach";
  } else if ((base = getenv("HOME")) && base[0] == '/') {
    sub = ".cache/dbox/attach";
    extra = 1;
  } else {
    return failf(f, EXIT_ATTACH, "state directory: neither XDG_RUNTIME_DIR nor HOME is set");
  }
  int n = snprintf(where, sizeof where, "%s/%s", base, sub);
  if (n < 0 || (size_t)n >= sizeof where) return failf(f, EXIT_ATTACH, "state directory: %s is too long", base);
  int base_components = 0;
  for (const char *p = base; *p; p++) base_components += *p == '/';
  if (!state_path_ok(base)) return failf(f, EXIT_ATTACH, "state directory: %s is not an absolute normalised path", base);
  return open_checked(where, base_components, base_components + extra, f);
}

static int state_name(const char *id, char *name, size_t len, struct fail *f) {
  if (!identity_valid_id(id)) return failf(f, EXIT_ATTACH, "not a container id: %.80s", id);
  snprintf(name, len, "%s.state", id);
  return 0;
}

/** Regular, ours, one link: a file someone else planted or hard-linked is not our state. */
static int file_ok(int fd, struct fail *f) {
  struct stat st;
  if (fstat(fd, &st) < 0) return failf(f, EXIT_ATTACH, "state file: %s", strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
    return failf(f, EXIT_ATTACH, "state file: not a regular file of ours with one link: refusing to use it");
  return 0;
}

int state_create(int dir, const char *id, struct fail *f) {
  char name[96];
  if (state_name(id, name, sizeof name, f) < 0) return -1;
  int fd = openat(dir, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return failf(f, EXIT_ATTACH, "an earlier attach to this container is still running or was killed (if killed: attach --cleanup)");
    return failf(f, EXIT_ATTACH, "state file: %s", strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {  // nobody else can hold it yet: the file is new
    int e = errno;
    unlinkat(dir, name, 0);
    close(fd);
    errno = e;
    return failf(f, EXIT_ATTACH, "state file: lock: %s", strerror(e));
  }
  return fd;
}

int state_open(int dir, const char *id, struct fail *f) {
  char name[96];
  if (state_name(id, name, sizeof name, f) < 0) return -1;
  int fd = openat(dir, name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return -1;
    return failf(f, EXIT_ATTACH, "state file: %s", errno == ELOOP ? "a symbolic link: refusing to use it" : strerror(errno));
  }
  if (file_ok(fd, f) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    if (e == EWOULDBLOCK) failf(f, EXIT_ATTACH, "an attach to this container is still running");
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

int state_write(int fd, const struct attach_state *s, struct fail *f) {
  char buf[STATE_MAX];
  int n = state_format(s, buf, sizeof buf);
  if (n < 0) return failf(f, EXIT_ATTACH, "state file: too long");
  if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) < 0 || fdatasync(fd) < 0)
    return failf(f, EXIT_ATTACH, "state file: %s", strerror(errno));
  return 0;
}

int state_read(int fd, struct attach_state *s, struct fail *f) {
  char buf[STATE_MAX + 1];
  size_t used = 0;
  for (;;) {
    ssize_t n = pread(fd, buf + used, sizeof buf - 1 - used, (off_t)used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failf(f, EXIT_ATTACH, "state file: %s", strerror(errno));
    if (n == 0) break;
    used += (size_t)n;
    if (used == sizeof buf - 1) return failf(f, EXIT_ATTACH, "state file: too long: refusing to use it");
  }
  buf[used] = 0;
  if (strlen(buf) != used) return failf(f, EXIT_ATTACH, "state file: holds a NUL byte: refusing to use it");
  char why[128];
  if (state_parse(buf, s, why, sizeof why) < 0) return failf(f, EXIT_ATTACH, "state file: %s: refusing to use it", why);
  return 0;
}

void state_remove(int dir, const char *id) {
  char name[96];
  struct fail ignored;
  if (state_name(id, name, sizeof name, &ignored) == 0) unlinkat(dir, name, 0);
}
