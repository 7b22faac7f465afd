// dbox-attach-helper: dbox-attach, run on an engine's own host as a short-lived container of its
// own, for engines dbox cannot enter from here (remote engines over TCP, TLS or ssh; users who
// are not root but may use the engine). dbox imports an image holding only this static binary
// and the toolbox (at /toolbox), and runs it with --pid=host, --network none, the host's cgroup
// namespace and the capabilities src/attach/helper-container.ts lists (why each, there). The
// arguments are a subset of dbox-attach's (native/attach.c): `inject --pid PID --id ID --target
// PATH -- PROGRAM...` (the source is /toolbox, the method mount-api); the same steps run, in the
// same order, through attach-inject.h: the process
// proven to be the container's (its cgroup names the full id, checked and used through one
// /proc/<pid> handle, identity.h), its namespaces entered, the toolbox cloned, sealed read-only,
// nosuid, nodev while detached and moved onto the target opened without following links, the
// program run in the container's cgroups with its capability bounding set, and everything
// removed when it ends.
//
// What this file adds, and why: the engine gives its containers a /sys/fs/cgroup that is
// read-only and (cgroup v1) rooted at the container's own cgroup, so the container's cgroups
// cannot be joined through it. Before anything else, in the helper's own private mount
// namespace (the engine's container namespace, seen by nobody else), the engine's cgroup mounts
// are detached and each hierarchy this process is in is mounted anew, read-write, rooted at the
// hierarchy's root: the same hierarchies the host has (the helper shares the host's cgroup
// namespace), so the target's /proc/<pid>/cgroup paths name directories in them.
//
// What it trusts: its arguments, from dbox through the engine (the engine is trusted to run what
// it is asked: an engine that lies can already run anything on its host); its own
// /proc/self/cgroup (the kernel's). Nothing of the target's: attach.c's steps check it.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach-inject.h"
#include "identity.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/** Mounts the hierarchy of one /proc/self/cgroup line ("ID:CONTROLLERS:PATH") below CGROUP_ROOT. */
static int mount_hierarchy(char *line) {
  char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c2) return 0;
  *c2 = 0;
  const char *controllers = c1 + 1;
  char point[256], options[256];
  if (!controllers[0]) {
    // cgroup2: the whole root on a v2 host, "unified" beside the v1 hierarchies on a hybrid one.
    snprintf(point, sizeof point, "%s/unified", CGROUP_ROOT);
    if (mkdir(point, 0755) < 0 && errno != EEXIST) return -1;
    return mount("cgroup2", point, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  }
  if (strlen(controllers) > 200 || strchr(controllers, '/')) {
    errno = EINVAL;
    return -1;
  }
  snprintf(point, sizeof point, "%s/%s", CGROUP_ROOT, controllers);
  if (strncmp(controllers, "name=", 5) == 0) snprintf(options, sizeof options, "none,%s", controllers);
  else snprintf(options, sizeof options, "%s", controllers);
  if (mkdir(point, 0755) < 0 && errno != EEXIST) return -1;
  return mount("cgroup", point, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, options);
}

/** The host's cgroup hierarchies, writable, at CGROUP_ROOT of this (private) mount namespace. */
static int cgroups_of_host(void) {
  FILE *self = fopen("/proc/self/cgroup", "re");
  if (!self) return -1;
  char lines[8192];
  size_t n = fread(lines, 1, sizeof lines - 1, self);
  int whole = feof(self) && !ferror(self);
  fclose(self);
  if (!whole) {
    errno = EFBIG;
    return -1;
  }
  lines[n] = 0;
  // Nothing of the engine's cgroup mounts stays (MNT_DETACH takes the submounts too), then a
  // tmpfs to hold the new mount points.
  if (umount2(CGROUP_ROOT, MNT_DETACH) < 0 && errno != EINVAL) return -1;
  const char *nl = strchr(lines, '\n');
  int v2 = strncmp(lines, "0::", 3) == 0 && (!nl || !nl[1]);  // one line, the unified hierarchy only
  if (v2) return mount("cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (mount("tmpfs", CGROUP_ROOT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0) return -1;
  char *save = NULL;
  for (char *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (mount_hierarchy(line) < 0) return -1;
  }
  return 0;
}

static int usage(const char *why) {
  fprintf(stderr, "attach: %s\nusage: dbox-attach-helper inject --pid PID --id ID --target PATH -- PROGRAM [ARGS...]\n", why);
  return 2;
}

int main(int argc, char **argv) {
  // Not dumpable: no process of the container may open this one's /proc entries or ptrace it.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    fprintf(stderr, "attach: prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
    return EXIT_ATTACH;
  }
  umask(022);
  struct inject_request r = {.source = "/toolbox", .method = "mount-api", .state_dir = NULL};
  char **program = NULL;
  if (argc < 2 || strcmp(argv[1], "inject") != 0) return usage("the only command is inject");
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      program = argv + i + 1;
      break;
    }
    if (i + 1 >= argc) return usage("an option needs a value");
    const char *o = argv[i], *v = argv[++i];
    if (strcmp(o, "--pid") == 0) {
      char *end;
      long pid = strtol(v, &end, 10);
      if (*end || pid <= 0 || pid > INT_MAX) return usage("--pid needs a process id");
      r.pid = (pid_t)pid;
    } else if (strcmp(o, "--id") == 0) r.id = v;
    else if (strcmp(o, "--target") == 0) r.target = v;
    else return usage("unknown option");
  }
  if (!identity_valid_id(r.id) || r.pid <= 0 || !r.target) return usage("--pid, --id and --target are required");
  if (!state_path_ok(r.target)) return usage("--target must be an absolute normalised path other than /");
  if (!program || !program[0]) return usage("a program is needed after --");
  if (cgroups_of_host() < 0) {
    // The engine keeps its containers from mounting (an LSM, a rootless engine): no helper can work there.
    fprintf(stderr, "attach: the helper cannot mount the host's cgroups: %s\n", strerror(errno));
    return EXIT_UNSUPPORTED;
  }
  // The same steps as the local helper's inject (native/attach.c), in the same order.
  struct fail f = {0};
  struct injection j;
  int status = -1;
  inject_init(&j);
  if (inject_prepare(&j, &r, &f) == 0 && inject_mount(&j, &r, &f) == 0) status = inject_run(&j, program, &f);
  inject_undo(&j, r.id);
  if (status < 0) {
    fprintf(stderr, "attach: %s\n", f.msg);
    return f.status;
  }
  return status;
}
