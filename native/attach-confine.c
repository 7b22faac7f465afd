// What the program attach runs may do: see attach-confine.h.
#define _GNU_SOURCE
#include "attach-confine.h"

#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/** "Key:\tHEX" of /proc/<pid>/status. */
static int status_hex(const char *status, const char *key, uint64_t *out) {
  size_t n = strlen(key);
  for (const char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(line + n + 1, &end, 16);
      if (errno || end == line + n + 1) return -1;
      *out = v;
      return 0;
    }
  }
  return -1;
}

/** Whether every controller in `wanted` ("cpu,cpuacct", "name=systemd") is in `options`. */
static int has_controllers(const char *options, const char *wanted) {
  char w[256];
  snprintf(w, sizeof w, "%s", wanted);
  char *save = NULL;
  for (char *c = strtok_r(w, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
    size_t n = strlen(c);
    int found = 0;
    for (const char *o = options; o && *o && !found; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL)
      found = strncmp(o, c, n) == 0 && (o[n] == ',' || o[n] == 0 || o[n] == '\n');
    if (!found) return 0;
  }
  return 1;
}

/** cgroup.procs of cgroup `path` in the hierarchy with `controllers` ("" for cgroup2); -2 (and
 *  the reason in f) when that hierarchy is not mounted on the host. */
static int open_procs(const char *controllers, const char *path, struct fail *f) {
  FILE *m = fopen("/proc/self/mountinfo", "re");
  if (!m) return failf(f, EXIT_ATTACH, "the host's mount table: %s", strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  int procs = -1, found = 0;
  ssize_t got = 0;
  while (!found && (got = getline(&line, &cap, m)) > 0) {
    char root[4096], point[4096], type[32], options[1024];
    const char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, point) != 2 || sscanf(dash + 3, "%31s %*s %1023s", type, options) != 2) continue;
    if (controllers[0] ? strcmp(type, "cgroup") != 0 || !has_controllers(options, controllers) : strcmp(type, "cgroup2") != 0) continue;
    size_t r = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (r && (strncmp(path, root, r) != 0 || (path[r] != '/' && path[r] != 0))) continue;
    found = 1;
    const char *rel = path + r;
    while (*rel == '/') rel++;
    int mnt = open(point, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int dir = mnt < 0 ? -1 : *rel ? sys_openat2(mnt, rel, O_PATH | O_DIRECTORY | O_CLOEXEC,
                                                RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
                                  : dup(mnt);
    procs = dir < 0 ? -1 : openat(dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0) failf(f, EXIT_ATTACH, "the container's cgroup %s (%s): %s", path, controllers[0] ? controllers : "cgroup2", strerror(errno));
    close_fd(&dir);
    close_fd(&mnt);
  }
  // A table that could not be read to its end (out of memory) proves nothing is missing from it.
  int unread = !found && got < 0 && !feof(m);
  int err = errno;
  free(line);
  fclose(m);
  if (unread) return failf(f, EXIT_ATTACH, "the host's mount table: %s", strerror(err));
  if (!found) {
    failf(f, EXIT_ATTACH, "the container's cgroup hierarchy %s is not mounted on the host", controllers[0] ? controllers : "cgroup2");
    return -2;
  }
  return procs;
}

int confine_open(struct container *c, struct confinement *k, struct fail *f) {
  memset(k, 0, sizeof *k);
  for (int i = 0; i < CONFINE_MAX_CGROUPS; i++) k->procs[i] = -1;
  size_t n;
  char *status = attach_read_proc_file(c->pid_dir, "status", 1 << 16, &n);
  uint64_t nnp = 0;
  if (!status) return failf(f, EXIT_ATTACH, "the container process's status: %s", strerror(errno));
  int ok = status_hex(status, "CapBnd", &k->bounding) == 0 && status_hex(status, "CapInh", &k->inheritable) == 0;
  if (status_hex(status, "NoNewPrivs", &nnp) == 0) k->no_new_privs = nnp != 0;
  free(status);
  if (!ok) return failf(f, EXIT_ATTACH, "the container process's capabilities cannot be read");
  char *cgroups = attach_read_proc_file(c->pid_dir, "cgroup", 1 << 16, &n);
  if (!cgroups) return failf(f, EXIT_ATTACH, "the container process's cgroups: %s", strerror(errno));
  // Every hierarchy the process is in is joined. One that is not mounted on the host is skipped,
  // unless it is the one whose rules keep the host's devices out: the v1 devices controller, or
  // cgroup2 (device programs) where there is no v1 devices hierarchy.
  struct {
    char *controllers, *path;
  } lines[CONFINE_MAX_CGROUPS];
  int count = 0, r = 0, devices_v1 = 0;
  char *save = NULL;
  for (char *line = strtok_r(cgroups, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    if (count == CONFINE_MAX_CGROUPS) r = failf(f, EXIT_ATTACH, "the container has too many cgroup hierarchies");
    *c2 = 0;
    lines[count].controllers = c1 + 1;
    lines[count++].path = c2 + 1;
    devices_v1 |= has_controllers(c1 + 1, "devices");
  }
  for (int i = 0; i < count && r == 0; i++) {
    const char *controllers = lines[i].controllers;
    int fd = open_procs(controllers, lines[i].path, f);
    if (fd >= 0) k->procs[k->count++] = fd;
    else if (fd == -1 || has_controllers(controllers, "devices") || (!controllers[0] && !devices_v1)) r = -1;
  }
  free(cgroups);
  if (r < 0) confine_close(k);
  return r;
}

int confine_join(struct confinement *k, struct fail *f) {
  for (int i = 0; i < k->count; i++) {
    if (write(k->procs[i], "0", 1) != 1) return failf(f, EXIT_ATTACH, "joining the container's cgroups: %s", strerror(errno));
  }
  return 0;
}

int confine_drop(const struct confinement *k, struct fail *f) {
  if (k->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return failf(f, EXIT_ATTACH, "no_new_privs: %s", strerror(errno));
  for (int cap = 0; cap < 64; cap++) {
    if (k->bounding & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;  // beyond the kernel's last capability
      return failf(f, EXIT_ATTACH, "dropping capability %d: %s", cap, strerror(errno));
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return failf(f, EXIT_ATTACH, "ambient capabilities: %s", strerror(errno));
  // Inheritable: the container's, within its bounding set. Permitted and effective stay for the
  // exec itself; as uid 0 the program then gets the bounding set (and no more).
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return failf(f, EXIT_ATTACH, "capget: %s", strerror(errno));
  uint64_t inh = k->inheritable & k->bounding;
  d[0].inheritable = (uint32_t)inh;
  d[1].inheritable = (uint32_t)(inh >> 32);
  d[0].permitted &= (uint32_t)k->bounding;
  d[1].permitted &= (uint32_t)(k->bounding >> 32);
  d[0].effective &= (uint32_t)k->bounding;
  d[1].effective &= (uint32_t)(k->bounding >> 32);
  if (syscall(SYS_capset, &h, d) < 0) return failf(f, EXIT_ATTACH, "capset: %s", strerror(errno));
  return 0;
}

void confine_close(struct confinement *k) {
  for (int i = 0; i < CONFINE_MAX_CGROUPS; i++) close_fd(&k->procs[i]);
  k->count = 0;
}
