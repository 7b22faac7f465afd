// attach's view of the target container: see attach-container.h for what is trusted and why.
#define _GNU_SOURCE
#include "attach-container.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

static const char *const ns_names[NS_COUNT] = {"mnt", "uts", "ipc", "net", "cgroup", "pid"};
static const int ns_types[NS_COUNT] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWPID};

int container_open(pid_t pid, const char *id, struct container *c, struct fail *f) {
  c->proc = c->pid_dir = c->root = c->cwd = -1;
  for (int i = 0; i < NS_COUNT; i++) c->ns[i] = -1;
  if ((c->proc = identity_open_proc()) < 0) return failf(f, EXIT_ATTACH, "/proc: %s", strerror(errno));
  if ((c->pid_dir = identity_open_container_proc(c->proc, pid, id)) < 0) {
    if (errno == EPERM) return failf(f, EXIT_ATTACH, "process %d is not a process of container %.12s here", (int)pid, id);
    return failf(f, EXIT_ATTACH, "container process %d: %s (is it running? are you root?)", (int)pid, strerror(errno == ESRCH ? ESRCH : errno));
  }
  if ((c->root = identity_open_root(c->pid_dir)) < 0) return failf(f, EXIT_ATTACH, "the root of container process %d: %s", (int)pid, strerror(errno));
  c->cwd = openat(c->pid_dir, "cwd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (int i = 0; i < NS_COUNT; i++) {
    char name[16];
    snprintf(name, sizeof name, "ns/%s", ns_names[i]);
    c->ns[i] = openat(c->pid_dir, name, O_RDONLY | O_CLOEXEC);
    if (c->ns[i] < 0 && i == NS_MNT) return failf(f, EXIT_ATTACH, "container process %d: %s (is it running? are you root?)", (int)pid, strerror(errno));
  }
  return 0;
}

int container_enter_mounts(struct container *c, struct fail *f) {
  if (setns(c->ns[NS_MNT], CLONE_NEWNS) < 0) return failf(f, EXIT_ATTACH, "setns(mnt): %s (needs CAP_SYS_ADMIN: run as root)", strerror(errno));
  return 0;
}

int container_enter_others(struct container *c, struct fail *f) {
  for (int i = NS_MNT + 1; i < NS_COUNT; i++) {
    if (i != NS_CGROUP && container_enter(c, i, f) < 0) return -1;
  }
  return 0;
}

int container_enter(struct container *c, int which, struct fail *f) {
  if (c->ns[which] >= 0 && setns(c->ns[which], ns_types[which]) < 0) return failf(f, EXIT_ATTACH, "setns(%s): %s", ns_names[which], strerror(errno));
  return 0;
}

/** The whole of a /proc file, NUL-terminated; *len without the terminator. */
char *attach_read_proc_file(int dir, const char *name, size_t max, size_t *len) {
  int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t cap = 4096, used = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (used + 1 >= cap) {
      char *bigger = cap * 2 <= max ? realloc(buf, cap * 2) : NULL;
      if (!bigger) {
        free(buf);
        buf = NULL;
        errno = cap * 2 > max ? EFBIG : ENOMEM;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + used, cap - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(buf);
      buf = NULL;
      break;
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  close_fd(&fd);
  if (buf) {
    buf[used] = 0;
    *len = used;
  }
  return buf;
}

char **container_env(struct container *c, const char *bin, struct fail *f) {
  size_t n = 0;
  char *buf = attach_read_proc_file(c->pid_dir, "environ", 4 << 20, &n);
  if (!buf) {
    failf(f, EXIT_ATTACH, "the container process's environment: %s", strerror(errno));
    return NULL;
  }
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += buf[i] == 0;
  char **env = calloc(count + 3, sizeof *env);
  if (!env) {
    free(buf);
    failf(f, EXIT_ATTACH, "out of memory");
    return NULL;
  }
  size_t k = 0;
  int has_path = 0, ok = 1;
  char *path = NULL;  // the one entry made here (the others point into buf)
  for (size_t i = 0; i < n && ok; i += strlen(buf + i) + 1) {
    if (strncmp(buf + i, "PATH=", 5) == 0) {
      if (has_path++) continue;
      ok = asprintf(&path, "PATH=%s:%s", bin, buf + i + 5) >= 0;
      if (ok) env[k++] = path;
    } else if (buf[i]) {
      env[k++] = buf + i;
    }
  }
  if (ok && !has_path) {
    ok = asprintf(&path, "PATH=%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", bin) >= 0;
    if (ok) env[k++] = path;
  }
  if (!ok) {  // asprintf left nothing to free
    free(env);
    free(buf);
    failf(f, EXIT_ATTACH, "out of memory");
    return NULL;
  }
  env[k] = NULL;
  return env;  // env and buf live as long as the process
}

void container_close(struct container *c) {
  close_fd(&c->proc);
  close_fd(&c->pid_dir);
  close_fd(&c->root);
  close_fd(&c->cwd);
  for (int i = 0; i < NS_COUNT; i++) close_fd(&c->ns[i]);
}
